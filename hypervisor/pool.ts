// L0's host page pool: the host RAM from which stage-2 table pages and guest backing pages come
// (KVM: the page allocator behind kvm_mmu_memory_cache and the VMM's memory). Pages are backed in
// PhysMemory on first allocation and stay RAM for good, so a stale mapping of a freed page still
// reaches real memory — and reads the poison pattern, which makes use-after-free visible.
//
// Allocation is deterministic: always the lowest free page (or the lowest free naturally aligned
// run for blocks), whatever the order of earlier frees.

import { type Page, PAGE_SIZE, type PhysMemory } from "../emulator/memory.ts";
import { hex } from "../emulator/types.ts";
import { HostError } from "./errors.ts";

/** What every 8 bytes of a freed pool page hold. */
export const POISON = 0xdeadbeefdeadbeefn;

const POISON_HALF = 0xdeadbeef;

/** One page of poison, copied over a page on free. */
const POISON_PAGE: Uint8Array = (() => {
  const u8 = new Uint8Array(PAGE_SIZE);
  const dv = new DataView(u8.buffer);
  for (let off = 0; off < PAGE_SIZE; off += 8) dv.setBigUint64(off, POISON, true);
  return u8;
})();

export class HostPagePool {
  /** 1 = allocated, per page index. */
  private readonly inUse: Uint8Array;
  /** The RAM page behind each index once backed (every allocation would otherwise search host memory). */
  private readonly backing: (Page | undefined)[];
  /** No free page lies below this index. */
  private lowestFree = 0;
  private usedPages = 0;
  private peakPages = 0;

  constructor(
    private readonly mem: PhysMemory,
    /** Host PA of the first page of the pool (page aligned). */
    readonly basePa: number,
    pages: number,
  ) {
    if (!Number.isSafeInteger(basePa) || basePa < 0 || basePa % PAGE_SIZE !== 0) {
      throw new HostError(`page pool base ${hex(basePa)} is not page aligned`);
    }
    if (!Number.isSafeInteger(pages) || pages <= 0) throw new HostError(`page pool size ${pages} is not a positive page count`);
    this.inUse = new Uint8Array(pages);
    this.backing = new Array<Page | undefined>(pages);
    // A page taken out of host memory must not be handed out from the cache below.
    mem.onPageRemoved((pfn) => {
      const i = pfn - basePa / PAGE_SIZE;
      if (i >= 0 && i < pages) this.backing[i] = undefined;
    });
  }

  /** Pages in the pool. */
  get total(): number {
    return this.inUse.length;
  }

  /** Pages currently allocated. */
  get used(): number {
    return this.usedPages;
  }

  get available(): number {
    return this.total - this.usedPages;
  }

  /** Highest `used` seen so far. */
  get peak(): number {
    return this.peakPages;
  }

  /** Whether `pa` lies inside the pool's host-PA range. */
  contains(pa: number): boolean {
    return pa >= this.basePa && pa < this.basePa + this.total * PAGE_SIZE;
  }

  /** Whether the page holding `pa` is currently allocated. */
  isAllocated(pa: number): boolean {
    return this.contains(pa) && this.inUse[Math.floor((pa - this.basePa) / PAGE_SIZE)] === 1;
  }

  /** One zeroed page: the lowest free one. */
  alloc(): number {
    const n = this.total;
    let i = this.lowestFree;
    while (i < n && this.inUse[i] === 1) i++;
    if (i === n) throw new HostError(`host page pool exhausted: all ${n} pages (${n * 4} KiB) in use`);
    this.take(i, 1);
    this.lowestFree = i + 1;
    return this.paOf(i);
  }

  /**
   * `pages` (a power of two) zeroed pages, contiguous and naturally aligned in host PA (512 → a
   * 2M-aligned 2 MiB run): the lowest such free run.
   */
  allocBlock(pages: number): number {
    if (!Number.isSafeInteger(pages) || pages <= 0 || (pages & (pages - 1)) !== 0) {
      throw new HostError(`block of ${pages} pages: not a power of two`);
    }
    if (pages === 1) return this.alloc();
    const basePfn = this.basePa / PAGE_SIZE;
    // Candidate starts are the indices whose absolute PFN is a multiple of `pages`.
    const alignUp = (i: number): number => Math.ceil((basePfn + i) / pages) * pages - basePfn;
    let i = alignUp(this.lowestFree);
    while (i + pages <= this.total) {
      let busy = -1;
      for (let j = i + pages - 1; j >= i; j--) {
        if (this.inUse[j] === 1) {
          busy = j;
          break;
        }
      }
      if (busy < 0) {
        this.take(i, pages);
        return this.paOf(i);
      }
      i = alignUp(busy + 1);
    }
    throw new HostError(`host page pool: no free ${hex(pages * PAGE_SIZE)}-aligned run of ${pages} pages (${this.used}/${this.total} in use)`);
  }

  /** Return a page: it is filled with POISON and stays RAM. */
  free(pa: number): void {
    const i = this.indexOf(pa, "free");
    if (this.inUse[i] !== 1) throw new HostError(`host page pool: double free of ${hex(pa)}`);
    this.release(i);
  }

  /** Return `pages` contiguous pages starting at `pa` (all checked before any is freed). */
  freeBlock(pa: number, pages: number): void {
    if (!Number.isSafeInteger(pages) || pages <= 0) throw new HostError(`freeBlock of ${pages} pages`);
    const first = this.indexOf(pa, "freeBlock");
    if (first + pages > this.total) throw new HostError(`freeBlock ${hex(pa)}+${pages} pages runs past the pool`);
    for (let i = first; i < first + pages; i++) {
      if (this.inUse[i] !== 1) throw new HostError(`host page pool: double free of ${hex(this.paOf(i))} (in block at ${hex(pa)})`);
    }
    for (let i = first; i < first + pages; i++) this.release(i);
  }

  /** Whether every 8 bytes of the page holding `pa` read as POISON. */
  isPoisoned(pa: number): boolean {
    if (!this.mem.isRam(pa)) return false;
    const dv = this.mem.page(pa)!.dv;
    for (let off = 0; off < PAGE_SIZE; off += 4) if (dv.getUint32(off, true) !== POISON_HALF) return false;
    return true;
  }

  // ---- internals

  private paOf(i: number): number {
    return this.basePa + i * PAGE_SIZE;
  }

  private indexOf(pa: number, op: string): number {
    if (!Number.isSafeInteger(pa) || pa % PAGE_SIZE !== 0) throw new HostError(`host page pool: ${op} of unaligned address ${hex(pa)}`);
    if (!this.contains(pa)) {
      throw new HostError(`host page pool: ${op} of ${hex(pa)}, outside the pool ${hex(this.basePa)}+${hex(this.total * PAGE_SIZE)}`);
    }
    return (pa - this.basePa) / PAGE_SIZE;
  }

  /** Mark [i, i+n) allocated and hand them out zeroed (backing them on first use). */
  private take(i: number, n: number): void {
    for (let k = i; k < i + n; k++) {
      this.inUse[k] = 1;
      const pa = this.paOf(k);
      let page = this.backing[k] ?? this.mem.existingPage(pa);
      if (page) {
        page.u8.fill(0);
        page.invalidate();
      } else {
        this.mem.addRamPage(pa);
        page = this.mem.existingPage(pa)!;
      }
      this.backing[k] = page;
    }
    this.usedPages += n;
    if (this.usedPages > this.peakPages) this.peakPages = this.usedPages;
  }

  private release(i: number): void {
    const page = this.backing[i] ?? this.mem.existingPage(this.paOf(i));
    if (!page) throw new HostError(`host page pool: page ${hex(this.paOf(i))} is no longer RAM`);
    this.inUse[i] = 0;
    this.usedPages--;
    if (i < this.lowestFree) this.lowestFree = i;
    page.u8.set(POISON_PAGE);
    // Decoded instructions cached for the page are stale now.
    page.invalidate();
  }
}
