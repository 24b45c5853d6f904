// Seeded random straight-line A64 integer programs for differential testing, built from encodings
// (32-bit words), never from assembly text. Every word is an allocated, non-UNPREDICTABLE encoding.
//
// Memory discipline: X28 (BASE_REG) points into the middle of a one-page data buffer and is never
// written; X27 holds a small non-negative and X26 a small negative multiple of 8 (register-offset
// indexes), also never written. An access through any other base (SP included) is preceded, in the
// same group, by `add/sub Xb, X28, #imm` that sets the base, so every address is naturally aligned
// and inside the buffer whatever the random instructions did before. Forward branches skip whole
// groups, so they never separate a base set-up from its access.

export const CODE_BASE = 0x80000n;
export const DATA_BASE = 0x200000n;
export const DATA_SIZE = 0x1000;
export const BASE_REG = 28;
export const IDX_POS = 27;
export const IDX_NEG = 26;
/** X28's value: the middle of the data buffer. */
export const BASE_VALUE = DATA_BASE + BigInt(DATA_SIZE / 2);
export const BRK0 = 0xd4200000;

// ------------------------------------------------------------------ PRNG

/** xoshiro128** seeded through splitmix32: small, fast, deterministic across platforms. */
export class Rng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;

  constructor(seed: number, stream = 0) {
    let z = (seed ^ Math.imul(stream + 1, 0x9e3779b9)) >>> 0;
    const next = () => {
      z = (z + 0x9e3779b9) >>> 0;
      let t = z;
      t = Math.imul(t ^ (t >>> 16), 0x85ebca6b);
      t = Math.imul(t ^ (t >>> 13), 0xc2b2ae35);
      return (t ^ (t >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next() | 1;
  }

  u32(): number {
    const r = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return r;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor((this.u32() / 4294967296) * n);
  }

  /** Uniform integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.u32() / 4294967296 < p;
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }

  u64(): bigint {
    return (BigInt(this.u32()) << 32n) | BigInt(this.u32());
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

// ------------------------------------------------------------------ values

const M64 = (1n << 64n) - 1n;

/** A 64-bit value that hits the edges of 32- and 64-bit arithmetic often. */
export function interestingU64(rng: Rng): bigint {
  switch (rng.int(12)) {
    case 0:
      return rng.pick([0n, 1n, M64, 2n, M64 - 1n]);
    case 1:
      return rng.pick([0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n, 0xffffffff80000000n, 0x7ffffffen]);
    case 2:
      return rng.pick([0x7fffffffffffffffn, 0x8000000000000000n, 0x8000000000000001n, 0xffffffff00000000n]);
    case 3:
      return BigInt(rng.int(64));
    case 4:
      return (M64 - BigInt(rng.int(64))) & M64;
    case 5:
      return 1n << BigInt(rng.int(64));
    case 6:
      return ((1n << BigInt(rng.int(64))) - 1n) & M64;
    case 7:
      return BigInt(rng.u32());
    case 8:
      return BigInt.asUintN(64, BigInt(rng.u32() | 0));
    default:
      return rng.u64();
  }
}

// ------------------------------------------------------------------ registers

/** Destination register: never a pinned one; 31 is XZR or SP as the encoding says. */
function dst(rng: Rng): number {
  const p = rng.u32() / 4294967296;
  if (p < 0.5) return rng.int(8);
  if (p < 0.88) return rng.pick(FREE_HIGH);
  return 31;
}

/** Source register: anything (pinned registers are fine to read). */
function src(rng: Rng): number {
  const p = rng.u32() / 4294967296;
  if (p < 0.45) return rng.int(8);
  if (p < 0.88) return rng.range(8, 30);
  return 31;
}

const FREE_HIGH = [8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 29, 30];

/** A register that can be a temporary base (not pinned, not ZR). */
function tempBase(rng: Rng): number {
  return rng.chance(0.5) ? rng.int(8) : rng.pick(FREE_HIGH);
}

// ------------------------------------------------------------------ encoders

const sfBit = (sf: number) => (sf & 1) << 31;
const w = (x: number) => x >>> 0;

export function addSubImm(sf: number, op: number, s: number, sh: number, imm12: number, rn: number, rd: number): number {
  return w(sfBit(sf) | (op << 30) | (s << 29) | (0b100010 << 23) | (sh << 22) | (imm12 << 10) | (rn << 5) | rd);
}

function addSubShifted(sf: number, op: number, s: number, shift: number, rm: number, imm6: number, rn: number, rd: number): number {
  return w(sfBit(sf) | (op << 30) | (s << 29) | (0b01011 << 24) | (shift << 22) | (rm << 16) | (imm6 << 10) | (rn << 5) | rd);
}

function addSubExtended(sf: number, op: number, s: number, rm: number, option: number, imm3: number, rn: number, rd: number): number {
  return w(
    sfBit(sf) | (op << 30) | (s << 29) | (0b01011 << 24) | (1 << 21) | (rm << 16) | (option << 13) | (imm3 << 10) | (rn << 5) | rd,
  );
}

function logicalImm(sf: number, opc: number, n: number, immr: number, imms: number, rn: number, rd: number): number {
  return w(sfBit(sf) | (opc << 29) | (0b100100 << 23) | (n << 22) | (immr << 16) | (imms << 10) | (rn << 5) | rd);
}

function bitfield(sf: number, opc: number, n: number, immr: number, imms: number, rn: number, rd: number): number {
  return w(sfBit(sf) | (opc << 29) | (0b100110 << 23) | (n << 22) | (immr << 16) | (imms << 10) | (rn << 5) | rd);
}

// ------------------------------------------------------------------ instruction groups

interface Ctx {
  rng: Rng;
  /** X27 and X26: the register-offset indexes. */
  idxPos: number;
  idxNeg: number;
}

type Group = { words: number[] } | { branch: (offsetWords: number) => number; skip: number };

function gAddSubImm({ rng }: Ctx): number[] {
  const imm12 = rng.pick([0, 1, 4095, rng.int(4096), rng.int(16)]);
  return [addSubImm(rng.int(2), rng.int(2), rng.int(2), rng.int(2), imm12, src(rng), dst(rng))];
}

function gAddSubShifted({ rng }: Ctx): number[] {
  const sf = rng.int(2);
  const imm6 = rng.chance(0.3) ? 0 : rng.int(sf ? 64 : 32);
  return [addSubShifted(sf, rng.int(2), rng.int(2), rng.int(3), src(rng), imm6, src(rng), dst(rng))];
}

function gAddSubExtended({ rng }: Ctx): number[] {
  return [addSubExtended(rng.int(2), rng.int(2), rng.int(2), src(rng), rng.int(8), rng.int(5), src(rng), dst(rng))];
}

function gAdcSbc({ rng }: Ctx): number[] {
  const word = sfBit(rng.int(2)) | (rng.int(2) << 30) | (rng.int(2) << 29) | (0b11010000 << 21) | (src(rng) << 16) | (src(rng) << 5) | dst(rng);
  return [w(word)];
}

/** A valid bitmask immediate (DecodeBitMasks) as {n, immr, imms}. */
export function randomBitmask(rng: Rng, sf: number): { n: number; immr: number; imms: number } {
  const log2e = rng.range(1, sf ? 6 : 5);
  const e = 1 << log2e;
  const ones = rng.range(1, e - 1);
  const rot = rng.int(e);
  if (e === 64) return { n: 1, immr: rot, imms: ones - 1 };
  return { n: 0, immr: rot, imms: ((0x3f << (log2e + 1)) & 0x3f) | (ones - 1) };
}

function gLogicalImm({ rng }: Ctx): number[] {
  const sf = rng.int(2);
  const { n, immr, imms } = randomBitmask(rng, sf);
  return [logicalImm(sf, rng.int(4), n, immr, imms, src(rng), dst(rng))];
}

function gLogicalShifted({ rng }: Ctx): number[] {
  const sf = rng.int(2);
  const imm6 = rng.chance(0.3) ? 0 : rng.int(sf ? 64 : 32);
  const word = sfBit(sf) | (rng.int(4) << 29) | (0b01010 << 24) | (rng.int(4) << 22) | (rng.int(2) << 21) | (src(rng) << 16) | (imm6 << 10) | (src(rng) << 5) | dst(rng);
  return [w(word)];
}

function gMoveWide({ rng }: Ctx): number[] {
  const sf = rng.int(2);
  const opc = rng.pick([0, 2, 3]); // MOVN, MOVZ, MOVK (01 is unallocated)
  const imm16 = rng.pick([0, 0xffff, 0x8000, 1, rng.int(0x10000)]);
  return [w(sfBit(sf) | (opc << 29) | (0b100101 << 23) | (rng.int(sf ? 4 : 2) << 21) | (imm16 << 5) | dst(rng))];
}

function gAdr({ rng }: Ctx): number[] {
  const imm = rng.chance(0.5) ? rng.int(1 << 21) : rng.range(-64, 64) & 0x1fffff;
  return [w((rng.int(2) << 31) | ((imm & 3) << 29) | (0b10000 << 24) | ((imm >> 2) << 5) | dst(rng))];
}

function gBitfield({ rng }: Ctx): number[] {
  const sf = rng.int(2);
  const width = sf ? 64 : 32;
  return [bitfield(sf, rng.int(3), sf, rng.int(width), rng.int(width), src(rng), dst(rng))];
}

function gExtr({ rng }: Ctx): number[] {
  const sf = rng.int(2);
  const word = sfBit(sf) | (0b00100111 << 23) | (sf << 22) | (src(rng) << 16) | (rng.int(sf ? 64 : 32) << 10) | (src(rng) << 5) | dst(rng);
  return [w(word)];
}

function gDataProc2({ rng }: Ctx): number[] {
  const opcode = rng.pick([0b000010, 0b000011, 0b001000, 0b001001, 0b001010, 0b001011]);
  return [w(sfBit(rng.int(2)) | (0b0011010110 << 21) | (src(rng) << 16) | (opcode << 10) | (src(rng) << 5) | dst(rng))];
}

function gDataProc3({ rng }: Ctx): number[] {
  // [op31, o0, sf allowed (2 = both), Ra forced to 31]
  const forms: [number, number, number, boolean][] = [
    [0b000, 0, 2, false], // MADD
    [0b000, 1, 2, false], // MSUB
    [0b001, 0, 1, false], // SMADDL
    [0b001, 1, 1, false], // SMSUBL
    [0b010, 0, 1, true], // SMULH
    [0b101, 0, 1, false], // UMADDL
    [0b101, 1, 1, false], // UMSUBL
    [0b110, 0, 1, true], // UMULH
  ];
  const [op31, o0, sfs, raOnes] = rng.pick(forms);
  const sf = sfs === 2 ? rng.int(2) : 1;
  const ra = raOnes ? 31 : src(rng);
  return [w(sfBit(sf) | (0b0011011 << 24) | (op31 << 21) | (src(rng) << 16) | (o0 << 15) | (ra << 10) | (src(rng) << 5) | dst(rng))];
}

function gDataProc1({ rng }: Ctx): number[] {
  const sf = rng.int(2);
  const opcode = rng.pick(sf ? [0, 1, 2, 3, 4, 5] : [0, 1, 2, 4, 5]); // RBIT REV16 REV32/REV REV CLZ CLS
  return [w(sfBit(sf) | (0b1011010110 << 21) | (opcode << 10) | (src(rng) << 5) | dst(rng))];
}

function gCondSelect({ rng }: Ctx): number[] {
  const word = sfBit(rng.int(2)) | (rng.int(2) << 30) | (0b011010100 << 21) | (src(rng) << 16) | (rng.int(16) << 12) | (rng.int(2) << 10) | (src(rng) << 5) | dst(rng);
  return [w(word)];
}

function gCondCompare({ rng }: Ctx): number[] {
  const imm = rng.int(2);
  const field = imm ? rng.int(32) : src(rng);
  const word = sfBit(rng.int(2)) | (rng.int(2) << 30) | (0b111010010 << 21) | (field << 16) | (rng.int(16) << 12) | (imm << 11) | (src(rng) << 5) | rng.int(16);
  return [w(word)];
}

// ---- loads and stores

interface SingleKind {
  size: number; // log2 bytes
  opc: number;
  load: boolean;
}

const SINGLE_KINDS: SingleKind[] = [
  { size: 0, opc: 0, load: false }, // STRB
  { size: 0, opc: 1, load: true }, // LDRB
  { size: 0, opc: 2, load: true }, // LDRSB Xt
  { size: 0, opc: 3, load: true }, // LDRSB Wt
  { size: 1, opc: 0, load: false }, // STRH
  { size: 1, opc: 1, load: true }, // LDRH
  { size: 1, opc: 2, load: true }, // LDRSH Xt
  { size: 1, opc: 3, load: true }, // LDRSH Wt
  { size: 2, opc: 0, load: false }, // STR Wt
  { size: 2, opc: 1, load: true }, // LDR Wt
  { size: 2, opc: 2, load: true }, // LDRSW
  { size: 3, opc: 0, load: false }, // STR Xt
  { size: 3, opc: 1, load: true }, // LDR Xt
];

const DATA_LO = Number(DATA_BASE);
const BASE = Number(BASE_VALUE);

/** A naturally aligned address for `span` bytes, biased towards a hot window around X28. */
function pickAddress(rng: Rng, align: number, span: number): number {
  const [lo, hi] = rng.chance(0.6) ? [BASE - 64, BASE + 64 - span] : [DATA_LO, DATA_LO + DATA_SIZE - span];
  return lo + Math.floor(rng.int(hi - lo + 1) / align) * align;
}

/**
 * Choose a base register, and the instruction that sets it, so that the access lands on an aligned
 * in-buffer address. `propose` draws an encoded offset; `accessAt(off)` is the accessed address
 * minus the base. X28 itself is a candidate only for forms without writeback (`allowPinned`).
 * Returns null when no proposal fitted (the caller draws another instruction).
 */
function placeBase(
  rng: Rng,
  align: number,
  span: number,
  propose: () => number,
  accessAt: (off: number) => number,
  allowPinned: boolean,
): { rn: number; setup: number[]; off: number } | null {
  for (let tries = 0; tries < 16; tries++) {
    const off = propose();
    const rel = accessAt(off);
    if (allowPinned && rng.chance(0.35)) {
      const a = BASE + rel;
      if (a % align === 0 && a >= DATA_LO && a + span <= DATA_LO + DATA_SIZE) return { rn: BASE_REG, setup: [], off };
      continue;
    }
    const a = pickAddress(rng, align, span);
    const b = a - rel;
    const useSp = rng.chance(0.2);
    if (useSp && b % 16 !== 0) continue;
    const d = b - BASE;
    if (Math.abs(d) > 4095) continue;
    const rn = useSp ? 31 : tempBase(rng);
    const setup = [addSubImm(1, d < 0 ? 1 : 0, 0, 0, Math.abs(d), BASE_REG, rn)];
    return { rn, setup, off };
  }
  return null;
}

/** Load destination or store source register, avoiding UNPREDICTABLE overlaps with a written-back base. */
function transferReg(rng: Rng, load: boolean, rn: number, wback: boolean, avoid = -1): number {
  for (;;) {
    const t = load ? dst(rng) : src(rng);
    if (wback && t === rn && rn !== 31) continue;
    if (t === avoid) continue;
    return t;
  }
}

function signedField(v: number, bits: number): number {
  return v & ((1 << bits) - 1);
}

function gLoadStoreSingle(ctx: Ctx): number[] | null {
  const { rng } = ctx;
  const k = rng.pick(SINGLE_KINDS);
  const sz = 1 << k.size;
  const form = rng.pick(["uimm", "uimm", "unscaled", "pre", "post", "reg", "reg"] as const);
  const head = (k.size << 30) | (k.opc << 22);
  if (form === "uimm") {
    const p = placeBase(rng, sz, sz, () => (rng.chance(0.5) ? rng.int(32) : rng.int(4096)), (o) => o * sz, true);
    if (!p) return null;
    const rt = transferReg(rng, k.load, p.rn, false);
    return [...p.setup, w(head | (0b111001 << 24) | (p.off << 10) | (p.rn << 5) | rt)];
  }
  if (form === "reg") {
    const s = rng.int(2);
    const amount = s ? k.size : 0;
    const which = rng.int(3); // X27 (>= 0), X26 (< 0), XZR
    const rm = which === 0 ? IDX_POS : which === 1 ? IDX_NEG : 31;
    const index = which === 0 ? ctx.idxPos : which === 1 ? ctx.idxNeg : 0;
    const option = which === 1 ? rng.pick([0b110, 0b111]) : rng.pick([0b010, 0b011, 0b110, 0b111]);
    const p = placeBase(rng, sz, sz, () => index * (1 << amount), (o) => o, true);
    if (!p) return null;
    const rt = transferReg(rng, k.load, p.rn, false);
    return [...p.setup, w(head | (0b111000 << 24) | (1 << 21) | (rm << 16) | (option << 13) | (s << 12) | (0b10 << 10) | (p.rn << 5) | rt)];
  }
  const wback = form !== "unscaled";
  const propose = () => (form === "unscaled" && rng.chance(0.7) ? rng.range(-32, 31) * sz : rng.range(-256, 255));
  const p = placeBase(rng, sz, sz, propose, (o) => (form === "post" ? 0 : o), !wback);
  if (!p) return null;
  const rt = transferReg(rng, k.load, p.rn, wback);
  const mode = form === "unscaled" ? 0b00 : form === "post" ? 0b01 : 0b11;
  return [...p.setup, w(head | (0b111000 << 24) | (signedField(p.off, 9) << 12) | (mode << 10) | (p.rn << 5) | rt)];
}

function gLoadStorePair(ctx: Ctx): number[] | null {
  const { rng } = ctx;
  // [opc, L, element bytes]: STP/LDP W, STP/LDP X, LDPSW
  const [opc, l, sz] = rng.pick([
    [0, 0, 4],
    [0, 1, 4],
    [2, 0, 8],
    [2, 1, 8],
    [1, 1, 4],
  ] as const);
  const form = rng.pick(["offset", "offset", "pre", "post"] as const);
  const wback = form !== "offset";
  const propose = () => (rng.chance(0.6) ? rng.range(-8, 8) : rng.range(-64, 63));
  const p = placeBase(rng, sz, 2 * sz, propose, (o) => (form === "post" ? 0 : o * sz), !wback);
  if (!p) return null;
  const load = l === 1;
  const rt = transferReg(rng, load, p.rn, wback);
  // LDP with Rt == Rt2 is UNPREDICTABLE (both XZR included).
  const rt2 = transferReg(rng, load, p.rn, wback, load ? rt : -1);
  const mode = form === "offset" ? 0b010 : form === "post" ? 0b001 : 0b011;
  return [...p.setup, w((opc << 30) | (0b101 << 27) | (mode << 23) | (l << 22) | (signedField(p.off, 7) << 15) | (rt2 << 10) | (p.rn << 5) | rt)];
}

// ---- branches (resolved once the groups after them are known)

function gBranch({ rng }: Ctx): Group {
  const skip = rng.range(1, 3);
  switch (rng.int(3)) {
    case 0: {
      const cond = rng.int(16);
      return { skip, branch: (off) => w(0x54000000 | (signedField(off, 19) << 5) | cond) };
    }
    case 1: {
      const sf = rng.int(2);
      const op = rng.int(2);
      const rt = src(rng);
      return { skip, branch: (off) => w(sfBit(sf) | (0b011010 << 25) | (op << 24) | (signedField(off, 19) << 5) | rt) };
    }
    default: {
      const bit = rng.int(rng.chance(0.5) ? 32 : 64);
      const op = rng.int(2);
      const rt = src(rng);
      return {
        skip,
        branch: (off) => w(((bit >> 5) << 31) | (0b011011 << 25) | (op << 24) | ((bit & 31) << 19) | (signedField(off, 14) << 5) | rt),
      };
    }
  }
}

type Gen = (ctx: Ctx) => number[] | null;

const GENERATORS: [number, Gen | "branch"][] = [
  [6, gAddSubImm],
  [6, gAddSubShifted],
  [5, gAddSubExtended],
  [3, gAdcSbc],
  [5, gLogicalImm],
  [5, gLogicalShifted],
  [4, gMoveWide],
  [2, gAdr],
  [5, gBitfield],
  [3, gExtr],
  [4, gDataProc2],
  [4, gDataProc3],
  [4, gDataProc1],
  [4, gCondSelect],
  [4, gCondCompare],
  [10, gLoadStoreSingle],
  [5, gLoadStorePair],
  [5, "branch"],
];
const TOTAL_WEIGHT = GENERATORS.reduce((s, [wt]) => s + wt, 0);

function pickGenerator(rng: Rng): Gen | "branch" {
  let r = rng.int(TOTAL_WEIGHT);
  for (const [wt, g] of GENERATORS) {
    if (r < wt) return g;
    r -= wt;
  }
  throw new Error("unreachable");
}

// ------------------------------------------------------------------ test cases

export interface TestCase {
  seed: number;
  index: number;
  /** Code at CODE_BASE (the final `brk #0` is not included). */
  words: number[];
  /** Initial X0..X30. */
  x: bigint[];
  sp: bigint;
  /** NZCV as bits 3..0. */
  nzcv: number;
  /** Initial contents of the data buffer at DATA_BASE. */
  data: Uint8Array;
}

/** A random program of about `minLen..maxLen` instructions with a random initial state. */
export function generateCase(seed: number, index: number, minLen = 8, maxLen = 24): TestCase {
  const rng = new Rng(seed, index);
  const ctx: Ctx = { rng, idxPos: rng.int(33) * 8, idxNeg: -rng.range(1, 32) * 8 };
  const target = rng.range(minLen, maxLen);
  const groups: Group[] = [];
  let len = 0;
  while (len < target) {
    const g = pickGenerator(rng);
    if (g === "branch") {
      groups.push(gBranch(ctx));
      len++;
      continue;
    }
    const words = g(ctx);
    if (!words) continue;
    groups.push({ words });
    len += words.length;
  }
  const words = resolveGroups(groups);

  const x: bigint[] = [];
  for (let i = 0; i <= 30; i++) x.push(interestingU64(rng));
  x[BASE_REG] = BASE_VALUE;
  x[IDX_POS] = BigInt(ctx.idxPos);
  x[IDX_NEG] = BigInt.asUintN(64, BigInt(ctx.idxNeg));
  const sp = DATA_BASE + BigInt(rng.int(DATA_SIZE / 16) * 16);
  const data = new Uint8Array(DATA_SIZE);
  const dv = new DataView(data.buffer);
  for (let off = 0; off < DATA_SIZE; off += 8) dv.setBigUint64(off, interestingU64(rng), true);
  return { seed, index, words, x, sp, nzcv: rng.int(16), data };
}

/** Lay groups out as words; a branch jumps over the next `skip` groups (or to the end). */
function resolveGroups(groups: Group[]): number[] {
  const sizes = groups.map((g) => ("words" in g ? g.words.length : 1));
  const out: number[] = [];
  groups.forEach((g, i) => {
    if ("words" in g) {
      out.push(...g.words);
      return;
    }
    let off = 1;
    for (let j = i + 1; j <= i + g.skip && j < groups.length; j++) off += sizes[j]!;
    out.push(g.branch(off));
  });
  return out;
}

/** Code bytes including the final `brk #0`. */
export function codeBytes(words: readonly number[]): Uint8Array {
  const u = new Uint32Array([...words, BRK0]);
  const bytes = new Uint8Array(u.length * 4);
  const dv = new DataView(bytes.buffer);
  u.forEach((v, i) => dv.setUint32(i * 4, v, true));
  return bytes;
}
