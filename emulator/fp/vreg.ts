// Access to the SIMD&FP register file (CpuState.vregs: four little-endian words per register).
// Scalar writes (B, H, S, D) zero the rest of the 128-bit register, as every scalar SIMD&FP
// instruction does in AArch64.

import type { CpuState } from "../cpu_state.ts";

/** The low 2^sizeLog2 bytes of Vn (sizeLog2 0..4). */
export function readV(cpu: CpuState, n: number, sizeLog2: number): bigint {
  const v = cpu.vregs;
  const b = 4 * n;
  switch (sizeLog2) {
    case 0: return BigInt(v[b]! & 0xff);
    case 1: return BigInt(v[b]! & 0xffff);
    case 2: return BigInt(v[b]!);
    case 3: return (BigInt(v[b + 1]!) << 32n) | BigInt(v[b]!);
    default:
      return (BigInt(v[b + 3]!) << 96n) | (BigInt(v[b + 2]!) << 64n) | (BigInt(v[b + 1]!) << 32n) | BigInt(v[b]!);
  }
}

/** Write the low 2^sizeLog2 bytes of Vn and clear the bits above them. */
export function writeV(cpu: CpuState, n: number, sizeLog2: number, value: bigint): void {
  const v = cpu.vregs;
  const b = 4 * n;
  const u = BigInt.asUintN(8 << sizeLog2, value);
  v[b] = Number(u & 0xffffffffn);
  v[b + 1] = sizeLog2 >= 3 ? Number((u >> 32n) & 0xffffffffn) : 0;
  v[b + 2] = sizeLog2 === 4 ? Number((u >> 64n) & 0xffffffffn) : 0;
  v[b + 3] = sizeLog2 === 4 ? Number(u >> 96n) : 0;
}

/** Element `index` of 2^esizeLog2 bytes of Vn. */
export function readElem(cpu: CpuState, n: number, esizeLog2: number, index: number): bigint {
  const bits = 8 << esizeLog2;
  return (readV(cpu, n, 4) >> BigInt(index * bits)) & ((1n << BigInt(bits)) - 1n);
}

/** Replace element `index` of Vn, keeping the other bits (INS). */
export function writeElem(cpu: CpuState, n: number, esizeLog2: number, index: number, value: bigint): void {
  const bits = BigInt(8 << esizeLog2);
  const sh = BigInt(index) * bits;
  const m = ((1n << bits) - 1n) << sh;
  const old = readV(cpu, n, 4);
  writeV(cpu, n, 4, (old & ~m) | ((BigInt.asUintN(Number(bits), value) << sh) & m));
}
