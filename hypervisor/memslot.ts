// A memslot: the VMM's memory behind one canonical IPA range (KVM: struct kvm_memory_slot plus the
// userspace mapping behind it). Each guest page is either resident in a host page from the pool
// (once faulted in), or held as saved contents (the loaded image, or what a canonical unmap
// preserved), or zero. Resident pages may come as 2M contiguous blocks (a THP-backed region).

import { PAGE_SIZE } from "../emulator/memory.ts";
import type { Page, PhysMemory } from "../emulator/memory.ts";
import { HostError } from "./errors.ts";
import type { HostPagePool } from "./pool.ts";

export const SZ_4K = 1n << 12n;
export const SZ_2M = 1n << 21n;
export const SZ_1G = 1n << 30n;
const PAGES_PER_2M = 512;
/** Entries of Memslot's cache of L1 table pages. */
const TABLE_CACHE = 16;
/** Clears the offset within a 4K page. */
const PAGE_ALIGN = ~(SZ_4K - 1n);

/**
 * Told when a write-tracked gfn gets a host page or loses it (page_track.ts): canonical IPA of the
 * page and host PA, as numbers.
 */
export interface GfnWriteTrack {
  attach(ipa: number, pa: number): void;
  detach(ipa: number, pa: number): void;
}

/** Where a faulted-in canonical IPA lives: the backing unit (4K page or 2M block) containing it. */
export interface MemslotBacking {
  /** Canonical IPA of the unit (aligned to `size`). */
  ipa: bigint;
  size: bigint;
  /** Host PA of the unit. */
  pa: bigint;
}

export class Memslot {
  /** gfn index within the slot → host PA of the resident page. */
  private readonly resident = new Map<number, number>();
  /** gfn index → contents of a non-resident page (missing = zero). */
  private readonly saved = new Map<number, Uint8Array>();
  /** 2M region index (ipa >> 21) → host PA of the pool block backing the region. */
  private readonly blocks = new Map<number, number>();
  /** 2M regions that must use 4K pages (split by an unmap, or no block available). */
  private readonly noBlock = new Set<number>();
  /** Block-backed 2M regions whose faults map 4K pages of the block (dirty logging's force_pte). */
  private readonly pageMapped = new Set<number>();
  /**
   * KVM: memslot->dirty_bitmap, one bit per page of the slot (64 to a word); set while dirty
   * logging is on (KVM_MEM_LOG_DIRTY_PAGES), null otherwise (dirty_log.ts keeps it). While set,
   * faultIn backs no new 2M block and returns the 4K page of an existing one: user_mem_abort's
   * force_pte under logging_active.
   */
  dirtyBitmap: BigUint64Array | null = null;
  /** First canonical IPA past the slot. */
  readonly end: bigint;
  /** The slot's size in bytes as a number (exact: below 2^48). */
  private readonly bytes: number;
  /** `base` as a number (exact: below 2^48). */
  private readonly baseNumber: number;
  /**
   * The host pages of the gfns read64Halves read last, direct-mapped on the gfn (L1's stage-2
   * tables: a few pages read on every shadow fault). An entry goes when its gfn stops being
   * resident or host memory drops a page.
   */
  private readonly tableGfn = new Float64Array(TABLE_CACHE).fill(-1);
  private readonly tablePage: (Page | null)[] = new Array<Page | null>(TABLE_CACHE).fill(null);
  /**
   * gfn indices whose host page is write-tracked (x86 KVM: the slot's gfn_write_track): whoever
   * tracks them is told each time one gets or loses its host page, so tracking outlives a reclaim.
   */
  private readonly writeTracked = new Set<number>();
  private writeTrack: GfnWriteTrack | null = null;
  /** Told of every gfn that gets or loses its host page (a debugger's watchpoints), or null. */
  backingWatch: GfnWriteTrack | null = null;

  constructor(
    /** Canonical IPA of the first byte (page aligned). */
    readonly base: bigint,
    readonly size: bigint,
    private readonly mem: PhysMemory,
    private readonly pool: HostPagePool,
  ) {
    if (base % SZ_4K !== 0n || size % SZ_4K !== 0n || size <= 0n) {
      throw new HostError(`memslot 0x${base.toString(16)}+0x${size.toString(16)} is not page aligned`);
    }
    this.end = base + size;
    this.bytes = Number(size);
    this.baseNumber = Number(base);
    mem.onPageRemoved(() => this.tableGfn.fill(-1));
  }

  get baseGfn(): bigint {
    return this.base >> 12n;
  }

  contains(ipa: bigint): boolean {
    return ipa >= this.base && ipa < this.end;
  }

  /** Number of pages currently resident in host memory. */
  get residentPages(): number {
    return this.resident.size;
  }

  private gfnIndex(ipa: bigint): number {
    return Number((ipa - this.base) >> 12n);
  }

  /** Host PA of the resident page holding `ipa`, or null. */
  hostPa(ipa: bigint): number | null {
    return this.resident.get(this.gfnIndex(ipa)) ?? null;
  }

  /** The canonical IPA of the page host page `pa` backs now, or null (a reverse lookup: for queries, not hot paths). */
  ipaOfHostPa(pa: number): bigint | null {
    for (const [gfn, at] of this.resident) if (at === pa) return this.base + (BigInt(gfn) << 12n);
    return null;
  }

  /** Whether the 2M region holding `ipa` is currently backed by one pool block. */
  isBlockBacked(ipa: bigint): boolean {
    return this.blocks.has(Number(ipa >> 21n));
  }

  /**
   * Dirty logging on the block-backed 2M region holding `ipa` (KVM: KVM_MEM_LOG_DIRTY_PAGES makes
   * user_mem_abort use page mappings): while on, faultIn returns the 4K page of the block, so a
   * split region is refilled with page mappings rather than remapped as a block. The backing
   * block is kept either way.
   */
  setPageMapped(ipa: bigint, on: boolean): void {
    const region = Number(ipa >> 21n);
    if (!this.blocks.has(region)) throw new HostError(`memslot: 2M region at 0x${(ipa & ~(SZ_2M - 1n)).toString(16)} is not block-backed`);
    if (on) this.pageMapped.add(region);
    else this.pageMapped.delete(region);
  }

  /** Whether faults in the (block-backed) 2M region holding `ipa` map 4K pages (setPageMapped). */
  isPageMapped(ipa: bigint): boolean {
    return this.pageMapped.has(Number(ipa >> 21n));
  }

  // ------------------------------------------------------------------ VMM access

  /** Copy `data` into guest memory at `ipa`, resident or not (image loading, host writes). */
  writeBytes(ipa: bigint, data: Uint8Array): void {
    this.checkRange(ipa, data.length);
    let done = 0;
    while (done < data.length) {
      const at = ipa + BigInt(done);
      const off = Number(at & 0xfffn);
      const n = Math.min(PAGE_SIZE - off, data.length - done);
      const chunk = data.subarray(done, done + n);
      const gfn = this.gfnIndex(at);
      const pa = this.resident.get(gfn);
      if (pa !== undefined) {
        this.mem.writeBytes(pa + off, chunk);
      } else {
        let buf = this.saved.get(gfn);
        if (!buf) this.saved.set(gfn, (buf = new Uint8Array(PAGE_SIZE)));
        buf.set(chunk, off);
      }
      done += n;
    }
  }

  /** Read `len` bytes of guest memory at `ipa`, resident or not. */
  readBytes(ipa: bigint, len: number): Uint8Array {
    this.checkRange(ipa, len);
    const out = new Uint8Array(len);
    let done = 0;
    while (done < len) {
      const at = ipa + BigInt(done);
      const off = Number(at & 0xfffn);
      const n = Math.min(PAGE_SIZE - off, len - done);
      const page = this.pageBytes(this.gfnIndex(at));
      if (page) out.set(page.subarray(off, off + n), done);
      done += n;
    }
    return out;
  }

  /**
   * The little-endian 64-bit value at `ipa`, or null when [ipa, ipa+8) is not inside the slot. L1's
   * stage-2 descriptors are read this way on every shadow fault: straight from the page, with the
   * address arithmetic on numbers.
   */
  read64(ipa: bigint): bigint | null {
    if (ipa < this.base) return null;
    const at = Number(ipa - this.base);
    if (at + 8 > this.bytes) return null;
    const off = at % PAGE_SIZE;
    if (off % 8 !== 0) return this.read(ipa, 8);
    const gfn = (at - off) / PAGE_SIZE;
    const pa = this.resident.get(gfn);
    if (pa !== undefined) {
      const page = this.mem.existingPage(pa);
      if (!page) throw new HostError(`resident page at host PA 0x${pa.toString(16)} is not RAM`);
      return page.dv.getBigUint64(off, true);
    }
    const saved = this.saved.get(gfn);
    if (!saved) return 0n;
    return new DataView(saved.buffer, saved.byteOffset, saved.byteLength).getBigUint64(off, true);
  }

  /**
   * read64 on numbers (the nested walker's DescriptorReader.halves): the value at `ipa` (a number,
   * below 2^48) as two 32-bit halves in `out`, false when [ipa, ipa+8) is not inside the slot.
   */
  read64Halves(ipa: number, out: Uint32Array): boolean {
    const at = ipa - this.baseNumber;
    if (at < 0 || at + 8 > this.bytes) return false;
    const off = at % PAGE_SIZE;
    let dv: DataView;
    const gfn = (at - off) / PAGE_SIZE;
    const c = gfn % TABLE_CACHE;
    const pa = this.tableGfn[c] === gfn ? -1 : this.resident.get(gfn);
    if (pa === -1) dv = this.tablePage[c]!.dv;
    else if (pa !== undefined) {
      const page = this.mem.existingPage(pa);
      if (!page) throw new HostError(`resident page at host PA 0x${pa.toString(16)} is not RAM`);
      this.tableGfn[c] = gfn;
      this.tablePage[c] = page;
      dv = page.dv;
    } else {
      const saved = this.saved.get(gfn);
      if (!saved) {
        out[0] = 0;
        out[1] = 0;
        return true;
      }
      dv = new DataView(saved.buffer, saved.byteOffset, saved.byteLength);
    }
    if (off + 8 > PAGE_SIZE) {
      // Across a page boundary (only an unaligned descriptor address can be).
      const v = this.read(BigInt(ipa), 8);
      out[0] = Number(v & 0xffff_ffffn);
      out[1] = Number(v >> 32n);
      return true;
    }
    out[0] = dv.getUint32(off, true);
    out[1] = dv.getUint32(off + 4, true);
    return true;
  }

  /** Little-endian value of `size` bytes at `ipa` (1, 2, 4 or 8). */
  read(ipa: bigint, size: number): bigint {
    if (size === 8 && (ipa & 7n) === 0n) {
      const v = this.read64(ipa);
      if (v !== null) return v;
    }
    const b = this.readBytes(ipa, size);
    let v = 0n;
    for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    return v;
  }

  /** The current bytes of a page: host page if resident, else the saved copy, else null (zero). */
  private pageBytes(gfn: number): Uint8Array | null {
    const pa = this.resident.get(gfn);
    if (pa !== undefined) {
      const page = this.mem.page(pa);
      if (!page) throw new HostError(`resident page at host PA 0x${pa.toString(16)} is not RAM`);
      return page.u8;
    }
    return this.saved.get(gfn) ?? null;
  }

  private checkRange(ipa: bigint, len: number): void {
    if (ipa < this.base || ipa + BigInt(len) > this.end) {
      throw new HostError(`access 0x${ipa.toString(16)}+${len} outside memslot 0x${this.base.toString(16)}+0x${this.size.toString(16)}`);
    }
  }

  // ------------------------------------------------------------------ fault-in and release

  /**
   * Make the page holding `ipa` resident and return the unit that backs it. With `allowBlock`, a
   * 2M-aligned region lying wholly inside the slot is backed by one contiguous 2M pool block
   * (KVM: a THP-backed VMA lets user_mem_abort map a PMD).
   */
  faultIn(ipa: bigint, allowBlock: boolean): MemslotBacking {
    if (!this.contains(ipa)) throw new HostError(`fault-in of 0x${ipa.toString(16)} outside memslot`);
    const region = Number(ipa >> 21n);
    const blockPa = this.blocks.get(region);
    if (blockPa !== undefined) {
      if (!this.pageMapped.has(region) && this.dirtyBitmap === null) return { ipa: ipa & ~(SZ_2M - 1n), size: SZ_2M, pa: BigInt(blockPa) };
      // Dirty logging (force_pte): the 4K page of the block, so the mapping stays page-sized.
      const page = ipa & PAGE_ALIGN;
      return { ipa: page, size: SZ_4K, pa: BigInt(blockPa) + (page & (SZ_2M - 1n)) };
    }
    const gfn = this.gfnIndex(ipa);
    const pagePa = this.resident.get(gfn);
    if (pagePa !== undefined) return { ipa: ipa & PAGE_ALIGN, size: SZ_4K, pa: BigInt(pagePa) };
    if (allowBlock && this.dirtyBitmap === null && this.blockCandidate(region)) {
      const pa = this.tryAllocBlock();
      if (pa !== null) {
        const first = this.gfnIndex(BigInt(region) << 21n);
        for (let i = 0; i < PAGES_PER_2M; i++) this.makeResident(first + i, pa + i * PAGE_SIZE);
        this.blocks.set(region, pa);
        return { ipa: BigInt(region) << 21n, size: SZ_2M, pa: BigInt(pa) };
      }
      this.noBlock.add(region);
    }
    const pa = this.pool.alloc();
    this.makeResident(gfn, pa);
    return { ipa: ipa & PAGE_ALIGN, size: SZ_4K, pa: BigInt(pa) };
  }

  private blockCandidate(region: number): boolean {
    const start = BigInt(region) << 21n;
    return !this.noBlock.has(region) && start >= this.base && start + SZ_2M <= this.end;
  }

  /** A 2M block, or null when the pool has no aligned run left (then 4K pages are used). */
  private tryAllocBlock(): number | null {
    try {
      return this.pool.allocBlock(PAGES_PER_2M);
    } catch (e) {
      if (e instanceof HostError) return null;
      throw e;
    }
  }

  /** Install a (zeroed) pool page for a gfn, filled with its saved contents. */
  private makeResident(gfn: number, pa: number): void {
    const data = this.saved.get(gfn);
    if (data) {
      this.mem.writeBytes(pa, data);
      this.saved.delete(gfn);
    }
    this.resident.set(gfn, pa);
    this.forgetTablePage(gfn);
    if (this.writeTrack !== null && this.writeTracked.has(gfn)) this.writeTrack.attach(this.baseNumber + gfn * PAGE_SIZE, pa);
    this.backingWatch?.attach(this.baseNumber + gfn * PAGE_SIZE, pa);
  }

  /**
   * Write-track the page holding canonical `ipa` (a number below 2^48) for `track`, from now on
   * and through every host page that backs it later (kvm_slot_page_track_add_page). False when
   * `ipa` is outside the slot.
   */
  trackWrites(ipa: number, track: GfnWriteTrack): boolean {
    const at = ipa - this.baseNumber;
    if (at < 0 || at >= this.bytes) return false;
    const gfn = Math.floor(at / PAGE_SIZE);
    if (this.writeTracked.has(gfn) && this.writeTrack === track) return true;
    this.writeTrack = track;
    this.writeTracked.add(gfn);
    const pa = this.resident.get(gfn);
    if (pa !== undefined) track.attach(this.baseNumber + gfn * PAGE_SIZE, pa);
    return true;
  }

  private forgetTablePage(gfn: number): void {
    const c = gfn % TABLE_CACHE;
    if (this.tableGfn[c] === gfn) this.tableGfn[c] = -1;
  }

  /**
   * Take the resident pages of [ipa, ipa+size) back from the guest (the canonical stage-2 no
   * longer maps them): preserve their contents, free and poison the host pages. A 2M block touched
   * by the range is split; its region uses 4K pages from then on. Returns the host PAs freed.
   */
  release(ipa: bigint, size: bigint): number[] {
    const start = ipa < this.base ? this.base : ipa;
    const end = ipa + size > this.end ? this.end : ipa + size;
    const freed: number[] = [];
    if (start >= end) return freed;
    for (let at = start & ~(SZ_2M - 1n); at < end; at += SZ_2M) {
      const region = Number(at >> 21n);
      if (this.blocks.delete(region)) this.noBlock.add(region);
      this.pageMapped.delete(region);
    }
    const first = this.gfnIndex(start & ~(SZ_4K - 1n));
    const last = this.gfnIndex(end - 1n);
    for (let gfn = first; gfn <= last; gfn++) {
      const pa = this.resident.get(gfn);
      if (pa === undefined) continue;
      const page = this.mem.page(pa);
      if (page && !isZeroPage(page.u8)) this.saved.set(gfn, page.u8.slice());
      if (this.writeTrack !== null && this.writeTracked.has(gfn)) this.writeTrack.detach(this.baseNumber + gfn * PAGE_SIZE, pa);
      this.backingWatch?.detach(this.baseNumber + gfn * PAGE_SIZE, pa);
      this.resident.delete(gfn);
      this.forgetTablePage(gfn);
      this.pool.free(pa);
      freed.push(pa);
    }
    return freed;
  }
}

/** Whether a page holds only zero bytes, a word at a time (2M releases scan 512 pages). */
function isZeroPage(u8: Uint8Array): boolean {
  const words = new Int32Array(u8.buffer, u8.byteOffset, u8.length >> 2);
  for (let i = 0; i < words.length; i++) if (words[i] !== 0) return false;
  return true;
}
