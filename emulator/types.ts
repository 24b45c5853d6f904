// Address spaces are distinct types so that one cannot be passed where another is expected.
// All are 64-bit architectural values carried as bigint at API boundaries.

declare const brand: unique symbol;
export type Brand<T, B extends string> = T & { readonly [brand]: B };

/** Virtual address (stage-1 input). */
export type VA = Brand<bigint, "VA">;
/** Intermediate physical address (stage-1 output, stage-2 input). */
export type IPA = Brand<bigint, "IPA">;
/** Physical address (stage-2 output; host memory). */
export type PA = Brand<bigint, "PA">;

export const va = (v: bigint | number): VA => BigInt.asUintN(64, BigInt(v)) as VA;
export const ipa = (v: bigint | number): IPA => BigInt.asUintN(64, BigInt(v)) as IPA;
export const pa = (v: bigint | number): PA => BigInt.asUintN(64, BigInt(v)) as PA;

export const MASK64 = (1n << 64n) - 1n;

/** `0x`-prefixed lowercase hex, zero-padded to `width` digits. */
export function hex(v: bigint | number, width = 0): string {
  const b = BigInt.asUintN(64, BigInt(v));
  return "0x" + b.toString(16).padStart(width, "0");
}

/** Bits [hi:lo] of a 64-bit value. */
export function bits(v: bigint, hi: number, lo: number): bigint {
  return (v >> BigInt(lo)) & ((1n << BigInt(hi - lo + 1)) - 1n);
}

/** Bit n of a 64-bit value as 0/1. */
export function bit(v: bigint, n: number): number {
  return Number((v >> BigInt(n)) & 1n);
}

// A scratch 64-bit cell seen as two 32-bit halves. Going through typed arrays converts without
// the intermediate BigInts that shifts and masks allocate (about 20 times faster in V8); stores
// reduce modulo 2^64 and 2^32 as BigInt.asUintN and >>> 0 would.
const CELL64 = new BigUint64Array(1);
const CELL32 = new Uint32Array(CELL64.buffer);
const LO = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1 ? 0 : 1;
const HI = 1 - LO;

/** Bits [31:0] of a 64-bit value (modulo 2^64), as an unsigned number. */
export function lo32(v: bigint): number {
  CELL64[0] = v;
  return CELL32[LO]!;
}

/** Bits [63:32] of a 64-bit value (modulo 2^64), as an unsigned number. */
export function hi32(v: bigint): number {
  CELL64[0] = v;
  return CELL32[HI]!;
}

/** Split a 64-bit value into unsigned 32-bit halves. */
export function split64(v: bigint): [lo: number, hi: number] {
  CELL64[0] = v;
  return [CELL32[LO]!, CELL32[HI]!];
}

/** The 64-bit value of halves lo/hi, plus 4 (modulo 2^64): the next instruction's address. */
export function plus4(lo: number, hi: number): bigint {
  const l = lo + 4;
  return l < 4294967296 ? join64(l, hi) : join64(l - 4294967296, hi + 1); // join64 wraps hi modulo 2^32
}

/** Join unsigned 32-bit halves into a 64-bit value. */
export function join64(lo: number, hi: number): bigint {
  CELL32[LO] = lo;
  CELL32[HI] = hi;
  return CELL64[0]!;
}
