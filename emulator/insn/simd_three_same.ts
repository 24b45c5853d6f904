// Advanced SIMD three same (integer) and its scalar counterpart (Arm ARM C4.1.x "Advanced SIMD
// three same" / "Advanced SIMD scalar three same"), plus scalar pairwise ADDP: halving, saturating,
// compares, shifts by register (plain, rounding, saturating), min/max, absolute difference,
// multiplies and the pairwise forms. ADD/SUB and the logical group live in simd.ts. One row per
// instruction, so each is decoded, generated and compared on its own.

import type { CpuState } from "../cpu_state.ts";
import { type Encoding, type Op, encoding } from "../decode.ts";
import { checkFPAdvSIMDEnabled } from "../fp/fp_access.ts";
import { writeV } from "../fp/vreg.ts";
import { ext, lanes, ones, pack, polyMul, satQ, shiftRound, sx } from "./simd_lanes.ts";

/** One lane: `a` from Vn, `b` from Vm, `d` the destination's old lane, all unsigned raw bits. */
export type SameFn = (cpu: CpuState, a: bigint, b: bigint, d: bigint, bits: number) => bigint;

interface SameFields {
  q: number;
  size: number;
  rm: number;
  rn: number;
  rd: number;
  elements: number;
}

type SameOp = SameFields & Op;

function execSame(cpu: CpuState, op: SameOp, fn: SameFn, pairwise: boolean): void {
  checkFPAdvSIMDEnabled(cpu);
  const bits = 8 << op.size;
  const e = op.elements;
  let n = lanes(cpu, op.rn, op.size, e);
  let m = lanes(cpu, op.rm, op.size, e);
  if (pairwise) {
    // Adjacent pairs of the concatenation Vm:Vn, Vn's pairs in the low half of the result.
    const cat = [...n, ...m];
    n = cat.filter((_v, i) => i % 2 === 0);
    m = cat.filter((_v, i) => i % 2 === 1);
  }
  const d = lanes(cpu, op.rd, op.size, e);
  const out: bigint[] = [];
  for (let i = 0; i < e; i++) out.push(fn(cpu, n[i]!, m[i]!, d[i]!, bits));
  writeV(cpu, op.rd, e === 1 ? op.size : op.q ? 4 : 3, pack(out, op.size));
}

const S = (v: bigint, bits: number): bigint => sx(v, bits);
const abs = (v: bigint): bigint => (v < 0n ? -v : v);
const cmp = (c: boolean, bits: number): bigint => (c ? ones(bits) : 0n);

/** Shift by the signed low byte of each Vm lane (SSHL family). */
function byReg(unsigned: boolean, rounding: boolean, saturating: boolean): SameFn {
  return (cpu, a, b, _d, bits) =>
    shiftRound(cpu, ext(a, bits, unsigned), Number(sx(b & 0xffn, 8)), bits, unsigned, rounding, saturating);
}

/** SQDMULH / SQRDMULH: the high half of twice the product, saturated (only -1 * -1 saturates). */
function doublingHigh(rounding: boolean): SameFn {
  return (cpu, a, b, _d, bits) => {
    const p = 2n * S(a, bits) * S(b, bits) + (rounding ? 1n << BigInt(bits - 1) : 0n);
    return satQ(cpu, p >> BigInt(bits), bits, false);
  };
}

/** Bit i of a mask: the sizes (0..3) a form allows. */
const B = 0b0001;
const BHS = 0b0111;
const HS = 0b0110;
const ALL = 0b1111;
const D = 0b1000;

interface SameSpec {
  name: string;
  u: number;
  opcode: string;
  fn: SameFn;
  /** Sizes of the vector form (size 3 needs Q 1); 0: no vector form. */
  vec: number;
  /** Sizes of the scalar form; 0: none. */
  scalar: number;
  pairwise?: boolean;
}

export const THREE_SAME_SPECS: readonly SameSpec[] = [
  { name: "SHADD", u: 0, opcode: "00000", vec: BHS, scalar: 0, fn: (_c, a, b, _d, n) => (S(a, n) + S(b, n)) >> 1n },
  { name: "UHADD", u: 1, opcode: "00000", vec: BHS, scalar: 0, fn: (_c, a, b) => (a + b) >> 1n },
  { name: "SQADD", u: 0, opcode: "00001", vec: ALL, scalar: ALL, fn: (c, a, b, _d, n) => satQ(c, S(a, n) + S(b, n), n, false) },
  { name: "UQADD", u: 1, opcode: "00001", vec: ALL, scalar: ALL, fn: (c, a, b, _d, n) => satQ(c, a + b, n, true) },
  { name: "SRHADD", u: 0, opcode: "00010", vec: BHS, scalar: 0, fn: (_c, a, b, _d, n) => (S(a, n) + S(b, n) + 1n) >> 1n },
  { name: "URHADD", u: 1, opcode: "00010", vec: BHS, scalar: 0, fn: (_c, a, b) => (a + b + 1n) >> 1n },
  { name: "SHSUB", u: 0, opcode: "00100", vec: BHS, scalar: 0, fn: (_c, a, b, _d, n) => (S(a, n) - S(b, n)) >> 1n },
  { name: "UHSUB", u: 1, opcode: "00100", vec: BHS, scalar: 0, fn: (_c, a, b) => (a - b) >> 1n },
  { name: "SQSUB", u: 0, opcode: "00101", vec: ALL, scalar: ALL, fn: (c, a, b, _d, n) => satQ(c, S(a, n) - S(b, n), n, false) },
  { name: "UQSUB", u: 1, opcode: "00101", vec: ALL, scalar: ALL, fn: (c, a, b, _d, n) => satQ(c, a - b, n, true) },
  { name: "CMGT", u: 0, opcode: "00110", vec: ALL, scalar: D, fn: (_c, a, b, _d, n) => cmp(S(a, n) > S(b, n), n) },
  { name: "CMHI", u: 1, opcode: "00110", vec: ALL, scalar: D, fn: (_c, a, b, _d, n) => cmp(a > b, n) },
  { name: "CMGE", u: 0, opcode: "00111", vec: ALL, scalar: D, fn: (_c, a, b, _d, n) => cmp(S(a, n) >= S(b, n), n) },
  { name: "CMHS", u: 1, opcode: "00111", vec: ALL, scalar: D, fn: (_c, a, b, _d, n) => cmp(a >= b, n) },
  { name: "SSHL", u: 0, opcode: "01000", vec: ALL, scalar: D, fn: byReg(false, false, false) },
  { name: "USHL", u: 1, opcode: "01000", vec: ALL, scalar: D, fn: byReg(true, false, false) },
  { name: "SQSHL", u: 0, opcode: "01001", vec: ALL, scalar: ALL, fn: byReg(false, false, true) },
  { name: "UQSHL", u: 1, opcode: "01001", vec: ALL, scalar: ALL, fn: byReg(true, false, true) },
  { name: "SRSHL", u: 0, opcode: "01010", vec: ALL, scalar: D, fn: byReg(false, true, false) },
  { name: "URSHL", u: 1, opcode: "01010", vec: ALL, scalar: D, fn: byReg(true, true, false) },
  { name: "SQRSHL", u: 0, opcode: "01011", vec: ALL, scalar: ALL, fn: byReg(false, true, true) },
  { name: "UQRSHL", u: 1, opcode: "01011", vec: ALL, scalar: ALL, fn: byReg(true, true, true) },
  { name: "SMAX", u: 0, opcode: "01100", vec: BHS, scalar: 0, fn: (_c, a, b, _d, n) => (S(a, n) > S(b, n) ? a : b) },
  { name: "UMAX", u: 1, opcode: "01100", vec: BHS, scalar: 0, fn: (_c, a, b) => (a > b ? a : b) },
  { name: "SMIN", u: 0, opcode: "01101", vec: BHS, scalar: 0, fn: (_c, a, b, _d, n) => (S(a, n) < S(b, n) ? a : b) },
  { name: "UMIN", u: 1, opcode: "01101", vec: BHS, scalar: 0, fn: (_c, a, b) => (a < b ? a : b) },
  { name: "SABD", u: 0, opcode: "01110", vec: BHS, scalar: 0, fn: (_c, a, b, _d, n) => abs(S(a, n) - S(b, n)) },
  { name: "UABD", u: 1, opcode: "01110", vec: BHS, scalar: 0, fn: (_c, a, b) => abs(a - b) },
  { name: "SABA", u: 0, opcode: "01111", vec: BHS, scalar: 0, fn: (_c, a, b, d, n) => d + abs(S(a, n) - S(b, n)) },
  { name: "UABA", u: 1, opcode: "01111", vec: BHS, scalar: 0, fn: (_c, a, b, d) => d + abs(a - b) },
  { name: "CMTST", u: 0, opcode: "10001", vec: ALL, scalar: D, fn: (_c, a, b, _d, n) => cmp((a & b) !== 0n, n) },
  { name: "CMEQ", u: 1, opcode: "10001", vec: ALL, scalar: D, fn: (_c, a, b, _d, n) => cmp(a === b, n) },
  { name: "MLA", u: 0, opcode: "10010", vec: BHS, scalar: 0, fn: (_c, a, b, d) => d + a * b },
  { name: "MLS", u: 1, opcode: "10010", vec: BHS, scalar: 0, fn: (_c, a, b, d) => d - a * b },
  { name: "MUL", u: 0, opcode: "10011", vec: BHS, scalar: 0, fn: (_c, a, b) => a * b },
  { name: "PMUL", u: 1, opcode: "10011", vec: B, scalar: 0, fn: (_c, a, b) => polyMul(a, b) },
  { name: "SMAXP", u: 0, opcode: "10100", vec: BHS, scalar: 0, pairwise: true, fn: (_c, a, b, _d, n) => (S(a, n) > S(b, n) ? a : b) },
  { name: "UMAXP", u: 1, opcode: "10100", vec: BHS, scalar: 0, pairwise: true, fn: (_c, a, b) => (a > b ? a : b) },
  { name: "SMINP", u: 0, opcode: "10101", vec: BHS, scalar: 0, pairwise: true, fn: (_c, a, b, _d, n) => (S(a, n) < S(b, n) ? a : b) },
  { name: "UMINP", u: 1, opcode: "10101", vec: BHS, scalar: 0, pairwise: true, fn: (_c, a, b) => (a < b ? a : b) },
  { name: "SQDMULH", u: 0, opcode: "10110", vec: HS, scalar: HS, fn: doublingHigh(false) },
  { name: "SQRDMULH", u: 1, opcode: "10110", vec: HS, scalar: HS, fn: doublingHigh(true) },
  { name: "ADDP", u: 0, opcode: "10111", vec: ALL, scalar: 0, pairwise: true, fn: (_c, a, b) => a + b },
];

function sameRow(s: SameSpec, scalar: boolean): Encoding<never> {
  const sizes = scalar ? s.scalar : s.vec;
  const pairwise = s.pairwise === true;
  return encoding<SameFields>({
    name: `${s.name}_${scalar ? "scalar" : "vec"}`,
    pattern: scalar
      ? `01 ${s.u} 11110 size:2 1 rm:5 ${s.opcode} 1 rn:5 rd:5`
      : `0 q:1 ${s.u} 01110 size:2 1 rm:5 ${s.opcode} 1 rn:5 rd:5`,
    prepare(f) {
      if (!((sizes >> f.size) & 1)) return false;
      if (scalar) {
        f.elements = 1;
        return true;
      }
      if (f.size === 3 && f.q === 0) return false;
      f.elements = (f.q ? 16 : 8) >> f.size;
      return true;
    },
    exec: (cpu, op) => execSame(cpu, op, s.fn, pairwise),
  });
}

/** ADDP (scalar): the sum of the two D lanes of Vn. */
function execAddpScalar(cpu: CpuState, op: SameOp): void {
  checkFPAdvSIMDEnabled(cpu);
  const [a, b] = lanes(cpu, op.rn, 3, 2);
  writeV(cpu, op.rd, 3, a! + b!);
}

export const THREE_SAME_TABLE: Encoding<never>[] = [
  ...THREE_SAME_SPECS.filter((s) => s.vec).map((s) => sameRow(s, false)),
  ...THREE_SAME_SPECS.filter((s) => s.scalar).map((s) => sameRow(s, true)),
  encoding<SameFields>({
    name: "ADDP_scalar",
    pattern: "01 0 11110 11 11000 11011 10 rn:5 rd:5",
    exec: execAddpScalar,
  }),
];
