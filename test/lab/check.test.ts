// The invariant checker (lab/check.ts): quiet on every shipped guest pair while the host
// takes pages back between run chunks, and loud — with the right invariant and a usable report —
// when a shadow leaf outlives its canonical page, or a revmap / accelerator entry goes missing.

import { describe, expect, it } from "vitest";
import { checkInvariants, formatViolation, INVARIANT_TITLES, InvariantChecker, REPORT_EVENTS, type Violation } from "../../lab/check.ts";
import { kvmFaultInCanonical, kvmUnmapGfnRange } from "../../hypervisor/mmu.ts";
import { kvmTlbFlushVmidRange } from "../../hypervisor/tlb.ts";
import { CANONICAL_HW_VMID, type KvmS2Mmu } from "../../hypervisor/nested.ts";
import { accelOf } from "../../hypervisor/unmap/accel.ts";
import { revmapOf } from "../../hypervisor/unmap/revmap.ts";
import { KVM_PGTABLE_PROT_R, KVM_PGTABLE_PROT_W } from "../../hypervisor/pgtable.ts";
import { runVm } from "../../lab/run.ts";
import type { VmMonitor } from "../../hypervisor/monitor.ts";
import { kvmArchVcpuRun } from "../../hypervisor/scheduler.ts";
import { Kvm, type VmConfig } from "../../hypervisor/vm.ts";
import { GUEST_PAIRS, type GuestPair } from "../qemu/pairs.ts";
import { assemblePair, bootPair, E2E_MAX_STEPS, GUEST_MEMORY } from "../e2e/harness.ts";
import { hex } from "../../emulator/types.ts";
import { L1_VTCR, L1Stage2 } from "../../lab/fixtures/l1_stage2.ts";

const SZ_4K = 0x1000n;
const SZ_2M = 0x20_0000n;

/** Valid shadow leaves with the canonical IPA each was built from. */
function shadowLeaves(kvm: Kvm) {
  return kvm.nestedMmus
    .filter((m) => m.valid)
    .flatMap((mmu) => [...mmu.pgt.leaves()].map((leaf) => ({ mmu, leaf, origin: mmu.shadowOrigin.get(leaf.ipa)! })));
}

/** Take a canonical page away behind L0's back: the canonical entry and the host page go, shadows stay. */
function reclaimBehindL0(kvm: Kvm, ipa: bigint): void {
  kvm.mmu.pgt.unmap(ipa, SZ_4K);
  kvmTlbFlushVmidRange(kvm, CANONICAL_HW_VMID, ipa, SZ_4K);
  kvm.memslots[0]!.release(ipa, SZ_4K);
}

function expectReport(v: Violation, mmu: KvmS2Mmu): void {
  expect(v.mmu).toEqual({ index: mmu.index, hwVmid: mmu.hwVmid, l1Vttbr: mmu.tlbVttbr });
  expect(v.events.length).toBeGreaterThan(0);
  expect(v.events.length).toBeLessThanOrEqual(REPORT_EVENTS);
}

/** Run chunks grow from 1K steps (the shortest pairs end after ~5K) to 100K (checksum: ~1.5M). */
const chunkSize = (n: number): number => Math.min(1000 * 2 ** n, 100_000);

/**
 * Run a pair with the checker attached, taking back between run chunks, in turn: the canonical
 * page of a live shadow leaf (L2 data or code), L1's entry page, a 2M range of L2's memory.
 */
async function runWithUnmaps(pair: GuestPair, config: Partial<VmConfig>): Promise<void> {
  const kvm = await bootPair(pair.l1, pair.l2, { vcpus: pair.vcpus ?? 1, ...config });
  const checker = new InvariantChecker(kvm);
  kvm.monitors.push(checker);
  const vcpu = kvm.vcpus[0]!;
  let chunk = 0;
  let r = kvmArchVcpuRun(vcpu, chunkSize(0));
  while (r.kind === "budget" && kvm.steps < E2E_MAX_STEPS) {
    const leaves = shadowLeaves(kvm);
    const target = chunk % 3 === 2 ? null : chunk % 3 === 0 && leaves.length > 0 ? leaves[(chunk * 7) % leaves.length]!.origin : 0x4010_0000n;
    if (target === null) kvmUnmapGfnRange(kvm, pair.l2[0]!.ipa + 0x10_0000n, SZ_2M);
    else kvmUnmapGfnRange(kvm, target, SZ_4K);
    expect(checkInvariants(kvm)).toBeNull();
    chunk++;
    r = kvmArchVcpuRun(vcpu, chunkSize(chunk));
  }
  expect(r).toEqual({ kind: "system-off", code: pair.exitCode });
  expect(kvm.console).toBe(pair.expected);
  expect(checker.checks).toBeGreaterThan(0);
  expect(chunk).toBeGreaterThanOrEqual(2);
  expect(kvm.metrics.canonicalUnmaps).toBe(chunk);
}

describe("invariant checker on the shipped guest pairs, with canonical unmaps between run chunks", () => {
  for (const pair of GUEST_PAIRS) {
    it(`full, ${pair.name}: no violation after any exit or unmap, same console and exit code`, () => runWithUnmaps(pair, { unmap: "full" }), 60_000);
  }
  const SOME = ["hyp+checksum", "hyp64k+checksum", "hypblock+touch1000", "remap+remap", "multi+6"];
  for (const [unmap, directMap] of [["revmap", false], ["accel", true]] as const) {
    for (const name of SOME) {
      const pair = GUEST_PAIRS.find((p) => p.name === name)!;
      it(`${unmap}${directMap ? " + directMap" : ""}, ${name}: S, R and A hold throughout`, () => runWithUnmaps(pair, { unmap, directMap }), 60_000);
    }
  }
});

describe("S: a stale shadow mapping of a reclaimed page", () => {
  /**
   * A VM with one valid shadow MMU whose leaf maps nested 0x8000_0000 to canonical `ipa`'s host
   * page, as L1's stage-2 (in L1 memory at 0x4100_0000, VMID 7) maps it.
   */
  function plant(ipa = 0x4020_3000n) {
    const kvm = new Kvm({ memory: 32n << 20n, blocks: false });
    const canon = kvmFaultInCanonical(kvm, kvm.memslots[0]!, ipa);
    const s2 = new L1Stage2(kvm.memslots[0]!, 0x4100_0000n);
    s2.map(0x8000_0000n, ipa);
    const mmu = kvm.nestedMmus[1]!;
    mmu.tlbVttbr = s2.vttbr(7);
    mmu.tlbVtcr = L1_VTCR;
    mmu.nestedStage2Enabled = true;
    mmu.pgt.map(0x8000_0000n, SZ_4K, canon.pa, KVM_PGTABLE_PROT_R | KVM_PGTABLE_PROT_W);
    mmu.shadowOrigin.set(0x8000_0000n, ipa);
    return { kvm, mmu, pa: canon.pa, s2 };
  }

  it("a consistent shadow leaf passes", () => {
    const { kvm } = plant();
    expect(checkInvariants(kvm)).toBeNull();
  });

  it("a shadow leaf whose canonical mapping is gone but whose host page still backs its origin passes", () => {
    const { kvm } = plant();
    kvm.mmu.pgt.unmap(0x4020_3000n, SZ_4K);
    expect(checkInvariants(kvm)).toBeNull();
  });

  it("the canonical page is unmapped and freed without touching the shadows: invariant S, with the MMU, addresses and events", () => {
    const { kvm, mmu, pa } = plant();
    expect(checkInvariants(kvm)).toBeNull();
    reclaimBehindL0(kvm, 0x4020_3000n);
    expect(kvm.pool.isPoisoned(Number(pa))).toBe(true);
    const v = checkInvariants(kvm)!;
    expect(v.invariant).toBe("S");
    expect(v.reason).toMatch(/stale shadow mapping of a reclaimed page/);
    expectReport(v, mmu);
    expect(v.mmu).toEqual({ index: 1, hwVmid: 3, l1Vttbr: (7n << 48n) | 0x4100_0000n });
    expect(v.nestedIpa).toBe(0x8000_0000n);
    expect(v.canonicalIpa).toBe(0x4020_3000n);
    expect(v.hostPa).toBe(pa);
    expect(v.canonicalMaps).toBeNull();
    expect(v.hostBacking).toBeNull();
    expect(v.events.at(-1)).toMatch(/canonical-fault +IPA 0x40203000/);
  });

  it("the truth is the host backing, not the canonical stage-2: a canonical entry naming another page is S on the canonical MMU, the shadow leaf is fine", () => {
    const { kvm, pa } = plant();
    kvm.mmu.pgt.unmap(0x4020_3000n, SZ_4K);
    const other = BigInt(kvm.pool.alloc());
    kvm.mmu.pgt.map(0x4020_3000n, SZ_4K, other, KVM_PGTABLE_PROT_R);
    const v = checkInvariants(kvm)!;
    expect(v.invariant).toBe("S");
    expect(v.reason).toMatch(/canonical stage-2 maps a page that does not back its IPA/);
    expect(v.mmu.index).toBe(-1);
    expect(v.hostPa).toBe(other);
    expect(v.hostBacking).toBe(pa);
  });

  it("a shadow leaf needs no canonical stage-2 entry: with the canonical stage-2 empty (a nested fault need not fill it), S holds", () => {
    const { kvm } = plant();
    kvm.mmu.pgt.unmap(0x4020_3000n, SZ_4K);
    expect(checkInvariants(kvm)).toBeNull();
  });

  it("the host page behind a canonical entry is freed while the entry stays: invariant S on the canonical MMU", () => {
    const { kvm } = plant();
    const canon = kvmFaultInCanonical(kvm, kvm.memslots[0]!, 0x4080_0000n);
    kvm.memslots[0]!.release(0x4080_0000n, SZ_4K);
    const v = checkInvariants(kvm)!;
    expect(v.invariant).toBe("S");
    expect(v.reason).toMatch(/canonical stage-2 maps a reclaimed page/);
    expect(v.mmu).toEqual({ index: -1, hwVmid: CANONICAL_HW_VMID, l1Vttbr: 0n });
    expect(v.canonicalIpa).toBe(0x4080_0000n);
    expect(v.hostPa).toBe(canon.pa);
    expect(v.canonicalMaps).toBe(canon.pa);
    expect(formatViolation(v)).toContain(`MMU: canonical, hw VMID 1`);
  });

  it("a shadow leaf at a nested IPA L1's stage-2 does not map is a violation, whatever shadowOrigin says", () => {
    const { kvm, mmu } = plant();
    mmu.pgt.map(0x8000_5000n, SZ_4K, BigInt(kvm.pool.alloc()), KVM_PGTABLE_PROT_R);
    mmu.shadowOrigin.set(0x8000_5000n, 0x4020_3000n);
    const v = checkInvariants(kvm)!;
    expect(v.invariant).toBe("S");
    expect(v.reason).toMatch(/shadow leaf L1 never mapped: L1's stage-2 does not translate it/);
    expect(v.nestedIpa).toBe(0x8000_5000n);
    expect(v.canonicalIpa).toBeNull();
  });

  it("independent ground truth: a leaf mapping the wrong host page (a fault-path offset bug) is S at first sight, though shadowOrigin vouches for it", () => {
    const { kvm, mmu, pa, s2 } = plant();
    const next = kvmFaultInCanonical(kvm, kvm.memslots[0]!, 0x4020_4000n);
    s2.map(0x8000_1000n, 0x4020_4000n);
    // The fault path's own record says "built from 0x40204000", yet the leaf maps 0x40203000's page.
    mmu.pgt.map(0x8000_1000n, SZ_4K, pa, KVM_PGTABLE_PROT_R);
    mmu.shadowOrigin.set(0x8000_1000n, 0x4020_4000n);
    const v = checkInvariants(kvm)!;
    expect(v.invariant).toBe("S");
    expect(v.reason).toMatch(/another host page backs its canonical IPA/);
    expect(v.nestedIpa).toBe(0x8000_1000n);
    expect(v.canonicalIpa).toBe(0x4020_4000n);
    expect(v.hostBacking).toBe(next.pa);
  });

  it("a shadow leaf larger than L1's leaf (a fault-path size bug) is S at first sight", () => {
    const { kvm, mmu, s2 } = plant();
    s2.map(0x8020_0000n, 0x4040_0000n);
    mmu.pgt.map(0x8020_0000n, SZ_2M, BigInt(kvm.pool.allocBlock(512)), KVM_PGTABLE_PROT_R);
    const v = checkInvariants(kvm)!;
    expect(v.invariant).toBe("S");
    expect(v.reason).toBe("shadow leaf not what L1 maps: the shadow leaf (0x200000) is larger than L1's leaf (0x1000)");
    expect(v.nestedIpa).toBe(0x8020_0000n);
    expect(v.canonicalIpa).toBe(0x4040_0000n);
  });

  it("invalid shadow MMUs are not checked (their tables are not in use)", () => {
    const { kvm, mmu } = plant();
    reclaimBehindL0(kvm, 0x4020_3000n);
    mmu.tlbVttbr = 1n;
    expect(checkInvariants(kvm)).toBeNull();
  });

  it("during a run: runVm with check stops at the next exit with verdict 'invariant S' and the report", async () => {
    const pair = GUEST_PAIRS.find((p) => p.name === "hyp+checksum")!;
    const images = await assemblePair(pair.l1, pair.l2);
    let planted: { nested: bigint; canonical: bigint; pa: bigint } | null = null;
    /** At 400K steps L2 is in its second checksum pass: reclaim one of its buffer pages behind L0. */
    const saboteur = (kvm: Kvm): VmMonitor => ({
      nextPause: () => (planted ? Infinity : 400_000),
      onPause() {
        const { leaf, origin } = shadowLeaves(kvm).find((l) => l.leaf.ipa === 0x4010_0000n + 5n * SZ_4K)!;
        planted = { nested: leaf.ipa, canonical: origin, pa: leaf.pa };
        reclaimBehindL0(kvm, origin);
      },
    });
    const r = runVm({ l1: images.l1, l2: images.l2, config: { memory: GUEST_MEMORY }, check: true, maxSteps: E2E_MAX_STEPS, monitors: (kvm) => [saboteur(kvm)] });
    expect(r.kvm.monitors[0]).toBeInstanceOf(InvariantChecker);
    expect(r.outcome.kind).toBe("monitor-stop");
    if (r.outcome.kind !== "monitor-stop") return;
    const p = planted!;
    expect(r.outcome.verdict).toBe("invariant S");
    const d = r.outcome.details;
    expect(d).toMatchObject({
      invariant: "S",
      title: INVARIANT_TITLES.S,
      mmu: { index: 0, hwVmid: 2 },
      nestedIpa: hex(p.nested),
      canonicalIpa: hex(p.canonical),
      hostPa: hex(p.pa),
      canonicalMaps: null,
    });
    expect((d.mmu as { l1Vttbr: string }).l1Vttbr).toMatch(/^0x1[0-9a-f]{12}$/); // VMID 1 | L1's table base
    expect(d.events).toHaveLength(REPORT_EVENTS);
    expect(r.outcome.message).toMatch(/^invariant S \(safety\) violated: stale shadow mapping of a reclaimed page/);
    expect(r.outcome.message).toContain(`nested IPA ${hex(p.nested)} -> canonical IPA ${hex(p.canonical)} -> host PA ${hex(p.pa)}`);
    expect(r.outcome.message).toContain("canonical stage-2 maps there: nothing");
    expect(r.outcome.message).toContain(`last ${REPORT_EVENTS} events:`);
  }, 60_000);

  it("runVm attaches the checker only with check", async () => {
    const pair = GUEST_PAIRS.find((p) => p.name === "hyp+hello")!;
    const images = await assemblePair(pair.l1, pair.l2);
    const on = runVm({ l1: images.l1, l2: images.l2, config: { memory: GUEST_MEMORY }, check: true });
    const checker = on.kvm.monitors[0] as InvariantChecker;
    expect(checker).toBeInstanceOf(InvariantChecker);
    expect(checker.checks).toBe(Object.values(on.metrics.exits).reduce((a, b) => a + b, 0));
    expect(on.outcome).toEqual({ kind: "system-off", code: 0 });
    const off = runVm({ l1: images.l1, l2: images.l2, config: { memory: GUEST_MEMORY } });
    expect(off.kvm.monitors).toEqual([]);
  });
});

describe("R and A: shadow leaves missing from the revmap or the accelerator", () => {
  /** hyp+checksum run until L2 has filled its buffer (65 shadow leaves), under a given strategy. */
  async function touched(config: Partial<VmConfig>) {
    const kvm = await bootPair("guests/l1/hyp.S", ["guests/l2/checksum.S"], { blocks: false, ...config });
    expect(kvmArchVcpuRun(kvm.vcpus[0]!, 400_000).kind).toBe("budget");
    const leaves = shadowLeaves(kvm);
    expect(leaves.length).toBeGreaterThan(10);
    expect(checkInvariants(kvm)).toBeNull();
    return { kvm, victim: leaves[7]! };
  }

  for (const unmap of ["revmap", "accel"] as const) {
    it(`${unmap}: a revmap range erased by hand is invariant R`, async () => {
      const { kvm, victim } = await touched({ unmap });
      expect(revmapOf(victim.mmu)!.revmap!.erase(victim.origin)).not.toBeNull();
      const v = checkInvariants(kvm)!;
      expect(v.invariant).toBe("R");
      expect(v.reason).toMatch(/missing from the revmap: no revmap range covers its canonical page/);
      expectReport(v, victim.mmu);
      expect(v.nestedIpa).toBe(victim.leaf.ipa);
      expect(v.canonicalIpa).toBe(victim.origin);
      expect(v.hostPa).toBe(victim.leaf.pa);
      expect(v.hostBacking).toBe(victim.leaf.pa);
      expect(v.range).toBeNull();
    });

    it(`${unmap}: a revmap range naming another nested IPA is invariant R; UNKNOWN_IPA is accepted; a broken revmap is not checked`, async () => {
      const { kvm, victim } = await touched({ unmap });
      const revmap = revmapOf(victim.mmu)!.revmap!;
      revmap.store(victim.origin, victim.origin + SZ_4K - 1n, (1n << 63n) | (victim.leaf.ipa + SZ_4K));
      const v = checkInvariants(kvm)!;
      expect(v.invariant).toBe("R");
      expect(v.reason).toContain(`names nested ${hex(victim.leaf.ipa + SZ_4K)}`);
      expect(v.range?.index).toBe(victim.origin);
      // Polluted: the nested IPA is unknown, a canonical unmap empties the MMU: fine.
      revmap.store(victim.origin - SZ_4K, victim.origin + SZ_4K - 1n, 1n);
      expect(checkInvariants(kvm)).toBeNull();
      revmap.erase(victim.origin);
      expect(checkInvariants(kvm)?.invariant).toBe("R");
      revmapOf(victim.mmu)!.broken = true;
      expect(checkInvariants(kvm)).toBeNull();
    });
  }

  it("accel: a canonical-tree range erased by hand is invariant A", async () => {
    const { kvm, victim } = await touched({ unmap: "accel" });
    expect(accelOf(kvm)!.tree!.erase(victim.origin)).not.toBeNull();
    const v = checkInvariants(kvm)!;
    expect(v.invariant).toBe("A");
    expect(v.reason).toMatch(/missing from the accelerator: no canonical-tree range/);
    expectReport(v, victim.mmu);
    expect(v.canonicalIpa).toBe(victim.origin);
  });

  it("accel: a range without the MMU's bit is invariant A; another MMU's bit does not count", async () => {
    const { kvm, victim } = await touched({ unmap: "accel" });
    const bit = 1n << BigInt(victim.mmu.index + 2);
    const e = accelOf(kvm)!.tree!.load(victim.origin)!;
    expect(e.value & bit).toBe(bit);
    accelOf(kvm)!.tree!.store(e.index, e.last, (e.value & ~bit) | (bit << 1n));
    const v = checkInvariants(kvm)!;
    expect(v.invariant).toBe("A");
    expect(v.reason).toContain(`lacks bit ${hex(bit)}`);
    expect(v.range).toMatchObject({ index: e.index, last: e.last });
  });

  it("accel with more than 62 MMUs: a group bit covers 2^p MMUs", async () => {
    const { kvm, victim } = await touched({ unmap: "accel", nestedMmus: 70 });
    expect(accelOf(kvm)!.power).toBe(1);
    const bit = 1n << BigInt((victim.mmu.index >> 1) + 2);
    const e = accelOf(kvm)!.tree!.load(victim.origin)!;
    expect(e.value & bit).toBe(bit);
    accelOf(kvm)!.tree!.store(e.index, e.last, (e.value & ~bit) | (bit << 1n));
    expect(checkInvariants(kvm)?.invariant).toBe("A");
  });

  it("full and rfc-rbtree keep no revmap: R and A do not apply", async () => {
    for (const unmap of ["full", "rfc-rbtree"] as const) {
      const { kvm } = await touched({ unmap });
      expect(kvm.nestedMmus.every((m) => revmapOf(m) === null)).toBe(true);
      expect(kvm.unmap.coverage).toEqual([]);
      expect(checkInvariants(kvm)).toBeNull();
    }
  });
});
