// The canonical page each nested page of a shadow MMU was built from, recorded at every shadow
// install, for the strategies' staleness statistics, the benchmarks and chaos's aim (the invariant
// checker computes its own truth, lab/check_truth.ts). KVM has no such record; it is sandbox
// bookkeeping, so it is kept cheap: page numbers as plain numbers, no bigint
// keys, because it is written on every shadow fault.

const PAGE_SHIFT = 12n;
const PAGE = 4096;

export class ShadowOrigin {
  /** nested page number → canonical page number */
  private readonly pages = new Map<number, number>();

  /** The canonical IPA the nested page at `nestedIpa` was built from, if recorded. */
  get(nestedIpa: bigint): bigint | undefined {
    const c = this.pages.get(Number(nestedIpa >> PAGE_SHIFT));
    return c === undefined ? undefined : BigInt(c) << PAGE_SHIFT;
  }

  set(nestedIpa: bigint, canonicalIpa: bigint): void {
    this.pages.set(Number(nestedIpa >> PAGE_SHIFT), Number(canonicalIpa >> PAGE_SHIFT));
  }

  /** Record every 4K page of a leaf of `size` bytes (pieces of a later split still name their origin). */
  setRange(nestedIpa: bigint, canonicalIpa: bigint, size: bigint): void {
    const n = Number(nestedIpa >> PAGE_SHIFT);
    const c = Number(canonicalIpa >> PAGE_SHIFT);
    const count = Number(size) / PAGE;
    for (let i = 0; i < count; i++) this.pages.set(n + i, c + i);
  }

  get size(): number {
    return this.pages.size;
  }

  clear(): void {
    this.pages.clear();
  }
}
