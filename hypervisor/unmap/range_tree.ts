// Range tree: the maple tree's contract (non-overlapping inclusive ranges [index, last] of the
// 64-bit index space, each with a non-zero value) on a B+ tree keyed by range start. Reverse maps
// and accelerators keep their ranges here, so they inherit the maple tree's rules: storing over a
// range replaces whatever overlaps it, partial overlaps survive as split remainders with their old
// value, adjacent ranges with equal values stay separate entries, and values the maple tree keeps
// for its own internal nodes are refused.

import { bigintBTree, type BTree } from "./btree.ts";
import { HostError } from "../errors.ts";
import { hex } from "../../emulator/types.ts";

/** One stored range, inclusive at both ends. */
export interface RangeEntry {
  index: bigint;
  last: bigint;
  value: bigint;
}

/** The largest index (ULONG_MAX on a 64-bit kernel). */
export const RANGE_INDEX_MAX = (1n << 64n) - 1n;

/** MAPLE_RESERVED_RANGE: internal entries live below this value. */
const MAPLE_RESERVED_RANGE = 4096n;

/**
 * mt_is_reserved: values the maple tree uses internally (xa_is_internal, i.e. low two bits 0b10,
 * below MAPLE_RESERVED_RANGE) and therefore cannot hold as user entries.
 */
export function isReservedValue(v: bigint): boolean {
  // The comparison first: it makes no bigint, and almost every value fails it.
  if (v >= MAPLE_RESERVED_RANGE) return false;
  return v < 0n ? (v & 3n) === 2n : (Number(v) & 3) === 2;
}

/** A store of a value the maple tree reserves for internal use. */
export class ReservedValueError extends HostError {
  readonly value: bigint;

  constructor(value: bigint) {
    super(
      `range tree: value 0x${value.toString(16)} is reserved ` +
        `(values with (v & 3) == 2 below 4096 are maple tree internal entries)`,
    );
    this.name = "ReservedValueError";
    this.value = value;
  }
}


/** Stored per range start. */
interface Slot {
  last: bigint;
  value: bigint;
}

/**
 * The pair the B+ tree's neighbour searches fill in when only its fields are read: the searches
 * run on every shadow fault, and a fresh pair each time is garbage.
 */
const PROBE: [bigint, Slot] = [0n, { last: 0n, value: 0n }];

const NO_ENTRIES: readonly RangeEntry[] = Object.freeze([]);

export class RangeTree {
  private readonly tree: BTree<bigint, Slot> = bigintBTree<Slot>();

  /** Number of stored ranges. */
  get size(): number {
    return this.tree.size;
  }

  /**
   * mtree_store_range: [index, last] maps to `value` afterwards. Ranges overlapping it lose the
   * overlapped part; what lies outside [index, last] stays, as its own range, with its old value.
   */
  store(index: bigint, last: bigint, value: bigint): void {
    checkStore(index, last, value);
    for (const e of this.intersecting(index, last)) {
      this.tree.delete(e.index);
      if (e.index < index) this.tree.set(e.index, { last: index - 1n, value: e.value });
      if (e.last > last) this.tree.set(last + 1n, { last: e.last, value: e.value });
    }
    this.tree.set(index, { last, value });
  }

  /**
   * `store` into a gap the caller has just found empty (`intersecting` returned nothing): the
   * shadow-fault path looks first anyway, so the overlap search is not done twice.
   */
  storeInGap(index: bigint, last: bigint, value: bigint): void {
    checkStore(index, last, value);
    this.tree.set(index, { last, value });
  }

  /** mtree_load: the range containing `index`, or null. */
  load(index: bigint): RangeEntry | null {
    const p = this.tree.getPairOrNextLower(index);
    if (!p || p[1].last < index) return null;
    return entry(p[0], p[1]);
  }

  /** mt_find: the lowest range intersecting [a, b], or null (also when a > b). */
  findFirst(a: bigint, b: bigint): RangeEntry | null {
    if (a > b) return null;
    const below = this.tree.getPairOrNextLower(a);
    if (below && below[1].last >= a) return entry(below[0], below[1]);
    const above = this.tree.nextHigherPair(a);
    if (above && above[0] <= b) return entry(above[0], above[1]);
    return null;
  }

  /** Every range intersecting [a, b], lowest first (mt_for_each over [a, b]). */
  intersecting(a: bigint, b: bigint): readonly RangeEntry[] {
    // Ranges are disjoint: the last one starting at or below b decides whether any meets [a, b].
    // One search answers the common case of the fault path, a gap (and the answer is a shared
    // empty list, not a new one).
    const top = this.tree.getPairOrNextLower(b, PROBE);
    if (!top || top[1].last < a || a > b) return NO_ENTRIES;
    const first = this.findFirst(a, b);
    if (!first) return NO_ENTRIES;
    const out: RangeEntry[] = [];
    for (const [index, slot] of this.tree.entries(first.index)) {
      if (index > b) break;
      out.push(entry(index, slot));
    }
    return out;
  }

  /** mtree_erase: remove the whole range containing `index`; returns it, or null. */
  erase(index: bigint): RangeEntry | null {
    const e = this.load(index);
    if (e) this.tree.delete(e.index);
    return e;
  }

  /** Remove, whole, every range intersecting [a, b]; returns how many went. */
  eraseRange(a: bigint, b: bigint): number {
    const hit = this.intersecting(a, b);
    for (const e of hit) this.tree.delete(e.index);
    return hit.length;
  }

  /** Every range, lowest first. */
  entries(): RangeEntry[] {
    const out: RangeEntry[] = [];
    for (const [index, slot] of this.tree.entries()) out.push(entry(index, slot));
    return out;
  }

  /** mtree_destroy. */
  clear(): void {
    this.tree.clear();
  }
}

function entry(index: bigint, slot: Slot): RangeEntry {
  return { index, last: slot.last, value: slot.value };
}

function checkStore(index: bigint, last: bigint, value: bigint): void {
  checkRange("store", index, last);
  if (value === 0n) throw new HostError(`range tree: storing 0 over [${hex(index)}, ${hex(last)}]: use erase`);
  if (value < 0n || value > RANGE_INDEX_MAX) throw new HostError(`range tree: value ${value} is not a 64-bit entry`);
  if (isReservedValue(value)) throw new ReservedValueError(value);
}

function checkRange(op: string, index: bigint, last: bigint): void {
  if (index < 0n || last > RANGE_INDEX_MAX || index > last) {
    throw new HostError(`range tree: ${op} of an invalid range [${hex(index)}, ${hex(last)}]`);
  }
}
