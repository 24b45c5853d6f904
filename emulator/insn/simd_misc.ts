// Advanced SIMD two-register miscellaneous (integer) and its scalar counterpart (Arm ARM C4.1.x
// "Advanced SIMD two-register miscellaneous" / "... scalar two-register miscellaneous"): lane-wise
// ABS/NEG/NOT/CLZ/CLS/RBIT, compares against zero, SQABS/SQNEG, SUQADD/USQADD, the pairwise long
// adds ([SU]ADDLP, [SU]ADALP), SHLL and the narrowing moves (XTN, SQXTN, UQXTN, SQXTUN). CNT is in
// simd.ts, the REV forms in simd_permute.ts, the unsigned estimates URECPE and URSQRTE with the FP
// estimates in simd_fp_misc.ts.

import type { CpuState } from "../cpu_state.ts";
import { type Encoding, type Op, encoding } from "../decode.ts";
import { checkFPAdvSIMDEnabled } from "../fp/fp_access.ts";
import { writeV } from "../fp/vreg.ts";
import { ext, lanes, ones, pack, satQ, sx, writePart, writeVec } from "./simd_lanes.ts";

/** One lane: `a` from Vn, `d` the destination's old lane, both unsigned raw bits. */
type MiscFn = (cpu: CpuState, a: bigint, d: bigint, bits: number) => bigint;

interface MiscFields {
  q: number;
  size: number;
  rn: number;
  rd: number;
  elements: number;
}

type MiscOp = MiscFields & Op;

function execMisc(cpu: CpuState, op: MiscOp, fn: MiscFn): void {
  checkFPAdvSIMDEnabled(cpu);
  const bits = 8 << op.size;
  const n = lanes(cpu, op.rn, op.size, op.elements);
  const d = lanes(cpu, op.rd, op.size, op.elements);
  const out = n.map((a, i) => fn(cpu, a, d[i]!, bits));
  writeV(cpu, op.rd, op.elements === 1 ? op.size : op.q ? 4 : 3, pack(out, op.size));
}

const S = sx;
const cmp = (c: boolean, bits: number): bigint => (c ? ones(bits) : 0n);

function clz(a: bigint, bits: number): bigint {
  let n = 0;
  for (let i = bits - 1; i >= 0 && !((a >> BigInt(i)) & 1n); i--) n++;
  return BigInt(n);
}

function rbit8(a: bigint): bigint {
  let r = 0n;
  for (let i = 0n; i < 8n; i++) if ((a >> i) & 1n) r |= 1n << (7n - i);
  return r;
}

const B = 0b0001;
const BHS = 0b0111;
const ALL = 0b1111;
const D = 0b1000;

interface MiscSpec {
  name: string;
  u: number;
  opcode: string;
  fn: MiscFn;
  vec: number;
  scalar: number;
  /** The size field is part of the opcode (NOT 00, RBIT 01). */
  fixedSize?: number;
}

const MISC_SPECS: readonly MiscSpec[] = [
  { name: "SUQADD", u: 0, opcode: "00011", vec: ALL, scalar: ALL, fn: (c, a, d, n) => satQ(c, S(d, n) + a, n, false) },
  { name: "USQADD", u: 1, opcode: "00011", vec: ALL, scalar: ALL, fn: (c, a, d, n) => satQ(c, d + S(a, n), n, true) },
  { name: "CLS", u: 0, opcode: "00100", vec: BHS, scalar: 0, fn: (_c, a, _d, n) => clz(a ^ ((a << 1n) & ones(n)) | 1n, n) },
  { name: "CLZ", u: 1, opcode: "00100", vec: BHS, scalar: 0, fn: (_c, a, _d, n) => clz(a, n) },
  { name: "NOT", u: 1, opcode: "00101", vec: B, scalar: 0, fixedSize: 0, fn: (_c, a) => ~a },
  { name: "RBIT", u: 1, opcode: "00101", vec: B, scalar: 0, fixedSize: 1, fn: (_c, a) => rbit8(a) },
  { name: "SQABS", u: 0, opcode: "00111", vec: ALL, scalar: ALL, fn: (c, a, _d, n) => satQ(c, S(a, n) < 0n ? -S(a, n) : S(a, n), n, false) },
  { name: "SQNEG", u: 1, opcode: "00111", vec: ALL, scalar: ALL, fn: (c, a, _d, n) => satQ(c, -S(a, n), n, false) },
  { name: "CMGT0", u: 0, opcode: "01000", vec: ALL, scalar: D, fn: (_c, a, _d, n) => cmp(S(a, n) > 0n, n) },
  { name: "CMGE0", u: 1, opcode: "01000", vec: ALL, scalar: D, fn: (_c, a, _d, n) => cmp(S(a, n) >= 0n, n) },
  { name: "CMEQ0", u: 0, opcode: "01001", vec: ALL, scalar: D, fn: (_c, a, _d, n) => cmp(a === 0n, n) },
  { name: "CMLE0", u: 1, opcode: "01001", vec: ALL, scalar: D, fn: (_c, a, _d, n) => cmp(S(a, n) <= 0n, n) },
  { name: "CMLT0", u: 0, opcode: "01010", vec: ALL, scalar: D, fn: (_c, a, _d, n) => cmp(S(a, n) < 0n, n) },
  { name: "ABS", u: 0, opcode: "01011", vec: ALL, scalar: D, fn: (_c, a, _d, n) => (S(a, n) < 0n ? -S(a, n) : a) },
  { name: "NEG", u: 1, opcode: "01011", vec: ALL, scalar: D, fn: (_c, a) => -a },
];

function vecPattern(u: number, size: string, opcode: string): string {
  return `0 q:1 ${u} 01110 ${size} 10000 ${opcode} 10 rn:5 rd:5`;
}

function scalarPattern(u: number, opcode: string): string {
  return `01 ${u} 11110 size:2 10000 ${opcode} 10 rn:5 rd:5`;
}

function miscRow(s: MiscSpec, scalar: boolean): Encoding<never> {
  const sizes = scalar ? s.scalar : s.vec;
  const fixed = s.fixedSize;
  const sizeBits = fixed === undefined ? "size:2" : fixed.toString(2).padStart(2, "0");
  return encoding<MiscFields>({
    name: `${s.name}_${scalar ? "scalar" : "vec"}`,
    pattern: scalar ? scalarPattern(s.u, s.opcode) : vecPattern(s.u, sizeBits, s.opcode),
    prepare(f) {
      if (fixed !== undefined) f.size = 0; // byte lanes; the size field selects the operation
      if (!((sizes >> f.size) & 1)) return false;
      if (scalar) {
        f.elements = 1;
        return true;
      }
      if (f.size === 3 && f.q === 0) return false;
      f.elements = (f.q ? 16 : 8) >> f.size;
      return true;
    },
    exec: (cpu, op) => execMisc(cpu, op, s.fn),
  });
}

// ------------------------------------------------------------------ long and narrow forms

/** [SU]ADDLP, [SU]ADALP: adjacent pairs added into lanes twice as wide, optionally accumulated. */
function execAddLongPairwise(cpu: CpuState, op: MiscOp, unsigned: boolean, accumulate: boolean): void {
  checkFPAdvSIMDEnabled(cpu);
  const bits = 8 << op.size;
  const n = lanes(cpu, op.rn, op.size, op.elements * 2);
  const d = lanes(cpu, op.rd, op.size + 1, op.elements);
  const out = d.map((old, i) => ext(n[2 * i]!, bits, unsigned) + ext(n[2 * i + 1]!, bits, unsigned) + (accumulate ? old : 0n));
  writeVec(cpu, op.rd, op.q, pack(out, op.size + 1));
}

/** SHLL{2}: the lanes of one half of Vn widened and shifted left by their width. */
function execShll(cpu: CpuState, op: MiscOp): void {
  checkFPAdvSIMDEnabled(cpu);
  const bits = BigInt(8 << op.size);
  const n = lanes(cpu, op.rn, op.size, op.elements, op.q ? op.elements : 0);
  writeV(cpu, op.rd, 4, pack(n.map((a) => a << bits), op.size + 1));
}

/** XTN, SQXTN, UQXTN, SQXTUN: the wide lanes of Vn truncated or saturated to half width. */
type NarrowFn = (cpu: CpuState, a: bigint, bits: number) => bigint;

function execNarrow(cpu: CpuState, op: MiscOp, fn: NarrowFn): void {
  checkFPAdvSIMDEnabled(cpu);
  const bits = 8 << op.size;
  const n = lanes(cpu, op.rn, op.size + 1, op.elements);
  const out = pack(n.map((a) => fn(cpu, a, bits)), op.size);
  if (op.elements === 1) writeV(cpu, op.rd, op.size, out);
  else writePart(cpu, op.rd, op.q, out);
}

const NARROW: readonly [string, number, string, NarrowFn, boolean][] = [
  ["XTN", 0, "10010", (_c, a) => a, false],
  ["SQXTUN", 1, "10010", (c, a, n) => satQ(c, sx(a, 2 * n), n, true), true],
  ["SQXTN", 0, "10100", (c, a, n) => satQ(c, sx(a, 2 * n), n, false), true],
  ["UQXTN", 1, "10100", (c, a, n) => satQ(c, a, n, true), true],
];

function narrowRows(): Encoding<never>[] {
  return NARROW.flatMap(([name, u, opcode, fn, hasScalar]) => {
    const vec = encoding<MiscFields>({
      name: `${name}_vec`,
      pattern: vecPattern(u, "size:2", opcode),
      prepare(f) {
        if (f.size === 3) return false;
        f.elements = 8 >> f.size;
        return true;
      },
      exec: (cpu, op) => execNarrow(cpu, op, fn),
    });
    if (!hasScalar) return [vec];
    const sc = encoding<MiscFields>({
      name: `${name}_scalar`,
      pattern: scalarPattern(u, opcode),
      prepare(f) {
        if (f.size === 3) return false;
        f.elements = 1;
        return true;
      },
      exec: (cpu, op) => execNarrow(cpu, op, fn),
    });
    return [vec, sc];
  });
}

const LONG_PAIRWISE: readonly [string, number, string, boolean][] = [
  ["SADDLP", 0, "00010", false],
  ["UADDLP", 1, "00010", false],
  ["SADALP", 0, "00110", true],
  ["UADALP", 1, "00110", true],
];

export const MISC_TABLE: Encoding<never>[] = [
  ...MISC_SPECS.filter((s) => s.vec).map((s) => miscRow(s, false)),
  ...MISC_SPECS.filter((s) => s.scalar).map((s) => miscRow(s, true)),
  ...LONG_PAIRWISE.map(([name, u, opcode, acc]) =>
    encoding<MiscFields>({
      name: `${name}_vec`,
      pattern: vecPattern(u, "size:2", opcode),
      prepare(f) {
        if (f.size === 3) return false;
        f.elements = (f.q ? 8 : 4) >> f.size;
        return true;
      },
      exec: (cpu, op) => execAddLongPairwise(cpu, op, u === 1, acc),
    }),
  ),
  encoding<MiscFields>({
    name: "SHLL_vec",
    pattern: vecPattern(1, "size:2", "10011"),
    prepare(f) {
      if (f.size === 3) return false;
      f.elements = 8 >> f.size;
      return true;
    },
    exec: execShll,
  }),
  ...narrowRows(),
];
