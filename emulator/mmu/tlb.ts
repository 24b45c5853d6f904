// The architectural TLB of the EL1&0 regime: combined stage-1+stage-2 leaf entries tagged by VMID
// and ASID (or global). Entries live until invalidated or evicted, so a page-table change without
// TLB maintenance keeps returning the old translation, as on hardware. Only last-level (leaf)
// translations are kept: there is no walk cache, so "last level only" invalidation is exact.

/** ASID tag of a global entry (nG = 0), which matches every ASID. */
export const GLOBAL = -1;

/** Which stages produced an entry (stage 1 off + stage 2 on gives STAGE2 only, VA = IPA). */
export const STAGE1 = 1;
export const STAGE2 = 2;

export interface TlbEntry {
  readonly vmid: number;
  /** ASID, or GLOBAL. */
  readonly asid: number;
  /** STAGE1 | STAGE2 bits. */
  readonly stages: number;
  /** VA range the entry translates with one offset: [va, va + 2^shift) → [pa, pa + 2^shift). */
  readonly va: bigint;
  readonly shift: number;
  readonly pa: number;
  /** Stage-1 leaf VA range (the stage-2 leaf range when stage 1 is off) and level. */
  readonly s1Va: bigint;
  readonly s1Shift: number;
  readonly s1Level: number;
  /** IPA of `va`, and the stage-2 leaf IPA range and level (shift -1 when stage 2 is off). */
  readonly ipa: bigint;
  readonly s2Ipa: bigint;
  readonly s2Shift: number;
  readonly s2Level: number;
  /** S1_* bits (EL1/EL0 × read/write/exec) and S2_* bits; see attrs.ts. */
  readonly s1Perm: number;
  readonly s2Perm: number;
  /** Memory type per stage (stage 1 off: the type depends on the access, decided at lookup). */
  readonly s1Device: boolean;
  readonly s2Device: boolean;
  /** MAIR attribute and SH of the stage-1 leaf (0 when stage 1 is off). */
  readonly attr: number;
  readonly sh: number;
}

/** The last invalidation request, for tests and the debugger. */
export interface InvalidationRecord {
  readonly op: string;
  readonly vmid?: number;
  readonly asid?: number | null;
  readonly start?: bigint;
  readonly end?: bigint;
  readonly lastLevelOnly?: boolean;
  readonly removed: number;
}

/** Lookup-index key of an entry's tags (VMID 16 bits, stages 2 bits, ASID+1 17 bits). */
function contextKey(vmid: number, stages: number, asid: number): number {
  return (vmid * 4 + stages) * 131072 + (asid + 1);
}

function containsRange(base: bigint, shift: number, start: bigint, end: bigint): boolean {
  return base < end && start < base + (1n << BigInt(shift));
}

/** VA bits [55:0]: TLBI operands carry VA[55:12], entries keep the sign-extended VA. */
const VA56 = (1n << 56n) - 1n;

export class Tlb {
  /** All entries, oldest first (eviction order). */
  private readonly entries = new Set<TlbEntry>();
  /** contextKey → entry shift → VA >> shift → entry. */
  private readonly index = new Map<number, Map<number, Map<number, TlbEntry>>>();
  hits = 0;
  misses = 0;
  lastInvalidation: InvalidationRecord | null = null;

  constructor(readonly capacity = 4096) {}

  get size(): number {
    return this.entries.size;
  }

  [Symbol.iterator](): IterableIterator<TlbEntry> {
    return this.entries.values();
  }

  /** The entry translating `va` under these tags: ASID-tagged entries first, then global ones. */
  lookup(vmid: number, stages: number, asid: number, va: bigint): TlbEntry | undefined {
    const e = this.find(contextKey(vmid, stages, asid), va) ?? (asid === GLOBAL ? undefined : this.find(contextKey(vmid, stages, GLOBAL), va));
    if (e) this.hits++;
    else this.misses++;
    return e;
  }

  private find(key: number, va: bigint): TlbEntry | undefined {
    const byShift = this.index.get(key);
    if (!byShift) return undefined;
    for (const [shift, byPage] of byShift) {
      const e = byPage.get(Number(va >> BigInt(shift)));
      if (e) return e;
    }
    return undefined;
  }

  insert(e: TlbEntry): void {
    const key = contextKey(e.vmid, e.stages, e.asid);
    let byShift = this.index.get(key);
    if (!byShift) this.index.set(key, (byShift = new Map()));
    let byPage = byShift.get(e.shift);
    if (!byPage) byShift.set(e.shift, (byPage = new Map()));
    const vpn = Number(e.va >> BigInt(e.shift));
    const old = byPage.get(vpn);
    if (old) this.entries.delete(old);
    byPage.set(vpn, e);
    this.entries.add(e);
    if (this.entries.size > this.capacity) this.remove(this.entries.values().next().value!);
  }

  remove(e: TlbEntry): void {
    if (!this.entries.delete(e)) return;
    const key = contextKey(e.vmid, e.stages, e.asid);
    const byShift = this.index.get(key)!;
    const byPage = byShift.get(e.shift)!;
    byPage.delete(Number(e.va >> BigInt(e.shift)));
    if (byPage.size === 0) byShift.delete(e.shift);
    if (byShift.size === 0) this.index.delete(key);
  }

  private removeWhere(pred: (e: TlbEntry) => boolean): number {
    const doomed = [...this.entries].filter(pred);
    for (const e of doomed) this.remove(e);
    return doomed.length;
  }

  /** TLBI ALLE1: every entry of every VMID. */
  flushAll(): void {
    const removed = this.entries.size;
    this.entries.clear();
    this.index.clear();
    this.lastInvalidation = { op: "all", removed };
  }

  /** TLBI VMALLS12E1: stage-1 and stage-2 entries of one VMID. */
  flushVmid(vmid: number): void {
    const removed = this.removeWhere((e) => e.vmid === vmid);
    this.lastInvalidation = { op: "vmid", vmid, removed };
  }

  /** TLBI VMALLE1: every entry of the VMID that holds a stage-1 translation. */
  flushVmidStage1(vmid: number): void {
    const removed = this.removeWhere((e) => e.vmid === vmid && (e.stages & STAGE1) !== 0);
    this.lastInvalidation = { op: "vmid-stage1", vmid, removed };
  }

  /** TLBI ASIDE1: non-global stage-1 entries of one ASID. */
  flushAsid(vmid: number, asid: number): void {
    const removed = this.removeWhere((e) => e.vmid === vmid && e.asid === asid && (e.stages & STAGE1) !== 0);
    this.lastInvalidation = { op: "asid", vmid, asid, removed };
  }

  /**
   * TLBI VAE1/VALE1 (asid given; global entries match too) and VAAE1/VAALE1 (asid null): stage-1
   * entries whose leaf range contains `va`. VAs compare on bits [55:0], so the VA may be given
   * sign-extended or as the TLBI operand's VA[55:12] << 12.
   */
  flushVa(vmid: number, asid: number | null, va: bigint, lastLevelOnly: boolean): void {
    this.flushVaSpan("va", vmid, asid, va, va + 1n, lastLevelOnly);
  }

  /** TLBI RVAE1 and friends: stage-1 entries whose leaf range overlaps [start, end). */
  flushVaRange(vmid: number, asid: number | null, start: bigint, end: bigint, lastLevelOnly: boolean): void {
    this.flushVaSpan("va-range", vmid, asid, start, end, lastLevelOnly);
  }

  private flushVaSpan(op: string, vmid: number, asid: number | null, start: bigint, end: bigint, lastLevelOnly: boolean): void {
    const lo = start & VA56;
    const hi = lo + (end - start);
    const removed = this.removeWhere(
      (e) =>
        e.vmid === vmid &&
        (e.stages & STAGE1) !== 0 &&
        (asid === null || e.asid === GLOBAL || e.asid === asid) &&
        containsRange(e.s1Va & VA56, e.s1Shift, lo, hi),
    );
    this.lastInvalidation = { op, vmid, asid, start, end, lastLevelOnly, removed };
  }

  /** TLBI IPAS2E1/IPAS2LE1: entries whose stage-2 leaf range contains `ipa` (combined ones too). */
  flushIpa(vmid: number, ipa: bigint, lastLevelOnly: boolean): void {
    this.flushIpaSpan("ipa", vmid, ipa, ipa + 1n, lastLevelOnly);
  }

  /** TLBI RIPAS2E1 and friends: entries whose stage-2 leaf range overlaps [start, end). */
  flushIpaRange(vmid: number, start: bigint, end: bigint, lastLevelOnly: boolean): void {
    this.flushIpaSpan("ipa-range", vmid, start, end, lastLevelOnly);
  }

  private flushIpaSpan(op: string, vmid: number, start: bigint, end: bigint, lastLevelOnly: boolean): void {
    const removed = this.removeWhere(
      (e) => e.vmid === vmid && (e.stages & STAGE2) !== 0 && containsRange(e.s2Ipa, e.s2Shift, start, end),
    );
    this.lastInvalidation = { op, vmid, start, end, lastLevelOnly, removed };
  }
}
