// Advanced SIMD vector x indexed element, integer forms (Arm ARM C4.1.x "Advanced SIMD vector x
// indexed element" and its scalar counterpart): MUL, MLA, MLS, SQDMULH, SQRDMULH, and the long
// [SU]MULL, [SU]MLAL, [SU]MLSL, SQDMULL, SQDMLAL, SQDMLSL, each lane of Vn combined with one
// element of Vm. The element index is H:L:M for 16-bit lanes (Vm then only V0-V15) and H:L for
// 32-bit ones. The lane arithmetic is the three-same and three-different groups'.

import type { CpuState } from "../cpu_state.ts";
import { type Encoding, type Op, encoding } from "../decode.ts";
import { checkFPAdvSIMDEnabled } from "../fp/fp_access.ts";
import { readElem, writeV } from "../fp/vreg.ts";
import { ext, lanes, pack } from "./simd_lanes.ts";
import { LONG_FNS, type LongFn } from "./simd_three_diff.ts";
import { type SameFn, THREE_SAME_SPECS } from "./simd_three_same.ts";

interface ElemFields {
  q: number;
  size: number;
  L: number;
  M: number;
  H: number;
  rm: number;
  rn: number;
  rd: number;
  m: number;
  index: number;
  elements: number;
}

type ElemOp = ElemFields & Op;

function execSameElem(cpu: CpuState, op: ElemOp, fn: SameFn): void {
  checkFPAdvSIMDEnabled(cpu);
  const bits = 8 << op.size;
  const b = readElem(cpu, op.m, op.size, op.index);
  const n = lanes(cpu, op.rn, op.size, op.elements);
  const d = lanes(cpu, op.rd, op.size, op.elements);
  const out = n.map((a, i) => fn(cpu, a, b, d[i]!, bits));
  writeV(cpu, op.rd, op.elements === 1 ? op.size : op.q ? 4 : 3, pack(out, op.size));
}

function execLongElem(cpu: CpuState, op: ElemOp, fn: LongFn, unsigned: boolean): void {
  checkFPAdvSIMDEnabled(cpu);
  const bits = 8 << op.size;
  const b = ext(readElem(cpu, op.m, op.size, op.index), bits, unsigned);
  const n = lanes(cpu, op.rn, op.size, op.elements, op.q ? op.elements : 0);
  const d = lanes(cpu, op.rd, op.size + 1, op.elements);
  const out = n.map((a, i) => fn(cpu, ext(a, bits, unsigned), b, d[i]!, bits));
  writeV(cpu, op.rd, op.elements === 1 ? op.size + 1 : 4, pack(out, op.size + 1));
}

/** The element: Vm and index from size, L, M, H; false for the sizes the integer forms lack. */
function decodeElem(f: ElemFields): boolean {
  if (f.size === 1) {
    f.index = (f.H << 2) | (f.L << 1) | f.M;
    f.m = f.rm;
  } else if (f.size === 2) {
    f.index = (f.H << 1) | f.L;
    f.m = (f.M << 4) | f.rm;
  } else return false;
  return true;
}

const sameFn = (name: string): SameFn => THREE_SAME_SPECS.find((s) => s.name === name)!.fn;

/** [name, U, opcode, fn, has a scalar form]. */
const SAME: readonly [string, number, string, SameFn, boolean][] = [
  ["MUL", 0, "1000", sameFn("MUL"), false],
  ["MLA", 1, "0000", sameFn("MLA"), false],
  ["MLS", 1, "0100", sameFn("MLS"), false],
  ["SQDMULH", 0, "1100", sameFn("SQDMULH"), true],
  ["SQRDMULH", 0, "1101", sameFn("SQRDMULH"), true],
];

/** [name, U, opcode, fn, has a scalar form]. */
const LONG: readonly [string, number, string, LongFn, boolean][] = [
  ["SMULL", 0, "1010", LONG_FNS.MULL, false],
  ["UMULL", 1, "1010", LONG_FNS.MULL, false],
  ["SMLAL", 0, "0010", LONG_FNS.MLAL, false],
  ["UMLAL", 1, "0010", LONG_FNS.MLAL, false],
  ["SMLSL", 0, "0110", LONG_FNS.MLSL, false],
  ["UMLSL", 1, "0110", LONG_FNS.MLSL, false],
  ["SQDMULL", 0, "1011", LONG_FNS.SQDMULL, true],
  ["SQDMLAL", 0, "0011", LONG_FNS.SQDMLAL, true],
  ["SQDMLSL", 0, "0111", LONG_FNS.SQDMLSL, true],
];

function elemRows(specs: readonly [string, number, string, SameFn | LongFn, boolean][], long: boolean): Encoding<never>[] {
  return specs.flatMap(([name, u, opcode, fn, hasScalar]) =>
    (hasScalar ? [false, true] : [false]).map((scalar) =>
      encoding<ElemFields>({
        name: `${name}_elem${scalar ? "_scalar" : ""}`,
        pattern: scalar
          ? `01 ${u} 11111 size:2 L:1 M:1 rm:4 ${opcode} H:1 0 rn:5 rd:5`
          : `0 q:1 ${u} 01111 size:2 L:1 M:1 rm:4 ${opcode} H:1 0 rn:5 rd:5`,
        prepare(f) {
          if (!decodeElem(f)) return false;
          if (scalar) {
            f.q = 0;
            f.elements = 1;
          } else f.elements = long ? 8 >> f.size : (f.q ? 16 : 8) >> f.size;
          return true;
        },
        exec: long ? (cpu, op) => execLongElem(cpu, op, fn, u === 1) : (cpu, op) => execSameElem(cpu, op, fn),
      }),
    ),
  );
}

export const ELEM_TABLE: Encoding<never>[] = [...elemRows(SAME, false), ...elemRows(LONG, true)];
