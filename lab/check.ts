// The invariant checker: after every L0 action, compare what the shadow stage-2 tables map with
// the host backing of the canonical pages they were built from, and with the bookkeeping the unmap
// strategy relies on. Ground truth is `KvmS2Mmu.shadowOrigin` (recorded at every shadow install), never the
// strategy's own records, so a strategy cannot vouch for itself.
//   S (safety)  no shadow leaf maps a host page other than the one backing (Memslot.hostPa) the
//               canonical IPA the leaf was built from, nor a page back in the pool; nor does the
//               canonical stage-2 map a page back in the pool. Guests reach host memory only
//               through these tables, so while S holds neither L1 nor L2 can read poison.
//   R, A        the unmap strategy's coverage (UnmapStrategy.coverage): each shadow leaf's
//               canonical pages are covered by the strategy's records, unless it exempts the MMU
//               (R: revmap coverage, A: accelerator coverage; a strategy may declare none).
// Nothing is cached between checks: every check reads the tables as they are now.

import type { Exit } from "../emulator/exception.ts";
import { gfnToMemslot } from "../hypervisor/mmu.ts";
import { formatEvent } from "../hypervisor/events.ts";
import { MonitorStop, type VmMonitor } from "../hypervisor/monitor.ts";
import type { KvmS2Mmu } from "../hypervisor/nested.ts";
import type { Leaf } from "../hypervisor/pgtable.ts";
import type { CanonicalIpa, NestedIpa } from "../hypervisor/addr.ts";
import type { RangeEntry } from "../hypervisor/unmap/range_tree.ts";
import type { CoverageInvariant, UnmapCoverage } from "../hypervisor/unmap/strategy.ts";
import type { KvmVcpu } from "../hypervisor/vcpu.ts";
import type { Kvm } from "../hypervisor/vm.ts";
import { hex } from "../emulator/types.ts";

const PAGE = 0x1000n;
const SZ_2M = 0x20_0000n;
/** Events carried by a violation report. */
export const REPORT_EVENTS = 50;

export type InvariantName = "S" | CoverageInvariant;

export const INVARIANT_TITLES: Record<InvariantName, string> = {
  S: "safety",
  R: "revmap coverage",
  A: "accelerator coverage",
};


export interface Violation {
  invariant: InvariantName;
  /** One line: what is wrong. */
  reason: string;
  /** The MMU: index -1 (hw VMID 1) is the canonical one, whose leaves map canonical IPAs. */
  mmu: { index: number; hwVmid: number; l1Vttbr: bigint };
  /**
   * The offending page: nested IPA (for the canonical MMU, the canonical IPA), the canonical IPA
   * it was built from (null if unknown), host PA.
   */
  nestedIpa: bigint;
  canonicalIpa: bigint | null;
  hostPa: bigint;
  /** The shadow leaf holding the page. */
  leaf: { ipa: bigint; size: bigint; pa: bigint };
  /** The host page backing canonicalIpa instead (host PA), null for nothing. */
  canonicalMaps: bigint | null;
  /** The range the strategy keeps for canonicalIpa (R: revmap, A: canonical tree), if any. */
  range?: RangeEntry | null;
  /** The last events, formatted, oldest first. */
  events: string[];
}


/**
 * The host PA backing canonical `ipa` (Memslot.hostPa of the memslot holding it, null when not
 * resident), and the end of the run over which the backing is linear (a block-backed 2M region,
 * else the page). Shadow leaves are built from host backing, not from the canonical stage-2: the
 * latter may have dropped a whole block around an unmapped page whose rest the host still backs.
 */
function canonicalLookup(kvm: Kvm, ipa: bigint): { pa: bigint | null; end: bigint } {
  const page = ipa & ~(PAGE - 1n);
  const slot = gfnToMemslot(kvm, ipa);
  const pa = slot?.hostPa(page) ?? null;
  if (pa === null) return { pa: null, end: page + PAGE };
  const end = slot!.isBlockBacked(page) ? (page | (SZ_2M - 1n)) + 1n : page + PAGE;
  return { pa: BigInt(pa) + (ipa - page), end };
}

interface ShadowLeaf {
  mmu: KvmS2Mmu;
  leaf: Leaf;
  /** The canonical IPA the leaf was built from (undefined: never recorded). */
  origin: bigint | undefined;
}

/** Every leaf of every valid shadow MMU, with the canonical IPA it was built from. */
function shadowLeaves(kvm: Kvm): ShadowLeaf[] {
  const out: ShadowLeaf[] = [];
  for (const mmu of kvm.nestedMmus) {
    if (!mmu.valid) continue;
    for (const leaf of mmu.pgt.leaves()) out.push({ mmu, leaf, origin: mmu.shadowOrigin.get(leaf.ipa) });
  }
  return out;
}

function violation(
  kvm: Kvm,
  invariant: InvariantName,
  reason: string,
  mmu: KvmS2Mmu,
  leaf: Leaf,
  off: bigint,
  origin: bigint | undefined,
  extra: Partial<Violation> = {},
): Violation {
  const canonicalIpa = origin === undefined ? null : origin + off;
  return {
    invariant,
    reason,
    mmu: { index: mmu.index, hwVmid: mmu.hwVmid, l1Vttbr: mmu.tlbVttbr },
    nestedIpa: leaf.ipa + off,
    canonicalIpa,
    hostPa: leaf.pa + off,
    leaf: { ipa: leaf.ipa, size: leaf.size, pa: leaf.pa },
    canonicalMaps: canonicalIpa === null ? null : canonicalLookup(kvm, canonicalIpa).pa,
    events: kvm.events.recent(REPORT_EVENTS).map(formatEvent),
    ...extra,
  };
}

/** S: every shadow page maps what the canonical stage-2 maps at its origin, and a live host page. */
export function checkSafety(kvm: Kvm, leaves = shadowLeaves(kvm)): Violation | null {
  for (const { mmu, leaf, origin } of leaves) {
    if (origin === undefined) return violation(kvm, "S", "untracked shadow leaf (no canonical origin recorded)", mmu, leaf, 0n, origin);
    const pa = Number(leaf.pa);
    const end = pa + Number(leaf.size);
    for (let p = pa; p < end; p += 0x1000) {
      if (!kvm.pool.isAllocated(p)) {
        return violation(kvm, "S", "stale shadow mapping of a reclaimed page (host page is free/poisoned)", mmu, leaf, BigInt(p - pa), origin);
      }
    }
    // Both mappings are linear within a leaf: compare once per canonical leaf overlapped.
    for (let off = 0n; off < leaf.size; ) {
      const c = canonicalLookup(kvm, origin + off);
      if (c.pa !== leaf.pa + off) {
        const why = c.pa === null ? "the host no longer backs its origin" : "the host backs its origin with another host page";
        return violation(kvm, "S", `stale shadow mapping: ${why}`, mmu, leaf, off, origin);
      }
      off = c.end - origin;
    }
  }
  return checkCanonicalPages(kvm);
}

/** L1's own accesses: the canonical stage-2 maps no host page the pool has taken back. */
function checkCanonicalPages(kvm: Kvm): Violation | null {
  for (const leaf of kvm.mmu.pgt.leaves()) {
    const pa = Number(leaf.pa);
    const end = pa + Number(leaf.size);
    for (let p = pa; p < end; p += 0x1000) {
      if (kvm.pool.isAllocated(p)) continue;
      const off = BigInt(p - pa);
      const v = violation(kvm, "S", "the canonical stage-2 maps a reclaimed page (L1 would read poison)", kvm.mmu, leaf, off, leaf.ipa);
      return { ...v, canonicalMaps: leaf.pa + off };
    }
  }
  return null;
}

/** One coverage invariant of the unmap strategy over every shadow leaf. */
export function checkCoverage(kvm: Kvm, coverage: UnmapCoverage, leaves = shadowLeaves(kvm)): Violation | null {
  const invariant = coverage.invariant;
  for (const { mmu, leaf, origin } of leaves) {
    if (coverage.exempt(mmu)) continue;
    if (origin === undefined) return violation(kvm, invariant, "untracked shadow leaf (no canonical origin recorded)", mmu, leaf, 0n, origin);
    for (let off = 0n; off < leaf.size; ) {
      const c = (origin + off) as CanonicalIpa;
      const a = coverage.covers(mmu, c, (leaf.ipa + off) as NestedIpa);
      if (!a.covered) return violation(kvm, invariant, a.reason, mmu, leaf, off, origin, { range: a.range });
      off = a.last + 1n - origin;
    }
  }
  return null;
}

/** S, then the strategy's coverage invariants in its order (R, then A): the first violation, or null. */
export function checkInvariants(kvm: Kvm): Violation | null {
  const leaves = shadowLeaves(kvm);
  const v = checkSafety(kvm, leaves);
  if (v) return v;
  for (const c of kvm.unmap.coverage) {
    const w = checkCoverage(kvm, c, leaves);
    if (w) return w;
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
      `  canonical IPA ${hex(v.nestedIpa)} -> host PA ${hex(v.hostPa)}, a free pool page`,
    );
  } else {
    lines.push(
      `  MMU: nested mmu${v.mmu.index}, hw VMID ${v.mmu.hwVmid}, L1 VTTBR ${hex(v.mmu.l1Vttbr)}`,
      `  shadow leaf: nested ${hex(v.leaf.ipa)} size ${hex(v.leaf.size)} -> host PA ${hex(v.leaf.pa)}`,
      `  nested IPA ${hex(v.nestedIpa)} -> canonical IPA ${v.canonicalIpa === null ? "unknown" : hex(v.canonicalIpa)} -> host PA ${hex(v.hostPa)}`,
      `  host backing there: ${v.canonicalMaps === null ? "nothing" : "host PA " + hex(v.canonicalMaps)}`,
    );
  }
  if (v.range !== undefined) lines.push(`  strategy range: ${v.range ? `[${hex(v.range.index)}, ${hex(v.range.last)}] = ${hex(v.range.value)}` : "none"}`);
  lines.push(`  last ${v.events.length} events:`, ...v.events.map((e) => "    " + e));
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
    ...(v.range !== undefined ? { range: v.range ? { index: hex(v.range.index), last: hex(v.range.last), value: hex(v.range.value) } : null } : {}),
    events: v.events,
  };
}

/** The MonitorStop that ends a run on this violation (verdict "invariant S|R|A"). */
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

  constructor(readonly kvm: Kvm) {}

  afterExit(_vcpu: KvmVcpu, _exit: Exit): void {
    this.checks++;
    assertInvariants(this.kvm);
  }
}

/** Whether the VM runs the invariant checker (then injections are checked at once as well). */
export function checkerAttached(kvm: Kvm): boolean {
  return kvm.monitors.some((m) => m instanceof InvariantChecker);
}
