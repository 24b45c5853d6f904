// The seeded generator behind every random choice L0 and the lab make (scheduler slices, chaos,
// workloads): same seed, same sequence, on every machine.

/** splitmix32: a tiny, well-mixed 32-bit generator with a 32-bit state (no Math.random). */
export class SplitMix32 {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** The next 32-bit unsigned value. */
  next(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  }

  /** Uniform in [0, n) (n ≤ 2^32; the modulo bias is irrelevant here). */
  below(n: number): number {
    return this.next() % n;
  }
}
