// Stage-2 page tables in host memory (KVM: struct kvm_pgtable, hyp/pgtable.c): real VMSAv8-64
// descriptors in pool pages, 4 KiB granule, 48-bit IPA, walk starting at level 0, so the CPU's
// MMU walks exactly what L0 built. Leaves are 4K pages (level 3), 2M blocks (level 2) and 1G
// blocks (level 1). Table pages come from the host page pool and return to it when they empty.
// Every operation is one walk of the shared walk core (emulator/mmu/walk.ts) with its own walker,
// as KVM's stage2_map_walker, stage2_unmap_walker, leaf_walker and stage2_free_walker.
//
// The tables never touch a CPU: callers invalidate TLBs after changing them.
// A table maps one kind of input address (nested or canonical IPA) to host PAs: KvmPgtable<In>.
// IPAs and PAs are below 2^48, so the arithmetic inside is on plain numbers (exact in a double).

import type { Page, PhysMemory } from "../emulator/memory.ts";
import {
  addressField, descLo, memAttr, PTE_AF, PTE_S2_XN, PTE_S2AP_R, PTE_S2AP_W, PTE_SH_INNER, PTE_SW, PTE_SW_SHIFT,
  PTE_TABLE, PTE_TYPE, PTE_VALID, pteAddrMask, pteS2MemAttr, S2_MEMATTR_DEVICE_NGNRE, S2_MEMATTR_NORMAL,
} from "../emulator/mmu/descriptor.ts";
import { isDeviceS2 } from "../emulator/mmu/attrs.ts";
import { GRANULE_4K, levelShift } from "../emulator/mmu/granule.ts";
import {
  kvmPgtableWalk, type TableMemory, WALK_CONTINUE, WALK_INVALID, WALK_LEAF, WALK_RELOAD, WALK_STOP, WALK_TABLE_POST,
  WALK_TABLE_PRE, WalkCtx, walker, type Walker, type WalkSetup,
} from "../emulator/mmu/walk.ts";
import { hex } from "../emulator/types.ts";
import type { HostPa } from "./addr.ts";
import { HostError } from "./errors.ts";
import type { HostPagePool } from "./pool.ts";

// enum kvm_pgtable_prot (the sandbox's numbering).
export const KVM_PGTABLE_PROT_R = 1;
export const KVM_PGTABLE_PROT_W = 2;
export const KVM_PGTABLE_PROT_X = 4;
export const KVM_PGTABLE_PROT_DEVICE = 8;
const PROT_RWX = KVM_PGTABLE_PROT_R | KVM_PGTABLE_PROT_W | KVM_PGTABLE_PROT_X;

export const SZ_4K = 1n << 12n;
export const SZ_2M = 1n << 21n;
export const SZ_1G = 1n << 30n;

/** Input-address size of every table built here. */
export const KVM_IPA_BITS = 48;
/** IPA size of every table L0 builds (VTCR_EL2.T0SZ = 16). */
export const KVM_PHYS_SHIFT = BigInt(KVM_IPA_BITS);
export const KVM_PHYS_SIZE = 1n << KVM_PHYS_SHIFT;
const IPA_LIMIT = 2 ** KVM_IPA_BITS;
const IPA_LIMIT_N = BigInt(IPA_LIMIT);

/**
 * VTCR_EL2 for these tables: T0SZ=16 (48-bit IPA), SL0=2 (start at level 0 with 4K), IRGN0/ORGN0
 * = WB RA WA, SH0 = Inner Shareable, TG0 = 4K, PS = 48 bits, VS = 16-bit VMID, bit 31 RES1.
 */
export const KVM_VTCR =
  16n | (2n << 6n) | (1n << 8n) | (1n << 10n) | (3n << 12n) | (0n << 14n) | (5n << 16n) | (1n << 19n) | (1n << 31n);

const GRANULE_SHIFT = GRANULE_4K.shift;
const ENTRIES = 512;
const START_LEVEL = 0;
const PTE_ADDR_MASK = pteAddrMask(GRANULE_SHIFT);

/** The walk geometry of the tables below `tablePa`, a table at `level` (the root: level 0). */
function geometry(tablePa: number, level: number): WalkSetup {
  return { stage: 2, granule: GRANULE_4K, startLevel: level, startBits: GRANULE_4K.stride, base: tablePa, oaBits: KVM_IPA_BITS, hierarchical: false };
}

/** The input-address span of a table at `level`: 2^48 at level 0, 512G at level 1, … */
function tableSpan(level: number): number {
  return 2 ** (levelShift(GRANULE_4K, level) + GRANULE_4K.stride);
}

const LEVEL_SIZE: readonly number[] = [0, 1, 2, 3].map((l) => 2 ** levelShift(GRANULE_4K, l));

/** What the pa argument of KvmPgtable<In>.map takes: a HostPa once the input kind is typed. */
export type PaArg<In extends bigint> = bigint extends In ? bigint : HostPa;

/** A valid Block or Page descriptor and where it maps. */
export interface Leaf<In extends bigint = bigint> {
  /** IPA of the first byte the leaf maps (aligned to size). */
  ipa: In;
  size: bigint;
  /** Output (host) PA of the first byte. */
  pa: HostPa;
  /** KVM_PGTABLE_PROT_* bits. */
  prot: number;
  /** Software bits [58:55] as 0..15. */
  sw: number;
  level: number;
  desc: bigint;
}

/** What one unmap cleared: the leaves, and the input range holding them and the range asked for. */
export interface Stage2Unmapped<In extends bigint = bigint> {
  removed: number;
  /** [start, end): the requested range widened to every leaf cleared (start = end: nothing asked). */
  start: In;
  end: In;
}

/** The lookup level of a leaf of `size`: 4K → 3, 2M → 2, 1G → 1. */
export function levelForSize(size: bigint): number {
  if (size === SZ_4K) return 3;
  if (size === SZ_2M) return 2;
  if (size === SZ_1G) return 1;
  throw new HostError(`stage-2 leaf size ${hex(size)} is not 4K, 2M or 1G`);
}

/** stage2_set_prot_attr: a Block/Page descriptor for `pa` at `level`. */
export function leafDescriptor(level: number, pa: number, prot: number, sw: number): bigint {
  const device = (prot & KVM_PGTABLE_PROT_DEVICE) !== 0;
  if (device && prot & KVM_PGTABLE_PROT_X) throw new HostError("stage-2 leaf: Device memory cannot be executable");
  if (!Number.isInteger(sw) || sw < 0 || sw > 15) throw new HostError(`stage-2 leaf: software bits ${sw} outside 0..15`);
  // Every shadow and canonical fault builds one: the attribute bits are computed once per kind.
  const key = (((level & 3) << 4) | (prot & 15)) * 16 + sw;
  let attrs = LEAF_ATTRS[key];
  if (attrs === undefined) attrs = LEAF_ATTRS[key] = leafAttrs(level, prot, sw);
  return BigInt(pa) | attrs;
}

const LEAF_ATTRS: bigint[] = [];

/** The bits of a leaf descriptor other than its output address. */
function leafAttrs(level: number, prot: number, sw: number): bigint {
  const device = (prot & KVM_PGTABLE_PROT_DEVICE) !== 0;
  let d = PTE_VALID | (level === 3 ? PTE_TYPE : 0n);
  d |= pteS2MemAttr(device ? S2_MEMATTR_DEVICE_NGNRE : S2_MEMATTR_NORMAL);
  if (prot & KVM_PGTABLE_PROT_R) d |= PTE_S2AP_R;
  if (prot & KVM_PGTABLE_PROT_W) d |= PTE_S2AP_W;
  if (!(prot & KVM_PGTABLE_PROT_X)) d |= PTE_S2_XN;
  d |= PTE_SH_INNER | PTE_AF;
  return d | (BigInt(sw) << PTE_SW_SHIFT);
}

/** KVM_PGTABLE_PROT_* bits of a leaf descriptor. */
export function descriptorProt(d: bigint): number {
  let prot = 0;
  if (d & PTE_S2AP_R) prot |= KVM_PGTABLE_PROT_R;
  if (d & PTE_S2AP_W) prot |= KVM_PGTABLE_PROT_W;
  if (!(d & PTE_S2_XN)) prot |= KVM_PGTABLE_PROT_X;
  // MemAttr[3:2] = 00 is Device.
  if (isDeviceS2(memAttr(descLo(d)))) prot |= KVM_PGTABLE_PROT_DEVICE;
  return prot;
}

/** Software bits [58:55] of a descriptor. */
export function descriptorSw(d: bigint): number {
  return Number((d & PTE_SW) >> PTE_SW_SHIFT);
}

/** 1 for a Block/Page descriptor at `level`, from its low word. */
function leafBit(lo: number, level: number): number {
  return (lo & 1) !== 0 && (level === 3 || (lo & 2) === 0) ? 1 : 0;
}

/** The next-level table a Table descriptor (its halves) points to. */
function tableAddr(lo: number, hi: number): number {
  return addressField(lo, hi, GRANULE_SHIFT);
}

interface TablePage {
  page: Page;
  valid: number;
}

/**
 * The table pages of one stage-2 (its kvm_pgtable_mm_ops): where the walks read descriptors, and
 * the entry writes that keep the per-table valid counts and the leaf count exact.
 */
class Stage2Pages implements TableMemory {
  /** The table pages held from the pool, keyed by host PA (so walks do not search all of host memory). */
  readonly byPa = new Map<number, TablePage>();
  leaves = 0;
  /** The level-0 table, for messages. */
  pgdPa = -1;

  constructor(
    private readonly mem: PhysMemory,
    readonly pool: HostPagePool,
  ) {}

  /** The table page looked up last: a visitor writes to the entry the walk just read. */
  private lastPa = -1;
  private last: TablePage | null = null;

  locate(ctx: WalkCtx): boolean {
    ctx.view = this.table(ctx.table).page.dv;
    ctx.off = ctx.index * 8;
    return true;
  }

  /** A table page this stage-2 holds (live or detached). */
  table(tablePa: number): TablePage {
    if (tablePa === this.lastPa) return this.last!;
    const t = this.byPa.get(tablePa);
    if (!t) throw new HostError(`stage-2 table at ${hex(this.pgdPa)}: ${hex(tablePa)} is not one of its table pages`);
    this.lastPa = tablePa;
    this.last = t;
    return t;
  }

  /** setEntry for the entry a walk just read into `ctx` (its bytes are at hand). */
  setEntryAt(ctx: WalkCtx, d: bigint): void {
    const t = this.table(ctx.table);
    const dv = ctx.view;
    const oldLo = ctx.lo;
    dv.setBigUint64(ctx.off, d, true);
    const newLo = dv.getUint32(ctx.off, true);
    t.valid += (newLo & 1) - (oldLo & 1);
    this.leaves += leafBit(newLo, ctx.level) - leafBit(oldLo, ctx.level);
  }

  /** Write one entry, keeping the per-table valid counts and the leaf count exact. */
  setEntry(tablePa: number, level: number, idx: number, d: bigint): void {
    const t = this.table(tablePa);
    const dv = t.page.dv;
    const oldLo = dv.getUint32(idx * 8, true);
    dv.setBigUint64(idx * 8, d, true);
    const newLo = dv.getUint32(idx * 8, true);
    t.valid += (newLo & 1) - (oldLo & 1);
    this.leaves += leafBit(newLo, level) - leafBit(oldLo, level);
  }

  newTable(): number {
    const pa = this.pool.alloc();
    const page = this.mem.existingPage(pa);
    if (!page) throw new HostError(`stage-2 table page ${hex(pa)} from the pool is not RAM`);
    this.byPa.set(pa, { page, valid: 0 });
    return pa;
  }

  /** Return one table page to the pool (its entries are no longer counted anywhere). */
  freeTable(tablePa: number): void {
    if (tablePa === this.lastPa) {
      this.lastPa = -1;
      this.last = null;
    }
    this.byPa.delete(tablePa);
    this.pool.free(tablePa);
  }

  /** Fail before changing anything when the pool cannot supply `need` table pages. */
  reserve(need: number, op: string): void {
    if (need > this.pool.available) {
      throw new HostError(`host page pool exhausted: stage-2 ${op} needs ${need} table pages, ${this.pool.available} free`);
    }
  }

  /** Replace the block at (table, idx) by a next-level table of leaves mapping the same range. */
  splitBlock(tablePa: number, level: number, idx: number, block: bigint): number {
    const child = this.newTable();
    const childLevel = level + 1;
    const step = BigInt(LEVEL_SIZE[childLevel]!);
    const attrs = block & ~PTE_ADDR_MASK & ~PTE_TABLE;
    const type = PTE_VALID | (childLevel === 3 ? PTE_TYPE : 0n);
    let oa = block & PTE_ADDR_MASK;
    for (let i = 0; i < ENTRIES; i++, oa += step) this.setEntry(child, childLevel, i, attrs | oa | type);
    this.setEntry(tablePa, level, idx, BigInt(child) | PTE_TABLE);
    return child;
  }
}

// ------------------------------------------------------------------ walkers

/** stage2_map_data: what one map installs, and what it found. */
interface MapData {
  readonly p: Stage2Pages;
  readonly sub: SubtreeWalks;
  /** The leaf's level and descriptor. */
  level: number;
  desc: bigint;
  /** A leaf overlapped the range before. */
  replaced: boolean;
  /** The block broken on the way down to make room (base and size), size 0 for none. */
  brokenBase: number;
  brokenSize: number;
  /** The pool was checked for the tables the map needs. */
  reserved: boolean;
}

/**
 * stage2_map_walker: down to the leaf's level, making tables where there are none; a block in the
 * way is broken and replaced by an empty table, as KVM's stage2_map_walk_leaf does, so the rest of
 * it faults back lazily. Then the leaf replaces whatever was there (a table below it is freed).
 * The pool must hold every table the map needs before it changes anything: the first entry that
 * needs one tells how many.
 */
function stage2MapWalker(ctx: WalkCtx, visit: number, d: MapData): number {
  const level = ctx.level;
  const p = d.p;
  if (level < d.level) {
    if (visit === WALK_TABLE_PRE) return WALK_CONTINUE;
    if (!d.reserved) {
      p.reserve(d.level - level, "map");
      d.reserved = true;
    }
    if ((ctx.lo & 1) !== 0 && d.brokenSize === 0) {
      // The first block met contains everything below it: it is the extent to invalidate.
      d.replaced = true;
      d.brokenBase = ctx.base;
      d.brokenSize = LEVEL_SIZE[level]!;
    }
    p.setEntry(ctx.table, level, ctx.index, BigInt(p.newTable()) | PTE_TABLE);
    return WALK_RELOAD;
  }
  if (visit === WALK_TABLE_PRE) {
    const child = tableAddr(ctx.lo, ctx.hi);
    p.setEntry(ctx.table, level, ctx.index, d.desc);
    if (d.sub.hasLeaf(child, level + 1)) d.replaced = true;
    d.sub.free(child, level + 1);
    return WALK_RELOAD;
  }
  if ((ctx.lo & 1) !== 0) d.replaced = true;
  p.setEntryAt(ctx, d.desc);
  // The range is this one entry: the walk is done.
  return WALK_STOP;
}

/** stage2_unmap_data: the range, how a block only partly inside it goes, and what was cleared. */
interface UnmapData {
  readonly p: Stage2Pages;
  start: number;
  end: number;
  /** Split such a block and keep the rest (VmConfig.stage2UnmapSplit) instead of clearing it whole. */
  split: boolean;
  removed: number;
  /** First and past-last input address of the leaves cleared (lo > hi: none). */
  lo: number;
  hi: number;
}

/**
 * stage2_unmap_walker: clear every leaf the range touches, whole: a block only partly inside
 * goes too and the rest of it faults back lazily, as KVM does. (With `split`, the old nvlab
 * behaviour: such a block is split first and the walk goes on in its new table.) Tables left
 * empty are freed on the way back up.
 */
function stage2UnmapWalker(ctx: WalkCtx, visit: number, d: UnmapData): number {
  const p = d.p;
  if (visit === WALK_TABLE_POST) {
    const child = tableAddr(ctx.lo, ctx.hi);
    if (p.table(child).valid === 0) {
      p.setEntry(ctx.table, ctx.level, ctx.index, 0n);
      p.freeTable(child);
    }
    return WALK_CONTINUE;
  }
  const base = ctx.base;
  const end = base + LEVEL_SIZE[ctx.level]!;
  if (d.split && (base < d.start || end > d.end)) {
    p.splitBlock(ctx.table, ctx.level, ctx.index, ctx.desc());
    return WALK_RELOAD;
  }
  p.setEntry(ctx.table, ctx.level, ctx.index, 0n);
  d.removed++;
  if (base < d.lo) d.lo = base;
  if (end > d.hi) d.hi = end;
  return WALK_CONTINUE;
}

/** Where a leaf is: its table, index, level, first input address and descriptor. */
interface LeafSlot {
  table: number;
  index: number;
  level: number;
  base: number;
  desc: bigint;
}

/** leaf_walker (kvm_pgtable_get_leaf): the leaf translating one address. */
function leafWalker(ctx: WalkCtx, _visit: number, slot: LeafSlot): number {
  slot.table = ctx.table;
  slot.index = ctx.index;
  slot.level = ctx.level;
  slot.base = ctx.base;
  slot.desc = ctx.desc();
  return WALK_STOP;
}

/** The leaves of a range, collected (the dump), or (out null) only whether there is one. */
interface ScanData {
  out: Leaf<bigint>[] | null;
}

function leafScanWalker(ctx: WalkCtx, _visit: number, d: ScanData): number {
  if (d.out === null) return WALK_STOP;
  d.out.push(makeLeaf(ctx.desc(), ctx.level, ctx.base));
  return WALK_CONTINUE;
}

/** stage2_free_walker: every table page below a table back to the pool; its leaves leave the count. */
function stage2FreeWalker(ctx: WalkCtx, visit: number, p: Stage2Pages): number {
  if (visit === WALK_TABLE_POST) p.freeTable(tableAddr(ctx.lo, ctx.hi));
  else p.leaves--;
  return WALK_CONTINUE;
}

/**
 * The Table entry at a level that detachTable unlinks: the walk stops at it, or at what is in the
 * way (an invalid entry or a block above it: `blocked` says at which level).
 */
interface DetachData {
  level: number;
  found: boolean;
  blocked: number;
  table: number;
  index: number;
  child: number;
  lo: number;
}

function detachWalker(ctx: WalkCtx, visit: number, d: DetachData): number {
  if (ctx.level < d.level) {
    if (visit === WALK_TABLE_PRE) return WALK_CONTINUE;
    d.blocked = ctx.level;
    return WALK_STOP;
  }
  d.table = ctx.table;
  d.index = ctx.index;
  d.lo = ctx.lo;
  d.found = visit === WALK_TABLE_PRE;
  if (d.found) d.child = tableAddr(ctx.lo, ctx.hi);
  return WALK_STOP;
}

/** Walks of a whole subtree (below a table at some level), for walkers that work on one. */
class SubtreeWalks {
  private readonly ctx = new WalkCtx();
  private readonly scan = walker<ScanData>(leafScanWalker, { out: null }, WALK_LEAF);
  private readonly freer: Walker<Stage2Pages>;

  constructor(private readonly p: Stage2Pages) {
    this.freer = walker(stage2FreeWalker, p, WALK_LEAF | WALK_TABLE_POST);
  }

  /** Whether any leaf is below the table at `level`. */
  hasLeaf(tablePa: number, level: number): boolean {
    this.scan.arg.out = null;
    return kvmPgtableWalk(this.p, geometry(tablePa, level), 0, tableSpan(level), this.scan, this.ctx) === WALK_STOP;
  }

  /** Return a table page and everything below it to the pool (its leaves leave the count). */
  free(tablePa: number, level: number): void {
    if (this.p.table(tablePa).valid !== 0) kvmPgtableWalk(this.p, geometry(tablePa, level), 0, tableSpan(level), this.freer, this.ctx);
    this.p.freeTable(tablePa);
  }
}

function makeLeaf<In extends bigint>(desc: bigint, level: number, base: number): Leaf<In> {
  return {
    ipa: BigInt(base) as In,
    size: BigInt(LEVEL_SIZE[level]!),
    pa: (desc & PTE_ADDR_MASK) as HostPa,
    prot: descriptorProt(desc),
    sw: descriptorSw(desc),
    level,
    desc,
  };
}

export class KvmPgtable<In extends bigint = bigint> {
  /** Host PA of the level-0 table (VTTBR_EL2.BADDR). */
  readonly pgdPa: number;
  readonly vtcr: bigint = KVM_VTCR;
  private readonly pages: Stage2Pages;
  private readonly setup: WalkSetup;
  private readonly ctx = new WalkCtx();
  private readonly sub: SubtreeWalks;
  private readonly mapWalker: Walker<MapData>;
  private readonly unmapWalker: Walker<UnmapData>;
  private readonly leafWalker = walker<LeafSlot>(leafWalker, { table: 0, index: 0, level: 0, base: 0, desc: 0n }, WALK_LEAF);
  private readonly scanWalker = walker<ScanData>(leafScanWalker, { out: null }, WALK_LEAF);
  private readonly detachWalker = walker<DetachData>(
    detachWalker, { level: 2, found: false, blocked: -1, table: 0, index: 0, child: 0, lo: 0 }, WALK_LEAF | WALK_INVALID | WALK_TABLE_PRE,
  );
  /** Tables unlinked by detachTable and not yet freed (their pages are still held from the pool). */
  private readonly detached = new Set<number>();
  private destroyed = false;

  constructor(mem: PhysMemory, pool: HostPagePool) {
    const pages = new Stage2Pages(mem, pool);
    this.pages = pages;
    this.pgdPa = pages.pgdPa = pages.newTable();
    this.setup = geometry(this.pgdPa, START_LEVEL);
    this.sub = new SubtreeWalks(pages);
    const map: MapData = { p: pages, sub: this.sub, level: 3, desc: 0n, replaced: false, reserved: false, brokenBase: 0, brokenSize: 0 };
    this.mapWalker = walker(stage2MapWalker, map, WALK_LEAF | WALK_INVALID | WALK_TABLE_PRE);
    this.unmapWalker = walker<UnmapData>(
      stage2UnmapWalker, { p: pages, start: 0, end: 0, split: false, removed: 0, lo: 0, hi: 0 }, WALK_LEAF | WALK_TABLE_POST,
    );
  }

  /** Valid Block/Page descriptors in the tables. */
  get leafCount(): number {
    return this.pages.leaves;
  }

  /** Table pages held from the pool (the level-0 table included, until destroy). */
  get tablePages(): number {
    return this.pages.byPa.size;
  }

  /**
   * kvm_pgtable_stage2_map: map [ipa, ipa+size) → [pa, pa+size) with one leaf of `size` (4K, 2M
   * or 1G, both addresses aligned to it). Whatever was mapped there is replaced: a block around
   * the range is broken and replaced by a table holding only the new leaf (the rest of the block
   * faults back lazily, as in KVM), and tables below a new block are freed. `sw` goes to the
   * software bits [58:55]. Returns whether a leaf overlapped the range before (found on the way
   * down): the caller then owes a TLB invalidation over mapInvalidation().
   */
  map(ipa: In, size: bigint, pa: PaArg<In>, prot: number, sw = 0): boolean {
    this.checkLive();
    const level = levelForSize(size);
    const at: bigint = ipa;
    const out: bigint = pa;
    if (at < 0n || at % size !== 0n || at + size > IPA_LIMIT_N) {
      throw new HostError(`stage-2 map: IPA ${hex(at)} not ${hex(size)}-aligned inside the 48-bit IPA space`);
    }
    if (out < 0n || out % size !== 0n || out + size > IPA_LIMIT_N) {
      throw new HostError(`stage-2 map: PA ${hex(out)} not ${hex(size)}-aligned below 2^48`);
    }
    const d = this.mapWalker.arg;
    d.desc = leafDescriptor(level, Number(out), prot, sw);
    d.level = level;
    d.replaced = false;
    d.reserved = false;
    d.brokenSize = 0;
    // Only a block can replace a table (a level-3 entry is never one): the walk of a page map
    // needs no TABLE_PRE visit on its way down.
    this.mapWalker.flags = level === 3 ? WALK_LEAF | WALK_INVALID : WALK_LEAF | WALK_INVALID | WALK_TABLE_PRE;
    const start = Number(at);
    kvmPgtableWalk(this.pages, this.setup, start, start + LEVEL_SIZE[level]!, this.mapWalker, this.ctx);
    return d.replaced;
  }

  /**
   * After a map() that returned true, the input range whose TLB entries the caller must invalidate:
   * the new leaf's, or the whole block broken to make room for it (KVM's stage2_try_break_pte
   * invalidates the block at its level).
   */
  mapInvalidation(ipa: In, size: bigint): { ipa: In; size: bigint } {
    const d = this.mapWalker.arg;
    if (d.brokenSize === 0) return { ipa, size };
    return { ipa: BigInt(d.brokenBase) as In, size: BigInt(d.brokenSize) };
  }

  /**
   * kvm_pgtable_stage2_unmap of [ipa, ipa+size) (page aligned; the part above 2^48 is ignored).
   * Every leaf the range touches is cleared whole, as KVM's stage2_unmap_walker does: a 4K unmap
   * inside a 2M block removes the block. With `split` (VmConfig.stage2UnmapSplit, not KVM) a block
   * only partly inside is split first so the rest stays mapped. Tables left empty go back to the
   * pool (never the level-0 table). Returns the leaves cleared and the extent the caller must
   * invalidate in TLBs: the range together with every leaf cleared (KVM invalidates each broken
   * leaf at its level, which drops cached translations for all of it).
   */
  unmap(ipa: In, size: bigint, split = false): Stage2Unmapped<In> {
    this.checkLive();
    const at: bigint = ipa;
    if (at < 0n || size < 0n || at % SZ_4K !== 0n || size % SZ_4K !== 0n) {
      throw new HostError(`stage-2 unmap: ${hex(at)}+${hex(size)} is not page aligned`);
    }
    const end = at + size > IPA_LIMIT_N ? IPA_LIMIT_N : at + size;
    if (at >= end) return { removed: 0, start: ipa, end: ipa };
    const d = this.unmapWalker.arg;
    d.start = Number(at);
    d.end = Number(end);
    d.split = split;
    d.removed = 0;
    d.lo = IPA_LIMIT;
    d.hi = 0;
    kvmPgtableWalk(this.pages, this.setup, d.start, d.end, this.unmapWalker, this.ctx);
    const lo = d.lo < d.start ? d.lo : d.start;
    const hi = d.hi > d.end ? d.hi : d.end;
    return { removed: d.removed, start: BigInt(lo) as In, end: BigInt(hi) as In };
  }

  /** kvm_pgtable_get_leaf: the leaf translating `ipa`, or null. */
  getLeaf(ipa: In): Leaf<In> | null {
    if (!this.findLeaf(ipa)) return null;
    const slot = this.leafWalker.arg;
    return makeLeaf(slot.desc, slot.level, slot.base);
  }

  /**
   * kvm_pgtable_stage2_relax_perms: add R/W/X (`prot` may hold only those) to the leaf at `ipa`,
   * keeping its output, attributes and software bits. False when nothing maps `ipa`.
   */
  relaxPerms(ipa: In, prot: number): boolean {
    this.checkLive();
    if (prot & ~PROT_RWX) throw new HostError(`stage-2 relaxPerms: prot ${hex(prot)} has bits other than R/W/X`);
    if (!this.findLeaf(ipa)) return false;
    const slot = this.leafWalker.arg;
    let d = slot.desc;
    if (prot & KVM_PGTABLE_PROT_R) d |= PTE_S2AP_R;
    if (prot & KVM_PGTABLE_PROT_W) d |= PTE_S2AP_W;
    if (prot & KVM_PGTABLE_PROT_X) {
      if (descriptorProt(d) & KVM_PGTABLE_PROT_DEVICE) throw new HostError("stage-2 relaxPerms: Device memory cannot be executable");
      d &= ~PTE_S2_XN;
    }
    this.pages.setEntry(slot.table, slot.level, slot.index, d);
    return true;
  }

  /**
   * kvm_pgtable_stage2_wrprotect: clear S2AP_W on every leaf overlapping [ipa, ipa+size) (a block
   * only partly inside goes read-only whole, as stage2_update_leaf_attrs visits whole leaves),
   * keeping output, attributes and software bits. Callers invalidate TLBs. Returns the leaves that
   * were writable.
   */
  wrprotect(ipa: In, size: bigint): number {
    this.checkLive();
    const slot = this.leafWalker.arg;
    let changed = 0;
    for (const leaf of this.leavesIn(ipa, size)) {
      if (!this.findLeaf(leaf.ipa)) continue;
      const d = slot.desc;
      if ((d & PTE_S2AP_W) === 0n) continue;
      this.pages.setEntry(slot.table, slot.level, slot.index, d & ~PTE_S2AP_W);
      changed++;
    }
    return changed;
  }

  /** Every leaf, in IPA order (a snapshot: the tables may be changed while iterating it). */
  leaves(): Iterable<Leaf<In>> {
    return this.leavesIn(0n as In, IPA_LIMIT_N);
  }

  /** The leaves overlapping [ipa, ipa+size), in IPA order (a snapshot). */
  leavesIn(ipa: In, size: bigint): Leaf<In>[] {
    const out: Leaf<In>[] = [];
    this.scan(ipa, size, out);
    return out;
  }

  /** Whether any leaf overlaps [ipa, ipa+size) (leavesIn without building the list). */
  hasLeafIn(ipa: In, size: bigint): boolean {
    return this.scan(ipa, size, null);
  }

  /** Free every table page (the level-0 table too); the table is unusable afterwards. */
  destroy(): void {
    if (this.destroyed) return;
    this.sub.free(this.pgdPa, START_LEVEL);
    this.pages.leaves = 0;
    this.destroyed = true;
  }

  // ------------------------------------------------------------------ split and coalesce

  /**
   * kvm_pgtable_stage2_split (KVM's eager page split, used when dirty logging starts): every block
   * in [ipa, ipa+size) becomes 4K page mappings of the same output and attributes (a 1G block goes
   * through 2M blocks). Both 2M aligned. Each new table is filled before it is linked, so the
   * range stays mapped throughout; callers invalidate TLBs after. Returns the blocks split.
   */
  split(ipa: In, size: bigint): number {
    this.checkLive();
    const from: bigint = ipa;
    if (from < 0n || size <= 0n || from % SZ_2M !== 0n || size % SZ_2M !== 0n || from + size > IPA_LIMIT_N) {
      throw new HostError(`stage-2 split: ${hex(from)}+${hex(size)} is not 2M aligned inside the 48-bit IPA space`);
    }
    const slot = this.leafWalker.arg;
    let split = 0;
    for (let at = from; at < from + size; at += SZ_2M) {
      if (!this.findLeaf(at) || slot.level === 3) continue;
      this.pages.reserve(slot.level === 1 ? 2 : 1, "split");
      if (slot.level === 1) {
        this.pages.splitBlock(slot.table, 1, slot.index, slot.desc);
        split++;
        this.findLeaf(at);
      }
      this.pages.splitBlock(slot.table, slot.level, slot.index, slot.desc);
      split++;
    }
    return split;
  }

  /**
   * The first half of break-before-make on a Table descriptor: make the entry at the level of a
   * `size` leaf (2M: level 2, 1G: level 1) covering `ipa` invalid and detach the table below it
   * without freeing it. Nothing walks a detached table any more (neither this class nor the CPU),
   * so its leaves leave leafCount at once; its page stays held from the pool (tablePages) until
   * freeDetached, so its entries can be torn down a few at a time. The table must hold only
   * leaves. Callers invalidate TLBs for the range. Returns the detached table's host PA.
   */
  detachTable(ipa: In, size: bigint): number {
    this.checkLive();
    const level = levelForSize(size);
    const at: bigint = ipa;
    if (level === 3 || at < 0n || at % size !== 0n || at + size > IPA_LIMIT_N) {
      throw new HostError(`stage-2 detach: ${hex(at)}+${hex(size)} is not a 2M or 1G aligned range inside the 48-bit IPA space`);
    }
    const w = this.detachWalker.arg;
    w.level = level;
    w.found = false;
    w.blocked = -1;
    const start = Number(at);
    kvmPgtableWalk(this.pages, this.setup, start, start + 1, this.detachWalker, this.ctx);
    if (w.blocked >= 0) throw new HostError(`stage-2 detach: no table reaches level ${level} at ${hex(at)}`);
    if (!w.found) {
      throw new HostError(`stage-2 detach: the level-${level} entry for ${hex(at)} is ${(w.lo & 1) !== 0 ? "a block" : "invalid"}, not a table`);
    }
    const child = w.child;
    const dv = this.pages.table(child).page.dv;
    let leaves = 0;
    for (let i = 0; i < ENTRIES; i++) {
      const lo = dv.getUint32(i * 8, true);
      if ((lo & 1) === 0) continue;
      if (level + 1 < 3 && (lo & 2) !== 0) throw new HostError(`stage-2 detach: the table below ${hex(at)} holds next-level tables, not only leaves`);
      leaves++;
    }
    this.pages.setEntry(w.table, level, w.index, 0n);
    this.pages.leaves -= leaves;
    this.detached.add(child);
    return child;
  }

  /** Valid entries left in a detached table. */
  detachedEntries(tablePa: number): number {
    this.checkDetached(tablePa, "detachedEntries");
    return this.pages.table(tablePa).valid;
  }

  /**
   * Clear up to `max` valid entries of a detached table, lowest index first (unmapping the page
   * mappings of an unlinked table one by one). Returns how many were cleared.
   */
  clearDetached(tablePa: number, max: number): number {
    this.checkDetached(tablePa, "clearDetached");
    if (!Number.isInteger(max) || max < 0) throw new HostError(`stage-2 clearDetached: count ${max} is not a non-negative integer`);
    const t = this.pages.table(tablePa);
    const dv = t.page.dv;
    let cleared = 0;
    for (let i = 0; i < ENTRIES && cleared < max; i++) {
      if ((dv.getUint32(i * 8, true) & 1) === 0) continue;
      dv.setBigUint64(i * 8, 0n, true);
      cleared++;
    }
    t.valid -= cleared;
    return cleared;
  }

  /** Return an emptied detached table page to the pool. */
  freeDetached(tablePa: number): void {
    this.checkDetached(tablePa, "freeDetached");
    const left = this.pages.table(tablePa).valid;
    if (left !== 0) throw new HostError(`stage-2 freeDetached: table ${hex(tablePa)} still holds ${left} valid entries`);
    this.detached.delete(tablePa);
    this.pages.freeTable(tablePa);
  }

  // ------------------------------------------------------------------ internals

  private checkDetached(tablePa: number, op: string): void {
    this.checkLive();
    if (!this.detached.has(tablePa)) throw new HostError(`stage-2 ${op}: ${hex(tablePa)} is not a detached table of this stage-2`);
  }

  private checkLive(): void {
    if (this.destroyed) throw new HostError(`stage-2 table at ${hex(this.pgdPa)} used after destroy`);
  }

  /** Walk to the leaf translating `ipa`; true with the leaf walker holding where it is. */
  private findLeaf(ipa: bigint): boolean {
    if (this.destroyed || ipa < 0n || ipa >= IPA_LIMIT_N) return false;
    const at = Number(ipa);
    return kvmPgtableWalk(this.pages, this.setup, at, at + 1, this.leafWalker, this.ctx) === WALK_STOP;
  }

  /** The leaves overlapping [ipa, ipa+size) into `out`, or (out null) whether there is one. */
  private scan(ipa: bigint, size: bigint, out: Leaf<In>[] | null): boolean {
    if (this.destroyed) return false;
    const start = ipa < 0n ? 0n : ipa;
    const end = ipa + size > IPA_LIMIT_N ? IPA_LIMIT_N : ipa + size;
    if (start >= end) return false;
    const d = this.scanWalker.arg;
    d.out = out;
    const r = kvmPgtableWalk(this.pages, this.setup, Number(start), Number(end), this.scanWalker, this.ctx);
    d.out = null;
    return r === WALK_STOP;
  }
}
