// Physical memory: sparse 4 KiB pages plus MMIO ranges. Shared by every vCPU of a machine.
// Physical addresses are numbers internally (exact below 2^53, far above any PA size we model).

import type { PA } from "./types.ts";
import { hex } from "./types.ts";

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;
export const PAGE_MASK = PAGE_SIZE - 1;

/** Who made a store that reaches a tracked page: the CPU (its index and the PC of the store). */
export interface StoreSource {
  readonly index: number;
  getPC(): bigint;
}

/**
 * Told of every store into a page it tracks, before the bytes change (the host's own writes come
 * with no source). The owner reads the old bytes then, and the new ones once the store is done.
 */
export interface PageWriteTrack {
  write(page: Page, off: number, size: number, by: StoreSource | null, vaLo: number, vaHi: number): void;
}

/**
 * Told of every CPU load and store that reaches a watched page, before a store changes the bytes
 * (a debugger's watchpoints, debug/watch.ts). Watched pages never enter the CPUs' fast
 * translation caches, so every access to them takes the slow path that calls this.
 */
export interface PageWatch {
  access(page: Page, off: number, size: number, write: boolean, by: AccessSource, va: bigint): void;
}

/** The CPU making a watched access: it can be asked to stop once the instruction completes. */
export interface AccessSource extends StoreSource {
  requestStop(): void;
}

/** One 4 KiB page of RAM. `ops` caches decoded instructions and is dropped on any write. */
export class Page {
  readonly u8: Uint8Array;
  readonly dv: DataView;
  ops: unknown[] | null = null;
  /** The translated code built from `ops` (jit/cache.ts), told when they are written; null with them. */
  code: { written(): void } | null = null;
  /** Who is told of stores into the page (hypervisor/page_track.ts), or null. */
  track: PageWriteTrack | null = null;
  /**
   * Stores must call `written`: the page has decoded instructions or a write track. The store
   * fast paths test this one field, so untracked data pages cost what they did before tracking.
   */
  divert = false;
  /** Who is told of CPU accesses to the page (a debugger's watchpoints), or null. */
  watch: PageWatch | null = null;
  constructor(
    readonly pfn: number,
    /** Zeroed backing: a frame of the machine's host memory (`off` is its byte offset there), or a fresh buffer. */
    u8: Uint8Array = new Uint8Array(PAGE_SIZE),
    readonly off = -1,
    /** The machine's code map (PhysMemory.codeMap), when the page is one of its frames. */
    private readonly codeMap: Uint8Array | null = null,
  ) {
    this.u8 = u8;
    this.dv = new DataView(u8.buffer, u8.byteOffset, PAGE_SIZE);
  }

  /** Start a decoded-instruction cache for the page. */
  cacheOps(ops: unknown[]): void {
    this.ops = ops;
    this.code = null;
    this.divert = true;
  }

  /** The instruction at byte `off` is decoded and cached: a store to its line must go through `written`. */
  markCode(off: number): void {
    const m = this.codeMap;
    if (m === null) return;
    const l = (this.off + off) >>> CODE_LINE_SHIFT;
    m[l] = m[l]! | CODE_LINE_CODE;
  }

  /**
   * Tell `track` of every store into the page from now on (null: stop). Translated stores see the
   * tracked bit of the page's lines in the code map and leave those to the interpreter's store,
   * which calls `written`.
   */
  setTrack(track: PageWriteTrack | null): void {
    this.track = track;
    this.divert = this.ops !== null || track !== null;
    const m = this.codeMap;
    if (m === null) return;
    const first = this.off >>> CODE_LINE_SHIFT;
    const end = (this.off + PAGE_SIZE) >>> CODE_LINE_SHIFT;
    for (let l = first; l < end; l++) m[l] = track !== null ? m[l]! | CODE_LINE_TRACKED : m[l]! & ~CODE_LINE_TRACKED;
  }

  /**
   * `size` bytes at `off` are about to be written (the host's writeBytes calls it after), by `by`
   * at VA `vaLo`/`vaHi` when a CPU stores. The track, if any, is told first. Decoded instructions
   * in the lines written are dropped, and so is translated code built from the page (its owner,
   * `code`, is told); data next to code in the same page costs nothing while no line holding code
   * is written.
   */
  written(off: number, size: number, by: StoreSource | null = null, vaLo = 0, vaHi = 0): void {
    if (this.track !== null) this.track.write(this, off, size, by, vaLo, vaHi);
    const ops = this.ops;
    if (ops === null) return;
    const m = this.codeMap;
    if (m === null) return this.invalidate();
    const first = (this.off + off) >>> CODE_LINE_SHIFT;
    const last = (this.off + off + size - 1) >>> CODE_LINE_SHIFT;
    let hit = false;
    for (let l = first; l <= last; l++) {
      const line = m[l]!;
      if ((line & CODE_LINE_CODE) === 0) continue;
      m[l] = line & ~CODE_LINE_CODE;
      hit = true;
      const s0 = ((l << CODE_LINE_SHIFT) - this.off) >>> 2;
      for (let s = s0; s < s0 + CODE_LINE_SLOTS; s++) ops[s] = undefined;
    }
    if (hit) this.code?.written();
  }

  /** The page was written as a whole (or went away): drop its decoded and translated instructions (a write track stays). */
  invalidate(): void {
    this.ops = null;
    this.code = null;
    this.divert = this.track !== null;
    const keep = this.track !== null ? CODE_LINE_TRACKED : 0;
    if (this.codeMap !== null) this.codeMap.fill(keep, this.off >>> CODE_LINE_SHIFT, (this.off + PAGE_SIZE) >>> CODE_LINE_SHIFT);
  }
}

/** Code is tracked in 64-byte lines (16 instructions) of host memory. */
export const CODE_LINE_SHIFT = 6;
/** Code-map bits of a line: a decoded instruction from it is cached; its page has a write track. */
export const CODE_LINE_CODE = 1;
export const CODE_LINE_TRACKED = 2;
const CODE_LINE_SLOTS = (1 << CODE_LINE_SHIFT) / 4;

export interface MmioHandler {
  /** Read `size` bytes at `offset` from the region base; returns the zero-extended value. */
  read(offset: number, size: number): bigint;
  write(offset: number, size: number, value: bigint): void;
}

interface MmioRegion {
  base: number;
  size: number;
  name: string;
  handler: MmioHandler;
}

export interface PhysMemoryOptions {
  /** Create zeroed pages on first touch (a flat machine, as `nvlab exec` uses). */
  autoAllocate?: boolean;
  /** Host memory reserved for the machine's RAM pages and CPU state (default HOST_BYTES). */
  hostBytes?: number;
}

/**
 * RAM pages are frames of one WebAssembly.Memory per machine, so translated code reaches guest
 * memory and CPU state with plain loads and stores. It is reserved at its full size and never
 * grown (growing would detach every view the host holds); the OS backs only the frames touched.
 */
export const HOST_BYTES = 1 << 30;
/** Host frames holding the code map: one byte per 64-byte line of host memory (CODE_LINE_CODE, CODE_LINE_TRACKED bits). */
const codeMapFrames = (hostBytes: number): number => hostBytes / (1 << CODE_LINE_SHIFT) / PAGE_SIZE;
const WASM_PAGE = 65536;

/** No host frame is left for a new RAM page or CPU. */
export class HostOutOfMemoryError extends Error {
  constructor(bytes: number) {
    super(`host memory exhausted: the machine's ${bytes / (1 << 20)} MiB of host frames are all in use`);
    this.name = "HostOutOfMemoryError";
  }
}

export class PhysMemory {
  private readonly pages = new Map<number, Page>();
  private readonly mmio: MmioRegion[] = [];
  readonly autoAllocate: boolean;
  /** Called whenever a page disappears, so CPUs can drop fast-path references to it. */
  private readonly unmapListeners: Array<(pfn: number) => void> = [];
  /** The machine's host memory: RAM frames, CPU state blocks, and the code map. */
  readonly host: WebAssembly.Memory;
  readonly hostU8: Uint8Array;
  /**
   * Per 64-byte line of host memory: CODE_LINE_CODE while a decoded instruction from it is cached,
   * CODE_LINE_TRACKED while its page has a write track (translated stores leave lines with either
   * to the interpreter).
   */
  readonly codeMap: Uint8Array;
  private readonly hostFrames: number;
  private nextFrame: number;

  constructor(opts: PhysMemoryOptions = {}) {
    this.autoAllocate = opts.autoAllocate ?? false;
    const bytes = Math.ceil((opts.hostBytes ?? HOST_BYTES) / WASM_PAGE) * WASM_PAGE;
    this.host = new WebAssembly.Memory({ initial: bytes / WASM_PAGE, maximum: bytes / WASM_PAGE });
    this.hostU8 = new Uint8Array(this.host.buffer);
    this.hostFrames = bytes / PAGE_SIZE;
    this.nextFrame = Math.ceil(codeMapFrames(bytes));
    this.codeMap = this.hostU8.subarray(0, bytes >>> CODE_LINE_SHIFT);
  }

  /** Bytes of host memory in use: frames are handed out upwards and never reused. */
  get usedHostBytes(): number {
    return this.nextFrame * PAGE_SIZE;
  }

  /** Where frames after the code map start: what a copy of the machine's state must hold. */
  get firstStateByte(): number {
    return this.codeMap.byteOffset + this.codeMap.byteLength;
  }

  /**
   * Drop every page's decoded and translated instructions and rebuild the code map from the write
   * tracks (memory was put back to an earlier state; the caches refill as code runs).
   */
  dropDecodedCaches(): void {
    this.codeMap.fill(0);
    for (const p of this.pages.values()) {
      p.invalidate();
      if (p.track !== null) p.setTrack(p.track);
    }
  }

  /** `n` contiguous zeroed host frames that are not RAM (CPU state); returns the byte offset. */
  allocHostFrames(n: number): number {
    if (this.nextFrame + n > this.hostFrames) throw new HostOutOfMemoryError(this.hostFrames * PAGE_SIZE);
    const f = this.nextFrame;
    this.nextFrame += n;
    return f * PAGE_SIZE;
  }

  /** The RAM page holding `pa`, or null when `pa` is MMIO or not backed. */
  page(paNum: number): Page | null {
    const pfn = Math.floor(paNum / PAGE_SIZE);
    let p = this.pages.get(pfn);
    if (p) return p;
    if (!this.autoAllocate || this.mmioAt(paNum)) return null;
    p = this.newPage(pfn);
    this.pages.set(pfn, p);
    return p;
  }

  /** The RAM page holding `pa` if it exists (never allocates, even on an autoAllocate machine). */
  existingPage(paNum: number): Page | null {
    return this.pages.get(Math.floor(paNum / PAGE_SIZE)) ?? null;
  }

  /** Back [base, base+size) with zeroed RAM pages. */
  addRam(base: PA | number, size: number): void {
    const b = Number(base);
    if (b % PAGE_SIZE !== 0 || size % PAGE_SIZE !== 0) throw new RangeError(`RAM ${hex(b)}+${hex(size)} not page aligned`);
    for (let off = 0; off < size; off += PAGE_SIZE) {
      const pfn = (b + off) / PAGE_SIZE;
      if (!this.pages.has(pfn)) this.pages.set(pfn, this.newPage(pfn));
    }
  }

  /** Back the page-aligned `pa` with one zeroed RAM page unless it is RAM (addRam for one page). */
  addRamPage(paNum: number): void {
    const pfn = paNum / PAGE_SIZE;
    if (!Number.isInteger(pfn)) throw new RangeError(`RAM page ${hex(paNum)} not page aligned`);
    if (!this.pages.has(pfn)) this.pages.set(pfn, this.newPage(pfn));
  }

  /** A zeroed page in a free host frame. */
  private newPage(pfn: number): Page {
    if (this.nextFrame >= this.hostFrames) throw new HostOutOfMemoryError(this.hostFrames * PAGE_SIZE);
    const frame = this.nextFrame++;
    return new Page(pfn, this.hostU8.subarray(frame * PAGE_SIZE, (frame + 1) * PAGE_SIZE), frame * PAGE_SIZE, this.codeMap);
  }

  /**
   * Remove one page of RAM (its contents are gone). Its frame is not reused, so a stale reference
   * to the old page can never alias a new one.
   */
  removePage(paNum: number): void {
    const pfn = Math.floor(paNum / PAGE_SIZE);
    const page = this.pages.get(pfn);
    if (!page) return;
    this.pages.delete(pfn);
    for (const l of this.unmapListeners) l(pfn);
    page.invalidate();
  }

  onPageRemoved(listener: (pfn: number) => void): void {
    this.unmapListeners.push(listener);
  }

  isRam(paNum: number): boolean {
    return this.pages.has(Math.floor(paNum / PAGE_SIZE));
  }

  addMmio(base: PA | number, size: number, name: string, handler: MmioHandler): void {
    const b = Number(base);
    for (const r of this.mmio) {
      if (b < r.base + r.size && r.base < b + size) throw new RangeError(`MMIO ${name} overlaps ${r.name}`);
    }
    this.mmio.push({ base: b, size, name, handler });
  }

  mmioAt(paNum: number): MmioRegion | undefined {
    for (const r of this.mmio) if (paNum >= r.base && paNum < r.base + r.size) return r;
    return undefined;
  }

  // ---- byte-level accessors for the host and the slow paths (little-endian) ----

  /** Read `size` (1,2,4,8) bytes at `pa`; throws HostMemoryError when not backed. Size-aligned MMIO only. */
  read(paIn: PA | number, size: number): bigint {
    const p = Number(paIn);
    const off = p & PAGE_MASK;
    if (off + size <= PAGE_SIZE) {
      const page = this.page(p);
      if (page) return readPage(page, off, size);
      const r = this.mmioAt(p);
      if (r) return BigInt.asUintN(size * 8, r.handler.read(p - r.base, size));
      throw new HostMemoryError(p);
    }
    let v = 0n;
    for (let i = size - 1; i >= 0; i--) v = (v << 8n) | this.read(p + i, 1);
    return v;
  }

  write(paIn: PA | number, size: number, value: bigint): void {
    const p = Number(paIn);
    const off = p & PAGE_MASK;
    if (off + size <= PAGE_SIZE) {
      const page = this.page(p);
      if (page) return writePage(page, off, size, value);
      const r = this.mmioAt(p);
      if (r) return r.handler.write(p - r.base, size, BigInt.asUintN(size * 8, value));
      throw new HostMemoryError(p);
    }
    for (let i = 0; i < size; i++) this.write(p + i, 1, (value >> BigInt(8 * i)) & 0xffn);
  }

  readBytes(paIn: PA | number, len: number): Uint8Array {
    const out = new Uint8Array(len);
    const p = Number(paIn);
    for (let i = 0; i < len; i++) out[i] = Number(this.read(p + i, 1));
    return out;
  }

  writeBytes(paIn: PA | number, data: Uint8Array): void {
    const p = Number(paIn);
    let i = 0;
    while (i < data.length) {
      const page = this.page(p + i);
      if (!page) throw new HostMemoryError(p + i);
      const off = (p + i) & PAGE_MASK;
      const n = Math.min(PAGE_SIZE - off, data.length - i);
      page.u8.set(data.subarray(i, i + n), off);
      page.written(off, n);
      i += n;
    }
  }

  /** Number of RAM pages currently backed. */
  get pageCount(): number {
    return this.pages.size;
  }
}

export function readPage(page: Page, off: number, size: number): bigint {
  const dv = page.dv;
  switch (size) {
    case 1:
      return BigInt(page.u8[off]!);
    case 2:
      return BigInt(dv.getUint16(off, true));
    case 4:
      return BigInt(dv.getUint32(off, true));
    default:
      return dv.getBigUint64(off, true);
  }
}

export function writePage(page: Page, off: number, size: number, value: bigint): void {
  const dv = page.dv;
  page.written(off, size);
  switch (size) {
    case 1:
      page.u8[off] = Number(value & 0xffn);
      return;
    case 2:
      dv.setUint16(off, Number(value & 0xffffn), true);
      return;
    case 4:
      dv.setUint32(off, Number(value & 0xffffffffn), true);
      return;
    default:
      dv.setBigUint64(off, BigInt.asUintN(64, value), true);
  }
}

/** A host-side access to a physical address that has no RAM or device behind it. */
export class HostMemoryError extends Error {
  constructor(readonly pa: number) {
    super(`no memory at PA ${hex(pa)}`);
    this.name = "HostMemoryError";
  }
}
