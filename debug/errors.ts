// The debugger's user-facing error: a bad command argument, an unknown symbol, an unmapped
// address. The REPL and the GDB stub print its message and the session goes on.

export class DebugError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DebugError";
  }
}

/** `0x…` hex, decimal, or `_`-separated digits; throws DebugError naming `what`. */
export function parseAddress(text: string, what = "address"): bigint {
  const t = text.trim().replace(/_/g, "");
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(t)) throw new DebugError(`${what}: '${text}' is not a number (use 0x-hex or decimal)`);
  const v = BigInt(t);
  if (v >= 1n << 64n) throw new DebugError(`${what}: '${text}' does not fit in 64 bits`);
  return v;
}

/** Whether `text` reads as a number (so it is an address, not a symbol). */
export function isNumber(text: string): boolean {
  return /^(0x[0-9a-f_]+|\d[\d_]*)$/i.test(text.trim());
}
