// Seeded random straight-line SIMD&FP programs for the differential test against unicorn. Every
// row of the SIMD&FP decode table (emulator/insn/fp_table.ts) is a generator: random words that
// match the row, with the operand fields steered so that every access stays aligned inside the
// data buffer and no pinned general register is written. Operands are biased to the edges of
// IEEE arithmetic: NaNs (quiet and signalling, with payloads), zeros, infinities, denormals, the
// largest and smallest normals, ties, and the integer saturation points.
//
// Memory discipline: X28 points at the middle of the data buffer and stays 16-byte aligned
// (every offset and writeback amount is a multiple of 16, or a SUB follows that undoes it); X27 (+0x40) and X26 (-0x80) are index
// registers. Destinations of general registers are X0..X15 only.

import { compilePattern, type CompiledEncoding, Decoder } from "../../../emulator/decode.ts";
import { FP_TABLE } from "../../../emulator/insn/fp_table.ts";
import { Rng, interestingU64 } from "../../oracle/gen.ts";

export const CODE_BASE = 0x80000n;
export const DATA_BASE = 0x200000n;
export const DATA_SIZE = 0x4000;
export const BASE_VALUE = DATA_BASE + BigInt(DATA_SIZE / 2);
export const IDX_POS = 0x40n;
export const IDX_NEG = -0x80n;
export const BRK0 = 0xd4200000;
/** Where literal loads read: the first 256 bytes of code (always mapped on both sides). */
const LITERAL_WINDOW = 256;

export interface FpCase {
  seed: number;
  index: number;
  words: number[];
  x: bigint[];
  v: bigint[];
  nzcv: number;
  fpcr: number;
  data: Uint8Array;
}

// ------------------------------------------------------------------ values

const M64 = (1n << 64n) - 1n;

function specialDouble(rng: Rng): bigint {
  const sign = rng.chance(0.5) ? 1n << 63n : 0n;
  const frac = (): bigint => rng.u64() & ((1n << 52n) - 1n);
  switch (rng.int(14)) {
    case 0: return sign;
    case 1: return sign | 0x7ff0000000000000n;
    case 2: return sign | 0x7ff8000000000000n | (rng.chance(0.5) ? frac() & 0x7ffffffffffffn : 0n); // quiet NaN
    case 3: return sign | 0x7ff0000000000000n | ((frac() & 0x7ffffffffffffn) || 1n); // signalling NaN
    case 4: return sign | (rng.chance(0.5) ? frac() : BigInt(rng.int(16) + 1)); // denormal
    case 5: return sign | rng.pick([0x0010000000000000n, 0x7fefffffffffffffn, 0x000fffffffffffffn, 0x3ff0000000000000n]);
    case 6: return sign | (BigInt(rng.range(1023 + 20, 1023 + 66)) << 52n) | (rng.chance(0.5) ? 0n : frac()); // near 2^31..2^64
    case 7: return sign | (BigInt(rng.range(1023 - 2, 1023 + 4)) << 52n) | (BigInt(rng.int(16)) << 48n); // small, ties
    case 8: return sign | (BigInt(rng.range(1, 60)) << 52n) | frac(); // tiny normals: underflow
    case 9: return sign | (BigInt(rng.range(2000, 2046)) << 52n) | frac(); // huge: overflow
    case 10: return sign | (BigInt(rng.range(1023 - 150, 1023 + 150)) << 52n) | frac() & ~((1n << BigInt(rng.int(53))) - 1n);
    default: return sign | (BigInt(rng.range(1023 - 60, 1023 + 60)) << 52n) | frac();
  }
}

function specialSingle(rng: Rng): bigint {
  const sign = rng.chance(0.5) ? 0x80000000n : 0n;
  const frac = (): bigint => BigInt(rng.u32() & 0x7fffff);
  switch (rng.int(14)) {
    case 0: return sign;
    case 1: return sign | 0x7f800000n;
    case 2: return sign | 0x7fc00000n | (rng.chance(0.5) ? frac() & 0x3fffffn : 0n);
    case 3: return sign | 0x7f800000n | ((frac() & 0x3fffffn) || 1n);
    case 4: return sign | (rng.chance(0.5) ? frac() : BigInt(rng.int(16) + 1));
    case 5: return sign | rng.pick([0x00800000n, 0x7f7fffffn, 0x007fffffn, 0x3f800000n]);
    case 6: return sign | (BigInt(rng.range(127 + 20, 127 + 66)) << 23n) | (rng.chance(0.5) ? 0n : frac());
    case 7: return sign | (BigInt(rng.range(127 - 2, 127 + 4)) << 23n) | (BigInt(rng.int(16)) << 19n);
    case 8: return sign | (BigInt(rng.range(1, 30)) << 23n) | frac();
    case 9: return sign | (BigInt(rng.range(230, 254)) << 23n) | frac();
    case 10: return sign | (BigInt(rng.range(127 - 30, 127 + 30)) << 23n) | (frac() & ~((1n << BigInt(rng.int(24))) - 1n));
    default: return sign | (BigInt(rng.range(127 - 40, 127 + 40)) << 23n) | frac();
  }
}

/** A half of a V register: one double, two singles, an integer, or random bits. */
function vHalf(rng: Rng): bigint {
  switch (rng.int(5)) {
    case 0: case 1: return specialDouble(rng);
    case 2: return (specialSingle(rng) << 32n) | specialSingle(rng);
    case 3: return interestingU64(rng);
    default: return rng.u64();
  }
}

/** A double near `base` in value or exponent: a few low bits changed, scaled by 2^k, sign flipped. */
function relatedDouble(rng: Rng, base: bigint): bigint {
  let r = base ^ BigInt(rng.int(4)); // the last bits differ
  const exp = Number((r >> 52n) & 0x7ffn);
  const shift = rng.pick([0, 1, -1, 52, 53, 54, -53, -54, 24, rng.range(-60, 60)]);
  if (exp > 0 && exp < 0x7ff && exp + shift > 0 && exp + shift < 0x7ff) r = (r & ~(0x7ffn << 52n)) | (BigInt(exp + shift) << 52n);
  if (rng.chance(0.5)) r ^= 1n << 63n;
  if (rng.chance(0.5)) r &= ~((1n << BigInt(rng.range(44, 52))) - 1n); // a short significand: exact ties
  return r;
}

function relatedSingle(rng: Rng, base: bigint): bigint {
  let r = base ^ BigInt(rng.int(4));
  const exp = Number((r >> 23n) & 0xffn);
  const shift = rng.pick([0, 1, -1, 23, 24, 25, -24, -25, rng.range(-30, 30)]);
  if (exp > 0 && exp < 0xff && exp + shift > 0 && exp + shift < 0xff) r = (r & ~(0xffn << 23n)) | (BigInt(exp + shift) << 23n);
  if (rng.chance(0.5)) r ^= 0x80000000n;
  if (rng.chance(0.5)) r &= ~((1n << BigInt(rng.range(16, 23))) - 1n);
  return r;
}

/**
 * k / x for the low 64 bits of `v` read as a double and as two singles (JS arithmetic: near
 * enough), so that the reciprocal steps (2 - a*b, 3 - a*b) and FMLS cancel almost completely.
 */
function quotients(v: bigint, k: number): { d: bigint; s: bigint } {
  const f64 = new Float64Array([0]);
  const u64 = new BigUint64Array(f64.buffer);
  const f32 = new Float32Array(2);
  const u32 = new Uint32Array(f32.buffer);
  u64[0] = v & M64;
  f64[0] = k / f64[0]!;
  u32[0] = Number(v & 0xffffffffn);
  u32[1] = Number((v >> 32n) & 0xffffffffn);
  f32[0] = k / f32[0]!;
  f32[1] = k / f32[1]!;
  return { d: u64[0], s: (BigInt(u32[1]) << 32n) | BigInt(u32[0]) };
}

function randomFpcr(rng: Rng): number {
  let f = rng.int(4) << 22; // RMode
  if (rng.chance(0.3)) f |= 1 << 24; // FZ
  if (rng.chance(0.3)) f |= 1 << 25; // DN
  if (rng.chance(0.2)) f |= 1 << 26; // AHP
  return f;
}

// ------------------------------------------------------------------ instructions

const ROWS: readonly CompiledEncoding[] = FP_TABLE.map(compilePattern);
const decoder = new Decoder(FP_TABLE, () => ({ name: "UNDEFINED", word: 0, exec: () => {} }));

function setField(c: CompiledEncoding, word: number, name: string, value: number): number {
  const f = c.fields.find((x) => x.name === name);
  if (!f) return word;
  const m = f.width === 32 ? 0xffffffff : ((1 << f.width) - 1) << f.shift;
  return ((word & ~m) | ((value << f.shift) & m)) >>> 0;
}

const vreg = (rng: Rng): number => (rng.chance(0.8) ? rng.int(8) : rng.int(32));
const gdst = (rng: Rng): number => (rng.chance(0.1) ? 31 : rng.int(16));
const gsrc = (rng: Rng): number => (rng.chance(0.1) ? 31 : rng.chance(0.6) ? rng.int(16) : rng.range(16, 27));

/** Log2 of the access size of a load/store row, from its name (LDR_Q_uoff, STP_D_pre, ...). */
function accessSize(name: string): number {
  const m = /_(B|H|S|D|Q)(_|$)/.exec(name);
  return m ? "BHSDQ".indexOf(m[1]!) : 0;
}

/** Steer the fields of one random word of row `c` at instruction index `at`. */
function steer(rng: Rng, c: CompiledEncoding, w: number, at: number): number {
  const name = c.enc.name;
  for (const f of ["rd", "rn", "rm", "ra", "rt", "rt2"]) w = setField(c, w, f, vreg(rng));
  if (/^(LD|ST)[1-4](R|_)/.test(name)) {
    // Structure loads/stores: base X28; post-index by the transfer size or by X27/X26.
    w = setField(c, w, "rn", 28);
    return setField(c, w, "rm", rng.pick([31, 31, 27, 26]));
  }
  const isLdSt = /^(LDR|STR|LDUR|STUR|LDP|STP|LDNP|STNP)_/.test(name);
  if (isLdSt) {
    const s = accessSize(name);
    const units = (bytes: number): number => bytes >> s;
    w = setField(c, w, "rn", 28);
    const off16 = (max: number): number => 16 * rng.range(-Math.floor(max / 16), Math.floor(max / 16));
    if (name.endsWith("_uoff")) w = setField(c, w, "imm", units(16 * rng.int(64)));
    else if (name.endsWith("_literal")) {
      const pc = 4 * at;
      const target = 16 * rng.int(LITERAL_WINDOW / 16);
      w = setField(c, w, "imm", ((target - pc) >> 2) & 0x7ffff);
    } else if (name.endsWith("_reg")) {
      w = setField(c, w, "rm", rng.chance(0.5) ? 27 : 26);
      // LSL/UXTX (011) or SXTX (111) on a 64-bit index (a multiple of 16, scaled or not: still aligned).
      w = setField(c, w, "option", rng.chance(0.5) ? 3 : 7);
      w = setField(c, w, "S", rng.int(2));
    } else if (/^(LDP|STP|LDNP|STNP)_/.test(name)) w = setField(c, w, "imm7", units(off16(Math.min(1008, 63 << s))) & 0x7f);
    else w = setField(c, w, "imm", off16(240) & 0x1ff);
    return w;
  }
  if (/^(FCVT[NPMZA][SU]|FCVTZ[SU]_fix)$/.test(name) || name.startsWith("FMOV_to_general")) w = setField(c, w, "rd", gdst(rng));
  if (/^[SU]CVTF_(int|fix)$/.test(name) || name.startsWith("FMOV_from_general") || name === "DUP_general" || name === "INS_general") {
    w = setField(c, w, "rn", gsrc(rng));
  }
  if (name === "UMOV" || name === "SMOV") w = setField(c, w, "rd", gdst(rng));
  if (name === "FCMP" && ((w >>> 3) & 1) === 1) w = setField(c, w, "rm", 0);
  return w;
}

/** A random allocated word of one SIMD&FP row (retrying until the decoder gives an FP row). */
export function randomFpWord(rng: Rng, at: number, rowIndex = rng.int(ROWS.length)): number {
  const c = ROWS[rowIndex]!;
  for (let tries = 0; tries < 200; tries++) {
    let w = (c.value | (rng.u32() & ~c.mask)) >>> 0;
    w = steer(rng, c, w, at);
    if (((w & c.mask) >>> 0) !== c.value) continue;
    const m = decoder.match(w);
    if (m && m.row.enc.name === c.enc.name) return w;
  }
  throw new Error(`no word generated for ${c.enc.name}`);
}

export const FP_ROW_NAMES: readonly string[] = ROWS.map((r) => r.enc.name);

export function generateFpCase(seed: number, index: number, length = 4, rowIndex?: number): FpCase {
  const rng = new Rng(seed, index);
  const words: number[] = [];
  for (let i = 0; i < length; i++) {
    const w = randomFpWord(rng, words.length, i === 0 ? rowIndex : undefined);
    words.push(w);
    // A structure post-indexed by a transfer size that is not a multiple of 16 leaves X28
    // misaligned: SUB X28, X28, #size restores it for the accesses after it.
    const f = decoder.match(w)?.fields;
    if (f?.post === 1 && f.bytes! % 16 !== 0) words.push((0xd1000000 | (f.bytes! << 10) | (28 << 5) | 28) >>> 0);
  }
  const x: bigint[] = [];
  for (let i = 0; i <= 30; i++) x.push(i < 26 ? interestingU64(rng) : 0n);
  x[26] = BigInt.asUintN(64, IDX_NEG);
  x[27] = IDX_POS;
  x[28] = BASE_VALUE;
  x[29] = rng.u64();
  x[30] = rng.u64();
  const v: bigint[] = [];
  for (let i = 0; i < 32; i++) v.push((vHalf(rng) << 64n) | vHalf(rng));
  // Operands related to V0's, so that sums cancel, ties come up and exponents line up exactly.
  for (let i = 1; i < 8; i++) {
    if (!rng.chance(0.35)) continue;
    const q = rng.chance(0.3) ? quotients(v[0]!, rng.pick([1, 2, 3])) : { d: v[0]! & M64, s: v[0]! & M64 };
    const lowD = relatedDouble(rng, q.d);
    const lowS = (relatedSingle(rng, (q.s >> 32n) & 0xffffffffn) << 32n) | relatedSingle(rng, q.s & 0xffffffffn);
    v[i] = (v[i]! & ~M64) | (rng.chance(0.5) ? lowD : lowS);
  }
  const data = new Uint8Array(DATA_SIZE);
  const dv = new DataView(data.buffer);
  for (let off = 0; off < DATA_SIZE; off += 8) dv.setBigUint64(off, vHalf(rng) & M64, true);
  return { seed, index, words, x, v, nzcv: rng.int(16), fpcr: randomFpcr(rng), data };
}

export function fpCodeBytes(words: readonly number[]): Uint8Array {
  const u = new Uint32Array([...words, BRK0]);
  const bytes = new Uint8Array(u.length * 4);
  const dv = new DataView(bytes.buffer);
  u.forEach((val, i) => dv.setUint32(i * 4, val, true));
  return bytes;
}
