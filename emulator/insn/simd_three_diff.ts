// Advanced SIMD three different (Arm ARM C4.1.x "Advanced SIMD three different" and its scalar
// counterpart): the long forms (one half of each source widened: [SU]ADDL, [SU]SUBL, [SU]ABAL,
// [SU]ABDL, [SU]MLAL, [SU]MLSL, [SU]MULL, SQDMLAL, SQDMLSL, SQDMULL, PMULL on bytes), the wide
// forms ([SU]ADDW, [SU]SUBW) and the high-narrowing ones ((R)ADDHN, (R)SUBHN). The "2" forms
// (Q 1) read the upper halves of the narrow sources and write the upper half of a narrow result.
// PMULL on 64-bit lanes belongs to the crypto extension, which is not implemented.

import type { CpuState } from "../cpu_state.ts";
import { type Encoding, type Op, encoding } from "../decode.ts";
import { checkFPAdvSIMDEnabled } from "../fp/fp_access.ts";
import { writeV } from "../fp/vreg.ts";
import { ext, lanes, pack, polyMul, satQ, sx, writePart } from "./simd_lanes.ts";

/**
 * One long lane: `a` and `b` the narrow operands already sign- or zero-extended, `d` the wide
 * destination lane's raw bits, `bits` the narrow width. The result is truncated to 2 * bits.
 */
export type LongFn = (cpu: CpuState, a: bigint, b: bigint, d: bigint, bits: number) => bigint;

const abs = (v: bigint): bigint => (v < 0n ? -v : v);

/** SQDMULL's doubled product, saturated to the wide lane (only -min * -min saturates). */
const doubled = (cpu: CpuState, a: bigint, b: bigint, bits: number): bigint => satQ(cpu, 2n * a * b, 2 * bits, false);

export const LONG_FNS = {
  ADDL: ((_c, a, b) => a + b) as LongFn,
  SUBL: ((_c, a, b) => a - b) as LongFn,
  ABAL: ((_c, a, b, d) => d + abs(a - b)) as LongFn,
  ABDL: ((_c, a, b) => abs(a - b)) as LongFn,
  MLAL: ((_c, a, b, d) => d + a * b) as LongFn,
  MLSL: ((_c, a, b, d) => d - a * b) as LongFn,
  MULL: ((_c, a, b) => a * b) as LongFn,
  SQDMLAL: ((c, a, b, d, n) => satQ(c, sx(d, 2 * n) + doubled(c, a, b, n), 2 * n, false)) as LongFn,
  SQDMLSL: ((c, a, b, d, n) => satQ(c, sx(d, 2 * n) - doubled(c, a, b, n), 2 * n, false)) as LongFn,
  SQDMULL: ((c, a, b, _d, n) => doubled(c, a, b, n)) as LongFn,
  PMULL: ((_c, a, b) => polyMul(a, b)) as LongFn,
};

interface DiffFields {
  q: number;
  size: number;
  rm: number;
  rn: number;
  rd: number;
  elements: number;
}

type DiffOp = DiffFields & Op;

/** Long (wideA false) and wide (wideA true) forms: `elements` wide result lanes. */
function execLong(cpu: CpuState, op: DiffOp, fn: LongFn, unsigned: boolean, wideA: boolean): void {
  checkFPAdvSIMDEnabled(cpu);
  const bits = 8 << op.size;
  const e = op.elements;
  const first = op.q ? e : 0;
  const n = wideA ? lanes(cpu, op.rn, op.size + 1, e).map((v) => ext(v, 2 * bits, unsigned)) : lanes(cpu, op.rn, op.size, e, first).map((v) => ext(v, bits, unsigned));
  const m = lanes(cpu, op.rm, op.size, e, first).map((v) => ext(v, bits, unsigned));
  const d = lanes(cpu, op.rd, op.size + 1, e);
  const out = n.map((a, i) => fn(cpu, a, m[i]!, d[i]!, bits));
  writeV(cpu, op.rd, e === 1 ? op.size + 1 : 4, pack(out, op.size + 1));
}

/** ADDHN, RADDHN, SUBHN, RSUBHN: the high half of each wide sum or difference. */
function execHighNarrow(cpu: CpuState, op: DiffOp, sub: boolean, round: boolean): void {
  checkFPAdvSIMDEnabled(cpu);
  const bits = 8 << op.size;
  const e = op.elements;
  const n = lanes(cpu, op.rn, op.size + 1, e);
  const m = lanes(cpu, op.rm, op.size + 1, e);
  const r = round ? 1n << BigInt(bits - 1) : 0n;
  const out = n.map((a, i) => ((sub ? a - m[i]! : a + m[i]!) + r) >> BigInt(bits));
  writePart(cpu, op.rd, op.q, pack(out, op.size));
}

const BHS = 0b0111;
const HS = 0b0110;
const B = 0b0001;

/** [name, U (2: both), opcode, fn, sizes, has a scalar form]. */
const LONG_SPECS: readonly [string, number, string, LongFn, number, boolean][] = [
  ["ADDL", 2, "0000", LONG_FNS.ADDL, BHS, false],
  ["SUBL", 2, "0010", LONG_FNS.SUBL, BHS, false],
  ["ABAL", 2, "0101", LONG_FNS.ABAL, BHS, false],
  ["ABDL", 2, "0111", LONG_FNS.ABDL, BHS, false],
  ["MLAL", 2, "1000", LONG_FNS.MLAL, BHS, false],
  ["MLSL", 2, "1010", LONG_FNS.MLSL, BHS, false],
  ["MULL", 2, "1100", LONG_FNS.MULL, BHS, false],
  ["SQDMLAL", 0, "1001", LONG_FNS.SQDMLAL, HS, true],
  ["SQDMLSL", 0, "1011", LONG_FNS.SQDMLSL, HS, true],
  ["SQDMULL", 0, "1101", LONG_FNS.SQDMULL, HS, true],
  ["PMULL", 0, "1110", LONG_FNS.PMULL, B, false],
];

const variants = (u: number): number[] => (u === 2 ? [0, 1] : [u]);
const prefix = (u: number, both: boolean, name: string): string => (both ? (u ? "U" : "S") + name : name);

function longRows(): Encoding<never>[] {
  const rows: Encoding<never>[] = [];
  for (const [name, uSpec, opcode, fn, sizes, hasScalar] of LONG_SPECS) {
    for (const u of variants(uSpec)) {
      const full = prefix(u, uSpec === 2, name);
      // PMULL's operands are polynomials: zero-extended although U is 0.
      const unsigned = u === 1 || name === "PMULL";
      rows.push(
        encoding<DiffFields>({
          name: `${full}_vec`,
          pattern: `0 q:1 ${u} 01110 size:2 1 rm:5 ${opcode} 00 rn:5 rd:5`,
          prepare(f) {
            if (!((sizes >> f.size) & 1)) return false;
            f.elements = 8 >> f.size;
            return true;
          },
          exec: (cpu, op) => execLong(cpu, op, fn, unsigned, false),
        }),
      );
      if (hasScalar) {
        rows.push(
          encoding<DiffFields>({
            name: `${full}_scalar`,
            pattern: `01 ${u} 11110 size:2 1 rm:5 ${opcode} 00 rn:5 rd:5`,
            prepare(f) {
              if (!((sizes >> f.size) & 1)) return false;
              f.elements = 1;
              f.q = 0;
              return true;
            },
            exec: (cpu, op) => execLong(cpu, op, fn, false, false),
          }),
        );
      }
    }
  }
  return rows;
}

const nonWide = (f: DiffFields): boolean => {
  if (f.size === 3) return false;
  f.elements = 8 >> f.size;
  return true;
};

export const THREE_DIFF_TABLE: Encoding<never>[] = [
  ...longRows(),
  ...([["ADDW", "0001", LONG_FNS.ADDL], ["SUBW", "0011", LONG_FNS.SUBL]] as const).flatMap(([name, opcode, fn]) =>
    [0, 1].map((u) =>
      encoding<DiffFields>({
        name: `${u ? "U" : "S"}${name}_vec`,
        pattern: `0 q:1 ${u} 01110 size:2 1 rm:5 ${opcode} 00 rn:5 rd:5`,
        prepare: nonWide,
        exec: (cpu, op) => execLong(cpu, op, fn, u === 1, true),
      }),
    ),
  ),
  ...([["ADDHN", 0, "0100"], ["RADDHN", 1, "0100"], ["SUBHN", 0, "0110"], ["RSUBHN", 1, "0110"]] as const).map(([name, u, opcode]) =>
    encoding<DiffFields>({
      name: `${name}_vec`,
      pattern: `0 q:1 ${u} 01110 size:2 1 rm:5 ${opcode} 00 rn:5 rd:5`,
      prepare: nonWide,
      exec: (cpu, op) => execHighNarrow(cpu, op, opcode === "0110", u === 1),
    }),
  ),
];
