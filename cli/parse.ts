// Numbers given on the command line: addresses, sizes and counts.

import { hex } from "../emulator/types.ts";
import { UsageError } from "./errors.ts";

/** Parse an address or count given on the command line: decimal, 0x-hex, with optional `_` and K/M/G suffix. */
export function parseNumber(text: string, what: string): bigint {
  const t = text.trim().replace(/_/g, "");
  const m = /^(0x[0-9a-f]+|\d+)([kmg])?$/i.exec(t);
  if (!m) throw new UsageError(`${what}: '${text}' is not a number (use decimal or 0x-hex, optional K/M/G suffix)`);
  const scale = { k: 1n << 10n, m: 1n << 20n, g: 1n << 30n }[(m[2] ?? "").toLowerCase() as "k" | "m" | "g"] ?? 1n;
  return BigInt(m[1]!) * scale;
}

/** The first value an address register cannot hold. */
const ADDRESS_LIMIT = 1n << 64n;

/**
 * An address in parseNumber's syntax that fits in 64 bits and is a multiple of `align` bytes: a
 * larger value would wrap silently where the guest's 64-bit registers and descriptors hold it.
 */
export function parseAddress(text: string, what: string, align: bigint, why: string): bigint {
  const v = parseNumber(text, what);
  if (v >= ADDRESS_LIMIT) throw new UsageError(`${what}: ${text} does not fit in 64 bits (addresses are at most 0xffffffffffffffff)`);
  if (v % align !== 0n) throw new UsageError(`${what}: ${hex(v)} is not a multiple of ${hex(align)} (${why})`);
  return v;
}

/** A positive count that fits a JavaScript number, in parseNumber's syntax. */
export function parseCount(text: string, what: string): number {
  const v = parseNumber(text, what);
  if (v <= 0n || v > BigInt(Number.MAX_SAFE_INTEGER)) throw new UsageError(`${what}: ${text} is out of range`);
  return Number(v);
}
