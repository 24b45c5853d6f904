// A64 branches: immediate (B, BL), conditional (B.cond), compare-and-branch (CBZ/CBNZ),
// test-and-branch (TBZ/TBNZ) and register (BR, BLR, RET). Offsets are sign-extended and scaled in
// `prepare`; handlers add them to the PC halves. ERET lives with the system instructions.

import type { CpuState } from "../cpu_state.ts";
import { type Encoding, format, row } from "../decode.ts";
import { TWO32, srcZR } from "./operands.ts";

/** X30, the link register, as a cpu.x index. */
const LR = 60;

/** Sign-extend the low `bits` bits of `v`. */
const sext = (v: number, bits: number): number => (v << (32 - bits)) >> (32 - bits);

/** PC += off (|off| < 2^31). */
function branchRel(cpu: CpuState, off: number): void {
  const lo = cpu.pcLo + off;
  if (lo >= TWO32) cpu.pcHi = (cpu.pcHi + 1) >>> 0;
  else if (lo < 0) cpu.pcHi = (cpu.pcHi - 1) >>> 0;
  cpu.pcLo = lo >>> 0;
  cpu.pcWritten = true;
}

/** X30 = PC + 4. */
function link(cpu: CpuState): void {
  const lo = cpu.pcLo + 4;
  cpu.x[LR + 1] = cpu.pcHi + (lo >= TWO32 ? 1 : 0);
  cpu.x[LR] = lo;
}

/** PC = Xn, read before any link-register write (BLR X30). */
function branchReg(cpu: CpuState, xn: number, withLink: boolean): void {
  const lo = cpu.x[xn]!;
  const hi = cpu.x[xn + 1]!;
  if (withLink) link(cpu);
  cpu.pcLo = lo;
  cpu.pcHi = hi;
  cpu.pcWritten = true;
}

interface ImmFields {
  imm26: number;
  off: number;
}

interface CondFields {
  imm19: number;
  cond: number;
  off: number;
}

interface CompareFields {
  imm19: number;
  rt: number;
  xt: number;
  off: number;
}

interface TestFields {
  b5: number;
  b40: number;
  imm14: number;
  rt: number;
  /** cpu.x index of the half holding the tested bit, and the bit's mask in it. */
  xt: number;
  mask: number;
  off: number;
}

interface RegFields {
  rn: number;
  xn: number;
}

function compare(f: CompareFields): void {
  f.xt = 2 * srcZR(f.rt);
  f.off = sext(f.imm19, 19) * 4;
}

function test(f: TestFields): void {
  const bit = (f.b5 << 5) | f.b40;
  f.xt = 2 * srcZR(f.rt) + (bit >>> 5);
  f.mask = (1 << (bit & 31)) >>> 0;
  f.off = sext(f.imm14, 14) * 4;
}

// ---------------------------------------------------------------- formats

const B_IMM = format<ImmFields>({ name: "b", pattern: ". ..... imm26:26", prepare: (f) => void (f.off = sext(f.imm26, 26) * 4) });
const B_COND = format<CondFields>({ name: "bcond", pattern: "....... . imm19:19 . cond:4", prepare: (f) => void (f.off = sext(f.imm19, 19) * 4) });
const CB = format<CompareFields>({ name: "cb", pattern: ". ...... . imm19:19 rt:5", prepare: compare });
const TB = format<TestFields>({ name: "tb", pattern: "b5:1 ...... . b40:5 imm14:14 rt:5", prepare: test });
const BR_REG = format<RegFields>({ name: "br", pattern: "....... .... ..... ...... rn:5 .....", prepare: (f) => void (f.xn = 2 * srcZR(f.rn)) });

// ---------------------------------------------------------------- handlers

function b(cpu: CpuState, op: ImmFields): void {
  branchRel(cpu, op.off);
}

function bl(cpu: CpuState, op: ImmFields): void {
  link(cpu);
  branchRel(cpu, op.off);
}

function bCond(cpu: CpuState, op: CondFields): void {
  if (cpu.condHolds(op.cond)) branchRel(cpu, op.off);
}

function cbz64(cpu: CpuState, op: CompareFields): void {
  if ((cpu.x[op.xt]! | cpu.x[op.xt + 1]!) === 0) branchRel(cpu, op.off);
}

function cbnz64(cpu: CpuState, op: CompareFields): void {
  if ((cpu.x[op.xt]! | cpu.x[op.xt + 1]!) !== 0) branchRel(cpu, op.off);
}

function cbz32(cpu: CpuState, op: CompareFields): void {
  if (cpu.x[op.xt] === 0) branchRel(cpu, op.off);
}

function cbnz32(cpu: CpuState, op: CompareFields): void {
  if (cpu.x[op.xt] !== 0) branchRel(cpu, op.off);
}

function tbz(cpu: CpuState, op: TestFields): void {
  if ((cpu.x[op.xt]! & op.mask) === 0) branchRel(cpu, op.off);
}

function tbnz(cpu: CpuState, op: TestFields): void {
  if ((cpu.x[op.xt]! & op.mask) !== 0) branchRel(cpu, op.off);
}

/** BR and RET (RET only hints a return). */
function br(cpu: CpuState, op: RegFields): void {
  branchReg(cpu, op.xn, false);
}

function blr(cpu: CpuState, op: RegFields): void {
  branchReg(cpu, op.xn, true);
}

// ---------------------------------------------------------------- rows

export const BRANCH_TABLE: Encoding<never>[] = [
  row("B", "0 00101 ..........................", B_IMM, b),
  row("BL", "1 00101 ..........................", B_IMM, bl),
  row("B_cond", "0101010 0 ................... 0 ....", B_COND, bCond),
  row("CBZ_64", "1 011010 0 ................... .....", CB, cbz64),
  row("CBNZ_64", "1 011010 1 ................... .....", CB, cbnz64),
  row("CBZ_32", "0 011010 0 ................... .....", CB, cbz32),
  row("CBNZ_32", "0 011010 1 ................... .....", CB, cbnz32),
  row("TBZ", ". 011011 0 ..... .............. .....", TB, tbz),
  row("TBNZ", ". 011011 1 ..... .............. .....", TB, tbnz),
  row("BR", "1101011 0000 11111 000000 ..... 00000", BR_REG, br),
  row("BLR", "1101011 0001 11111 000000 ..... 00000", BR_REG, blr),
  row("RET", "1101011 0010 11111 000000 ..... 00000", BR_REG, br),
];
