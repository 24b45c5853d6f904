// Lane access shared by the Advanced SIMD integer groups: a register as an array of unsigned lane
// values, packing lanes back, the Arm ARM's SatQ (saturate and set FPSR.QC) and the "part"
// writes of the narrowing forms (XTN2, SHRN2, ADDHN2 write the upper half and keep the lower).

import type { CpuState } from "../cpu_state.ts";
import { readV, writeV } from "../fp/vreg.ts";

/** FPSR.QC: cumulative saturation, set by every saturating instruction that clamps. */
export const FPSR_QC = 1 << 27;

/** `count` unsigned lanes of 2^esizeLog2 bytes of Vn, starting at lane `first`. */
export function lanes(cpu: CpuState, n: number, esizeLog2: number, count: number, first = 0): bigint[] {
  const bits = BigInt(8 << esizeLog2);
  const mask = (1n << bits) - 1n;
  let v = readV(cpu, n, 4) >> (BigInt(first) * bits);
  const out: bigint[] = [];
  for (let i = 0; i < count; i++, v >>= bits) out.push(v & mask);
  return out;
}

/** Lanes (any integers: truncated to the lane width) packed into one value, lane 0 lowest. */
export function pack(values: readonly bigint[], esizeLog2: number): bigint {
  const bits = 8 << esizeLog2;
  let r = 0n;
  for (let i = values.length - 1; i >= 0; i--) r = (r << BigInt(bits)) | BigInt.asUintN(bits, values[i]!);
  return r;
}

/** Write a vector result: 128 bits when Q is set, else 64 (the upper half cleared). */
export function writeVec(cpu: CpuState, d: number, q: number, value: bigint): void {
  writeV(cpu, d, q ? 4 : 3, value);
}

/** A narrowing result of 64 bits: the lower half (Q 0, upper cleared) or the upper half (Q 1, "2" forms). */
export function writePart(cpu: CpuState, d: number, q: number, value: bigint): void {
  if (q) writeV(cpu, d, 4, (BigInt.asUintN(64, value) << 64n) | readV(cpu, d, 3));
  else writeV(cpu, d, 3, value);
}

/** SatQ: `v` clamped to a signed or unsigned `bits`-bit range; clamping sets FPSR.QC. */
export function satQ(cpu: CpuState, v: bigint, bits: number, unsigned: boolean): bigint {
  const b = BigInt(bits);
  const lo = unsigned ? 0n : -(1n << (b - 1n));
  const hi = unsigned ? (1n << b) - 1n : (1n << (b - 1n)) - 1n;
  if (v < lo) {
    cpu.fpsr |= FPSR_QC;
    return lo;
  }
  if (v > hi) {
    cpu.fpsr |= FPSR_QC;
    return hi;
  }
  return v;
}

export const sx = (v: bigint, bits: number): bigint => BigInt.asIntN(bits, v);

/** A lane's value as the instruction reads it: signed or unsigned. */
export const ext = (v: bigint, bits: number, unsigned: boolean): bigint => (unsigned ? v : BigInt.asIntN(bits, v));

/** All ones in a `bits`-bit lane for a true compare. */
export const ones = (bits: number): bigint => (1n << BigInt(bits)) - 1n;

/** Carry-less (polynomial) product of two values, PMUL/PMULL. */
export function polyMul(a: bigint, b: bigint): bigint {
  let r = 0n;
  for (let i = 0n; b >> i; i++) if ((b >> i) & 1n) r ^= a << i;
  return r;
}

/**
 * Shift by a signed amount with optional rounding (a right shift adds 2^(shift-1) first) and
 * optional saturation, in infinite precision as the pseudocode does; the caller truncates.
 */
export function shiftRound(cpu: CpuState, x: bigint, sh: number, bits: number, unsigned: boolean, rounding: boolean, saturating: boolean): bigint {
  let r: bigint;
  if (sh >= 0) r = x << BigInt(sh);
  else r = (x + (rounding ? 1n << BigInt(-sh - 1) : 0n)) >> BigInt(-sh);
  return saturating ? satQ(cpu, r, bits, unsigned) : r;
}
