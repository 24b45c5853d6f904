// Numbers given on the command line: addresses, sizes and counts.

import { UsageError } from "./errors.ts";

/** Parse an address or count given on the command line: decimal, 0x-hex, with optional `_` and K/M/G suffix. */
export function parseNumber(text: string, what: string): bigint {
  const t = text.trim().replace(/_/g, "");
  const m = /^(0x[0-9a-f]+|\d+)([kmg])?$/i.exec(t);
  if (!m) throw new UsageError(`${what}: '${text}' is not a number (use decimal or 0x-hex, optional K/M/G suffix)`);
  const scale = { k: 1n << 10n, m: 1n << 20n, g: 1n << 30n }[(m[2] ?? "").toLowerCase() as "k" | "m" | "g"] ?? 1n;
  return BigInt(m[1]!) * scale;
}

/** A positive count that fits a JavaScript number, in parseNumber's syntax. */
export function parseCount(text: string, what: string): number {
  const v = parseNumber(text, what);
  if (v <= 0n || v > BigInt(Number.MAX_SAFE_INTEGER)) throw new UsageError(`${what}: ${text} is out of range`);
  return Number(v);
}
