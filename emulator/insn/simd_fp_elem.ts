// Advanced SIMD floating point by element (Arm ARM C4.1.x "Advanced SIMD vector x indexed
// element" and its scalar group, the FP rows): FMUL, FMULX, FMLA and FMLS with one lane of Vm
// as the second operand of every lane of Vn. S lanes index with H:L and may name V0-V31 (M:Rm);
// D lanes index with H alone (L = 1 is reserved). Half precision is FEAT_FP16.

import type { CpuState } from "../cpu_state.ts";
import { type Encoding, type Op, encoding } from "../decode.ts";
import { checkFPAdvSIMDEnabled } from "../fp/fp_access.ts";
import { readV } from "../fp/vreg.ts";
import { fmtOf } from "./fp_dp.ts";
import { F3, type FpShape, fpLane, lane, shapeScalar, shapeVector, writeLanes } from "./simd_fp.ts";

interface ElemFields extends FpShape {
  L: number;
  M: number;
  H: number;
  rm: number;
  rn: number;
  rd: number;
  index: number;
  vm: number;
  fn: number;
}

type ElemOp = ElemFields & Op;

function execByElement(cpu: CpuState, op: ElemOp): void {
  checkFPAdvSIMDEnabled(cpu);
  const s = op.esize;
  const fmt = fmtOf(s);
  const n = readV(cpu, op.rn, 4);
  const d = readV(cpu, op.rd, 4);
  const b = lane(readV(cpu, op.vm, 4), s, op.index);
  const bits = BigInt(8 << s);
  let out = 0n;
  for (let i = 0; i < op.elements; i++) out |= fpLane(op.fn, fmt, lane(n, s, i), b, lane(d, s, i), cpu) << (BigInt(i) * bits);
  writeLanes(cpu, op.rd, op.scalar === 1, s, op.q, out);
}

function indexOf(f: ElemFields): boolean {
  if (f.sz === 1 && f.L === 1) return false;
  f.index = f.sz ? f.H : (f.H << 1) | f.L;
  f.vm = (f.M << 4) | f.rm;
  return true;
}

const ELEM: readonly [string, number, string, number][] = [
  ["FMLA", 0, "0001", F3.MLA],
  ["FMLS", 0, "0101", F3.MLS],
  ["FMUL", 0, "1001", F3.MUL],
  ["FMULX", 1, "1001", F3.MULX],
];

export const SIMD_FP_ELEM_TABLE: Encoding<never>[] = ELEM.flatMap(([name, u, opcode, fn]) =>
  [false, true].map((scalar) =>
    encoding<ElemFields>({
      name: `${name}_elem_${scalar ? "scalar" : "vec"}`,
      pattern: scalar
        ? `01 ${u} 11111 1 sz:1 L:1 M:1 rm:4 ${opcode} H:1 0 rn:5 rd:5`
        : `0 q:1 ${u} 01111 1 sz:1 L:1 M:1 rm:4 ${opcode} H:1 0 rn:5 rd:5`,
      prepare(f) {
        f.fn = fn;
        return indexOf(f) && (scalar ? shapeScalar(f) : shapeVector(f));
      },
      exec: execByElement,
    }),
  ),
);
