// Provenance: `why ADDR`, the history of the translations that cover an address, newest first.
// For a nested IPA: the shadow leaves installed over it (per shadow MMU), the L1 stage-2
// descriptor writes that translate it, the stage-2 faults injected into L1 for it, the TLBIs and
// recycles that removed its shadow leaves, and, through the canonical IPAs it was mapped to, the
// unmaps and injections there. For a canonical IPA: the shadow and canonical leaves mapping it,
// the descriptor writes whose output it is (or that write the L1 table page it is), the unmaps,
// memslot changes, coalescings and injections covering it. For a host PA: the canonical IPAs it
// backed, and theirs. Built from the typed events the VM's event history keeps
// (hypervisor/event_history.ts), so it reaches beyond the event log's ring; each entry carries
// its step, so a debugger can `goto` there.

import { tlbiByName } from "../emulator/tlbi.ts";
import { hex } from "../emulator/types.ts";
import type { EventKind, KvmEventData, S2TableWriteEventData } from "../hypervisor/event_data.ts";
import { formatEventData } from "../hypervisor/event_format.ts";
import type { HistoryEntry } from "../hypervisor/event_history.ts";
import { decodeRangeTlbi, ipas2e1Base, tlbiTtl, ttlToSize } from "../hypervisor/tlbi_range.ts";
import type { Kvm } from "../hypervisor/vm.ts";

/** The address spaces of DESIGN.md: nested IPA (L2's), canonical IPA (L1's), host PA. */
export type WhySpace = "nipa" | "ipa" | "pa";

export const WHY_SPACE_NAMES: Record<WhySpace, string> = { nipa: "nested IPA", ipa: "canonical IPA", pa: "host PA" };

/** Entries shown when the caller does not say. */
export const WHY_LIMIT = 40;

export interface WhyOptions {
  /** Only this shadow MMU's nested IPA space (nested queries; default every MMU). */
  mmu?: number;
  /** At most this many entries, the newest (default WHY_LIMIT). */
  limit?: number;
}

export interface WhyEntry {
  /** The step the event happened at (what `goto` takes). */
  readonly step: number;
  /** Its number in the event log: orders events of the same step. */
  readonly seq: number;
  readonly kind: EventKind;
  /** Who did it, for a guest's store into an L1 table (null for L0's actions and injections). */
  readonly vcpu: number | null;
  readonly level: "L1" | "L2" | null;
  readonly pc: bigint | null;
  /** The canonical IPA through which a nested or host PA query reached the event, if it did. */
  readonly via: bigint | null;
  /** The event's text (as `--trace` prints it). */
  readonly text: string;
  readonly data: KvmEventData;
}

export interface WhyResult {
  readonly addr: bigint;
  readonly space: WhySpace;
  /** How `auto` chose the space (null when the caller named it). */
  readonly chosen: string | null;
  readonly mmu: number | null;
  /** The canonical IPAs the address was followed to (nested IPA and host PA queries). */
  readonly canonical: readonly bigint[];
  /** What maps the address now, one line each. */
  readonly now: readonly string[];
  /** Newest first. */
  readonly entries: readonly WhyEntry[];
  /** Entries found beyond the limit. */
  readonly more: number;
  /** Kinds whose older events the history no longer holds, with how many it dropped. */
  readonly dropped: readonly [EventKind, number][];
}

const PAGE = 0x1000n;
const SZ_2M = 0x20_0000n;
const SZ_1G = 0x4000_0000n;
/** Descriptor bits 47:12: output and next-table addresses. */
const DESC_OA = ((1n << 48n) - 1n) & ~(PAGE - 1n);

const pageOf = (a: bigint): bigint => a & ~(PAGE - 1n);
const covers = (start: bigint, size: bigint, a: bigint): boolean => a >= start && a - start < size;

/** Which space `auto` means for `addr`: host PA in L0's pool, canonical IPA in L1's RAM, else nested IPA. */
export function whySpaceOf(kvm: Kvm, addr: bigint): { space: WhySpace; chosen: string } {
  const slot = kvm.memslots.find((s) => s.contains(addr));
  if (slot) return { space: "ipa", chosen: `inside L1 RAM (memslot ${hex(slot.base)}..${hex(slot.end)}); say nipa for L2's view` };
  if (addr < 1n << 53n && kvm.pool.contains(Number(pageOf(addr)))) return { space: "pa", chosen: "inside L0's host page pool" };
  return { space: "nipa", chosen: "outside L1 RAM and host memory" };
}

/** What a descriptor written into an L1 table outputs: a leaf's canonical range, a next table, or nothing. */
function descriptorOutput(d: bigint, level: number, span: bigint): { base: bigint; size: bigint; table: boolean } | null {
  if ((d & 1n) === 0n) return null;
  const table = (d & 2n) !== 0n && level < 3;
  if (level === 3 && (d & 2n) === 0n) return null;
  const oa = d & DESC_OA;
  return table ? { base: oa, size: PAGE, table: true } : { base: oa & ~(span - 1n), size: span, table: false };
}

/** Whether an L1 stage-2 TLBI (`op`, `operand`) reaches nested IPA `n` (by its operand, as L0 sizes it at most). */
function tlbiReaches(op: string, operand: bigint, n: bigint): boolean {
  const t = tlbiByName(op);
  switch (t?.kind) {
    case "IPAS2E1": {
      const base = ipas2e1Base(operand);
      const ttl = ttlToSize(tlbiTtl(operand));
      if (ttl !== 0n) return covers(base & ~(ttl - 1n), ttl, n);
      // Without a TTL hint L0 sizes it by the shadow leaf there: a leaf starting at the base.
      return [PAGE, SZ_2M, SZ_1G].some((s) => base === (n & ~(s - 1n)));
    }
    case "RIPAS2E1": {
      const r = decodeRangeTlbi(operand);
      return covers(r.base, r.size, n);
    }
    case "VMALLS12E1":
    case "ALLE1":
      return true;
    default:
      return false;
  }
}

/** Whether the event is about nested IPA `n` of shadow MMU `mmu` (null: any). */
function touchesNested(e: KvmEventData, n: bigint, mmu: number | null): boolean {
  const inMmu = (m: number): boolean => mmu === null || m === mmu;
  switch (e.kind) {
    case "shadow-fault":
      return inMmu(e.mmu) && covers(e.nestedIpa, e.size, n);
    case "relax-perms":
      return e.mmu !== null && inMmu(e.mmu) && covers(e.ipa, e.size, n);
    case "inject":
      return e.into === "l1-stage2" && pageOf(e.nestedIpa) === pageOf(n);
    case "s2-table-write":
      return covers(e.nestedIpa, e.span, n);
    case "tlbi":
      return e.removed > 0 && tlbiReaches(e.op, e.operand, n);
    case "recycle":
      return inMmu(e.mmu);
    case "unmap":
      // A strategy that empties every valid shadow MMU, whatever the range.
      return e.scope === "nested" && e.start === undefined && e.removed > 0;
    case "chaos":
      if (e.action === "tlbi") return tlbiReaches(e.op, e.operand, n);
      if (e.action === "recycle") return e.mmu === "any-valid" || inMmu(e.mmu);
      return e.action === "fail-revmap" || e.action === "skip-tlbi";
    default:
      return false;
  }
}

/** Whether the event is about canonical IPA `c`. `direct`: also the leaves and descriptors mapping it. */
function touchesCanonical(kvm: Kvm, e: KvmEventData, c: bigint, direct: boolean): boolean {
  switch (e.kind) {
    case "shadow-fault":
      return direct && covers(e.canonicalIpa, e.size, c);
    case "relax-perms":
      return direct && covers(e.mmu === null ? e.ipa : e.canonicalIpa, e.size, c);
    case "canonical-fault":
      return covers(e.ipa, e.size, c);
    case "s2-table-write":
      return direct && writesCanonical(e, c);
    case "unmap":
      return e.start === undefined ? e.removed > 0 : covers(e.start, e.size ?? 0n, c);
    case "memslot":
      return covers(e.start, e.size, c);
    case "coalesce":
      return covers(e.ipa, e.size, c);
    case "revmap":
      return c >= e.start && c <= e.last;
    case "chaos":
      switch (e.action) {
        case "unmap":
          return covers(e.ipa, e.size, c);
        case "split":
        case "coalesce":
          return covers(e.ipa & ~(SZ_2M - 1n), SZ_2M, c);
        case "delete-memslot":
        case "log-dirty":
        case "get-dirty-log":
          return sameMemslot(kvm, e.ipa, c);
        case "fail-revmap":
        case "skip-tlbi":
          return true;
        default:
          return false;
      }
    default:
      return false;
  }
}

/** A descriptor write into the L1 table page at `c`, or whose old or new output covers `c`. */
function writesCanonical(e: S2TableWriteEventData, c: bigint): boolean {
  if (pageOf(e.ipa) === pageOf(c)) return true;
  for (const d of [e.old, e.new]) {
    const o = descriptorOutput(d, e.tableLevel, e.span);
    if (o !== null && covers(o.base, o.size, c)) return true;
  }
  return false;
}

function sameMemslot(kvm: Kvm, a: bigint, b: bigint): boolean {
  const s = kvm.memslots.find((m) => m.contains(a));
  return s !== undefined ? s.contains(b) : pageOf(a) === pageOf(b);
}

/** The host range an event maps (and the canonical IPA at its start), for host PA queries. */
function hostMapping(e: KvmEventData): { pa: bigint; size: bigint; ipa: bigint } | null {
  switch (e.kind) {
    case "shadow-fault":
      return { pa: e.pa, size: e.size, ipa: e.canonicalIpa };
    case "canonical-fault":
      return { pa: e.pa, size: e.size, ipa: e.ipa };
    case "coalesce":
      return e.phase === "done" && !e.aborted ? { pa: e.pa, size: e.size, ipa: e.ipa } : e.phase === "split" ? { pa: e.pa, size: e.size, ipa: e.ipa } : null;
    default:
      return null;
  }
}

function entryOf(h: HistoryEntry, via: bigint | null): WhyEntry {
  const d = h.data;
  const who = d.kind === "s2-table-write" ? d : null;
  return {
    step: h.step, seq: h.seq, kind: d.kind, vcpu: who?.vcpu ?? null, level: who?.level ?? null, pc: who?.pc ?? null, via,
    text: formatEventData(d), data: d,
  };
}

/** The canonical IPAs nested `n` was (and is) mapped to, newest first. */
function canonicalOfNested(kvm: Kvm, all: readonly HistoryEntry[], n: bigint, mmu: number | null): bigint[] {
  const out: bigint[] = [];
  const add = (c: bigint): void => {
    if (!out.includes(c)) out.push(c);
  };
  for (const m of kvm.nestedMmus) {
    if (mmu !== null && m.index !== mmu) continue;
    const c = m.shadowOrigin.get(pageOf(n));
    if (c !== undefined && m.pgt.getLeaf(n) !== null) add(c + (n & (PAGE - 1n)));
  }
  for (const { data: e } of all) {
    if (e.kind === "shadow-fault" && (mmu === null || e.mmu === mmu) && covers(e.nestedIpa, e.size, n)) add(e.canonicalIpa + (n - e.nestedIpa));
  }
  return out;
}

/** The canonical IPAs host `p` backed (now, and as the events recorded), newest first. */
function canonicalOfHost(kvm: Kvm, all: readonly HistoryEntry[], p: bigint): bigint[] {
  const out: bigint[] = [];
  const add = (c: bigint): void => {
    if (!out.includes(c)) out.push(c);
  };
  if (p < 1n << 53n) {
    for (const slot of kvm.memslots) {
      const c = slot.ipaOfHostPa(Number(pageOf(p)));
      if (c !== null) add(c + (p & (PAGE - 1n)));
    }
  }
  for (const { data: e } of all) {
    const m = hostMapping(e);
    if (m !== null && covers(m.pa, m.size, p)) add(m.ipa + (p - m.pa));
  }
  return out;
}

/** What maps the address now: shadow leaves, the canonical stage-2, the memslot's host page. */
function mappedNow(kvm: Kvm, space: WhySpace, addr: bigint, mmu: number | null, canonical: readonly bigint[]): string[] {
  const lines: string[] = [];
  if (space === "nipa") {
    for (const m of kvm.nestedMmus) {
      if (!m.valid || (mmu !== null && m.index !== mmu)) continue;
      const leaf = m.pgt.getLeaf(addr);
      if (leaf) lines.push(`mmu${m.index} maps nested ${hex(leaf.ipa)}+${hex(leaf.size)} -> host PA ${hex(leaf.pa)}`);
    }
  }
  for (const c of space === "ipa" ? [addr] : canonical) {
    const leaf = kvm.mmu.pgt.getLeaf(c);
    const slot = kvm.memslots.find((s) => s.contains(c));
    const backing = slot?.hostPa(c) ?? null;
    lines.push(
      `canonical ${hex(c)}: canonical stage-2 ${leaf ? `maps ${hex(leaf.ipa)}+${hex(leaf.size)} -> host PA ${hex(leaf.pa)}` : "maps nothing"}; ` +
        (slot ? `the host backs it with ${backing === null ? "nothing" : `host PA ${hex(backing)}`}` : "not L1 RAM") +
        (kvm.pageTrack.isTracked(c) ? "; an L1 stage-2 table page" : ""),
    );
  }
  if (space === "pa") {
    const pa = Number(pageOf(addr));
    if (addr < 1n << 53n && kvm.pool.contains(pa)) lines.push(`host PA ${hex(pageOf(addr))}: ${kvm.pool.isAllocated(pa) ? "allocated" : "free (poisoned)"} in L0's pool`);
  }
  return lines;
}

/**
 * The history of the translations covering `addr` in `space` ("auto": host PA in L0's pool,
 * canonical IPA in L1's RAM, else nested IPA), newest first.
 */
export function why(kvm: Kvm, addr: bigint, space: WhySpace | "auto" = "auto", opts: WhyOptions = {}): WhyResult {
  const auto = space === "auto" ? whySpaceOf(kvm, addr) : null;
  const sp = auto?.space ?? (space as WhySpace);
  const mmu = sp === "nipa" ? (opts.mmu ?? null) : null;
  const history = kvm.events.history;
  const all = history.all();
  const canonical = sp === "nipa" ? canonicalOfNested(kvm, all, addr, mmu) : sp === "pa" ? canonicalOfHost(kvm, all, addr) : [];
  const found: WhyEntry[] = [];
  for (const h of all) {
    const e = h.data;
    let hit = false;
    let via: bigint | null = null;
    if (sp === "nipa") hit = touchesNested(e, addr, mmu);
    else if (sp === "ipa") hit = touchesCanonical(kvm, e, addr, true);
    else {
      const m = hostMapping(e);
      hit = (m !== null && covers(m.pa, m.size, addr)) || (e.kind === "s2-table-write" && pageOf(e.pa) === pageOf(addr));
    }
    if (!hit) {
      // Through the canonical IPAs: a nested query takes what removed or injected there; a host PA
      // query everything about them.
      const c = canonical.find((x) => touchesCanonical(kvm, e, x, sp === "pa"));
      if (c === undefined) continue;
      via = c;
    }
    found.push(entryOf(h, via));
  }
  const limit = opts.limit ?? WHY_LIMIT;
  return {
    addr, space: sp, chosen: auto?.chosen ?? null, mmu, canonical,
    now: mappedNow(kvm, sp, addr, mmu, canonical),
    entries: found.slice(0, limit), more: Math.max(0, found.length - limit), dropped: history.droppedKinds(),
  };
}

/** One entry as a line: the step first (what `goto` takes), the kind, the event's text. */
export function formatWhyEntry(e: WhyEntry): string {
  return `${String(e.step).padStart(10)}  ${e.kind.padEnd(15)} ${e.text}${e.via !== null ? `  [via canonical ${hex(e.via)}]` : ""}`;
}

/** The answer as plain text lines: a heading, what maps it now, then one line per event, newest first. */
export function formatWhy(r: WhyResult): string[] {
  const space = WHY_SPACE_NAMES[r.space] + (r.mmu !== null ? ` of mmu${r.mmu}` : "");
  const lines = [`why ${hex(r.addr)} (${space}${r.chosen !== null ? `: ${r.chosen}` : ""}):`];
  if (r.canonical.length > 0) lines.push(`  followed to canonical ${r.canonical.map(hex).join(", ")}`);
  for (const l of r.now) lines.push(`  now: ${l}`);
  if (r.entries.length === 0) lines.push("  no event in the history touches it");
  else lines.push(`  ${r.entries.length} event${r.entries.length === 1 ? "" : "s"}, newest first (step, kind, what):`, ...r.entries.map(formatWhyEntry));
  if (r.more > 0) lines.push(`  … ${r.more} older`);
  if (r.dropped.length > 0) lines.push(`  (the history keeps the newest events of each kind; it dropped older ${r.dropped.map(([k, n]) => `${k} ×${n}`).join(", ")})`);
  return lines;
}
