// The invariant checker: after every L0 action, compare what the shadow stage-2 tables map with
// what they ought to map, computed by the checker itself (check_truth.ts: L1's stage-2 walked when
// the checker first sees a shadow leaf, then the host page backing the canonical IPA), never with
// records the fault path or the strategy wrote, so neither can vouch for itself.
//   S (safety)  every shadow page maps the host page that currently backs the canonical IPA the
//               checker computed for it, and no page back in the pool; the canonical stage-2 maps
//               only the pages that back the IPAs it maps. Guests reach host memory only through
//               these tables, so while S holds neither L1 nor L2 can read poison. S does not look
//               at the canonical stage-2 for shadow leaves: a nested fault need not fill it.
//   R, A        the unmap strategy's coverage (UnmapStrategy.coverage): each shadow leaf's
//               canonical pages are covered by the strategy's records, unless it exempts the MMU
//               (R: revmap coverage, A: accelerator coverage; a strategy may declare none).
//   L           L1 consistency (check_l1.ts): after L0 handled an L1 stage-2 TLBI, every shadow
//               leaf the TLBI covers agrees with L1's stage-2 as it is now, or is gone.
//   T           TLB (check_tlb.ts): no CPU TLB entry of a shadow VMID translates through a
//               shadow leaf that no longer exists.
// The records are exact when checks run after every L0 action (the `check` monitor); a caller
// that checks now and then gets first sight later, when L1 may have changed its tables since.

import type { Exit } from "../emulator/exception.ts";
import { coalescePendingLeaf } from "../hypervisor/coalesce.ts";
import { formatEvent } from "../hypervisor/events.ts";
import { MonitorStop, type VmMonitor } from "../hypervisor/monitor.ts";
import type { KvmS2Mmu } from "../hypervisor/nested.ts";
import type { CanonicalIpa, NestedIpa } from "../hypervisor/addr.ts";
import type { RangeEntry } from "../hypervisor/unmap/range_tree.ts";
import type { CoverageInvariant, UnmapCoverage } from "../hypervisor/unmap/strategy.ts";
import type { KvmVcpu } from "../hypervisor/vcpu.ts";
import type { Kvm } from "../hypervisor/vm.ts";
import { hex } from "../emulator/types.ts";
import { checkL1Consistency, describeTlbi, type RangeTlbiScope } from "./check_l1.ts";
import { checkTlb } from "./check_tlb.ts";
import { formatWhy, why } from "./why.ts";
import { checkerState, firstUnbacked, hostBacking, type TrackedLeaf } from "./check_truth.ts";

const PAGE = 0x1000n;
/** Events carried by a violation report. */
export const REPORT_EVENTS = 50;

export type InvariantName = "S" | CoverageInvariant | "L" | "T";

export const INVARIANT_TITLES: Record<InvariantName, string> = {
  S: "safety",
  R: "revmap coverage",
  A: "accelerator coverage",
  L: "L1 consistency",
  T: "TLB",
};

/** Every invariant, in the order they are checked. */
export const INVARIANT_NAMES: readonly InvariantName[] = ["S", "R", "A", "L", "T"];

export interface Violation {
  invariant: InvariantName;
  /** One line: what is wrong. */
  reason: string;
  /** The MMU: index -1 (hw VMID 1) is the canonical one, whose leaves map canonical IPAs. */
  mmu: { index: number; hwVmid: number; l1Vttbr: bigint };
  /**
   * The offending page: nested IPA (for the canonical MMU, the canonical IPA), the canonical IPA
   * the checker computed for it (null if L1's stage-2 gave none), host PA.
   */
  nestedIpa: bigint;
  canonicalIpa: bigint | null;
  hostPa: bigint;
  /** The shadow leaf holding the page. */
  leaf: { ipa: bigint; size: bigint; pa: bigint };
  /** What the canonical stage-2 maps at canonicalIpa (host PA), null for nothing (informational). */
  canonicalMaps: bigint | null;
  /** The host page backing canonicalIpa now (the memslot's resident page), null for none. */
  hostBacking: bigint | null;
  /** The range the strategy keeps for canonicalIpa (R: revmap, A: canonical tree), if any. */
  range?: RangeEntry | null;
  /** L: the TLBI after which the leaf should have gone, and what L1's stage-2 maps the page to now. */
  tlbi?: string;
  l1Maps?: bigint | null;
  /** T: the stale TLB entry (CPU, VA, IPA, PA, size). */
  tlbEntry?: { cpu: number; va: bigint; ipa: bigint; pa: bigint; size: bigint };
  /** The last events, formatted, oldest first. */
  events: string[];
  /**
   * `why` of the offending page (lab/why.ts), as lines: the nested IPA in its shadow MMU (through
   * the canonical IPA it maps, the unmaps and injections there), or the canonical IPA.
   */
  why: string[];
}


/** The host PA the canonical stage-2 maps at `ipa`. */
function canonicalLookup(kvm: Kvm, ipa: bigint): bigint | null {
  // A coalescing in its break-before-make window hides the range; it still stands for its block.
  const l = kvm.mmu.pgt.getLeaf(ipa) ?? coalescePendingLeaf(kvm, ipa);
  return l ? l.pa + (ipa - l.ipa) : null;
}

function violation(
  kvm: Kvm,
  invariant: InvariantName,
  reason: string,
  mmu: KvmS2Mmu,
  leaf: { ipa: bigint; size: bigint; pa: bigint },
  off: bigint,
  origin: bigint | null,
  extra: Partial<Violation> = {},
): Violation {
  const canonicalIpa = origin === null ? null : origin + off;
  const page = leaf.ipa + off;
  const provenance = mmu.index < 0 ? why(kvm, page, "ipa") : why(kvm, page, "nipa", { mmu: mmu.index });
  return {
    invariant,
    reason,
    mmu: { index: mmu.index, hwVmid: mmu.hwVmid, l1Vttbr: mmu.tlbVttbr },
    nestedIpa: leaf.ipa + off,
    canonicalIpa,
    hostPa: leaf.pa + off,
    leaf: { ipa: leaf.ipa, size: leaf.size, pa: leaf.pa },
    canonicalMaps: canonicalIpa === null ? null : canonicalLookup(kvm, canonicalIpa),
    hostBacking: canonicalIpa === null ? null : hostBacking(kvm, canonicalIpa),
    events: kvm.events.recent(REPORT_EVENTS).map(formatEvent),
    why: formatWhy(provenance),
    ...extra,
  };
}

/** Why host page `pa` does not (or no longer) stand for canonical `c`. */
function unbackedReason(kvm: Kvm, c: bigint, pa: bigint): string {
  if (!kvm.pool.isAllocated(Number(pa & ~(PAGE - 1n)))) return "stale shadow mapping of a reclaimed page (host page is free/poisoned)";
  return hostBacking(kvm, c) === null
    ? "stale shadow mapping: the host no longer backs its canonical IPA"
    : "stale shadow mapping: another host page backs its canonical IPA";
}

/** S: every shadow page maps the host page backing the canonical IPA the checker computed for it. */
export function checkSafety(kvm: Kvm, leaves: readonly TrackedLeaf[] = checkerState(kvm).refresh()): Violation | null {
  for (const { mmu, leaf, truth } of leaves) {
    if (truth.canonical === null) return violation(kvm, "S", `shadow leaf L1 never mapped: ${truth.error}`, mmu, leaf, 0n, null);
    if (truth.error !== null) return violation(kvm, "S", `shadow leaf not what L1 maps: ${truth.error}`, mmu, leaf, 0n, truth.canonical);
    const off = firstUnbacked(kvm, truth.canonical, leaf.pa, leaf.size);
    if (off !== null) return violation(kvm, "S", unbackedReason(kvm, truth.canonical + off, leaf.pa + off), mmu, leaf, off, truth.canonical);
  }
  return checkCanonicalPages(kvm);
}

/** L1's own accesses: the canonical stage-2 maps only the host pages backing its IPAs. */
function checkCanonicalPages(kvm: Kvm): Violation | null {
  for (const leaf of kvm.mmu.pgt.leaves()) {
    const off = firstUnbacked(kvm, leaf.ipa, leaf.pa, leaf.size);
    if (off === null) continue;
    const free = !kvm.pool.isAllocated(Number(leaf.pa + off));
    const why = free ? "the canonical stage-2 maps a reclaimed page (L1 would read poison)" : "the canonical stage-2 maps a page that does not back its IPA";
    return violation(kvm, "S", why, kvm.mmu, leaf, off, leaf.ipa);
  }
  return null;
}

/** One coverage invariant of the unmap strategy over every shadow leaf. */
export function checkCoverage(kvm: Kvm, coverage: UnmapCoverage, leaves: readonly TrackedLeaf[] = checkerState(kvm).refresh()): Violation | null {
  const invariant = coverage.invariant;
  for (const { mmu, leaf, truth } of leaves) {
    if (coverage.exempt(mmu)) continue;
    const origin = truth.canonical;
    if (origin === null) return violation(kvm, invariant, `shadow leaf L1 never mapped: ${truth.error}`, mmu, leaf, 0n, null);
    for (let off = 0n; off < leaf.size; ) {
      const c = (origin + off) as CanonicalIpa;
      const a = coverage.covers(mmu, c, (leaf.ipa + off) as NestedIpa);
      if (!a.covered) return violation(kvm, invariant, a.reason, mmu, leaf, off, origin, { range: a.range });
      off = a.last + 1n - origin;
    }
  }
  return null;
}

export interface CheckOptions {
  /**
   * How far L takes an L1 range TLBI (RIPAS2E1) to reach: "architecture" (default) every cached
   * translation of L1's containing an address of the range; "kvm" only the shadow leaves the range
   * overlaps, as KVM's handle_ripas2e1is unmaps (check_l1.ts).
   */
  rangeTlbi?: RangeTlbiScope;
}

/** Every invariant in order (S, the strategy's R then A, L, T): the first violation, or null. */
export function checkInvariants(kvm: Kvm, opts: CheckOptions = {}): Violation | null {
  const state = checkerState(kvm);
  const leaves = state.refresh();
  // Both are consumed now, so that each TLBI and each vanished leaf is checked once.
  const tlbis = state.takeTlbis();
  const vanished = state.takeVanished();
  const v = checkSafety(kvm, leaves);
  if (v) return v;
  for (const c of kvm.unmap.coverage) {
    const w = checkCoverage(kvm, c, leaves);
    if (w) return w;
  }
  const l = checkL1Consistency(kvm, state, leaves.mmus, tlbis, opts.rangeTlbi);
  if (l) {
    return violation(kvm, "L", l.reason, l.mmu, l.leaf, l.off, l.truth.canonical, { tlbi: describeTlbi(l.tlbi), l1Maps: l.l1Maps });
  }
  const t = checkTlb(kvm, vanished);
  if (t) {
    const e = t.entry;
    const reason =
      t.nowMaps === null
        ? "stale TLB entry: its shadow leaf is gone and was not invalidated"
        : `stale TLB entry: the shadow table now maps host PA ${hex(t.nowMaps)} there`;
    const tlbEntry = { cpu: t.cpu, va: e.va, ipa: e.ipa, pa: BigInt(e.pa), size: 1n << BigInt(e.shift) };
    return violation(kvm, "T", reason, t.mmu, t.gone.truth, e.ipa + t.off - t.gone.truth.ipa, t.gone.truth.canonical, { tlbEntry, hostPa: BigInt(e.pa) + t.off });
  }
  return null;
}

/** The report: which invariant, the MMU, the addresses, what the canonical stage-2 maps, events. */
export function formatViolation(v: Violation): string {
  const lines = [
    `invariant ${v.invariant} (${INVARIANT_TITLES[v.invariant]}) violated: ${v.reason}`,
  ];
  if (v.mmu.index < 0) {
    lines.push(
      `  MMU: canonical, hw VMID ${v.mmu.hwVmid}`,
      `  canonical leaf: ${hex(v.leaf.ipa)} size ${hex(v.leaf.size)} -> host PA ${hex(v.leaf.pa)}`,
      `  canonical IPA ${hex(v.nestedIpa)} -> host PA ${hex(v.hostPa)}; the host backs it with: ${v.hostBacking === null ? "nothing" : "host PA " + hex(v.hostBacking)}`,
    );
  } else {
    lines.push(
      `  MMU: nested mmu${v.mmu.index}, hw VMID ${v.mmu.hwVmid}, L1 VTTBR ${hex(v.mmu.l1Vttbr)}`,
      `  shadow leaf: nested ${hex(v.leaf.ipa)} size ${hex(v.leaf.size)} -> host PA ${hex(v.leaf.pa)}`,
      `  nested IPA ${hex(v.nestedIpa)} -> canonical IPA ${v.canonicalIpa === null ? "unknown" : hex(v.canonicalIpa)} -> host PA ${hex(v.hostPa)}`,
      `  the host backs the canonical IPA with: ${v.hostBacking === null ? "nothing" : "host PA " + hex(v.hostBacking)}`,
      `  canonical stage-2 maps there: ${v.canonicalMaps === null ? "nothing" : "host PA " + hex(v.canonicalMaps)}`,
    );
  }
  if (v.tlbi !== undefined) {
    lines.push(`  after: ${v.tlbi}`, `  L1's stage-2 maps the nested IPA now to: ${v.l1Maps === null || v.l1Maps === undefined ? "nothing" : "canonical IPA " + hex(v.l1Maps)}`);
  }
  if (v.tlbEntry !== undefined) {
    const e = v.tlbEntry;
    lines.push(`  stale TLB entry on vCPU ${e.cpu}: VA ${hex(e.va)} -> IPA ${hex(e.ipa)} -> host PA ${hex(e.pa)}, size ${hex(e.size)}`);
  }
  if (v.range !== undefined) lines.push(`  strategy range: ${v.range ? `[${hex(v.range.index)}, ${hex(v.range.last)}] = ${hex(v.range.value)}` : "none"}`);
  lines.push(`  last ${v.events.length} events:`, ...v.events.map((e) => "    " + e));
  lines.push(...v.why.map((l) => "  " + l));
  return lines.join("\n");
}

/** The violation as JSON-friendly details for a MonitorStop (addresses in hex). */
export function violationDetails(v: Violation): Record<string, unknown> {
  const h = (x: bigint | null): string | null => (x === null ? null : hex(x));
  return {
    invariant: v.invariant,
    title: INVARIANT_TITLES[v.invariant],
    reason: v.reason,
    mmu: { index: v.mmu.index, hwVmid: v.mmu.hwVmid, l1Vttbr: hex(v.mmu.l1Vttbr) },
    nestedIpa: hex(v.nestedIpa),
    canonicalIpa: h(v.canonicalIpa),
    hostPa: hex(v.hostPa),
    leaf: { ipa: hex(v.leaf.ipa), size: hex(v.leaf.size), pa: hex(v.leaf.pa) },
    canonicalMaps: h(v.canonicalMaps),
    hostBacking: h(v.hostBacking),
    ...(v.tlbi !== undefined ? { tlbi: v.tlbi, l1Maps: h(v.l1Maps ?? null) } : {}),
    ...(v.tlbEntry !== undefined
      ? { tlbEntry: { cpu: v.tlbEntry.cpu, va: hex(v.tlbEntry.va), ipa: hex(v.tlbEntry.ipa), pa: hex(v.tlbEntry.pa), size: hex(v.tlbEntry.size) } }
      : {}),
    ...(v.range !== undefined ? { range: v.range ? { index: hex(v.range.index), last: hex(v.range.last), value: hex(v.range.value) } : null } : {}),
    events: v.events,
    why: v.why,
  };
}

/** The MonitorStop that ends a run on this violation (verdict "invariant S|R|A|L|T"). */
export function violationStop(v: Violation): MonitorStop {
  return new MonitorStop(`invariant ${v.invariant}`, formatViolation(v), violationDetails(v));
}

/** Check now and throw the run-ending MonitorStop on a violation (for injections outside exits). */
export function assertInvariants(kvm: Kvm): void {
  const v = checkInvariants(kvm);
  if (v) throw violationStop(v);
}

/** The `check` monitor: all invariants after every handled exit. */
export class InvariantChecker implements VmMonitor {
  /** How many times the invariants were checked. */
  checks = 0;

  constructor(readonly kvm: Kvm) {
    // From the start: the state follows L1's TLBIs through the event log.
    checkerState(kvm);
  }

  afterExit(_vcpu: KvmVcpu, _exit: Exit): void {
    this.checks++;
    assertInvariants(this.kvm);
  }
}

/** Whether the VM runs the invariant checker (then injections are checked at once as well). */
export function checkerAttached(kvm: Kvm): boolean {
  return kvm.monitors.some((m) => m instanceof InvariantChecker);
}
