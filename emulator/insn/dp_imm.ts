// A64 data processing — immediate (bits[28:26] = 100): PC-relative addressing, add/subtract,
// logical (bitmask) immediates, move wide, bitfield and extract. Immediates, masks and rotate
// amounts are all computed in `prepare`; handlers only combine register halves with them.

import type { CpuState } from "../cpu_state.ts";
import { type Encoding, encoding, format } from "../decode.ts";
import { decodeBitMasks } from "./bitmask.ts";
import { addWithCarry32, addWithCarry64, dstZR, half, logicFlags, regSP, srcZR, TWO32 } from "./operands.ts";
import { ror32, ror64 } from "./shift.ts";
import { sized } from "./sized.ts";

/** Sign-extend the low `bits` bits of `v`. */
const sext = (v: number, bits: number): number => (v << (32 - bits)) >> (32 - bits);

// ---------------------------------------------------------------- PC-relative addressing

interface PcRelFields {
  immlo: number;
  immhi: number;
  rd: number;
  xd: number;
  offLo: number;
  offHi: number;
}

/** Store a signed offset (|v| ≤ 2^33) as 64-bit two's-complement halves. */
function setOffset(f: PcRelFields, v: number): void {
  f.offLo = v >>> 0;
  f.offHi = Math.floor(v / TWO32) >>> 0;
}

const PC_REL: Encoding<never>[] = [
  encoding<PcRelFields>({
    name: "ADR",
    pattern: "0 immlo:2 10000 immhi:19 rd:5",
    prepare(f) {
      f.xd = half(dstZR(f.rd));
      setOffset(f, sext((f.immhi << 2) | f.immlo, 21));
    },
    exec(cpu, op) {
      const lo = cpu.pcLo + op.offLo;
      cpu.x[op.xd + 1] = cpu.pcHi + op.offHi + (lo >= TWO32 ? 1 : 0);
      cpu.x[op.xd] = lo;
    },
  }),
  encoding<PcRelFields>({
    name: "ADRP",
    pattern: "1 immlo:2 10000 immhi:19 rd:5",
    prepare(f) {
      f.xd = half(dstZR(f.rd));
      setOffset(f, sext((f.immhi << 2) | f.immlo, 21) * 4096);
    },
    exec(cpu, op) {
      const lo = ((cpu.pcLo & ~0xfff) >>> 0) + op.offLo;
      cpu.x[op.xd + 1] = cpu.pcHi + op.offHi + (lo >= TWO32 ? 1 : 0);
      cpu.x[op.xd] = lo;
    },
  }),
];

// ---------------------------------------------------------------- add/subtract (immediate)

interface AddSubImmFields {
  sh: number;
  imm12: number;
  rn: number;
  rd: number;
  xn: number;
  xd: number;
  /** The immediate, already shifted. */
  imm: number;
  /** NOT(imm) as the low half, for the SUBS AddWithCarry. */
  nimm: number;
}

/** Rn is SP; Rd is SP for ADD/SUB and ZR for ADDS/SUBS. */
function addSubImm(setFlags: boolean) {
  return (f: AddSubImmFields): void => {
    f.xn = half(regSP(f.rn));
    f.xd = half(setFlags ? dstZR(f.rd) : regSP(f.rd));
    f.imm = f.sh ? f.imm12 * 4096 : f.imm12;
    f.nimm = ~f.imm >>> 0;
  };
}

const ADD_SUB_IMM: Encoding<never>[] = [
  ...sized<AddSubImmFields>({
    name: "ADD_imm",
    pattern: "0 0 100010 sh:1 imm12:12 rn:5 rd:5",
    prepare: addSubImm(false),
    x(cpu, op) {
      const x = cpu.x;
      const lo = x[op.xn]! + op.imm;
      const hi = x[op.xn + 1]! + (lo >= TWO32 ? 1 : 0);
      x[op.xd] = lo;
      x[op.xd + 1] = hi;
    },
    w(cpu, op) {
      const x = cpu.x;
      x[op.xd] = x[op.xn]! + op.imm;
      x[op.xd + 1] = 0;
    },
  }),
  ...sized<AddSubImmFields>({
    name: "ADDS_imm",
    pattern: "0 1 100010 sh:1 imm12:12 rn:5 rd:5",
    prepare: addSubImm(true),
    x(cpu, op) {
      const x = cpu.x;
      addWithCarry64(cpu, x[op.xn]!, x[op.xn + 1]!, op.imm, 0, 0, true);
      x[op.xd] = cpu.rLo;
      x[op.xd + 1] = cpu.rHi;
    },
    w(cpu, op) {
      const x = cpu.x;
      x[op.xd] = addWithCarry32(cpu, x[op.xn]!, op.imm, 0, true);
      x[op.xd + 1] = 0;
    },
  }),
  ...sized<AddSubImmFields>({
    name: "SUB_imm",
    pattern: "1 0 100010 sh:1 imm12:12 rn:5 rd:5",
    prepare: addSubImm(false),
    x(cpu, op) {
      const x = cpu.x;
      const lo = x[op.xn]! - op.imm;
      const hi = x[op.xn + 1]! - (lo < 0 ? 1 : 0);
      x[op.xd] = lo;
      x[op.xd + 1] = hi;
    },
    w(cpu, op) {
      const x = cpu.x;
      x[op.xd] = x[op.xn]! - op.imm;
      x[op.xd + 1] = 0;
    },
  }),
  ...sized<AddSubImmFields>({
    name: "SUBS_imm",
    pattern: "1 1 100010 sh:1 imm12:12 rn:5 rd:5",
    prepare: addSubImm(true),
    x(cpu, op) {
      const x = cpu.x;
      addWithCarry64(cpu, x[op.xn]!, x[op.xn + 1]!, op.nimm, 0xffffffff, 1, true);
      x[op.xd] = cpu.rLo;
      x[op.xd + 1] = cpu.rHi;
    },
    w(cpu, op) {
      const x = cpu.x;
      x[op.xd] = addWithCarry32(cpu, x[op.xn]!, op.nimm, 1, true);
      x[op.xd + 1] = 0;
    },
  }),
];

// ---------------------------------------------------------------- logical (immediate)

interface LogicalImmFields {
  sf: number;
  n: number;
  immr: number;
  imms: number;
  rn: number;
  rd: number;
  xn: number;
  xd: number;
  /** The bitmask immediate. */
  mLo: number;
  mHi: number;
}

/** Rd is SP for AND/ORR/EOR and ZR for ANDS; reserved N/imms combinations are UNDEFINED. */
function logicalImm(setFlags: boolean) {
  return (f: LogicalImmFields & { sf: number }): boolean => {
    if (f.sf === 0 && f.n === 1) return false;
    const m = decodeBitMasks(f.n, f.imms, f.immr, true, f.sf ? 64 : 32);
    if (!m) return false;
    f.xn = half(srcZR(f.rn));
    f.xd = half(setFlags ? dstZR(f.rd) : regSP(f.rd));
    f.mLo = m.wLo;
    f.mHi = m.wHi;
    return true;
  };
}

const LOGICAL_IMM: Encoding<never>[] = [
  ...sized<LogicalImmFields>({
    name: "AND_imm",
    pattern: "00 100100 n:1 immr:6 imms:6 rn:5 rd:5",
    prepare: logicalImm(false),
    x(cpu, op) {
      const x = cpu.x;
      x[op.xd] = x[op.xn]! & op.mLo;
      x[op.xd + 1] = x[op.xn + 1]! & op.mHi;
    },
    w(cpu, op) {
      const x = cpu.x;
      x[op.xd] = x[op.xn]! & op.mLo;
      x[op.xd + 1] = 0;
    },
  }),
  ...sized<LogicalImmFields>({
    name: "ORR_imm",
    pattern: "01 100100 n:1 immr:6 imms:6 rn:5 rd:5",
    prepare: logicalImm(false),
    x(cpu, op) {
      const x = cpu.x;
      x[op.xd] = x[op.xn]! | op.mLo;
      x[op.xd + 1] = x[op.xn + 1]! | op.mHi;
    },
    w(cpu, op) {
      const x = cpu.x;
      x[op.xd] = x[op.xn]! | op.mLo;
      x[op.xd + 1] = 0;
    },
  }),
  ...sized<LogicalImmFields>({
    name: "EOR_imm",
    pattern: "10 100100 n:1 immr:6 imms:6 rn:5 rd:5",
    prepare: logicalImm(false),
    x(cpu, op) {
      const x = cpu.x;
      x[op.xd] = x[op.xn]! ^ op.mLo;
      x[op.xd + 1] = x[op.xn + 1]! ^ op.mHi;
    },
    w(cpu, op) {
      const x = cpu.x;
      x[op.xd] = x[op.xn]! ^ op.mLo;
      x[op.xd + 1] = 0;
    },
  }),
  ...sized<LogicalImmFields>({
    name: "ANDS_imm",
    pattern: "11 100100 n:1 immr:6 imms:6 rn:5 rd:5",
    prepare: logicalImm(true),
    x(cpu, op) {
      const x = cpu.x;
      const lo = (x[op.xn]! & op.mLo) >>> 0;
      const hi = (x[op.xn + 1]! & op.mHi) >>> 0;
      logicFlags(cpu, lo, hi);
      x[op.xd] = lo;
      x[op.xd + 1] = hi;
    },
    w(cpu, op) {
      const x = cpu.x;
      const lo = (x[op.xn]! & op.mLo) >>> 0;
      logicFlags(cpu, lo, lo);
      x[op.xd] = lo;
      x[op.xd + 1] = 0;
    },
  }),
];

// ---------------------------------------------------------------- move wide

interface MoveWideFields {
  sf: number;
  hw: number;
  imm16: number;
  rd: number;
  xd: number;
  /** imm16 << 16·hw (inverted for MOVN). */
  vLo: number;
  vHi: number;
  /** MOVK: the bits kept from Rd. */
  kLo: number;
  kHi: number;
}

/** @movw: imm16 shifted by 16·hw, its complement for MOVN, and (MOVK) the bits kept from Rd. */
function moveWide(f: MoveWideFields & { sf: number; invert: number }): boolean {
  if (f.sf === 0 && f.hw >= 2) return false;
  f.xd = half(dstZR(f.rd));
  const shift = 16 * (f.hw & 1);
  let lo = f.hw < 2 ? (f.imm16 << shift) >>> 0 : 0;
  let hi = f.hw < 2 ? 0 : (f.imm16 << shift) >>> 0;
  const kLo = f.hw < 2 ? ~(0xffff << shift) >>> 0 : 0xffffffff;
  const kHi = f.hw < 2 ? 0xffffffff : ~(0xffff << shift) >>> 0;
  if (f.invert === 1) {
    lo = ~lo >>> 0;
    hi = ~hi >>> 0;
  }
  f.vLo = lo;
  f.vHi = hi;
  f.kLo = kLo;
  f.kHi = kHi;
  return true;
}

const MOVW = format<MoveWideFields & { invert: number }>({ name: "movw", pattern: ". .. ...... hw:2 imm16:16 rd:5", prepare: moveWide });

/** MOVN/MOVZ: the prepared value replaces Rd. */
function movImm64(cpu: CpuState, op: MoveWideFields): void {
  cpu.x[op.xd] = op.vLo;
  cpu.x[op.xd + 1] = op.vHi;
}

function movImm32(cpu: CpuState, op: MoveWideFields): void {
  cpu.x[op.xd] = op.vLo;
  cpu.x[op.xd + 1] = 0;
}

function movk64(cpu: CpuState, op: MoveWideFields): void {
  const x = cpu.x;
  x[op.xd] = (x[op.xd]! & op.kLo) | op.vLo;
  x[op.xd + 1] = (x[op.xd + 1]! & op.kHi) | op.vHi;
}

function movk32(cpu: CpuState, op: MoveWideFields): void {
  const x = cpu.x;
  x[op.xd] = (x[op.xd]! & op.kLo) | op.vLo;
  x[op.xd + 1] = 0;
}

const MOVE_WIDE: Encoding<never>[] = [
  ...sized({ name: "MOVN", pattern: "00 100101 .. ................ .....", format: MOVW, data: { invert: 1 }, x: movImm64, w: movImm32 }),
  ...sized({ name: "MOVZ", pattern: "10 100101 .. ................ .....", format: MOVW, data: { invert: 0 }, x: movImm64, w: movImm32 }),
  ...sized({ name: "MOVK", pattern: "11 100101 .. ................ .....", format: MOVW, data: { invert: 0 }, x: movk64, w: movk32 }),
];

// ---------------------------------------------------------------- bitfield

interface BitfieldFields {
  sf: number;
  n: number;
  immr: number;
  imms: number;
  rn: number;
  rd: number;
  xn: number;
  xd: number;
  /** wmask & tmask: the bits of ROR(Rn, immr) that land in Rd. */
  mLo: number;
  mHi: number;
  /** NOT(tmask): the bits SBFM fills with the sign bit Rn<imms>. */
  ntLo: number;
  ntHi: number;
  /** Where Rn<imms> lives: cpu.x index and bit within that half. */
  xs: number;
  sb: number;
}

/** N must equal sf; the 32-bit forms need immr and imms below 32. */
function bitfield(f: BitfieldFields & { sf: number }): boolean {
  if (f.n !== f.sf) return false;
  if (f.sf === 0 && (f.immr >= 32 || f.imms >= 32)) return false;
  const m = decodeBitMasks(f.n, f.imms, f.immr, false, f.sf ? 64 : 32);
  if (!m) return false;
  f.xn = half(srcZR(f.rn));
  f.xd = half(dstZR(f.rd));
  f.mLo = (m.wLo & m.tLo) >>> 0;
  f.mHi = (m.wHi & m.tHi) >>> 0;
  f.ntLo = ~m.tLo >>> 0;
  f.ntHi = f.sf ? ~m.tHi >>> 0 : 0;
  f.xs = f.xn + (f.imms >= 32 ? 1 : 0);
  f.sb = f.imms & 31;
  return true;
}

const BITFIELD: Encoding<never>[] = [
  ...sized<BitfieldFields>({
    name: "SBFM",
    pattern: "00 100110 n:1 immr:6 imms:6 rn:5 rd:5",
    prepare: bitfield,
    x(cpu, op) {
      const x = cpu.x;
      const sign = -((x[op.xs]! >>> op.sb) & 1);
      ror64(cpu, x[op.xn]!, x[op.xn + 1]!, op.immr);
      x[op.xd] = (cpu.rLo & op.mLo) | (sign & op.ntLo);
      x[op.xd + 1] = (cpu.rHi & op.mHi) | (sign & op.ntHi);
    },
    w(cpu, op) {
      const x = cpu.x;
      const v = x[op.xn]!;
      const sign = -((v >>> op.sb) & 1);
      x[op.xd] = (ror32(v, op.immr) & op.mLo) | (sign & op.ntLo);
      x[op.xd + 1] = 0;
    },
  }),
  ...sized<BitfieldFields>({
    name: "BFM",
    pattern: "01 100110 n:1 immr:6 imms:6 rn:5 rd:5",
    prepare: bitfield,
    x(cpu, op) {
      const x = cpu.x;
      ror64(cpu, x[op.xn]!, x[op.xn + 1]!, op.immr);
      x[op.xd] = (x[op.xd]! & ~op.mLo) | (cpu.rLo & op.mLo);
      x[op.xd + 1] = (x[op.xd + 1]! & ~op.mHi) | (cpu.rHi & op.mHi);
    },
    w(cpu, op) {
      const x = cpu.x;
      x[op.xd] = (x[op.xd]! & ~op.mLo) | (ror32(x[op.xn]!, op.immr) & op.mLo);
      x[op.xd + 1] = 0;
    },
  }),
  ...sized<BitfieldFields>({
    name: "UBFM",
    pattern: "10 100110 n:1 immr:6 imms:6 rn:5 rd:5",
    prepare: bitfield,
    x(cpu, op) {
      const x = cpu.x;
      ror64(cpu, x[op.xn]!, x[op.xn + 1]!, op.immr);
      x[op.xd] = cpu.rLo & op.mLo;
      x[op.xd + 1] = cpu.rHi & op.mHi;
    },
    w(cpu, op) {
      const x = cpu.x;
      x[op.xd] = ror32(x[op.xn]!, op.immr) & op.mLo;
      x[op.xd + 1] = 0;
    },
  }),
];

// ---------------------------------------------------------------- extract

interface ExtractFields {
  sf: number;
  n: number;
  rm: number;
  imms: number;
  rn: number;
  rd: number;
  xn: number;
  xm: number;
  xd: number;
}

const EXTRACT: Encoding<never>[] = sized<ExtractFields>({
  name: "EXTR",
  pattern: "00 100111 n:1 0 rm:5 imms:6 rn:5 rd:5",
  prepare(f) {
    if (f.n !== f.sf) return false;
    if (f.sf === 0 && f.imms >= 32) return false;
    f.xn = half(srcZR(f.rn));
    f.xm = half(srcZR(f.rm));
    f.xd = half(dstZR(f.rd));
    return true;
  },
  x(cpu, op) {
    // Bits [lsb+63:lsb] of the 128-bit concatenation Xn:Xm, taken as three consecutive halves.
    const x = cpu.x;
    let s = op.imms;
    let a = x[op.xm]!;
    let b = x[op.xm + 1]!;
    let c = x[op.xn]!;
    if (s >= 32) {
      a = b;
      b = c;
      c = x[op.xn + 1]!;
      s -= 32;
    }
    if (s === 0) {
      x[op.xd] = a;
      x[op.xd + 1] = b;
    } else {
      x[op.xd] = (a >>> s) | (b << (32 - s));
      x[op.xd + 1] = (b >>> s) | (c << (32 - s));
    }
  },
  w(cpu, op) {
    const x = cpu.x;
    const s = op.imms;
    x[op.xd] = s === 0 ? x[op.xm]! : (x[op.xm]! >>> s) | (x[op.xn]! << (32 - s));
    x[op.xd + 1] = 0;
  },
});

export const DP_IMM_TABLE: Encoding<never>[] = [
  ...PC_REL,
  ...ADD_SUB_IMM,
  ...LOGICAL_IMM,
  ...MOVE_WIDE,
  ...BITFIELD,
  ...EXTRACT,
];
