// Operand helpers shared by every instruction class: register-field → slot mapping and 64-bit
// arithmetic on lo/hi halves. See reg_slots.ts for the slot layout.

import type { CpuState } from "../cpu_state.ts";
import { SINK, SP } from "../reg_slots.ts";

export const TWO32 = 4294967296;

/** Index of a slot's low half in cpu.x. */
export const half = (slot: number): number => 2 * slot;

/** Source operand where register 31 is XZR/WZR (slot 31 always holds zero). */
export const srcZR = (r: number): number => r;
/** Source or destination operand where register 31 is SP. */
export const regSP = (r: number): number => (r === 31 ? SP : r);
/** Destination operand where register 31 is XZR/WZR (writes go to a sink). */
export const dstZR = (r: number): number => (r === 31 ? SINK : r);

export function getLo(cpu: CpuState, slot: number): number {
  return cpu.x[2 * slot]!;
}

export function getHi(cpu: CpuState, slot: number): number {
  return cpu.x[2 * slot + 1]!;
}

/** Write a 64-bit result. */
export function setX64(cpu: CpuState, slot: number, lo: number, hi: number): void {
  cpu.x[2 * slot] = lo;
  cpu.x[2 * slot + 1] = hi;
}

/** Write a 32-bit result, zero-extending into bits [63:32]. */
export function setW32(cpu: CpuState, slot: number, lo: number): void {
  cpu.x[2 * slot] = lo;
  cpu.x[2 * slot + 1] = 0;
}

/** 64-bit AddWithCarry into cpu.rLo/rHi; sets NZCV when `flags`. */
export function addWithCarry64(cpu: CpuState, aLo: number, aHi: number, bLo: number, bHi: number, cin: number, flags: boolean): void {
  const lo = aLo + bLo + cin;
  const carryLo = lo >= TWO32 ? 1 : 0;
  const hi = aHi + bHi + carryLo;
  const rLo = lo >>> 0;
  const rHi = hi >>> 0;
  cpu.rLo = rLo;
  cpu.rHi = rHi;
  if (flags) {
    cpu.n = rHi >>> 31;
    cpu.z = (rLo | rHi) === 0 ? 1 : 0;
    cpu.c = hi >= TWO32 ? 1 : 0;
    cpu.v = ((~(aHi ^ bHi) & (aHi ^ rHi)) >>> 31) & 1;
  }
}

/** 32-bit AddWithCarry; returns the result, sets NZCV when `flags`. */
export function addWithCarry32(cpu: CpuState, a: number, b: number, cin: number, flags: boolean): number {
  const s = a + b + cin;
  const r = s >>> 0;
  if (flags) {
    cpu.n = r >>> 31;
    cpu.z = r === 0 ? 1 : 0;
    cpu.c = s >= TWO32 ? 1 : 0;
    cpu.v = ((~(a ^ b) & (a ^ r)) >>> 31) & 1;
  }
  return r;
}

/** Base register plus a signed offset (|off| < 2^32) into cpu.rLo/rHi: an effective address. */
export function addOffset(cpu: CpuState, baseSlot: number, off: number): void {
  const lo = cpu.x[2 * baseSlot]! + off;
  let hi = cpu.x[2 * baseSlot + 1]!;
  if (lo >= TWO32) hi = (hi + 1) >>> 0;
  else if (lo < 0) hi = (hi - 1) >>> 0;
  cpu.rLo = lo >>> 0;
  cpu.rHi = hi;
}

/** Flags of a logical S form: N and Z from the result, C and V cleared. */
export function logicFlags(cpu: CpuState, lo: number, hi: number): void {
  cpu.n = hi >>> 31;
  cpu.z = (lo | hi) === 0 ? 1 : 0;
  cpu.c = 0;
  cpu.v = 0;
}
