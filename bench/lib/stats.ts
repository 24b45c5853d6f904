// Summary statistics for repeated measurements: benchmarks quote the median with min and max.

export interface Summary {
  median: number;
  min: number;
  max: number;
  /** The raw values, in measurement order. */
  runs: number[];
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error("median of no values");
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) throw new Error("summary of no values");
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { median: median(values), min, max, runs: [...values] };
}

/** Seconds since an arbitrary origin, from the monotonic high-resolution clock. */
export function nowSeconds(): number {
  return Number(process.hrtime.bigint()) / 1e9;
}

/**
 * Calls `fn` `repeats` times and summarises the wall time of each call in seconds. `warmup` extra
 * untimed calls come first so the JIT has compiled the code being measured.
 */
export function timeIt(fn: () => void, repeats: number, warmup = 0): Summary {
  if (!(repeats >= 1)) throw new Error(`timeIt: repeats must be at least 1 (got ${repeats})`);
  for (let i = 0; i < warmup; i++) fn();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return summarize(times);
}

/** `a / b` as "12.3x" — the form ratios take in tables and notes. */
export function ratio(a: number, b: number): string {
  if (b === 0) return a === 0 ? "1.0x" : "inf";
  const r = a / b;
  return `${r >= 100 ? r.toFixed(0) : r.toFixed(1)}x`;
}
