// A64 data processing — register (bits[27:25] = 101): logical and add/subtract with shifted or
// extended registers, add/subtract with carry, conditional compare and select, 1- and 2-source
// operations, and the multiply family. Register fields become cpu.x indices in `prepare`.

import type { CpuState } from "../cpu_state.ts";
import { type Encoding, encoding, format, row } from "../decode.ts";
import { umul32x32, mul64, smul32x32 } from "./mul64.ts";
import { addWithCarry32, addWithCarry64, dstZR, half, logicFlags, regSP, srcZR, TWO32 } from "./operands.ts";
import { asr64, lsl64, lsr64, ror32, ror64, shift32, shift64 } from "./shift.ts";
import { sized } from "./sized.ts";

const MASK64 = (1n << 64n) - 1n;

// ---------------------------------------------------------------- logical (shifted register)

interface ShiftedFields {
  sf: number;
  shift: number;
  rm: number;
  imm6: number;
  rn: number;
  rd: number;
  xn: number;
  xm: number;
  xd: number;
}

/** All three registers are ZR-based; a 32-bit shift amount must be below 32. */
function logicalShifted(f: ShiftedFields & { sf: number }): boolean {
  if (f.sf === 0 && f.imm6 >= 32) return false;
  f.xn = half(srcZR(f.rn));
  f.xm = half(srcZR(f.rm));
  f.xd = half(dstZR(f.rd));
  return true;
}

type LogicalOp = ShiftedFields & { inv: number };

/** @logic_shift: Rd = Rn op (shifted Rm XOR inv); inv (row data) is -1 for BIC/ORN/EON/BICS, else 0. */
const LOGIC_SHIFT = format<LogicalOp>({ name: "logic_shift", pattern: ". .. ..... shift:2 . rm:5 imm6:6 rn:5 rd:5", prepare: logicalShifted });

function and64(cpu: CpuState, op: LogicalOp): void {
  const x = cpu.x;
  shift64(cpu, x[op.xm]!, x[op.xm + 1]!, op.shift, op.imm6);
  x[op.xd] = x[op.xn]! & (cpu.rLo ^ op.inv);
  x[op.xd + 1] = x[op.xn + 1]! & (cpu.rHi ^ op.inv);
}

function and32(cpu: CpuState, op: LogicalOp): void {
  const x = cpu.x;
  x[op.xd] = x[op.xn]! & (shift32(x[op.xm]!, op.shift, op.imm6) ^ op.inv);
  x[op.xd + 1] = 0;
}

function orr64(cpu: CpuState, op: LogicalOp): void {
  const x = cpu.x;
  shift64(cpu, x[op.xm]!, x[op.xm + 1]!, op.shift, op.imm6);
  x[op.xd] = x[op.xn]! | (cpu.rLo ^ op.inv);
  x[op.xd + 1] = x[op.xn + 1]! | (cpu.rHi ^ op.inv);
}

function orr32(cpu: CpuState, op: LogicalOp): void {
  const x = cpu.x;
  x[op.xd] = x[op.xn]! | (shift32(x[op.xm]!, op.shift, op.imm6) ^ op.inv);
  x[op.xd + 1] = 0;
}

function eor64(cpu: CpuState, op: LogicalOp): void {
  const x = cpu.x;
  shift64(cpu, x[op.xm]!, x[op.xm + 1]!, op.shift, op.imm6);
  x[op.xd] = x[op.xn]! ^ cpu.rLo ^ op.inv;
  x[op.xd + 1] = x[op.xn + 1]! ^ cpu.rHi ^ op.inv;
}

function eor32(cpu: CpuState, op: LogicalOp): void {
  const x = cpu.x;
  x[op.xd] = x[op.xn]! ^ shift32(x[op.xm]!, op.shift, op.imm6) ^ op.inv;
  x[op.xd + 1] = 0;
}

function ands64(cpu: CpuState, op: LogicalOp): void {
  const x = cpu.x;
  shift64(cpu, x[op.xm]!, x[op.xm + 1]!, op.shift, op.imm6);
  const lo = (x[op.xn]! & (cpu.rLo ^ op.inv)) >>> 0;
  const hi = (x[op.xn + 1]! & (cpu.rHi ^ op.inv)) >>> 0;
  logicFlags(cpu, lo, hi);
  x[op.xd] = lo;
  x[op.xd + 1] = hi;
}

function ands32(cpu: CpuState, op: LogicalOp): void {
  const x = cpu.x;
  const r = (x[op.xn]! & (shift32(x[op.xm]!, op.shift, op.imm6) ^ op.inv)) >>> 0;
  logicFlags(cpu, r, r);
  x[op.xd] = r;
  x[op.xd + 1] = 0;
}

const PLAIN = { inv: 0 };
const INVERTED = { inv: -1 };

const LOGICAL_SHIFTED: Encoding<never>[] = [
  ...sized<LogicalOp>({ name: "AND_reg", pattern: "00 01010 .. 0 ..... ...... ..... .....", format: LOGIC_SHIFT, data: PLAIN, x: and64, w: and32 }),
  ...sized<LogicalOp>({ name: "BIC_reg", pattern: "00 01010 .. 1 ..... ...... ..... .....", format: LOGIC_SHIFT, data: INVERTED, x: and64, w: and32 }),
  ...sized<LogicalOp>({ name: "ORR_reg", pattern: "01 01010 .. 0 ..... ...... ..... .....", format: LOGIC_SHIFT, data: PLAIN, x: orr64, w: orr32 }),
  ...sized<LogicalOp>({ name: "ORN_reg", pattern: "01 01010 .. 1 ..... ...... ..... .....", format: LOGIC_SHIFT, data: INVERTED, x: orr64, w: orr32 }),
  ...sized<LogicalOp>({ name: "EOR_reg", pattern: "10 01010 .. 0 ..... ...... ..... .....", format: LOGIC_SHIFT, data: PLAIN, x: eor64, w: eor32 }),
  ...sized<LogicalOp>({ name: "EON_reg", pattern: "10 01010 .. 1 ..... ...... ..... .....", format: LOGIC_SHIFT, data: INVERTED, x: eor64, w: eor32 }),
  ...sized<LogicalOp>({ name: "ANDS_reg", pattern: "11 01010 .. 0 ..... ...... ..... .....", format: LOGIC_SHIFT, data: PLAIN, x: ands64, w: ands32 }),
  ...sized<LogicalOp>({ name: "BICS_reg", pattern: "11 01010 .. 1 ..... ...... ..... .....", format: LOGIC_SHIFT, data: INVERTED, x: ands64, w: ands32 }),
];

// ---------------------------------------------------------------- add/subtract (shifted register)

/** Like the logical form, and shift type 11 (ROR) is reserved. */
function addSubShifted(f: ShiftedFields & { sf: number }): boolean {
  if (f.shift === 3) return false;
  return logicalShifted(f);
}

const ADD_SUB_SHIFTED: Encoding<never>[] = [
  ...sized<ShiftedFields>({
    name: "ADD_reg",
    pattern: "0 0 01011 shift:2 0 rm:5 imm6:6 rn:5 rd:5",
    prepare: addSubShifted,
    x(cpu, op) {
      const x = cpu.x;
      shift64(cpu, x[op.xm]!, x[op.xm + 1]!, op.shift, op.imm6);
      const lo = x[op.xn]! + cpu.rLo;
      const hi = x[op.xn + 1]! + cpu.rHi + (lo >= TWO32 ? 1 : 0);
      x[op.xd] = lo;
      x[op.xd + 1] = hi;
    },
    w(cpu, op) {
      const x = cpu.x;
      x[op.xd] = x[op.xn]! + shift32(x[op.xm]!, op.shift, op.imm6);
      x[op.xd + 1] = 0;
    },
  }),
  ...sized<ShiftedFields>({
    name: "ADDS_reg",
    pattern: "0 1 01011 shift:2 0 rm:5 imm6:6 rn:5 rd:5",
    prepare: addSubShifted,
    x(cpu, op) {
      const x = cpu.x;
      shift64(cpu, x[op.xm]!, x[op.xm + 1]!, op.shift, op.imm6);
      addWithCarry64(cpu, x[op.xn]!, x[op.xn + 1]!, cpu.rLo, cpu.rHi, 0, true);
      x[op.xd] = cpu.rLo;
      x[op.xd + 1] = cpu.rHi;
    },
    w(cpu, op) {
      const x = cpu.x;
      x[op.xd] = addWithCarry32(cpu, x[op.xn]!, shift32(x[op.xm]!, op.shift, op.imm6), 0, true);
      x[op.xd + 1] = 0;
    },
  }),
  ...sized<ShiftedFields>({
    name: "SUB_reg",
    pattern: "1 0 01011 shift:2 0 rm:5 imm6:6 rn:5 rd:5",
    prepare: addSubShifted,
    x(cpu, op) {
      const x = cpu.x;
      shift64(cpu, x[op.xm]!, x[op.xm + 1]!, op.shift, op.imm6);
      const lo = x[op.xn]! - cpu.rLo;
      const hi = x[op.xn + 1]! - cpu.rHi - (lo < 0 ? 1 : 0);
      x[op.xd] = lo;
      x[op.xd + 1] = hi;
    },
    w(cpu, op) {
      const x = cpu.x;
      x[op.xd] = x[op.xn]! - shift32(x[op.xm]!, op.shift, op.imm6);
      x[op.xd + 1] = 0;
    },
  }),
  ...sized<ShiftedFields>({
    name: "SUBS_reg",
    pattern: "1 1 01011 shift:2 0 rm:5 imm6:6 rn:5 rd:5",
    prepare: addSubShifted,
    x(cpu, op) {
      const x = cpu.x;
      shift64(cpu, x[op.xm]!, x[op.xm + 1]!, op.shift, op.imm6);
      addWithCarry64(cpu, x[op.xn]!, x[op.xn + 1]!, ~cpu.rLo >>> 0, ~cpu.rHi >>> 0, 1, true);
      x[op.xd] = cpu.rLo;
      x[op.xd + 1] = cpu.rHi;
    },
    w(cpu, op) {
      const x = cpu.x;
      x[op.xd] = addWithCarry32(cpu, x[op.xn]!, ~shift32(x[op.xm]!, op.shift, op.imm6) >>> 0, 1, true);
      x[op.xd + 1] = 0;
    },
  }),
];

// ---------------------------------------------------------------- add/subtract (extended register)

interface ExtendedFields {
  sf: number;
  rm: number;
  option: number;
  imm3: number;
  rn: number;
  rd: number;
  xn: number;
  xm: number;
  xd: number;
}

/** ExtendReg for a 64-bit operation: Rm extended per `option`, shifted left by 0..4. */
function extend64(cpu: CpuState, lo: number, hi: number, option: number, sh: number): void {
  switch (option) {
    case 0: lo &= 0xff; hi = 0; break;
    case 1: lo &= 0xffff; hi = 0; break;
    case 2: hi = 0; break;
    case 4: lo = (lo << 24) >> 24; hi = lo >> 31; break;
    case 5: lo = (lo << 16) >> 16; hi = lo >> 31; break;
    case 6: hi = lo >> 31; break;
    default: break; // UXTX, SXTX
  }
  lsl64(cpu, lo >>> 0, hi >>> 0, sh);
}

/** ExtendReg for a 32-bit operation (UXTX/SXTX use the W register as it is). */
function extend32(v: number, option: number, sh: number): number {
  switch (option) {
    case 0: v &= 0xff; break;
    case 1: v &= 0xffff; break;
    case 4: v = (v << 24) >> 24; break;
    case 5: v = (v << 16) >> 16; break;
    default: break;
  }
  return (v << sh) >>> 0;
}

/** Rn is SP; Rd is SP for ADD/SUB and ZR for ADDS/SUBS; shifts above 4 are reserved. */
function addSubExtended(setFlags: boolean) {
  return (f: ExtendedFields): boolean => {
    if (f.imm3 > 4) return false;
    f.xn = half(regSP(f.rn));
    f.xm = half(srcZR(f.rm));
    f.xd = half(setFlags ? dstZR(f.rd) : regSP(f.rd));
    return true;
  };
}

const ADD_SUB_EXTENDED: Encoding<never>[] = [
  ...sized<ExtendedFields>({
    name: "ADD_ext",
    pattern: "0 0 01011 00 1 rm:5 option:3 imm3:3 rn:5 rd:5",
    prepare: addSubExtended(false),
    x(cpu, op) {
      const x = cpu.x;
      extend64(cpu, x[op.xm]!, x[op.xm + 1]!, op.option, op.imm3);
      addWithCarry64(cpu, x[op.xn]!, x[op.xn + 1]!, cpu.rLo, cpu.rHi, 0, false);
      x[op.xd] = cpu.rLo;
      x[op.xd + 1] = cpu.rHi;
    },
    w(cpu, op) {
      const x = cpu.x;
      x[op.xd] = x[op.xn]! + extend32(x[op.xm]!, op.option, op.imm3);
      x[op.xd + 1] = 0;
    },
  }),
  ...sized<ExtendedFields>({
    name: "ADDS_ext",
    pattern: "0 1 01011 00 1 rm:5 option:3 imm3:3 rn:5 rd:5",
    prepare: addSubExtended(true),
    x(cpu, op) {
      const x = cpu.x;
      extend64(cpu, x[op.xm]!, x[op.xm + 1]!, op.option, op.imm3);
      addWithCarry64(cpu, x[op.xn]!, x[op.xn + 1]!, cpu.rLo, cpu.rHi, 0, true);
      x[op.xd] = cpu.rLo;
      x[op.xd + 1] = cpu.rHi;
    },
    w(cpu, op) {
      const x = cpu.x;
      x[op.xd] = addWithCarry32(cpu, x[op.xn]!, extend32(x[op.xm]!, op.option, op.imm3), 0, true);
      x[op.xd + 1] = 0;
    },
  }),
  ...sized<ExtendedFields>({
    name: "SUB_ext",
    pattern: "1 0 01011 00 1 rm:5 option:3 imm3:3 rn:5 rd:5",
    prepare: addSubExtended(false),
    x(cpu, op) {
      const x = cpu.x;
      extend64(cpu, x[op.xm]!, x[op.xm + 1]!, op.option, op.imm3);
      addWithCarry64(cpu, x[op.xn]!, x[op.xn + 1]!, ~cpu.rLo >>> 0, ~cpu.rHi >>> 0, 1, false);
      x[op.xd] = cpu.rLo;
      x[op.xd + 1] = cpu.rHi;
    },
    w(cpu, op) {
      const x = cpu.x;
      x[op.xd] = x[op.xn]! - extend32(x[op.xm]!, op.option, op.imm3);
      x[op.xd + 1] = 0;
    },
  }),
  ...sized<ExtendedFields>({
    name: "SUBS_ext",
    pattern: "1 1 01011 00 1 rm:5 option:3 imm3:3 rn:5 rd:5",
    prepare: addSubExtended(true),
    x(cpu, op) {
      const x = cpu.x;
      extend64(cpu, x[op.xm]!, x[op.xm + 1]!, op.option, op.imm3);
      addWithCarry64(cpu, x[op.xn]!, x[op.xn + 1]!, ~cpu.rLo >>> 0, ~cpu.rHi >>> 0, 1, true);
      x[op.xd] = cpu.rLo;
      x[op.xd + 1] = cpu.rHi;
    },
    w(cpu, op) {
      const x = cpu.x;
      x[op.xd] = addWithCarry32(cpu, x[op.xn]!, ~extend32(x[op.xm]!, op.option, op.imm3) >>> 0, 1, true);
      x[op.xd + 1] = 0;
    },
  }),
];

// ---------------------------------------------------------------- add/subtract with carry

interface ThreeRegFields {
  sf: number;
  rm: number;
  rn: number;
  rd: number;
  xn: number;
  xm: number;
  xd: number;
}

/** Rd, Rn, Rm all ZR-based. */
function threeReg(f: ThreeRegFields): void {
  f.xn = half(srcZR(f.rn));
  f.xm = half(srcZR(f.rm));
  f.xd = half(dstZR(f.rd));
}

/** ADC/ADCS (`invert` false) and SBC/SBCS (true): AddWithCarry(Rn, Rm or NOT(Rm), C). */
function addSubCarry(name: string, pattern: string, invert: boolean, setFlags: boolean): Encoding<never>[] {
  const inv = invert ? 0xffffffff : 0;
  return sized<ThreeRegFields>({
    name,
    pattern,
    prepare: threeReg,
    x(cpu, op) {
      const x = cpu.x;
      addWithCarry64(cpu, x[op.xn]!, x[op.xn + 1]!, (x[op.xm]! ^ inv) >>> 0, (x[op.xm + 1]! ^ inv) >>> 0, cpu.c, setFlags);
      x[op.xd] = cpu.rLo;
      x[op.xd + 1] = cpu.rHi;
    },
    w(cpu, op) {
      const x = cpu.x;
      x[op.xd] = addWithCarry32(cpu, x[op.xn]!, (x[op.xm]! ^ inv) >>> 0, cpu.c, setFlags);
      x[op.xd + 1] = 0;
    },
  });
}

const ADD_SUB_CARRY: Encoding<never>[] = [
  ...addSubCarry("ADC", "0 0 11010000 rm:5 000000 rn:5 rd:5", false, false),
  ...addSubCarry("ADCS", "0 1 11010000 rm:5 000000 rn:5 rd:5", false, true),
  ...addSubCarry("SBC", "1 0 11010000 rm:5 000000 rn:5 rd:5", true, false),
  ...addSubCarry("SBCS", "1 1 11010000 rm:5 000000 rn:5 rd:5", true, true),
];

// ---------------------------------------------------------------- conditional compare

interface CondCompareFields {
  sf: number;
  rm: number;
  imm5: number;
  cond: number;
  rn: number;
  nzcv: number;
  xn: number;
  /** The second operand: Rm as a cpu.x index (register form) or the 5-bit immediate. */
  xm: number;
  imm: number;
}

/**
 * CCMN (`sub` false) and CCMP (true): if cond holds, flags of Rn + op2 (or Rn - op2), else the
 * immediate nzcv. `reg` selects Rm or the 5-bit immediate as op2.
 */
function condCompare(name: string, pattern: string, sub: boolean, reg: boolean): Encoding<never>[] {
  const inv = sub ? 0xffffffff : 0;
  const cin = sub ? 1 : 0;
  return sized<CondCompareFields>({
    name,
    pattern,
    prepare(f) {
      f.xn = half(srcZR(f.rn));
      f.xm = reg ? half(srcZR(f.rm)) : 0;
      f.imm = reg ? 0 : f.imm5;
    },
    x(cpu, op) {
      if (!cpu.condHolds(op.cond)) {
        cpu.setNzcv(op.nzcv);
        return;
      }
      const x = cpu.x;
      const bLo = reg ? x[op.xm]! : op.imm;
      const bHi = reg ? x[op.xm + 1]! : 0;
      addWithCarry64(cpu, x[op.xn]!, x[op.xn + 1]!, (bLo ^ inv) >>> 0, (bHi ^ inv) >>> 0, cin, true);
    },
    w(cpu, op) {
      if (!cpu.condHolds(op.cond)) {
        cpu.setNzcv(op.nzcv);
        return;
      }
      const b = reg ? cpu.x[op.xm]! : op.imm;
      addWithCarry32(cpu, cpu.x[op.xn]!, (b ^ inv) >>> 0, cin, true);
    },
  });
}

const COND_COMPARE: Encoding<never>[] = [
  ...condCompare("CCMN_reg", "0 1 11010010 rm:5 cond:4 0 0 rn:5 0 nzcv:4", false, true),
  ...condCompare("CCMN_imm", "0 1 11010010 imm5:5 cond:4 1 0 rn:5 0 nzcv:4", false, false),
  ...condCompare("CCMP_reg", "1 1 11010010 rm:5 cond:4 0 0 rn:5 0 nzcv:4", true, true),
  ...condCompare("CCMP_imm", "1 1 11010010 imm5:5 cond:4 1 0 rn:5 0 nzcv:4", true, false),
];

// ---------------------------------------------------------------- conditional select

interface CondSelectFields extends ThreeRegFields {
  cond: number;
}

const COND_SELECT: Encoding<never>[] = [
  ...sized<CondSelectFields>({
    name: "CSEL",
    pattern: "0 0 11010100 rm:5 cond:4 0 0 rn:5 rd:5",
    prepare: threeReg,
    x(cpu, op) {
      const x = cpu.x;
      const s = cpu.condHolds(op.cond) ? op.xn : op.xm;
      x[op.xd] = x[s]!;
      x[op.xd + 1] = x[s + 1]!;
    },
    w(cpu, op) {
      const x = cpu.x;
      x[op.xd] = x[cpu.condHolds(op.cond) ? op.xn : op.xm]!;
      x[op.xd + 1] = 0;
    },
  }),
  ...sized<CondSelectFields>({
    name: "CSINC",
    pattern: "0 0 11010100 rm:5 cond:4 0 1 rn:5 rd:5",
    prepare: threeReg,
    x(cpu, op) {
      const x = cpu.x;
      if (cpu.condHolds(op.cond)) {
        x[op.xd] = x[op.xn]!;
        x[op.xd + 1] = x[op.xn + 1]!;
      } else {
        const lo = x[op.xm]! + 1;
        const hi = x[op.xm + 1]! + (lo >= TWO32 ? 1 : 0);
        x[op.xd] = lo;
        x[op.xd + 1] = hi;
      }
    },
    w(cpu, op) {
      const x = cpu.x;
      x[op.xd] = cpu.condHolds(op.cond) ? x[op.xn]! : x[op.xm]! + 1;
      x[op.xd + 1] = 0;
    },
  }),
  ...sized<CondSelectFields>({
    name: "CSINV",
    pattern: "1 0 11010100 rm:5 cond:4 0 0 rn:5 rd:5",
    prepare: threeReg,
    x(cpu, op) {
      const x = cpu.x;
      if (cpu.condHolds(op.cond)) {
        x[op.xd] = x[op.xn]!;
        x[op.xd + 1] = x[op.xn + 1]!;
      } else {
        x[op.xd] = ~x[op.xm]!;
        x[op.xd + 1] = ~x[op.xm + 1]!;
      }
    },
    w(cpu, op) {
      const x = cpu.x;
      x[op.xd] = cpu.condHolds(op.cond) ? x[op.xn]! : ~x[op.xm]!;
      x[op.xd + 1] = 0;
    },
  }),
  ...sized<CondSelectFields>({
    name: "CSNEG",
    pattern: "1 0 11010100 rm:5 cond:4 0 1 rn:5 rd:5",
    prepare: threeReg,
    x(cpu, op) {
      const x = cpu.x;
      if (cpu.condHolds(op.cond)) {
        x[op.xd] = x[op.xn]!;
        x[op.xd + 1] = x[op.xn + 1]!;
      } else {
        const lo = x[op.xm]!;
        const hi = ~x[op.xm + 1]! + (lo === 0 ? 1 : 0);
        x[op.xd] = -lo;
        x[op.xd + 1] = hi;
      }
    },
    w(cpu, op) {
      const x = cpu.x;
      x[op.xd] = cpu.condHolds(op.cond) ? x[op.xn]! : -x[op.xm]!;
      x[op.xd + 1] = 0;
    },
  }),
];

// ---------------------------------------------------------------- data processing (2 source)

const join = (lo: number, hi: number): bigint => (BigInt(hi) << 32n) | BigInt(lo);

function setBig(cpu: CpuState, xd: number, v: bigint): void {
  cpu.x[xd] = Number(v & 0xffffffffn);
  cpu.x[xd + 1] = Number((v >> 32n) & 0xffffffffn);
}

const TWO_SOURCE: Encoding<never>[] = [
  ...sized<ThreeRegFields>({
    name: "UDIV",
    pattern: "0 0 11010110 rm:5 000010 rn:5 rd:5",
    prepare: threeReg,
    x(cpu, op) {
      const x = cpu.x;
      const d = join(x[op.xm]!, x[op.xm + 1]!);
      setBig(cpu, op.xd, d === 0n ? 0n : join(x[op.xn]!, x[op.xn + 1]!) / d);
    },
    w(cpu, op) {
      const x = cpu.x;
      const d = x[op.xm]!;
      x[op.xd] = d === 0 ? 0 : Math.floor(x[op.xn]! / d);
      x[op.xd + 1] = 0;
    },
  }),
  ...sized<ThreeRegFields>({
    name: "SDIV",
    pattern: "0 0 11010110 rm:5 000011 rn:5 rd:5",
    prepare: threeReg,
    x(cpu, op) {
      // bigint division truncates toward zero; INT64_MIN / -1 = 2^63 wraps back to INT64_MIN.
      const x = cpu.x;
      const d = BigInt.asIntN(64, join(x[op.xm]!, x[op.xm + 1]!));
      const n = BigInt.asIntN(64, join(x[op.xn]!, x[op.xn + 1]!));
      setBig(cpu, op.xd, d === 0n ? 0n : BigInt.asUintN(64, n / d));
    },
    w(cpu, op) {
      const x = cpu.x;
      const d = x[op.xm]! | 0;
      x[op.xd] = d === 0 ? 0 : Math.trunc((x[op.xn]! | 0) / d);
      x[op.xd + 1] = 0;
    },
  }),
  ...sized<ThreeRegFields>({
    name: "LSLV",
    pattern: "0 0 11010110 rm:5 001000 rn:5 rd:5",
    prepare: threeReg,
    x(cpu, op) {
      const x = cpu.x;
      lsl64(cpu, x[op.xn]!, x[op.xn + 1]!, x[op.xm]! & 63);
      x[op.xd] = cpu.rLo;
      x[op.xd + 1] = cpu.rHi;
    },
    w(cpu, op) {
      const x = cpu.x;
      x[op.xd] = x[op.xn]! << (x[op.xm]! & 31);
      x[op.xd + 1] = 0;
    },
  }),
  ...sized<ThreeRegFields>({
    name: "LSRV",
    pattern: "0 0 11010110 rm:5 001001 rn:5 rd:5",
    prepare: threeReg,
    x(cpu, op) {
      const x = cpu.x;
      lsr64(cpu, x[op.xn]!, x[op.xn + 1]!, x[op.xm]! & 63);
      x[op.xd] = cpu.rLo;
      x[op.xd + 1] = cpu.rHi;
    },
    w(cpu, op) {
      const x = cpu.x;
      x[op.xd] = x[op.xn]! >>> (x[op.xm]! & 31);
      x[op.xd + 1] = 0;
    },
  }),
  ...sized<ThreeRegFields>({
    name: "ASRV",
    pattern: "0 0 11010110 rm:5 001010 rn:5 rd:5",
    prepare: threeReg,
    x(cpu, op) {
      const x = cpu.x;
      asr64(cpu, x[op.xn]!, x[op.xn + 1]!, x[op.xm]! & 63);
      x[op.xd] = cpu.rLo;
      x[op.xd + 1] = cpu.rHi;
    },
    w(cpu, op) {
      const x = cpu.x;
      x[op.xd] = x[op.xn]! >> (x[op.xm]! & 31);
      x[op.xd + 1] = 0;
    },
  }),
  ...sized<ThreeRegFields>({
    name: "RORV",
    pattern: "0 0 11010110 rm:5 001011 rn:5 rd:5",
    prepare: threeReg,
    x(cpu, op) {
      const x = cpu.x;
      ror64(cpu, x[op.xn]!, x[op.xn + 1]!, x[op.xm]! & 63);
      x[op.xd] = cpu.rLo;
      x[op.xd + 1] = cpu.rHi;
    },
    w(cpu, op) {
      const x = cpu.x;
      x[op.xd] = ror32(x[op.xn]!, x[op.xm]! & 31);
      x[op.xd + 1] = 0;
    },
  }),
];

// ---------------------------------------------------------------- data processing (1 source)

interface OneSourceFields {
  sf: number;
  rn: number;
  rd: number;
  xn: number;
  xd: number;
}

function oneSource(f: OneSourceFields): void {
  f.xn = half(srcZR(f.rn));
  f.xd = half(dstZR(f.rd));
}

function rbit32(v: number): number {
  v = ((v >>> 1) & 0x55555555) | ((v & 0x55555555) << 1);
  v = ((v >>> 2) & 0x33333333) | ((v & 0x33333333) << 2);
  v = ((v >>> 4) & 0x0f0f0f0f) | ((v & 0x0f0f0f0f) << 4);
  v = ((v >>> 8) & 0x00ff00ff) | ((v & 0x00ff00ff) << 8);
  return ((v >>> 16) | (v << 16)) >>> 0;
}

function bswap32(v: number): number {
  return ((v >>> 24) | ((v >>> 8) & 0xff00) | ((v << 8) & 0xff0000) | (v << 24)) >>> 0;
}

function rev16(v: number): number {
  return (((v >>> 8) & 0x00ff00ff) | ((v << 8) & 0xff00ff00)) >>> 0;
}

/** CountLeadingSignBits of a 32-bit value. */
function cls32(v: number): number {
  return Math.clz32(v ^ (v >> 1)) - 1;
}

const ONE_SOURCE: Encoding<never>[] = [
  ...sized<OneSourceFields>({
    name: "RBIT",
    pattern: "1 0 11010110 00000 000000 rn:5 rd:5",
    prepare: oneSource,
    x(cpu, op) {
      const x = cpu.x;
      const lo = x[op.xn]!;
      x[op.xd] = rbit32(x[op.xn + 1]!);
      x[op.xd + 1] = rbit32(lo);
    },
    w(cpu, op) {
      cpu.x[op.xd] = rbit32(cpu.x[op.xn]!);
      cpu.x[op.xd + 1] = 0;
    },
  }),
  ...sized<OneSourceFields>({
    name: "REV16",
    pattern: "1 0 11010110 00000 000001 rn:5 rd:5",
    prepare: oneSource,
    x(cpu, op) {
      const x = cpu.x;
      x[op.xd] = rev16(x[op.xn]!);
      x[op.xd + 1] = rev16(x[op.xn + 1]!);
    },
    w(cpu, op) {
      cpu.x[op.xd] = rev16(cpu.x[op.xn]!);
      cpu.x[op.xd + 1] = 0;
    },
  }),
  encoding<OneSourceFields>({
    name: "REV32",
    pattern: "1 1 0 11010110 00000 000010 rn:5 rd:5",
    prepare: oneSource,
    exec(cpu, op) {
      const x = cpu.x;
      x[op.xd] = bswap32(x[op.xn]!);
      x[op.xd + 1] = bswap32(x[op.xn + 1]!);
    },
  }),
  encoding<OneSourceFields>({
    name: "REV_64",
    pattern: "1 1 0 11010110 00000 000011 rn:5 rd:5",
    prepare: oneSource,
    exec(cpu, op) {
      const x = cpu.x;
      const lo = x[op.xn]!;
      x[op.xd] = bswap32(x[op.xn + 1]!);
      x[op.xd + 1] = bswap32(lo);
    },
  }),
  encoding<OneSourceFields>({
    name: "REV_32",
    pattern: "0 1 0 11010110 00000 000010 rn:5 rd:5",
    prepare: oneSource,
    exec(cpu, op) {
      cpu.x[op.xd] = bswap32(cpu.x[op.xn]!);
      cpu.x[op.xd + 1] = 0;
    },
  }),
  ...sized<OneSourceFields>({
    name: "CLZ",
    pattern: "1 0 11010110 00000 000100 rn:5 rd:5",
    prepare: oneSource,
    x(cpu, op) {
      const x = cpu.x;
      const hi = x[op.xn + 1]!;
      x[op.xd] = hi !== 0 ? Math.clz32(hi) : 32 + Math.clz32(x[op.xn]!);
      x[op.xd + 1] = 0;
    },
    w(cpu, op) {
      cpu.x[op.xd] = Math.clz32(cpu.x[op.xn]!);
      cpu.x[op.xd + 1] = 0;
    },
  }),
  ...sized<OneSourceFields>({
    name: "CLS",
    pattern: "1 0 11010110 00000 000101 rn:5 rd:5",
    prepare: oneSource,
    x(cpu, op) {
      // CLZ(x EOR (x ASR 1)) - 1, on halves.
      const x = cpu.x;
      const lo = x[op.xn]!;
      const hi = x[op.xn + 1]!;
      const eHi = (hi ^ (hi >> 1)) >>> 0;
      const eLo = (lo ^ ((lo >>> 1) | (hi << 31))) >>> 0;
      x[op.xd] = (eHi !== 0 ? Math.clz32(eHi) : 32 + Math.clz32(eLo)) - 1;
      x[op.xd + 1] = 0;
    },
    w(cpu, op) {
      cpu.x[op.xd] = cls32(cpu.x[op.xn]!);
      cpu.x[op.xd + 1] = 0;
    },
  }),
];

// ---------------------------------------------------------------- data processing (3 source)

interface ThreeSourceFields extends ThreeRegFields {
  ra: number;
  xa: number;
}

function threeSource(f: ThreeSourceFields): void {
  threeReg(f);
  f.xa = half(srcZR(f.ra));
}

/** Xd = Xa ± rLo:rHi (the product left by a multiply helper). */
function accumulate(cpu: CpuState, op: ThreeSourceFields, sub: boolean): void {
  const x = cpu.x;
  const aLo = x[op.xa]!;
  const aHi = x[op.xa + 1]!;
  if (sub) {
    const lo = aLo - cpu.rLo;
    x[op.xd + 1] = aHi - cpu.rHi - (lo < 0 ? 1 : 0);
    x[op.xd] = lo;
  } else {
    const lo = aLo + cpu.rLo;
    x[op.xd + 1] = aHi + cpu.rHi + (lo >= TWO32 ? 1 : 0);
    x[op.xd] = lo;
  }
}

/** @rrrr: Rd = Ra ± Rn × Rm (Ra unused by SMULH/UMULH). */
const RRRR = format<ThreeSourceFields>({ name: "rrrr", pattern: ". .. ..... ... rm:5 . ra:5 rn:5 rd:5", prepare: threeSource });

type MulAddOp = ThreeSourceFields & { sub: number };
type MulAddLongOp = MulAddOp & { signed: number };

/** MADD/MSUB, 64-bit. */
function mulAdd64(cpu: CpuState, op: MulAddOp): void {
  const x = cpu.x;
  mul64(cpu, x[op.xn]!, x[op.xn + 1]!, x[op.xm]!, x[op.xm + 1]!);
  accumulate(cpu, op, op.sub === 1);
}

/** MADD/MSUB, 32-bit. */
function mulAdd32(cpu: CpuState, op: MulAddOp): void {
  const x = cpu.x;
  const p = Math.imul(x[op.xn]!, x[op.xm]!);
  x[op.xd] = op.sub === 1 ? x[op.xa]! - p : x[op.xa]! + p;
  x[op.xd + 1] = 0;
}

/** SMADDL/SMSUBL/UMADDL/UMSUBL: Xd = Xa ± Wn × Wm, the product signed or unsigned. */
function mulAddLong(cpu: CpuState, op: MulAddLongOp): void {
  if (op.signed === 1) smul32x32(cpu, cpu.x[op.xn]!, cpu.x[op.xm]!);
  else umul32x32(cpu, cpu.x[op.xn]!, cpu.x[op.xm]!);
  accumulate(cpu, op, op.sub === 1);
}

function smulh(cpu: CpuState, op: ThreeSourceFields): void {
  const x = cpu.x;
  const p = BigInt.asIntN(64, join(x[op.xn]!, x[op.xn + 1]!)) * BigInt.asIntN(64, join(x[op.xm]!, x[op.xm + 1]!));
  setBig(cpu, op.xd, (p >> 64n) & MASK64);
}

function umulh(cpu: CpuState, op: ThreeSourceFields): void {
  const x = cpu.x;
  const p = join(x[op.xn]!, x[op.xn + 1]!) * join(x[op.xm]!, x[op.xm + 1]!);
  setBig(cpu, op.xd, p >> 64n);
}

const THREE_SOURCE: Encoding<never>[] = [
  ...sized<MulAddOp>({ name: "MADD", pattern: "00 11011 000 ..... 0 ..... ..... .....", format: RRRR, data: { sub: 0 }, x: mulAdd64, w: mulAdd32 }),
  ...sized<MulAddOp>({ name: "MSUB", pattern: "00 11011 000 ..... 1 ..... ..... .....", format: RRRR, data: { sub: 1 }, x: mulAdd64, w: mulAdd32 }),
  row<MulAddLongOp>("SMADDL", "1 00 11011 001 ..... 0 ..... ..... .....", RRRR, mulAddLong, { signed: 1, sub: 0 }),
  row<MulAddLongOp>("SMSUBL", "1 00 11011 001 ..... 1 ..... ..... .....", RRRR, mulAddLong, { signed: 1, sub: 1 }),
  row<MulAddLongOp>("UMADDL", "1 00 11011 101 ..... 0 ..... ..... .....", RRRR, mulAddLong, { signed: 0, sub: 0 }),
  row<MulAddLongOp>("UMSUBL", "1 00 11011 101 ..... 1 ..... ..... .....", RRRR, mulAddLong, { signed: 0, sub: 1 }),
  row("SMULH", "1 00 11011 010 ..... 0 ..... ..... .....", RRRR, smulh),
  row("UMULH", "1 00 11011 110 ..... 0 ..... ..... .....", RRRR, umulh),
];

export const DP_REG_TABLE: Encoding<never>[] = [
  ...LOGICAL_SHIFTED,
  ...ADD_SUB_SHIFTED,
  ...ADD_SUB_EXTENDED,
  ...ADD_SUB_CARRY,
  ...COND_COMPARE,
  ...COND_SELECT,
  ...TWO_SOURCE,
  ...ONE_SOURCE,
  ...THREE_SOURCE,
];
