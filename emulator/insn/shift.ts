// Shifts and rotates of 64-bit values held as unsigned 32-bit halves. Results go to cpu.rLo/rHi.
// JavaScript masks shift counts to 5 bits, so the 0 and ≥32 cases are split out explicitly.

import type { CpuState } from "../cpu_state.ts";

/** A64 shift types (DecodeShift): the `shift` field of shifted-register forms. */
export const LSL = 0;
export const LSR = 1;
export const ASR = 2;
export const ROR = 3;

/** Logical shift left by 0..63. */
export function lsl64(cpu: CpuState, lo: number, hi: number, s: number): void {
  if (s === 0) {
    cpu.rLo = lo;
    cpu.rHi = hi;
  } else if (s < 32) {
    cpu.rHi = ((hi << s) | (lo >>> (32 - s))) >>> 0;
    cpu.rLo = (lo << s) >>> 0;
  } else {
    cpu.rHi = (lo << (s - 32)) >>> 0;
    cpu.rLo = 0;
  }
}

/** Logical shift right by 0..63. */
export function lsr64(cpu: CpuState, lo: number, hi: number, s: number): void {
  if (s === 0) {
    cpu.rLo = lo;
    cpu.rHi = hi;
  } else if (s < 32) {
    cpu.rLo = ((lo >>> s) | (hi << (32 - s))) >>> 0;
    cpu.rHi = hi >>> s;
  } else {
    cpu.rLo = hi >>> (s - 32);
    cpu.rHi = 0;
  }
}

/** Arithmetic shift right by 0..63. */
export function asr64(cpu: CpuState, lo: number, hi: number, s: number): void {
  if (s === 0) {
    cpu.rLo = lo;
    cpu.rHi = hi;
  } else if (s < 32) {
    cpu.rLo = ((lo >>> s) | (hi << (32 - s))) >>> 0;
    cpu.rHi = (hi >> s) >>> 0;
  } else {
    cpu.rLo = (hi >> (s - 32)) >>> 0;
    cpu.rHi = (hi >> 31) >>> 0;
  }
}

/** Rotate right by 0..63. */
export function ror64(cpu: CpuState, lo: number, hi: number, s: number): void {
  if (s >= 32) {
    const t = lo;
    lo = hi;
    hi = t;
    s -= 32;
  }
  if (s === 0) {
    cpu.rLo = lo;
    cpu.rHi = hi;
  } else {
    cpu.rLo = ((lo >>> s) | (hi << (32 - s))) >>> 0;
    cpu.rHi = ((hi >>> s) | (lo << (32 - s))) >>> 0;
  }
}

/** ShiftReg for 64-bit operands: `type` is LSL/LSR/ASR/ROR, amount 0..63. */
export function shift64(cpu: CpuState, lo: number, hi: number, type: number, s: number): void {
  switch (type) {
    case LSL: lsl64(cpu, lo, hi, s); return;
    case LSR: lsr64(cpu, lo, hi, s); return;
    case ASR: asr64(cpu, lo, hi, s); return;
    default: ror64(cpu, lo, hi, s);
  }
}

/** Rotate a 32-bit value right by 0..31 (a count of 0 works: `v << 32` is `v << 0`). */
export function ror32(v: number, s: number): number {
  return ((v >>> s) | (v << (32 - s))) >>> 0;
}

/** ShiftReg for 32-bit operands: amount 0..31. */
export function shift32(v: number, type: number, s: number): number {
  switch (type) {
    case LSL: return (v << s) >>> 0;
    case LSR: return v >>> s;
    case ASR: return (v >> s) >>> 0;
    default: return ror32(v, s);
  }
}
