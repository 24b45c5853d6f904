// Multiplication on unsigned 32-bit halves without bigint: 16-bit partial products keep every
// intermediate sum exact in a double. Results go to cpu.rLo/rHi.

import type { CpuState } from "../cpu_state.ts";

/** Full 64-bit product of two unsigned 32-bit values. */
export function umul32x32(cpu: CpuState, a: number, b: number): void {
  const a0 = a & 0xffff;
  const a1 = a >>> 16;
  const b0 = b & 0xffff;
  const b1 = b >>> 16;
  const p00 = a0 * b0;
  const p01 = a0 * b1;
  const p10 = a1 * b0;
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  cpu.rLo = Math.imul(a, b) >>> 0;
  cpu.rHi = (a1 * b1 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16)) >>> 0;
}

/** Full 64-bit product of two signed 32-bit values (given as their unsigned bit patterns). */
export function smul32x32(cpu: CpuState, a: number, b: number): void {
  umul32x32(cpu, a >>> 0, b >>> 0);
  // (a - 2^32·a31)(b - 2^32·b31) ≡ ab - 2^32·(a31·b + b31·a)  (mod 2^64)
  let hi = cpu.rHi;
  if (a & 0x80000000) hi -= b >>> 0;
  if (b & 0x80000000) hi -= a >>> 0;
  cpu.rHi = hi >>> 0;
}

/** Low 64 bits of a 64×64 product. */
export function mul64(cpu: CpuState, aLo: number, aHi: number, bLo: number, bHi: number): void {
  umul32x32(cpu, aLo, bLo);
  cpu.rHi = (cpu.rHi + Math.imul(aLo, bHi) + Math.imul(aHi, bLo)) >>> 0;
}
