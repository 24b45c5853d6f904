// The canonical page each nested page of a shadow MMU was built from, recorded at every shadow
// install, for the strategies' staleness statistics, the benchmarks and chaos's aim (the invariant
// checker computes its own truth, lab/check_truth.ts). KVM has no such record; it is sandbox
// bookkeeping, so it is kept cheap: it is written on every shadow fault. Page numbers are plain
// numbers, in chunks of 512 nested pages (one 2M region each) held in typed arrays, so a record
// is a store into a chunk rather than an insertion into a growing hash table.

const PAGE_SHIFT = 12n;
const PAGE = 4096;
/** Nested pages per chunk (a 2M region of nested IPA). */
const CHUNK_PAGES = 512;

export class ShadowOrigin {
  /** Nested chunk number → canonical page number + 1 of each nested page of the chunk (0: none). */
  private readonly chunks = new Map<number, Float64Array>();
  /** The chunk the last record went to: a fault's neighbours usually share it. */
  private lastIndex = -1;
  private lastChunk: Float64Array | null = null;
  private count = 0;

  /** The canonical IPA the nested page at `nestedIpa` was built from, if recorded. */
  get(nestedIpa: bigint): bigint | undefined {
    const n = Number(nestedIpa >> PAGE_SHIFT);
    const c = this.chunks.get(Math.floor(n / CHUNK_PAGES))?.[n % CHUNK_PAGES] ?? 0;
    return c === 0 ? undefined : BigInt(c - 1) << PAGE_SHIFT;
  }

  set(nestedIpa: bigint, canonicalIpa: bigint): void {
    this.record(Number(nestedIpa >> PAGE_SHIFT), Number(canonicalIpa >> PAGE_SHIFT));
  }

  /** Record every 4K page of a leaf of `size` bytes (pieces of a later split still name their origin). */
  setRange(nestedIpa: bigint, canonicalIpa: bigint, size: bigint): void {
    const n = Number(nestedIpa >> PAGE_SHIFT);
    const c = Number(canonicalIpa >> PAGE_SHIFT);
    const count = Number(size) / PAGE;
    for (let i = 0; i < count; i++) this.record(n + i, c + i);
  }

  get size(): number {
    return this.count;
  }

  clear(): void {
    this.chunks.clear();
    this.lastIndex = -1;
    this.lastChunk = null;
    this.count = 0;
  }

  private record(nestedPage: number, canonicalPage: number): void {
    const index = Math.floor(nestedPage / CHUNK_PAGES);
    let chunk = this.lastChunk;
    if (index !== this.lastIndex || chunk === null) {
      chunk = this.chunks.get(index) ?? null;
      if (chunk === null) this.chunks.set(index, (chunk = new Float64Array(CHUNK_PAGES)));
      this.lastIndex = index;
      this.lastChunk = chunk;
    }
    const slot = nestedPage % CHUNK_PAGES;
    if (chunk[slot] === 0) this.count++;
    chunk[slot] = canonicalPage + 1;
  }
}
