// Translation contexts the fast translation caches remember across a world switch. A world switch
// (L1's vEL2 ↔ an L2, on every nested exit) loads a whole other EL1&0 regime, so the fast caches
// must stop answering for the old one; but the old regime comes back a few microseconds later, and
// refilling its handful of entries through the MMU walker was a large part of each nested exit. So
// the switch puts the old context's fills aside, keyed by everything translation reads (the EL and
// the translation registers' values), and the first miss in a context whose key matches a kept one
// puts its fills back.
//
// Restoring is exact: every kept entry is one the architectural TLB produced under that same key,
// and anything that could make it wrong (a TLBI, a host change of stage-2, a removed page, a guest
// write of a translation register) drops every kept context through CpuState.flushFastTlb.

import type { Page } from "./memory.ts";
import type { SysRegFile } from "./sysregs.ts";

/** Fills logged per context; a context with more is not kept (the caches are then flushed whole). */
export const FILL_LOG = 32;
/** Contexts kept at once: a vCPU's vEL2 and a few L2s. */
const KEPT = 4;

/** Which fast cache a fill went to. */
export const enum FastKind {
  Read = 0,
  Write = 1,
  Fetch = 2,
}

/** The fast caches of one CPU: tags (VA page numbers, -1 empty), pages, and host offsets for data. */
export interface FastCaches {
  readonly tags: readonly [Float64Array, Float64Array, Float64Array];
  readonly pages: readonly [(Page | null)[], (Page | null)[], (Page | null)[]];
  readonly offs: readonly [Int32Array, Int32Array];
}

/** Registers whose value changes how (or under which tags) an EL1&0 access is translated (mmu/). */
export const TRANSLATION_REGS: ReadonlySet<string> = new Set<keyof SysRegFile>([
  "SCTLR_EL1", "TCR_EL1", "TTBR0_EL1", "TTBR1_EL1", "MAIR_EL1", "HCR_EL2", "VTTBR_EL2", "VTCR_EL2",
]);

/** What translation reads besides memory and the TLB: the EL and the TRANSLATION_REGS. */
export interface ContextKey {
  el: number;
  regs: bigint[];
}

// Written out field by field (TRANSLATION_REGS in order): the register file is a class, and its
// fields read by name are fast.
export function contextKey(el: number, sr: SysRegFile): ContextKey {
  return { el, regs: [sr.SCTLR_EL1, sr.TCR_EL1, sr.TTBR0_EL1, sr.TTBR1_EL1, sr.MAIR_EL1, sr.HCR_EL2, sr.VTTBR_EL2, sr.VTCR_EL2] };
}

// VTTBR_EL2 first: it tells vEL2 (the canonical MMU) from each L2 (its shadow MMU) at once.
function keyMatches(k: ContextKey, el: number, sr: SysRegFile): boolean {
  const r = k.regs;
  return (
    k.el === el &&
    r[6] === sr.VTTBR_EL2 &&
    r[0] === sr.SCTLR_EL1 &&
    r[1] === sr.TCR_EL1 &&
    r[2] === sr.TTBR0_EL1 &&
    r[3] === sr.TTBR1_EL1 &&
    r[4] === sr.MAIR_EL1 &&
    r[5] === sr.HCR_EL2 &&
    r[7] === sr.VTCR_EL2
  );
}

/** One context's fills: the current context's log, or a context kept aside (restorable). */
interface Slot {
  state: SlotState;
  key: ContextKey;
  /** Fills logged (at most FILL_LOG). */
  n: number;
  /** The first `saved` fills have their tag and page in `tag`/`page` (saved when last kept). */
  saved: number;
  /** When it was last kept (the least recent goes first when a slot is needed). */
  keptAt: number;
  readonly kind: Uint8Array;
  readonly index: Int32Array;
  readonly tag: Float64Array;
  readonly page: (Page | null)[];
}

const enum SlotState {
  Free,
  Current,
  Kept,
}

function newSlot(): Slot {
  return {
    state: SlotState.Free,
    key: { el: -1, regs: [] },
    n: 0,
    saved: 0,
    keptAt: 0,
    kind: new Uint8Array(FILL_LOG),
    index: new Int32Array(FILL_LOG),
    tag: new Float64Array(FILL_LOG),
    page: new Array<Page | null>(FILL_LOG).fill(null),
  };
}

/** The fill log of the current context and the contexts kept aside. */
export class FastContexts {
  /** The current context's log; null until its first fill or restore, or after it overflowed. */
  private cur: Slot | null = null;
  /** The current context filled more than FILL_LOG entries (or its fills are unknown): a flush refills all. */
  private overflow = true;
  private readonly slots: Slot[] = Array.from({ length: KEPT }, newSlot);
  private clock = 0;
  /** Set by a switch until the next miss looks for a kept context to restore. */
  restorePending = false;

  constructor(private readonly caches: FastCaches) {}

  /** Log a fill (the caller has written the entry). `el` and `sr` give the key at the first one. */
  noteFill(kind: FastKind, i: number, el: number, sr: SysRegFile): void {
    if (this.overflow) return;
    let c = this.cur;
    if (c === null) {
      c = this.cur = this.freeSlot();
      c.state = SlotState.Current;
      c.key = contextKey(el, sr);
      c.n = 0;
      c.saved = 0;
    } else if (c.n === FILL_LOG) {
      // Too many to undo one by one or keep: the next flush or switch empties the caches whole.
      this.overflow = true;
      this.release(c);
      return;
    }
    c.kind[c.n] = kind;
    c.index[c.n] = i;
    c.n++;
  }

  private freeSlot(): Slot {
    let oldest = this.slots[0]!;
    for (const s of this.slots) {
      if (s.state === SlotState.Free) return s;
      if (s.keptAt < oldest.keptAt) oldest = s;
    }
    this.release(oldest);
    return oldest;
  }

  private release(c: Slot): void {
    c.state = SlotState.Free;
    if (this.cur === c) this.cur = null;
    c.page.fill(null, 0, c.saved);
    c.n = c.saved = 0;
  }

  /** Empty the caches; every kept context goes too unless `keep` (a world switch). */
  flush(keep: boolean): void {
    const { tags } = this.caches;
    const c = this.cur;
    if (keep && c !== null) this.keep(c);
    if (this.overflow) for (const t of tags) t.fill(-1);
    else if (c !== null) for (let k = 0; k < c.n; k++) tags[c.kind[k]! as FastKind][c.index[k]!] = -1;
    this.overflow = false;
    if (!keep) {
      for (const s of this.slots) if (s.state !== SlotState.Free) this.release(s);
      this.restorePending = false;
      return;
    }
    this.cur = null;
    this.restorePending = true;
  }

  /** Put the current context aside: save the tag and page of the fills made since it was last kept. */
  private keep(c: Slot): void {
    const { tags, pages } = this.caches;
    for (let k = c.saved; k < c.n; k++) {
      const kind = c.kind[k]! as FastKind;
      const i = c.index[k]!;
      c.tag[k] = tags[kind][i]!;
      c.page[k] = pages[kind][i]!;
    }
    c.saved = c.n;
    c.state = SlotState.Kept;
    c.keptAt = ++this.clock;
  }

  /**
   * On the first miss after a switch: if a kept context has the current key, put its fills back and
   * make it the current context again. True when something was restored.
   */
  restore(el: number, sr: SysRegFile): boolean {
    this.restorePending = false;
    if (this.cur !== null || this.overflow) return false;
    // Two kept slots with one key hold fills made under the same translation: either will do.
    let c: Slot | undefined;
    for (const s of this.slots) {
      if (s.state === SlotState.Kept && keyMatches(s.key, el, sr)) {
        c = s;
        break;
      }
    }
    if (!c) return false;
    const { tags, pages, offs } = this.caches;
    for (let k = 0; k < c.n; k++) {
      const kind = c.kind[k]! as FastKind;
      const i = c.index[k]!;
      const page = c.page[k]!;
      tags[kind][i] = c.tag[k]!;
      pages[kind][i] = page;
      if (kind !== FastKind.Fetch) offs[kind][i] = page.off;
    }
    c.state = SlotState.Current;
    this.cur = c;
    return true;
  }
}
