// The three address spaces L0 works in, as distinct types (DESIGN.md "Levels and address spaces"):
// a nested IPA (L2's "physical" address, input of L1's stage-2 and of a shadow stage-2), a canonical
// IPA (L1's "physical" address, input of the canonical stage-2 and of the memslots) and a host PA
// (the emulator's physical memory: page pool and table pages). A value of one kind cannot be passed
// where another is expected; arithmetic goes through the helpers below, which keep the kind and
// check that the result stays a 64-bit address, as rust-vmm's `GuestAddress` does.

import type { Brand, PA } from "../emulator/types.ts";

/** L2's "physical" address: what L1's stage-2 and a shadow stage-2 translate. */
export type NestedIpa = Brand<bigint, "NestedIpa">;
/** L1's "physical" address: what the canonical stage-2 and the memslots translate. */
export type CanonicalIpa = Brand<bigint, "CanonicalIpa">;
/** Host physical address: the emulator's physical memory is the host's. */
export type HostPa = PA;

/** Any of the three kinds. */
export type L0Addr = NestedIpa | CanonicalIpa | HostPa;

const LIMIT = 1n << 64n;

function checked(v: bigint, what: string): bigint {
  if (v < 0n || v >= LIMIT) throw new RangeError(`${what} 0x${v.toString(16)} is not a 64-bit address`);
  return v;
}

export const nestedIpa = (v: bigint): NestedIpa => checked(v, "nested IPA") as NestedIpa;
export const canonicalIpa = (v: bigint): CanonicalIpa => checked(v, "canonical IPA") as CanonicalIpa;
export const hostPa = (v: bigint | number): HostPa => checked(BigInt(v), "host PA") as HostPa;

/** `a + bytes`, of the same kind; throws past 2^64 - 1 (an end bound of exactly 2^64 is allowed). */
export function addrAdd<A extends L0Addr>(a: A, bytes: bigint): A {
  const v = (a as bigint) + bytes;
  if (v < 0n || v > LIMIT) throw new RangeError(`0x${a.toString(16)} + 0x${bytes.toString(16)} leaves the 64-bit address space`);
  return v as A;
}

/** Bytes from `b` to `a` (a ≥ b), both of one kind. */
export function addrDiff<A extends L0Addr>(a: A, b: A): bigint {
  if (a < b) throw new RangeError(`0x${a.toString(16)} lies below 0x${b.toString(16)}`);
  return (a as bigint) - (b as bigint);
}

/** `a` rounded down to a multiple of `align` (a power of two), of the same kind. */
export function addrAlignDown<A extends L0Addr>(a: A, align: bigint): A {
  return ((a as bigint) & ~(align - 1n)) as A;
}

/** The same offset in another space: `to + (a - from)` (a translation through one mapping). */
export function addrTranslate<F extends L0Addr, T extends L0Addr>(a: F, from: F, to: T): T {
  return addrAdd(to, addrDiff(a, from));
}
