// The one walk of VMSAv8-64 translation tables (Arm ARM D8.2/D8.3), with visitors, in the manner
// of KVM's hyp/pgtable.c (`kvm_pgtable_walk`, `struct kvm_pgtable_walker { cb; arg; flags }`):
// descend the levels for an input-address range, from a start table, for a granule and start
// level, and call the walker on the entries it asks for (LEAF, TABLE_PRE, TABLE_POST). The CPU's
// translation (stage 1 and 2), L0's stage-2 tables (map, unmap, get-leaf, dump, free) and the
// debugger all walk here; only L1's stage-2 walk in nested_walk.ts is separate, as KVM's is.
//
// The walk itself reports what the architecture makes a fault of any walk: a descriptor that
// cannot be read, a reserved encoding (a Block where the granule allows none, a Block encoding at
// level 3), and table or output addresses above the output size. What a leaf means (access flag,
// permissions, what to record) is the walker's.
//
// Input and output addresses are below 2^48, so they are plain numbers (exact in a double); a
// descriptor is read as two 32-bit halves, so nothing on the way down makes a bigint.

import { type Fault, FaultType } from "../fault.ts";
import { PhysMemory } from "../memory.ts";
import { addressField, isTableOrPage, POW2, tableAttrs } from "./descriptor.ts";
import { blockAllowed, type Granule, levelShift } from "./granule.ts";

/** The tables to walk: geometry, start table and output size. */
export interface WalkSetup {
  readonly stage: 1 | 2;
  readonly granule: Granule;
  readonly startLevel: number;
  /** Input-address bits resolved at the start level (more than a stride: concatenated tables). */
  readonly startBits: number;
  /** Start table base: an IPA at stage 1, a PA at stage 2. */
  readonly base: number;
  /** Output-address size in bits (TCR_EL1.IPS / VTCR_EL2.PS). */
  readonly oaBits: number;
  /** Accumulate APTable/XNTable from Table descriptors (stage 1 without HPD). */
  readonly hierarchical: boolean;
}

// Walk flags, and the kind of a visit (kvm_pgtable_walk_flags).
/** Visit valid Block and Page descriptors. */
export const WALK_LEAF = 1;
/** Visit Table descriptors before walking the table they point to. */
export const WALK_TABLE_PRE = 2;
/** Visit Table descriptors after walking the table they point to. */
export const WALK_TABLE_POST = 4;
/** Visit invalid descriptors too (as LEAF visits). */
export const WALK_INVALID = 8;

// What a visitor returns, and what a walk returns.
/** Visitor: go on. Walk: the whole range was walked. */
export const WALK_CONTINUE = 0;
/** Visitor: I changed this entry; read it again (and walk the table it now points to, if any). */
export const WALK_RELOAD = 1;
/** Visitor and walk: stopped early, nothing wrong. */
export const WALK_STOP = 2;
/** Walk: Translation fault at `ctx.level` (reserved encoding), or a walker's verdict on an invalid entry. */
export const WALK_TRANSLATION = 3;
/** Walk: Address size fault at `ctx.level` (table or output address above the output size). */
export const WALK_ADDRESS_SIZE = 4;
/** Walk: the descriptor at `ctx.level` could not be read; the TableMemory knows why. */
export const WALK_UNREADABLE = 5;

const EMPTY = new DataView(new ArrayBuffer(8));

/** Deepest walk: levels 0..3 (no FEAT_LPA2 level -1). */
const LEVELS = 4;

/**
 * The entry being visited (kvm_pgtable_visit_ctx). One per walker, reused: nothing is allocated
 * per level or per entry.
 */
export class WalkCtx {
  level = 0;
  /** Base of the table holding the entry, in the table's own address space. */
  table = 0;
  index = 0;
  /** The descriptor, bits[31:0] and bits[63:32]. */
  lo = 0;
  hi = 0;
  /** Where the descriptor's 8 bytes are (set by TableMemory.locate). */
  view: DataView = EMPTY;
  off = 0;
  /** First input address the entry maps, and log2 of the region it maps. */
  base = 0;
  shift = 0;
  /** The walk's tables above the current one: table, index, last index, table base per level. */
  readonly stack = new Float64Array(LEVELS * 4);

  /** The descriptor as a 64-bit value. */
  desc(): bigint {
    return this.view.getBigUint64(this.off, true);
  }
}

/** How a walk reaches descriptors (kvm_pgtable_mm_ops, reading side). */
export interface TableMemory {
  /**
   * Point `ctx.view`/`ctx.off` at the descriptor `ctx.table` + 8 × `ctx.index`, or return false
   * when it cannot be read (the memory keeps the reason for its caller).
   */
  locate(ctx: WalkCtx): boolean;
}

/**
 * A visitor callback (kvm_pgtable_visitor_fn_t): `visit` is WALK_LEAF, WALK_TABLE_PRE or
 * WALK_TABLE_POST; returns WALK_CONTINUE, WALK_RELOAD or a stop code.
 */
export type WalkerCb<A> = (ctx: WalkCtx, visit: number, arg: A) => number;

/**
 * A walker (struct kvm_pgtable_walker { cb; arg; flags }): every walker has this one shape, so
 * the walk loads its fields and calls its callback the same way whichever walker it runs.
 */
export interface Walker<A> {
  readonly cb: WalkerCb<A>;
  readonly arg: A;
  flags: number;
}

/** A walker; its state lives in `arg`. */
export function walker<A>(cb: WalkerCb<A>, arg: A, flags: number): Walker<A> {
  return { cb, arg, flags };
}

/**
 * Walk [start, end) of the tables `s` describes (both bounds below 2^(input bits)), calling `w`.
 * Returns WALK_CONTINUE, the first non-continue code a visitor returned, or a fault code with
 * `ctx` holding the entry (level, table, index, and lo/hi unless unreadable) it occurred at.
 * A walk owns `ctx` until it returns: a visitor that walks again uses another context.
 *
 * One loop over the levels (__kvm_pgtable_walk and __kvm_pgtable_visit without recursion): the
 * tables above the current one wait in `ctx`'s per-level stack, so a walk allocates nothing.
 */
export function kvmPgtableWalk<A>(mem: TableMemory, s: WalkSetup, start: number, end: number, w: Walker<A>, ctx: WalkCtx): number {
  if (start >= end) return WALK_CONTINUE;
  const flags = w.flags;
  const cb = w.cb;
  const arg = w.arg;
  const g = s.granule;
  const oaLimit = POW2[s.oaBits]!;
  // The shallowest level the walk must come back to: a table whose range ends with the entry
  // the walk descends from, and that has no TABLE_POST visit, is done once its child is.
  let top = s.startLevel;
  const stack = ctx.stack;
  let level = top;
  let table = s.base;
  let tableBase = 0;
  let shift = levelShift(g, level);
  let size = POW2[shift]!;
  let i = Math.floor(start / size);
  let last = lastIndex(i, 0, size, end, POW2[s.startBits]!);
  for (;;) {
    if (i > last) {
      // This table is done: back to the entry that points to it.
      if (level === top) return WALK_CONTINUE;
      const k = (--level) * 4;
      table = stack[k]!;
      i = stack[k + 1]!;
      last = stack[k + 2]!;
      tableBase = stack[k + 3]!;
      shift += g.stride;
      size = POW2[shift]!;
      if ((flags & WALK_TABLE_POST) !== 0) {
        if (!load(mem, ctx, table, level, i, tableBase + i * size, shift)) return WALK_UNREADABLE;
        const r = cb(ctx, WALK_TABLE_POST, arg);
        if (r !== WALK_CONTINUE && r !== WALK_RELOAD) return r;
      }
      i++;
      continue;
    }
    const base = tableBase + i * size;
    if (!load(mem, ctx, table, level, i, base, shift)) return WALK_UNREADABLE;
    let visited = false;
    let next = -1;
    for (;;) {
      const lo = ctx.lo;
      let r: number;
      if ((lo & 1) === 0) {
        if (visited || (flags & WALK_INVALID) === 0) break;
        visited = true;
        r = cb(ctx, WALK_LEAF, arg);
      } else if (level < 3 && isTableOrPage(lo)) {
        const child = addressField(lo, ctx.hi, g.shift);
        if (child >= oaLimit) return WALK_ADDRESS_SIZE;
        if (visited || (flags & WALK_TABLE_PRE) === 0) {
          next = child;
          break;
        }
        visited = true;
        r = cb(ctx, WALK_TABLE_PRE, arg);
        if (r === WALK_CONTINUE) {
          next = child;
          break;
        }
      } else {
        // Level 3 needs a Page (0b11); a Block (0b01) only where the granule allows one.
        if (level === 3 ? !isTableOrPage(lo) : !blockAllowed(g, level)) return WALK_TRANSLATION;
        if (addressField(lo, ctx.hi, shift) >= oaLimit) return WALK_ADDRESS_SIZE;
        if (visited || (flags & WALK_LEAF) === 0) break;
        visited = true;
        r = cb(ctx, WALK_LEAF, arg);
      }
      if (r === WALK_CONTINUE) break;
      if (r !== WALK_RELOAD) return r;
      if (!load(mem, ctx, table, level, i, base, shift)) return WALK_UNREADABLE;
    }
    if (next < 0) {
      i++;
      continue;
    }
    // Down into the next-level table, the entries of it that overlap [start, end).
    if (level === top && i === last && (flags & WALK_TABLE_POST) === 0) top++;
    else {
      const k = level * 4;
      stack[k] = table;
      stack[k + 1] = i;
      stack[k + 2] = last;
      stack[k + 3] = tableBase;
    }
    level++;
    table = next;
    tableBase = base;
    shift -= g.stride;
    size = POW2[shift]!;
    i = start > base ? Math.floor((start - base) / size) : 0;
    last = lastIndex(i, base, size, end, POW2[g.stride]!);
  }
}

/** The last entry of a table (of `entries` at `tableBase`) that [.., end) reaches, from entry `first`. */
function lastIndex(first: number, tableBase: number, size: number, end: number, entries: number): number {
  // Most walks are of one address or one leaf: no division then.
  if (end <= tableBase + (first + 1) * size) return first < entries ? first : entries - 1;
  return Math.min(Math.floor((end - 1 - tableBase) / size), entries - 1);
}

/** Point `ctx` at entry `index` of `table` and read it. */
function load(mem: TableMemory, ctx: WalkCtx, table: number, level: number, index: number, base: number, shift: number): boolean {
  ctx.level = level;
  ctx.table = table;
  ctx.index = index;
  ctx.base = base;
  ctx.shift = shift;
  if (!mem.locate(ctx)) return false;
  ctx.lo = ctx.view.getUint32(ctx.off, true);
  ctx.hi = ctx.view.getUint32(ctx.off + 4, true);
  return true;
}

// ---------------------------------------------------------------- translation walks

export function makeFault(type: FaultType, stage: 1 | 2, level: number, ipa = 0n): Fault {
  return { type, stage, level, s1ptw: false, ipa };
}

export function isFault<T extends object>(v: T | Fault): v is Fault {
  return "type" in v && "stage" in v;
}

/** What a translation walk keeps on the way down. */
export interface TranslationState {
  /** TABLE_* limits of the Table descriptors on the way down (stage 1 without HPD). */
  table: number;
  hierarchical: boolean;
}

/**
 * The visitor of one translation (one input address): an invalid entry is a Translation fault,
 * the leaf ends the walk, and on the way the stage-1 hierarchical limits are collected. The CPU
 * and the debugger use it alike (QEMU's S1Translate with and without in_debug): a walk changes
 * nothing, and the TLB fill is the CPU's, after the walk.
 */
export function translationVisit(ctx: WalkCtx, visit: number, t: TranslationState): number {
  if (visit === WALK_TABLE_PRE) {
    if (t.hierarchical) t.table |= tableAttrs(ctx.hi);
    return WALK_CONTINUE;
  }
  return (ctx.lo & 1) === 0 ? WALK_TRANSLATION : WALK_STOP;
}

export type TranslationWalker = Walker<TranslationState>;

export function translationWalker(): TranslationWalker {
  return walker<TranslationState>(translationVisit, { table: 0, hierarchical: false }, 0);
}

/** Prepare `w` for a walk of `s` (TABLE_PRE visits only where there are limits to collect). */
export function resetTranslation<T extends TranslationState>(w: Walker<T>, s: WalkSetup): void {
  w.arg.table = 0;
  w.arg.hierarchical = s.hierarchical;
  w.flags = WALK_LEAF | WALK_INVALID | (s.hierarchical ? WALK_TABLE_PRE : 0);
}

/**
 * Walk the translation of `ia` (below 2^(input bits)) in the CPU's memory. Returns the fault of
 * the walk, or null with `ctx` on the leaf (level, shift, lo/hi) and `w.arg.table` holding the
 * hierarchical limits.
 */
export function translationWalk(mem: PhysTables, s: WalkSetup, ia: number, w: TranslationWalker, ctx: WalkCtx, faultIpa: bigint): Fault | null {
  resetTranslation(w, s);
  mem.fault = null;
  const r = kvmPgtableWalk(mem, s, ia, ia + 1, w, ctx);
  switch (r) {
    case WALK_STOP:
      return null;
    case WALK_UNREADABLE:
      return mem.fault ?? walkExternalAbort(s.stage, ctx.level, faultIpa);
    case WALK_ADDRESS_SIZE:
      return makeFault(FaultType.AddressSize, s.stage, ctx.level, faultIpa);
    default:
      return makeFault(FaultType.Translation, s.stage, ctx.level, faultIpa);
  }
}

const NO_MEMORY = new PhysMemory();

/**
 * Tables in the emulator's physical memory, read as the CPU reads them. A descriptor with no RAM
 * behind it cannot be read (an external abort on the walk); `debug` reads never back a page on
 * an auto-allocating machine.
 */
export class PhysTables implements TableMemory {
  /** Why the last descriptor could not be read, when it was not a lack of RAM. */
  fault: Fault | null = null;

  constructor(
    public mem: PhysMemory = NO_MEMORY,
    public debug = false,
  ) {}

  locate(ctx: WalkCtx): boolean {
    return this.at(ctx, ctx.table + ctx.index * 8);
  }

  /** Point `ctx` at the descriptor at PA `pa`. */
  protected at(ctx: WalkCtx, pa: number): boolean {
    const page = this.debug ? this.mem.existingPage(pa) : this.mem.page(pa);
    if (!page) return false;
    ctx.view = page.dv;
    ctx.off = pa & 0xff8;
    return true;
  }
}

/** The external abort on a walk whose descriptor has no RAM behind it. */
export function walkExternalAbort(stage: 1 | 2, level: number, ipa = 0n): Fault {
  return { ...makeFault(FaultType.ExternalAbort, stage, level, ipa), onWalk: true };
}
