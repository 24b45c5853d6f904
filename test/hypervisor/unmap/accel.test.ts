import { describe, expect, it } from "vitest";
import { canonicalIpa, nestedIpa } from "../../../hypervisor/addr.ts";
import { checkNestedVcpuRequests, type KvmS2Mmu } from "../../../hypervisor/nested.ts";
import { accelOf, accelStale } from "../../../hypervisor/unmap/accel.ts";
import { accelBit, accelBits, accelFirstMmu, mmusPerBitPower } from "../../../hypervisor/unmap/accel_bits.ts";
import { kvmUnmapGfnRange } from "../../../hypervisor/mmu.ts";
import { KVM_PGTABLE_PROT_R } from "../../../hypervisor/pgtable.ts";
import { revmapOf, revmapPayload } from "../../../hypervisor/unmap/revmap.ts";
import type { VmConfig } from "../../../hypervisor/vm.ts";
import { CANON, canonicalPa, NESTED, PAGE, shadowLeaves, shadowLeavesMapping, strategyRig } from "./strategy_fixture.ts";

const rv = (m: KvmS2Mmu) => revmapOf(m)!;
const bits = (...b: number[]) => b.reduce((v, x) => v | (1n << BigInt(x)), 0n);

describe("accelerator bit math (seed 000)", () => {
  it("MMUs per bit: 1–62 → 1, 63–124 → 2, 125–248 → 4, 249–496 → 8", () => {
    const table: [number, number][] = [
      [1, 0], [2, 0], [62, 0], [63, 1], [124, 1], [125, 2], [248, 2], [249, 3], [496, 3], [497, 4],
    ];
    for (const [n, p] of table) expect(mmusPerBitPower(n), `${n} MMUs`).toBe(p);
  });

  it("bit(mmu) = (index >> p) + 2 and the first MMU of a bit is (bit − 2) << p", () => {
    expect(accelBit(0, 0)).toBe(2);
    expect(accelBit(61, 0)).toBe(63);
    expect(accelBit(62, 1)).toBe(33);
    expect(accelBit(63, 1)).toBe(33);
    expect(accelBit(123, 1)).toBe(63);
    expect(accelBit(247, 2)).toBe(63);
    expect(accelFirstMmu(33, 1)).toBe(62);
    expect(accelFirstMmu(63, 2)).toBe(244);
    // Every MMU lies in its bit's group [first, first + 2^p), and every bit fits in 63:2.
    for (const p of [0, 1, 2, 3]) {
      const n = 62 * 2 ** p;
      for (let i = 0; i < n; i++) {
        const b = accelBit(i, p);
        expect(b >= 2 && b <= 63).toBe(true);
        const first = accelFirstMmu(b, p);
        expect(i >= first && i < first + 2 ** p).toBe(true);
      }
    }
  });

  it("the power is computed when the nested MMU array is sized", () => {
    const power = (nestedMmus?: number) => accelOf(strategyRig({ unmap: "accel", ...(nestedMmus ? { nestedMmus } : {}) }).kvm)!.power;
    expect(power()).toBe(0);
    expect(power(62)).toBe(0);
    expect(power(63)).toBe(1);
    expect(power(130)).toBe(2);
  });
});

describe("accelerator recording", () => {
  it("ORs the MMU's bit over the canonical range, merging overlaps into one spanning range", () => {
    const r = strategyRig({ unmap: "accel", nestedMmus: 4 });
    const m0 = r.use(1);
    r.touch(NESTED);
    r.touch(NESTED + 2n * PAGE);
    expect(accelOf(r.kvm)!.tree!.entries()).toEqual([
      { index: CANON, last: CANON + PAGE - 1n, value: bits(2) },
      { index: CANON + 2n * PAGE, last: CANON + 3n * PAGE - 1n, value: bits(2) },
    ]);
    r.use(2);
    r.touch(NESTED);
    expect(accelOf(r.kvm)!.tree!.load(CANON)).toEqual({ index: CANON, last: CANON + PAGE - 1n, value: bits(2, 3) });
    // The revmap is kept as well.
    expect(rv(m0).revmap!.load(CANON)!.value).toBe(revmapPayload(nestedIpa(NESTED)));
    // A 16K range over +1..+4 swallows the [+2] range and is widened by nothing else.
    accelOf(r.kvm)!.record(r.kvm.nestedMmus[3]!, canonicalIpa(CANON + PAGE), 4n * PAGE);
    expect(accelOf(r.kvm)!.tree!.entries()).toEqual([
      { index: CANON, last: CANON + PAGE - 1n, value: bits(2, 3) },
      { index: CANON + PAGE, last: CANON + 5n * PAGE - 1n, value: bits(2, 5) },
    ]);
    // A range over [+0, +1] merges both neighbours into [+0, +5).
    accelOf(r.kvm)!.record(r.kvm.nestedMmus[2]!, canonicalIpa(CANON + PAGE - 1n), 2n);
    expect(accelOf(r.kvm)!.tree!.entries()).toEqual([{ index: CANON, last: CANON + 5n * PAGE - 1n, value: bits(2, 3, 4, 5) }]);
    expect(accelBits(bits(2, 3, 4, 5))).toEqual([2, 3, 4, 5]);
  });
});

/** Six MMUs (VMIDs 1..6), MMU k maps nested pages 4k..4k+3 (canonical the same pages). */
function sixMmus(config: Partial<VmConfig>) {
  const r = strategyRig({ nestedMmus: 6, ...config });
  for (let k = 0n; k < 6n; k++) {
    r.use(Number(k) + 1);
    for (let i = 0n; i < 4n; i++) r.touch(NESTED + (4n * k + i) * PAGE);
  }
  // MMU 2 also maps MMU 4's first page.
  r.use(3);
  r.touch(NESTED + 16n * PAGE);
  return r;
}

describe("accelerator canonical unmap", () => {
  it("visits only the MMUs whose bits are set over the range; full and revmap visit all of them", () => {
    const visits: Record<string, number[]> = {};
    const removed: Record<string, number> = {};
    const leaves: Record<string, number[]> = {};
    for (const unmap of ["full", "revmap", "accel"] as const) {
      const r = sixMmus({ unmap });
      const pa = canonicalPa(r, CANON + 16n * PAGE);
      kvmUnmapGfnRange(r.kvm, CANON + 16n * PAGE, PAGE); // MMU 4's first page, also mapped by MMU 2
      kvmUnmapGfnRange(r.kvm, CANON + 9n * PAGE, PAGE); // MMU 2 only
      kvmUnmapGfnRange(r.kvm, CANON + 60n * PAGE, PAGE); // nobody's
      expect(shadowLeavesMapping(r, pa)).toEqual([]);
      visits[unmap] = r.kvm.metrics.shadowMmusVisited;
      removed[unmap] = r.kvm.metrics.shadowEntriesRemoved;
      leaves[unmap] = r.kvm.nestedMmus.map((m) => m.pgt.leafCount);
    }
    expect(visits).toEqual({ full: [6, 6, 6], revmap: [6, 6, 6], accel: [2, 1, 0] });
    expect(removed).toEqual({ full: 25, revmap: 3, accel: 3 });
    expect(leaves.revmap).toEqual([4, 4, 3, 4, 3, 4]);
    expect(leaves.accel).toEqual(leaves.revmap);
    expect(leaves.full).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it("p == 0: the exact range's bit is cleared with the revmap entry; nothing stale is left", () => {
    const r = sixMmus({ unmap: "accel" });
    kvmUnmapGfnRange(r.kvm, CANON + 16n * PAGE, PAGE);
    expect(accelOf(r.kvm)!.tree!.load(CANON + 16n * PAGE)).toBeNull();
    expect(accelOf(r.kvm)!.tree!.size).toBe(23);
    expect(accelStale(r.kvm)).toEqual({ bits: 0, ranges: 0 });
    expect(r.kvm.metrics.samples["accel.staleBits"]).toEqual([0]);
  });

  it("a merged range keeps the bit of an MMU whose only mapping there went: a stale bit", () => {
    const r = strategyRig({ unmap: "accel", nestedMmus: 2, blocks: true });
    // MMU 0 maps one 4K page; MMU 1 maps the whole 2M block around it (L1 block, host block).
    const block = 0x4060_0000n;
    const m0 = r.use(1);
    r.s2.map(NESTED + 200n * PAGE, block + 5n * PAGE, PAGE);
    r.touch(NESTED + 200n * PAGE);
    const m1 = r.use(2);
    r.s2.map(0x9000_0000n, block, 0x20_0000n);
    r.touch(0x9000_0000n + 7n * PAGE);
    expect(m1.pgt.getLeaf(0x9000_0000n)!.size).toBe(0x20_0000n);
    expect(accelOf(r.kvm)!.tree!.entries()).toEqual([{ index: block, last: block + 0x1f_ffffn, value: bits(2, 3) }]);
    // Unmap MMU 0's page: MMU 1's block goes too (it maps the page). Both revmap ranges are erased,
    // but only MMU 1's range matches the accelerator range exactly.
    kvmUnmapGfnRange(r.kvm, block + 5n * PAGE, PAGE);
    expect(m0.pgt.leafCount + m1.pgt.leafCount).toBe(0);
    expect(accelOf(r.kvm)!.tree!.entries()).toEqual([{ index: block, last: block + 0x1f_ffffn, value: bits(2) }]);
    expect(accelStale(r.kvm)).toEqual({ bits: 1, ranges: 1 });
    // The stale bit still costs a visit of MMU 0 on the next unmap in that block.
    kvmUnmapGfnRange(r.kvm, block + 9n * PAGE, PAGE);
    expect(r.kvm.metrics.shadowMmusVisited).toEqual([2, 1]);
  });

  it("p > 0: a bit stands for 2^p MMUs, all of them are visited, and bits are never cleared by range", () => {
    const r = strategyRig({ unmap: "accel", nestedMmus: 63 });
    expect(accelOf(r.kvm)!.power).toBe(1);
    const m0 = r.use(1);
    r.touch(NESTED);
    r.touch(NESTED + PAGE);
    const m1 = r.use(2);
    expect(m1.index).toBe(1);
    r.touch(NESTED + 2n * PAGE);
    const m2 = r.use(3);
    r.touch(NESTED + 3n * PAGE);
    expect(accelOf(r.kvm)!.tree!.entries().map((e) => e.value)).toEqual([bits(2), bits(2), bits(2), bits(3)]);
    kvmUnmapGfnRange(r.kvm, CANON, PAGE); // MMU 0's page: group {0, 1}
    kvmUnmapGfnRange(r.kvm, CANON + 3n * PAGE, PAGE); // MMU 2's page: group {2, 3}
    expect(r.kvm.metrics.shadowMmusVisited).toEqual([2, 2]);
    expect(shadowLeaves(m0)).toEqual([NESTED + PAGE]);
    expect(shadowLeaves(m1)).toEqual([NESTED + 2n * PAGE]);
    expect(shadowLeaves(m2)).toEqual([]);
    // Exact-match-only clearing is off for p > 0: both unmapped ranges keep their bits, stale.
    expect(accelOf(r.kvm)!.tree!.size).toBe(4);
    expect(accelStale(r.kvm)).toEqual({ bits: 2, ranges: 2 });
    expect(r.kvm.metrics.samples["accel.staleBits"]).toEqual([1, 2]);
    expect(r.kvm.metrics.samples["accel.staleRanges"]).toEqual([1, 2]);
    // Emptying one MMU does not clear its bit either (p > 0, and the seed's TLBIs clear nothing)…
    r.tlbi("VMALLS12E1IS", 0n);
    expect(accelOf(r.kvm)!.tree!.size).toBe(4);
    // …but once every shadow MMU is empty the tree is destroyed.
    r.tlbi("ALLE1IS", 0n);
    expect(accelOf(r.kvm)!.tree).toBeNull();
  });

  it("seed: L1's VMALLS12E1 empties the MMU and leaves its bits (stale); its recycle clears them", () => {
    const r = sixMmus({ unmap: "accel" });
    r.use(3); // MMU 2 (also holds MMU 4's first page)
    r.tlbi("VMALLS12E1IS", 0n);
    expect(r.kvm.nestedMmus[2]!.pgt.leafCount).toBe(0);
    expect(accelOf(r.kvm)!.tree!.entries().filter((e) => e.value & bits(4)).length).toBe(5);
    expect(accelStale(r.kvm).bits).toBe(5);
    // The stale bit still sends the next unmap there to MMU 2.
    kvmUnmapGfnRange(r.kvm, CANON + 9n * PAGE, PAGE);
    expect(r.kvm.metrics.shadowMmusVisited).toEqual([1]);
    // Six contexts on six MMUs: a seventh recycles MMU 0, whose bit goes from every range.
    r.use(7);
    checkNestedVcpuRequests(r.vcpu());
    expect(accelOf(r.kvm)!.tree!.entries().filter((e) => e.value & bits(2))).toEqual([]);
  });

  it("v3, p == 0: emptying an MMU clears its bit everywhere and drops ranges left with none", () => {
    const r = sixMmus({ unmap: "accel", revmapTlbi: "v3" });
    r.use(3); // MMU 2 (also holds MMU 4's first page)
    r.tlbi("VMALLS12E1IS", 0n);
    const withBit4 = accelOf(r.kvm)!.tree!.entries().filter((e) => e.value & bits(4));
    expect(withBit4).toEqual([]);
    expect(accelOf(r.kvm)!.tree!.size).toBe(20);
    expect(accelOf(r.kvm)!.tree!.load(CANON + 16n * PAGE)!.value).toBe(bits(6));
    r.tlbi("ALLE1IS", 0n);
    expect(accelOf(r.kvm)!.tree).toBeNull();
  });

  it("a broken revmap is still visited through its bit and falls back to full unmap", () => {
    const r = strategyRig({ unmap: "accel", nestedMmus: 4 });
    const m0 = r.use(1);
    r.touch(NESTED);
    const m1 = r.use(2);
    r.kvm.faultInject.storeFailures = 1;
    r.touch(NESTED + PAGE);
    r.touch(NESTED + 2n * PAGE);
    expect(rv(m1).broken).toBe(true);
    const pa = canonicalPa(r, CANON + 2n * PAGE);
    kvmUnmapGfnRange(r.kvm, CANON + 2n * PAGE, PAGE);
    expect(shadowLeavesMapping(r, pa)).toEqual([]);
    expect(m1.pgt.leafCount).toBe(0);
    expect(shadowLeaves(m0)).toEqual([NESTED]);
    expect(r.kvm.metrics.shadowMmusVisited).toEqual([1]);
    expect(r.kvm.metrics.get("revmap.fallbackFullUnmaps")).toBe(1);
  });

  it("runs seed 000's loop once per intersecting range, set bit and MMU of its group; counts distinct MMUs visited", () => {
    const r = strategyRig({ unmap: "accel", nestedMmus: 2 });
    r.use(1);
    r.touch(NESTED);
    r.touch(NESTED + PAGE);
    const m1 = r.use(2);
    r.touch(NESTED + PAGE);
    // Two ranges over the unmapped 8K: [CANON] holds MMU 0's bit, [CANON+4K] MMU 0's and MMU 1's.
    expect(accelOf(r.kvm)!.tree!.entries().map((e) => e.value)).toEqual([bits(2), bits(2, 3)]);
    kvmUnmapGfnRange(r.kvm, CANON, 2n * PAGE);
    expect(r.kvm.metrics.samples["accel.loopVisits"]).toEqual([3]);
    expect(r.kvm.metrics.shadowMmusVisited).toEqual([2]);
    expect(r.kvm.metrics.shadowEntriesRemoved).toBe(3);
    expect(m1.pgt.leafCount).toBe(0);
  });

  it("a failed accelerator store (record_accel) skips the revmap record: the leaf is in neither, and no unmap finds it", () => {
    const r = strategyRig({ unmap: "accel", nestedMmus: 2 });
    const m = r.use(1);
    r.touch(NESTED);
    r.kvm.faultInject.accelStoreFailures = 1;
    r.touch(NESTED + PAGE);
    expect(r.kvm.faultInject.accelStoreFailures).toBe(0);
    expect(r.kvm.metrics.get("accel.storeFailures")).toBe(1);
    expect(shadowLeaves(m)).toEqual([NESTED, NESTED + PAGE]);
    expect(rv(m).revmap!.load(CANON + PAGE)).toBeNull();
    expect(rv(m).broken).toBe(false);
    expect(accelOf(r.kvm)!.tree!.load(CANON + PAGE)).toBeNull();
    const pa = canonicalPa(r, CANON + PAGE);
    kvmUnmapGfnRange(r.kvm, CANON + PAGE, PAGE);
    expect(r.kvm.metrics.shadowMmusVisited).toEqual([0]);
    expect(shadowLeavesMapping(r, pa)).toEqual([{ mmu: 0, ipa: NESTED + PAGE }]);
  });

  it("an MMU mapped outside the fault path is found only if its bit was recorded", () => {
    // The accelerator trusts its index: a mapping it never heard of is not visited.
    const r = strategyRig({ unmap: "accel", nestedMmus: 2 });
    r.use(1);
    r.touch(NESTED);
    const other = r.kvm.nestedMmus[1]!;
    other.tlbVttbr = 9n << 48n;
    other.pgt.map(NESTED, PAGE, BigInt(canonicalPa(r, CANON)), KVM_PGTABLE_PROT_R);
    kvmUnmapGfnRange(r.kvm, CANON, PAGE);
    expect(r.kvm.metrics.shadowMmusVisited).toEqual([1]);
    expect(other.pgt.leafCount).toBe(1);
  });
});
