// Conversions between floating point and fixed point in SIMD&FP registers (Arm ARM C4.1.x
// "Advanced SIMD shift by immediate" and its scalar group: SCVTF, UCVTF, FCVTZS, FCVTZU with
// #fbits). immh's top set bit gives the lane size (01xx S, 1xxx D; 001x is FEAT_FP16 half,
// 0000 the modified-immediate group), and fbits = 2 * esize - immh:immb.

import type { CpuState } from "../cpu_state.ts";
import { type Encoding, type Op, encoding } from "../decode.ts";
import { checkFPAdvSIMDEnabled } from "../fp/fp_access.ts";
import { fixedToFP, fpToFixed } from "../fp/fp_convert.ts";
import { RM } from "../fp/fp_format.ts";
import { readV } from "../fp/vreg.ts";
import { fmtOf } from "./fp_dp.ts";
import { type FpShape, lane, shapeScalar, shapeVector, writeLanes } from "./simd_fp.ts";

interface FixedFields extends FpShape {
  immh: number;
  immb: number;
  rn: number;
  rd: number;
  fbits: number;
  unsigned: number;
}

type FixedOp = FixedFields & Op;

function execToFixed(cpu: CpuState, op: FixedOp): void {
  checkFPAdvSIMDEnabled(cpu);
  const s = op.esize;
  const fmt = fmtOf(s);
  const bits = (8 << s) as 32 | 64;
  const n = readV(cpu, op.rn, 4);
  let out = 0n;
  for (let i = 0; i < op.elements; i++) {
    out |= fpToFixed(fmt, lane(n, s, i), op.fbits, op.unsigned === 1, RM.ZERO, bits, cpu) << BigInt(i * bits);
  }
  writeLanes(cpu, op.rd, op.scalar === 1, s, op.q, out);
}

function execFromFixed(cpu: CpuState, op: FixedOp): void {
  checkFPAdvSIMDEnabled(cpu);
  const s = op.esize;
  const fmt = fmtOf(s);
  const bits = (8 << s) as 32 | 64;
  const n = readV(cpu, op.rn, 4);
  let out = 0n;
  for (let i = 0; i < op.elements; i++) {
    out |= fixedToFP(fmt, lane(n, s, i), bits, op.fbits, op.unsigned === 1, cpu) << BigInt(i * bits);
  }
  writeLanes(cpu, op.rd, op.scalar === 1, s, op.q, out);
}

function decodeFbits(f: FixedFields): boolean {
  if (f.immh < 4) return false;
  f.sz = f.immh >= 8 ? 1 : 0;
  f.fbits = (f.sz ? 128 : 64) - ((f.immh << 3) | f.immb);
  return true;
}

export const SIMD_FP_FIXED_TABLE: Encoding<never>[] = (
  [["SCVTF", 0, "11100", execFromFixed], ["UCVTF", 1, "11100", execFromFixed], ["FCVTZS", 0, "11111", execToFixed], ["FCVTZU", 1, "11111", execToFixed]] as const
).flatMap(([name, u, opcode, exec]) =>
  [false, true].map((scalar) =>
    encoding<FixedFields>({
      name: `${name}_fixed_${scalar ? "scalar" : "vec"}`,
      pattern: scalar ? `01 ${u} 111110 immh:4 immb:3 ${opcode} 1 rn:5 rd:5` : `0 q:1 ${u} 011110 immh:4 immb:3 ${opcode} 1 rn:5 rd:5`,
      prepare(f) {
        f.unsigned = u;
        return decodeFbits(f) && (scalar ? shapeScalar(f) : shapeVector(f));
      },
      exec,
    }),
  ),
);
