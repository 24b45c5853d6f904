// Stage-2 page tables in host memory (KVM: struct kvm_pgtable, hyp/pgtable.c): real VMSAv8-64
// descriptors in pool pages, 4 KiB granule, 48-bit IPA, walk starting at level 0, so the CPU's
// MMU walks exactly what L0 built. Leaves are 4K pages (level 3), 2M blocks (level 2) and 1G
// blocks (level 1). Table pages come from the host page pool and return to it when they empty.
//
// The tables never touch a CPU: callers invalidate TLBs after changing them.
// IPAs and PAs are below 2^48, so the arithmetic inside is on plain numbers (exact in a double).

import type { Page, PhysMemory } from "../emulator/memory.ts";
import { hex } from "../emulator/types.ts";
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
const IPA_LIMIT = 2 ** KVM_IPA_BITS;
const IPA_LIMIT_N = BigInt(IPA_LIMIT);

/**
 * VTCR_EL2 for these tables: T0SZ=16 (48-bit IPA), SL0=2 (start at level 0 with 4K), IRGN0/ORGN0
 * = WB RA WA, SH0 = Inner Shareable, TG0 = 4K, PS = 48 bits, VS = 16-bit VMID, bit 31 RES1.
 */
export const KVM_VTCR =
  16n | (2n << 6n) | (1n << 8n) | (1n << 10n) | (3n << 12n) | (0n << 14n) | (5n << 16n) | (1n << 19n) | (1n << 31n);

// Descriptor fields (Arm ARM D8.3; KVM_PTE_*).
const KVM_PTE_VALID = 1n;
/** bit[1]: Table at levels 0–2, Page at level 3. */
const KVM_PTE_TYPE = 2n;
const KVM_PTE_ADDR_MASK = ((1n << 48n) - 1n) & ~((1n << 12n) - 1n);
const KVM_PTE_LEAF_ATTR_LO_S2_MEMATTR_SHIFT = 2n;
const KVM_PTE_LEAF_ATTR_LO_S2_S2AP_R = 1n << 6n;
const KVM_PTE_LEAF_ATTR_LO_S2_S2AP_W = 1n << 7n;
const KVM_PTE_LEAF_ATTR_LO_S2_SH_IS = 3n << 8n;
const KVM_PTE_LEAF_ATTR_LO_S2_AF = 1n << 10n;
const KVM_PTE_LEAF_ATTR_HI_S2_XN = 1n << 54n;
const KVM_PTE_LEAF_ATTR_HI_SW_SHIFT = 55n;
const KVM_PTE_LEAF_ATTR_HI_SW = 0xfn << KVM_PTE_LEAF_ATTR_HI_SW_SHIFT;
/** MemAttr[3:0] without FWB: Normal Inner/Outer Write-Back, and Device-nGnRE. */
const MEMATTR_NORMAL = 0xfn;
const MEMATTR_DEVICE_NGNRE = 0x1n;

const ENTRIES = 512;
const START_LEVEL = 0;

/** log2 of the region one entry at `level` maps: 39, 30, 21, 12. */
function levelShift(level: number): number {
  return 12 + 9 * (3 - level);
}

const LEVEL_SIZE: readonly number[] = [0, 1, 2, 3].map((l) => 2 ** levelShift(l));

/** A valid Block or Page descriptor and where it maps. */
export interface Leaf {
  /** IPA of the first byte the leaf maps (aligned to size). */
  ipa: bigint;
  size: bigint;
  /** Output (host) PA of the first byte. */
  pa: bigint;
  /** KVM_PGTABLE_PROT_* bits. */
  prot: number;
  /** Software bits [58:55] as 0..15. */
  sw: number;
  level: number;
  desc: bigint;
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
  let d = KVM_PTE_VALID | (level === 3 ? KVM_PTE_TYPE : 0n);
  d |= (device ? MEMATTR_DEVICE_NGNRE : MEMATTR_NORMAL) << KVM_PTE_LEAF_ATTR_LO_S2_MEMATTR_SHIFT;
  if (prot & KVM_PGTABLE_PROT_R) d |= KVM_PTE_LEAF_ATTR_LO_S2_S2AP_R;
  if (prot & KVM_PGTABLE_PROT_W) d |= KVM_PTE_LEAF_ATTR_LO_S2_S2AP_W;
  if (!(prot & KVM_PGTABLE_PROT_X)) d |= KVM_PTE_LEAF_ATTR_HI_S2_XN;
  d |= KVM_PTE_LEAF_ATTR_LO_S2_SH_IS | KVM_PTE_LEAF_ATTR_LO_S2_AF;
  return d | (BigInt(sw) << KVM_PTE_LEAF_ATTR_HI_SW_SHIFT);
}

/** KVM_PGTABLE_PROT_* bits of a leaf descriptor. */
export function descriptorProt(d: bigint): number {
  let prot = 0;
  if (d & KVM_PTE_LEAF_ATTR_LO_S2_S2AP_R) prot |= KVM_PGTABLE_PROT_R;
  if (d & KVM_PTE_LEAF_ATTR_LO_S2_S2AP_W) prot |= KVM_PGTABLE_PROT_W;
  if (!(d & KVM_PTE_LEAF_ATTR_HI_S2_XN)) prot |= KVM_PGTABLE_PROT_X;
  // MemAttr[3:2] = 00 is Device.
  if (((d >> KVM_PTE_LEAF_ATTR_LO_S2_MEMATTR_SHIFT) & 0xcn) === 0n) prot |= KVM_PGTABLE_PROT_DEVICE;
  return prot;
}

/** Software bits [58:55] of a descriptor. */
export function descriptorSw(d: bigint): number {
  return Number((d & KVM_PTE_LEAF_ATTR_HI_SW) >> KVM_PTE_LEAF_ATTR_HI_SW_SHIFT);
}

function isValid(d: bigint): boolean {
  return (d & KVM_PTE_VALID) !== 0n;
}

/** A valid descriptor that points to a next-level table (never at level 3). */
function isTable(d: bigint, level: number): boolean {
  return level < 3 && (d & KVM_PTE_TYPE) !== 0n;
}

/**
 * The low word of entry `idx` (bit 0 valid, bit 1 table/page): the walks on every fault decide on
 * it and follow tables without making a bigint.
 */
function lowWord(dv: DataView, idx: number): number {
  return dv.getUint32(idx * 8, true);
}

/** The next-level table address (bits [47:12]) of the table entry `idx` whose low word is `lo`. */
function tableAddrAt(dv: DataView, idx: number, lo: number): number {
  return (dv.getUint32(idx * 8 + 4, true) & 0xffff) * 2 ** 32 + (lo - (lo & 0xfff));
}

/** 1 for a Block/Page descriptor at `level`, from its low word. */
function leafBit(lo: number, level: number): number {
  return (lo & 1) !== 0 && (level === 3 || (lo & 2) === 0) ? 1 : 0;
}

function descAddr(d: bigint): number {
  return Number(d & KVM_PTE_ADDR_MASK);
}

function indexAt(ipa: number, level: number): number {
  return Math.floor(ipa / LEVEL_SIZE[level]!) % ENTRIES;
}

interface TablePage {
  page: Page;
  valid: number;
}

export class KvmPgtable {
  /** Host PA of the level-0 table (VTTBR_EL2.BADDR). */
  readonly pgdPa: number;
  readonly vtcr: bigint = KVM_VTCR;
  /**
   * The table pages held from the pool, keyed by host PA: the page (so walks do not search all of
   * host memory for it) and its valid entries (at 0 the table is freed).
   */
  private readonly tables = new Map<number, TablePage>();
  private leaves_ = 0;
  /** Tables unlinked by detachTable and not yet freed (their pages are still held from the pool). */
  private readonly detached = new Set<number>();
  private destroyed = false;

  constructor(
    private readonly mem: PhysMemory,
    private readonly pool: HostPagePool,
  ) {
    this.pgdPa = this.newTable();
  }

  /** Valid Block/Page descriptors in the tables. */
  get leafCount(): number {
    return this.leaves_;
  }

  /** Table pages held from the pool (the level-0 table included, until destroy). */
  get tablePages(): number {
    return this.tables.size;
  }

  /**
   * kvm_pgtable_stage2_map: map [ipa, ipa+size) → [pa, pa+size) with one leaf of `size` (4K, 2M
   * or 1G, both addresses aligned to it). Whatever was mapped there is replaced: a block around
   * the range is split into next-level leaves keeping the rest mapped, and tables below a new
   * block are freed. `sw` goes to the software bits [58:55]. Returns whether a leaf overlapped the
   * range before (hasLeafIn taken on the way down): the caller then owes a TLB invalidation.
   */
  map(ipa: bigint, size: bigint, pa: bigint, prot: number, sw = 0): boolean {
    this.checkLive();
    const level = levelForSize(size);
    if (ipa < 0n || ipa % size !== 0n || ipa + size > IPA_LIMIT_N) {
      throw new HostError(`stage-2 map: IPA ${hex(ipa)} not ${hex(size)}-aligned inside the 48-bit IPA space`);
    }
    if (pa < 0n || pa % size !== 0n || pa + size > IPA_LIMIT_N) {
      throw new HostError(`stage-2 map: PA ${hex(pa)} not ${hex(size)}-aligned below 2^48`);
    }
    const desc = leafDescriptor(level, Number(pa), prot, sw);
    const at = Number(ipa);
    // Down the tables that exist; every level left needs a new table (or a split block's), and
    // the pool must hold them all before anything changes.
    let table = this.pgdPa;
    let l = START_LEVEL;
    for (; l < level; l++) {
      const idx = indexAt(at, l);
      const dv = this.page(table).dv;
      const lo = lowWord(dv, idx);
      if ((lo & 3) !== 3) break;
      table = tableAddrAt(dv, idx, lo);
    }
    this.reserveTables(level - l);
    let replaced = false;
    for (; l < level; l++) {
      const idx = indexAt(at, l);
      const dv = this.page(table).dv;
      const lo = lowWord(dv, idx);
      if ((lo & 1) === 0) {
        const next = this.newTable();
        this.setEntry(table, l, idx, BigInt(next) | KVM_PTE_VALID | KVM_PTE_TYPE);
        table = next;
      } else if ((lo & 2) !== 0) {
        table = tableAddrAt(dv, idx, lo);
      } else {
        replaced = true;
        table = this.splitBlock(table, l, idx, dv.getBigUint64(idx * 8, true));
      }
    }
    const idx = indexAt(at, level);
    const dv = this.page(table).dv;
    const oldLo = lowWord(dv, idx);
    const child = level < 3 && (oldLo & 3) === 3 ? tableAddrAt(dv, idx, oldLo) : -1;
    this.setEntry(table, level, idx, desc);
    if ((oldLo & 1) === 0) return replaced;
    if (child < 0) return true;
    replaced ||= this.visitLeaves(child, level + 1, at, at, at + LEVEL_SIZE[level]!, () => true);
    this.freeSubtree(child, level + 1);
    return replaced;
  }

  /**
   * kvm_pgtable_stage2_unmap of [ipa, ipa+size) (page aligned; the part above 2^48 is ignored).
   * A block only partly inside the range is split first so the rest stays mapped. Tables left
   * empty go back to the pool (never the level-0 table). Returns the leaves cleared, counted
   * after splitting (a 4K unmap inside a 2M block clears one leaf).
   */
  unmap(ipa: bigint, size: bigint): number {
    this.checkLive();
    if (ipa < 0n || size < 0n || ipa % SZ_4K !== 0n || size % SZ_4K !== 0n) {
      throw new HostError(`stage-2 unmap: ${hex(ipa)}+${hex(size)} is not page aligned`);
    }
    const end = ipa + size > IPA_LIMIT_N ? IPA_LIMIT_N : ipa + size;
    if (ipa >= end) return 0;
    return this.unmapIn(this.pgdPa, START_LEVEL, 0, Number(ipa), Number(end));
  }

  /** kvm_pgtable_get_leaf: the leaf translating `ipa`, or null. */
  getLeaf(ipa: bigint): Leaf | null {
    const slot = this.findLeaf(ipa);
    if (!slot) return null;
    const at = Number(ipa);
    const base = at - (at % LEVEL_SIZE[slot.level]!);
    return this.makeLeaf(slot.desc, slot.level, base);
  }

  /**
   * kvm_pgtable_stage2_relax_perms: add R/W/X (`prot` may hold only those) to the leaf at `ipa`,
   * keeping its output, attributes and software bits. False when nothing maps `ipa`.
   */
  relaxPerms(ipa: bigint, prot: number): boolean {
    this.checkLive();
    if (prot & ~PROT_RWX) throw new HostError(`stage-2 relaxPerms: prot ${hex(prot)} has bits other than R/W/X`);
    const slot = this.findLeaf(ipa);
    if (!slot) return false;
    let d = slot.desc;
    if (prot & KVM_PGTABLE_PROT_R) d |= KVM_PTE_LEAF_ATTR_LO_S2_S2AP_R;
    if (prot & KVM_PGTABLE_PROT_W) d |= KVM_PTE_LEAF_ATTR_LO_S2_S2AP_W;
    if (prot & KVM_PGTABLE_PROT_X) {
      if (descriptorProt(d) & KVM_PGTABLE_PROT_DEVICE) throw new HostError("stage-2 relaxPerms: Device memory cannot be executable");
      d &= ~KVM_PTE_LEAF_ATTR_HI_S2_XN;
    }
    this.setEntry(slot.table, slot.level, slot.idx, d);
    return true;
  }

  /** Every leaf, in IPA order (a snapshot: the tables may be changed while iterating it). */
  leaves(): Iterable<Leaf> {
    return this.leavesIn(0n, IPA_LIMIT_N);
  }

  /** The leaves overlapping [ipa, ipa+size), in IPA order (a snapshot). */
  leavesIn(ipa: bigint, size: bigint): Leaf[] {
    const out: Leaf[] = [];
    if (this.destroyed) return out;
    const start = ipa < 0n ? 0n : ipa;
    const end = ipa + size > IPA_LIMIT_N ? IPA_LIMIT_N : ipa + size;
    if (start < end) {
      this.visitLeaves(this.pgdPa, START_LEVEL, 0, Number(start), Number(end), (e, level, base) => {
        out.push(this.makeLeaf(e, level, base));
        return false;
      });
    }
    return out;
  }

  /** Whether any leaf overlaps [ipa, ipa+size) (leavesIn without building the list). */
  hasLeafIn(ipa: bigint, size: bigint): boolean {
    if (this.destroyed) return false;
    const start = ipa < 0n ? 0n : ipa;
    const end = ipa + size > IPA_LIMIT_N ? IPA_LIMIT_N : ipa + size;
    return start < end && this.visitLeaves(this.pgdPa, START_LEVEL, 0, Number(start), Number(end), () => true);
  }

  /** Free every table page (the level-0 table too); the table is unusable afterwards. */
  destroy(): void {
    if (this.destroyed) return;
    this.freeSubtree(this.pgdPa, START_LEVEL);
    this.leaves_ = 0;
    this.destroyed = true;
  }

  // ------------------------------------------------------------------ split and coalesce

  /**
   * kvm_pgtable_stage2_split (KVM's eager page split, used when dirty logging starts): every block
   * in [ipa, ipa+size) becomes 4K page mappings of the same output and attributes (a 1G block goes
   * through 2M blocks). Both 2M aligned. Each new table is filled before it is linked, so the
   * range stays mapped throughout; callers invalidate TLBs after. Returns the blocks split.
   */
  split(ipa: bigint, size: bigint): number {
    this.checkLive();
    if (ipa < 0n || size <= 0n || ipa % SZ_2M !== 0n || size % SZ_2M !== 0n || ipa + size > IPA_LIMIT_N) {
      throw new HostError(`stage-2 split: ${hex(ipa)}+${hex(size)} is not 2M aligned inside the 48-bit IPA space`);
    }
    let split = 0;
    for (let at = ipa; at < ipa + size; at += SZ_2M) {
      let slot = this.findLeaf(at);
      if (!slot || slot.level === 3) continue;
      const need = slot.level === 1 ? 2 : 1;
      if (need > this.pool.available) {
        throw new HostError(`host page pool exhausted: stage-2 split needs ${need} table pages, ${this.pool.available} free`);
      }
      if (slot.level === 1) {
        this.splitBlock(slot.table, 1, slot.idx, slot.desc);
        split++;
        slot = this.findLeaf(at)!;
      }
      this.splitBlock(slot.table, slot.level, slot.idx, slot.desc);
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
  detachTable(ipa: bigint, size: bigint): number {
    this.checkLive();
    const level = levelForSize(size);
    if (level === 3 || ipa < 0n || ipa % size !== 0n || ipa + size > IPA_LIMIT_N) {
      throw new HostError(`stage-2 detach: ${hex(ipa)}+${hex(size)} is not a 2M or 1G aligned range inside the 48-bit IPA space`);
    }
    const at = Number(ipa);
    let table = this.pgdPa;
    for (let l = START_LEVEL; l < level; l++) {
      const e = this.read(table, indexAt(at, l));
      if (!isValid(e) || !isTable(e, l)) throw new HostError(`stage-2 detach: no table reaches level ${level} at ${hex(ipa)}`);
      table = descAddr(e);
    }
    const idx = indexAt(at, level);
    const e = this.read(table, idx);
    if (!isValid(e) || !isTable(e, level)) {
      throw new HostError(`stage-2 detach: the level-${level} entry for ${hex(ipa)} is ${isValid(e) ? "a block" : "invalid"}, not a table`);
    }
    const child = descAddr(e);
    let leaves = 0;
    const dv = this.page(child).dv;
    for (let i = 0; i < ENTRIES; i++) {
      const c = dv.getBigUint64(i * 8, true);
      if (!isValid(c)) continue;
      if (isTable(c, level + 1)) throw new HostError(`stage-2 detach: the table below ${hex(ipa)} holds next-level tables, not only leaves`);
      leaves++;
    }
    this.setEntry(table, level, idx, 0n);
    this.leaves_ -= leaves;
    this.detached.add(child);
    return child;
  }

  /** Valid entries left in a detached table. */
  detachedEntries(tablePa: number): number {
    this.checkDetached(tablePa, "detachedEntries");
    return this.table(tablePa).valid;
  }

  /**
   * Clear up to `max` valid entries of a detached table, lowest index first (unmapping the page
   * mappings of an unlinked table one by one). Returns how many were cleared.
   */
  clearDetached(tablePa: number, max: number): number {
    this.checkDetached(tablePa, "clearDetached");
    if (!Number.isInteger(max) || max < 0) throw new HostError(`stage-2 clearDetached: count ${max} is not a non-negative integer`);
    const t = this.table(tablePa);
    const dv = t.page.dv;
    let cleared = 0;
    for (let i = 0; i < ENTRIES && cleared < max; i++) {
      if (!isValid(dv.getBigUint64(i * 8, true))) continue;
      dv.setBigUint64(i * 8, 0n, true);
      cleared++;
    }
    t.valid -= cleared;
    return cleared;
  }

  /** Return an emptied detached table page to the pool. */
  freeDetached(tablePa: number): void {
    this.checkDetached(tablePa, "freeDetached");
    const left = this.table(tablePa).valid;
    if (left !== 0) throw new HostError(`stage-2 freeDetached: table ${hex(tablePa)} still holds ${left} valid entries`);
    this.detached.delete(tablePa);
    this.tables.delete(tablePa);
    this.pool.free(tablePa);
  }

  // ------------------------------------------------------------------ internals

  private checkDetached(tablePa: number, op: string): void {
    this.checkLive();
    if (!this.detached.has(tablePa)) throw new HostError(`stage-2 ${op}: ${hex(tablePa)} is not a detached table of this stage-2`);
  }

  private checkLive(): void {
    if (this.destroyed) throw new HostError(`stage-2 table at ${hex(this.pgdPa)} used after destroy`);
  }

  /** A table page this stage-2 holds (live or detached). */
  private table(tablePa: number): TablePage {
    const t = this.tables.get(tablePa);
    if (!t) throw new HostError(`stage-2 table at ${hex(this.pgdPa)}: ${hex(tablePa)} is not one of its table pages`);
    return t;
  }

  private page(tablePa: number): Page {
    return this.table(tablePa).page;
  }

  private read(tablePa: number, idx: number): bigint {
    return this.page(tablePa).dv.getBigUint64(idx * 8, true);
  }

  /** Write one entry, keeping the per-table valid counts and the leaf count exact. */
  private setEntry(tablePa: number, level: number, idx: number, d: bigint): void {
    const t = this.table(tablePa);
    const dv = t.page.dv;
    const oldLo = lowWord(dv, idx);
    dv.setBigUint64(idx * 8, d, true);
    const newLo = lowWord(dv, idx);
    t.valid += (newLo & 1) - (oldLo & 1);
    this.leaves_ += leafBit(newLo, level) - leafBit(oldLo, level);
  }

  private newTable(): number {
    const pa = this.pool.alloc();
    const page = this.mem.existingPage(pa);
    if (!page) throw new HostError(`stage-2 table page ${hex(pa)} from the pool is not RAM`);
    this.tables.set(pa, { page, valid: 0 });
    return pa;
  }

  /** Fail before changing anything when the pool cannot supply `need` table pages. */
  private reserveTables(need: number): void {
    if (need > this.pool.available) {
      throw new HostError(`host page pool exhausted: stage-2 map needs ${need} table pages, ${this.pool.available} free`);
    }
  }

  /** Replace the block at (table, idx) by a next-level table of leaves mapping the same range. */
  private splitBlock(tablePa: number, level: number, idx: number, block: bigint): number {
    const child = this.newTable();
    const childLevel = level + 1;
    const step = BigInt(LEVEL_SIZE[childLevel]!);
    const attrs = block & ~KVM_PTE_ADDR_MASK & ~(KVM_PTE_VALID | KVM_PTE_TYPE);
    const type = KVM_PTE_VALID | (childLevel === 3 ? KVM_PTE_TYPE : 0n);
    let oa = block & KVM_PTE_ADDR_MASK;
    for (let i = 0; i < ENTRIES; i++, oa += step) this.setEntry(child, childLevel, i, attrs | oa | type);
    this.setEntry(tablePa, level, idx, BigInt(child) | KVM_PTE_VALID | KVM_PTE_TYPE);
    return child;
  }

  /** Return a table page and everything below it to the pool (its leaves leave the count). */
  private freeSubtree(tablePa: number, level: number): void {
    const dv = this.page(tablePa).dv;
    for (let i = 0; i < ENTRIES; i++) {
      const e = dv.getBigUint64(i * 8, true);
      if (!isValid(e)) continue;
      if (isTable(e, level)) this.freeSubtree(descAddr(e), level + 1);
      else this.leaves_--;
    }
    this.tables.delete(tablePa);
    this.pool.free(tablePa);
  }

  /** Clear [start, end) inside the table at `level` that maps from `tableBase`. */
  private unmapIn(tablePa: number, level: number, tableBase: number, start: number, end: number): number {
    const size = LEVEL_SIZE[level]!;
    const first = Math.floor((start - tableBase) / size);
    const last = Math.floor((end - 1 - tableBase) / size);
    let removed = 0;
    for (let i = first; i <= last; i++) {
      const e = this.read(tablePa, i);
      if (!isValid(e)) continue;
      const base = tableBase + i * size;
      const lo = Math.max(start, base);
      const hi = Math.min(end, base + size);
      if (isTable(e, level)) {
        const child = descAddr(e);
        removed += this.unmapIn(child, level + 1, base, lo, hi);
        if (this.tables.get(child)?.valid === 0) {
          this.setEntry(tablePa, level, i, 0n);
          this.freeSubtree(child, level + 1);
        }
      } else if (lo === base && hi === base + size) {
        this.setEntry(tablePa, level, i, 0n);
        removed++;
      } else {
        const child = this.splitBlock(tablePa, level, i, e);
        removed += this.unmapIn(child, level + 1, base, lo, hi);
      }
    }
    return removed;
  }

  private findLeaf(ipa: bigint): { table: number; idx: number; level: number; desc: bigint } | null {
    if (this.destroyed || ipa < 0n || ipa >= IPA_LIMIT_N) return null;
    const at = Number(ipa);
    let table = this.pgdPa;
    for (let level = START_LEVEL; level <= 3; level++) {
      const idx = indexAt(at, level);
      const dv = this.page(table).dv;
      const lo = lowWord(dv, idx);
      if ((lo & 1) === 0) return null;
      if (level === 3 || (lo & 2) === 0) return { table, idx, level, desc: dv.getBigUint64(idx * 8, true) };
      table = tableAddrAt(dv, idx, lo);
    }
    throw new HostError(`stage-2 table at ${hex(this.pgdPa)}: walk of ${hex(ipa)} went below level 3`);
  }

  private makeLeaf(desc: bigint, level: number, base: number): Leaf {
    return {
      ipa: BigInt(base),
      size: BigInt(LEVEL_SIZE[level]!),
      pa: BigInt(descAddr(desc)),
      prot: descriptorProt(desc),
      sw: descriptorSw(desc),
      level,
      desc,
    };
  }

  /**
   * Visit the valid leaves overlapping [start, end) below a table, in IPA order, until `visit`
   * returns true (then true: the walk stopped early).
   */
  private visitLeaves(tablePa: number, level: number, tableBase: number, start: number, end: number, visit: (e: bigint, level: number, base: number) => boolean): boolean {
    const size = LEVEL_SIZE[level]!;
    const first = Math.floor((start - tableBase) / size);
    const last = Math.floor((end - 1 - tableBase) / size);
    const dv = this.page(tablePa).dv;
    for (let i = first; i <= last; i++) {
      const e = dv.getBigUint64(i * 8, true);
      if (!isValid(e)) continue;
      const base = tableBase + i * size;
      const stop = isTable(e, level)
        ? this.visitLeaves(descAddr(e), level + 1, base, Math.max(start, base), Math.min(end, base + size), visit)
        : visit(e, level, base);
      if (stop) return true;
    }
    return false;
  }
}
