// Tables as maps: the shadow leaves of a real L2 run against what `pt` says, after the host takes
// a page back, after L1 changes its tables without a TLBI, and between two moments; the unmap
// strategies' records beside the leaves they describe; the MMU rows, canonical leaves and memslots.

import { describe, expect, it } from "vitest";
import { formatAccel, formatMmus, formatRevmap } from "../../debug/inspect.ts";
import { canonicalLeaves, mapsData, memoryLayout, mmuSummaries, shadowLeaves, strategyRecords, type ShadowLeaf } from "../../debug/maps.ts";
import { walkCanonicalStage2 } from "../../debug/memory.ts";
import type { DebugSession } from "../../debug/session.ts";
import { KVM_PGTABLE_PROT_R } from "../../hypervisor/pgtable.ts";
import { accelStale } from "../../hypervisor/unmap/accel.ts";
import { revmapStaleEntries } from "../../hypervisor/unmap/revmap.ts";
import type { RevmapRange, StrategyRecords } from "../../hypervisor/unmap/strategy.ts";
import type { VmConfig } from "../../hypervisor/vm.ts";
import { tlbiOnBehalfOfL1, unmapCanonical } from "../../lab/injection.ts";
import { GUEST_MEMORY } from "../e2e/harness.ts";
import { HYP, l2, openPair } from "./session_fixture.ts";

/** Stop after touch.S wrote and read back all its pages (its first HVC prints the summary). */
async function touchDone(config: Partial<VmConfig> = {}): Promise<DebugSession> {
  const s = await openPair(HYP, [l2("touch")], config);
  s.addExitBreak("HVC64");
  expect(s.resume().reason.kind).toBe("exit-break");
  s.deleteBreak();
  return s;
}

/** A page touch.S wrote (L2 runs with stage-1 off: its VA is the nested IPA). */
const TOUCHED = 0x4010_3000n;
const PAGE = 0x1000n;

const le64 = (v: bigint): Uint8Array => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v, true);
  return b;
};

const leafAt = (leaves: readonly ShadowLeaf[], nested: bigint): ShadowLeaf | undefined => leaves.find((l) => l.nested === nested);

/** The revmap ranges a shadow leaf built from a known canonical range should have left. */
const rangeOf = (l: ShadowLeaf): RevmapRange => ({ start: l.canonical!, last: l.canonical! + l.size - 1n, nested: l.nested, stale: false } as RevmapRange);

const byStart = (a: { start: bigint }, b: { start: bigint }): number => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0);

/** MMU 0's revmap ranges in the records. */
const revmap0 = (r: StrategyRecords): RevmapRange[] => r.mmus[0]!.revmap ?? [];

describe("shadowLeaves", () => {
  it("lists each shadow leaf as `pt` finds it: host PA, size, permissions, L1's canonical IPA and level, the backing", async () => {
    const s = await touchDone({ unmap: "revmap" });
    const kvm = s.kvm;
    const leaves = shadowLeaves(kvm, 0);
    expect(leaves).toHaveLength(kvm.nestedMmus[0]!.pgt.leafCount);
    expect(leaves.length).toBeGreaterThanOrEqual(64); // touch.S's pages and its own code
    for (const l of leaves) {
      const r = s.translate(l.nested, "L2");
      const shadow = r.shadows.find((x) => x.mmu === 0)!;
      const l1Leaf = r.stages[1]!.steps[r.stages[1]!.steps.length - 1]!;
      expect({ pa: l.pa, size: l.size, perms: l.perms, canonical: l.canonical, backing: l.backing, l1Level: l.l1Level, agrees: l.agrees }).toEqual({
        pa: shadow.walk.output, size: shadow.walk.size, perms: shadow.walk.perms, canonical: r.canonical, backing: r.backingPa, l1Level: l1Leaf.level, agrees: true,
      });
      expect(l.level).toBe(shadow.walk.steps[shadow.walk.steps.length - 1]!.level);
      expect(l.changed).toBe(true); // nothing to compare with
    }
    expect(leafAt(leaves, TOUCHED)).toMatchObject({ canonical: 0x4810_3000n, size: PAGE, perms: "RWX", level: 3, l1Level: 3 });
    expect(() => shadowLeaves(kvm, 2)).toThrow("no shadow MMU 2 (there are 2: mmu0..mmu1)");
  });

  it("flags a leaf whose L1 mapping changed without a TLBI, and one rewritten in the shadow table, as disagreeing and changed", async () => {
    const s = await touchDone({ unmap: "revmap" });
    const kvm = s.kvm;
    const before = shadowLeaves(kvm, 0);
    // L1 points the page elsewhere in its window without telling anyone.
    const l3 = s.translate(TOUCHED, "L2").stages[1]!.steps[2]!;
    s.writeMemory("ipa", l3.address, le64((l3.desc! & ~0xffff_ffff_f000n) | 0x4810_4000n));
    const moved = shadowLeaves(kvm, 0, before);
    expect(leafAt(moved, TOUCHED)).toMatchObject({ canonical: 0x4810_4000n, agrees: false, changed: true });
    expect(leafAt(moved, TOUCHED)!.backing).toBe(leafAt(before, TOUCHED + PAGE)!.backing);
    expect(moved.filter((l) => l.changed).map((l) => l.nested)).toEqual([TOUCHED]);
    expect(moved.filter((l) => l.agrees === false).map((l) => l.nested)).toEqual([TOUCHED]);

    // A shadow descriptor rewritten to another host page (read-only), through the page-table API.
    const next = TOUCHED + 2n * PAGE;
    const other = leafAt(before, TOUCHED + 5n * PAGE)!.pa;
    kvm.nestedMmus[0]!.pgt.map(next, PAGE, other, KVM_PGTABLE_PROT_R, 3);
    const rewritten = shadowLeaves(kvm, 0, moved);
    expect(leafAt(rewritten, next)).toMatchObject({ pa: other, perms: "R--", l1Level: 3, agrees: false, changed: true });
    expect(rewritten.filter((l) => l.changed).map((l) => l.nested)).toEqual([next]);
    // `pt` gives the same verdict.
    expect(s.translate(next, "L2").shadows[0]!.agrees).toBe(false);
  });

  it("marks as changed only the leaves installed since the previous result", async () => {
    const s = await openPair(HYP, [l2("touch")], { unmap: "revmap" });
    s.addEventBreak("shadow-fault");
    for (let i = 0; i < 20; i++) expect(s.resume().reason.kind).toBe("event-break");
    const early = shadowLeaves(s.kvm, 0);
    expect(early.length).toBeGreaterThan(0);
    s.deleteBreak();
    s.addExitBreak("HVC64");
    expect(s.resume().reason.kind).toBe("exit-break");
    const late = shadowLeaves(s.kvm, 0, early);
    const seen = new Set(early.map((l) => l.nested));
    const added = late.filter((l) => !seen.has(l.nested)).map((l) => l.nested);
    expect(added.length).toBeGreaterThan(0);
    expect(late.filter((l) => l.changed).map((l) => l.nested)).toEqual(added);
    // Against itself nothing changed.
    expect(shadowLeaves(s.kvm, 0, late).some((l) => l.changed)).toBe(false);
  });
});

describe("strategy records beside the leaves", () => {
  it("revmap: one range per leaf, naming its nested IPA; a canonical unmap takes the page's leaf and range", async () => {
    const s = await touchDone({ unmap: "revmap" });
    const kvm = s.kvm;
    const before = mapsData(kvm);
    const leaves = before.shadows[0]!;
    expect(before.records.strategy).toBe("revmap");
    expect(before.records.accel).toBeNull();
    expect(revmap0(before.records)).toEqual(leaves.map(rangeOf).sort(byStart));
    const gone = leafAt(leaves, TOUCHED)!;

    unmapCanonical(kvm, gone.canonical!, PAGE);
    const after = mapsData(kvm, before);
    expect(leafAt(after.shadows[0]!, TOUCHED)).toBeUndefined();
    expect(after.shadows[0]).toHaveLength(leaves.length - 1);
    expect(after.shadows[0]!.some((l) => l.changed)).toBe(false);
    expect(revmap0(after.records)).toEqual(revmap0(before.records).filter((r) => r.start !== gone.canonical));
    expect(revmap0(after.records)).toEqual(after.shadows[0]!.map(rangeOf).sort(byStart));
    // The text view lists the same ranges.
    const text = formatRevmap(kvm, "0", 1000).split("\n");
    expect(text).toHaveLength(1 + after.shadows[0]!.length);
    expect(text).not.toContain(`  canonical 0x48103000..0x48103fff → nested IPA 0x40103000`);
    expect(text).toContain(`  canonical 0x48104000..0x48104fff → nested IPA 0x40104000`);
  });

  it("accel: the page's range and its bit go with the leaf; ranges hold MMU 0's bit over the leaves' canonical pages", async () => {
    const s = await touchDone({ unmap: "accel" });
    const kvm = s.kvm;
    const before = mapsData(kvm);
    const accel = before.records.accel!;
    expect(accel.mmusPerBit).toBe(1);
    expect(accel.ranges.length).toBeGreaterThan(0);
    for (const r of accel.ranges) expect(r.bits).toEqual([{ bit: 2, mmus: [0], stale: false }]);
    const covered = (c: bigint): boolean => accel.ranges.some((r) => r.start <= c && c <= r.last);
    expect(before.shadows[0]!.every((l) => covered(l.canonical!))).toBe(true);
    const gone = leafAt(before.shadows[0]!, TOUCHED)!;
    const range = accel.ranges.find((r) => r.start <= gone.canonical! && gone.canonical! <= r.last)!;

    unmapCanonical(kvm, gone.canonical!, PAGE);
    const after = strategyRecords(kvm);
    expect(leafAt(shadowLeaves(kvm, 0), TOUCHED)).toBeUndefined();
    expect(revmap0(after).some((r) => r.start === gone.canonical)).toBe(false);
    // p == 0 and the range was exactly the leaf's: the bit is cleared and the range goes.
    expect(range).toMatchObject({ start: gone.canonical, last: gone.canonical! + PAGE - 1n });
    expect(after.accel!.ranges).toEqual(accel.ranges.filter((r) => r !== range));
    expect(formatAccel(kvm, 1000).split("\n")).toHaveLength(1 + after.accel!.ranges.length);
  });

  it("an L1 TLBI under the seeds' rules leaves the revmap range and the accelerator bit behind, stale", async () => {
    const s = await touchDone({ unmap: "accel" });
    const kvm = s.kvm;
    expect(revmapStaleEntries(kvm)).toBe(0);
    tlbiOnBehalfOfL1(s.vcpu, "IPAS2E1IS", TOUCHED >> 12n);
    const leaves = shadowLeaves(kvm, 0);
    expect(leafAt(leaves, TOUCHED)).toBeUndefined();
    const r = strategyRecords(kvm);
    const stale = revmap0(r).filter((x) => x.stale);
    expect(stale).toEqual([{ start: 0x4810_3000n, last: 0x4810_3fffn, nested: TOUCHED, stale: true }]);
    expect(revmapStaleEntries(kvm)).toBe(1);
    const staleBits = r.accel!.ranges.filter((x) => x.bits.some((b) => b.stale));
    expect(staleBits.map((x) => [x.start, x.bits])).toEqual([[0x4810_3000n, [{ bit: 2, mmus: [0], stale: true }]]]);
    expect(accelStale(kvm)).toEqual({ bits: 1, ranges: 1 });
  });

  it("v3 with the direct map: the direct map mirrors every leaf, and `pt` lists the page's direct-map range", async () => {
    const s = await touchDone({ unmap: "revmap", directMap: true });
    const r = strategyRecords(s.kvm);
    const leaves = shadowLeaves(s.kvm, 0);
    expect(r.mmus[0]!.directMap).toEqual(leaves.map((l) => ({ start: l.nested, last: l.nested + l.size - 1n, canonical: l.canonical })));
    expect(s.translate(TOUCHED, "L2").records).toEqual([
      "mmu0 revmap: canonical 0x48103000..0x48103fff → nested IPA 0x40103000",
      "mmu0 direct map: nested 0x40103000..0x40103fff → canonical 0x48103000",
    ]);
    expect(formatRevmap(s.kvm, "0", 1000)).toContain("\nmmu0 direct map:\n  nested 0x40000000..0x40000fff → canonical 0x48000000\n");
  });

  it("rfc-rbtree: its nodes as ranges, left stale by L1's TLBIs; full: no records", async () => {
    const s = await touchDone({ unmap: "rfc-rbtree" });
    const kvm = s.kvm;
    const leaves = shadowLeaves(kvm, 0);
    expect(revmap0(strategyRecords(kvm))).toEqual(leaves.map(rangeOf).sort(byStart));
    tlbiOnBehalfOfL1(s.vcpu, "IPAS2E1IS", TOUCHED >> 12n);
    expect(revmap0(strategyRecords(kvm)).filter((x) => x.stale).map((x) => x.nested)).toEqual([TOUCHED]);
    expect(formatRevmap(kvm, "0", 1)).toBe(`mmu0 revmap:\n  canonical 0x48000000..0x48000fff → nested IPA 0x40000000\n  … ${leaves.length - 1} more`);

    const full = await touchDone({ unmap: "full" });
    expect(strategyRecords(full.kvm)).toEqual({
      strategy: "full", accel: null, mmus: [0, 1].map((mmu) => ({ mmu, broken: false, revmap: null, directMap: [] })),
    });
    expect(formatRevmap(full.kvm, "0")).toBe("mmu0 revmap:\n  (none: never created, or destroyed)");
  });
});

describe("what went since the previous maps", () => {
  it("a canonical unmap: `removed` holds exactly the page's leaf as it was, `removedRevmap` its range; a second call has nothing", async () => {
    const s = await touchDone({ unmap: "revmap" });
    const kvm = s.kvm;
    const before = mapsData(kvm);
    expect(before.removed).toEqual([[], []]);
    expect(before.removedRevmap).toEqual([[], []]);
    const gone = leafAt(before.shadows[0]!, TOUCHED)!;

    unmapCanonical(kvm, gone.canonical!, PAGE);
    const after = mapsData(kvm, before);
    expect(after.removed).toEqual([[gone], []]);
    expect(after.removedRevmap).toEqual([[rangeOf(gone)], []]);
    // The live leaves no longer hold it, and none of them counts as changed for it.
    expect(leafAt(after.shadows[0]!, TOUCHED)).toBeUndefined();
    expect(after.shadows[0]!.some((l) => l.changed)).toBe(false);

    const again = mapsData(kvm, after);
    expect(again.removed).toEqual([[], []]);
    expect(again.removedRevmap).toEqual([[], []]);
    expect(structuredClone(after)).toStrictEqual(after);
  });

  it("a leaf rewritten in place is changed, not removed; L1's TLBI removes the leaf but leaves its range, stale", async () => {
    const s = await touchDone({ unmap: "accel" });
    const kvm = s.kvm;
    const before = mapsData(kvm);
    const other = leafAt(before.shadows[0]!, TOUCHED + 5n * PAGE)!.pa;
    kvm.nestedMmus[0]!.pgt.map(TOUCHED, PAGE, other, KVM_PGTABLE_PROT_R, 3);
    const rewritten = mapsData(kvm, before);
    expect(rewritten.removed[0]).toEqual([]);
    expect(rewritten.shadows[0]!.filter((l) => l.changed).map((l) => l.nested)).toEqual([TOUCHED]);

    tlbiOnBehalfOfL1(s.vcpu, "IPAS2E1IS", (TOUCHED + PAGE) >> 12n);
    const flushed = mapsData(kvm, rewritten);
    expect(flushed.removed[0]).toEqual([leafAt(rewritten.shadows[0]!, TOUCHED + PAGE)]);
    expect(flushed.removedRevmap[0]).toEqual([]);
    expect(revmap0(flushed.records).filter((r) => r.stale).map((r) => r.nested)).toEqual([TOUCHED + PAGE]);
  });
});

describe("MMU rows, canonical leaves, memslots", () => {
  it("summarises each shadow MMU as `mmus` prints it, with the vCPUs using it", async () => {
    const s = await openPair(HYP, [l2("touch")], { unmap: "revmap" });
    s.addEventBreak("shadow-fault");
    s.resume(); // L2 runs on mmu0
    const m = mmuSummaries(s.kvm);
    expect(m[0]).toMatchObject({ mmu: 0, valid: true, l1Vmid: 1, hwVmid: 2, inUseBy: [0], notes: [] });
    expect(m[0]!.leaves).toBe(s.kvm.nestedMmus[0]!.pgt.leafCount);
    expect(m[0]!.vttbr).toBe(s.kvm.nestedMmus[0]!.tlbVttbr);
    expect(m[1]).toMatchObject({ mmu: 1, valid: false, l1Vmid: null, leaves: 0, inUseBy: [], notes: [] });
    const rows = formatMmus(s.kvm, s.vcpu).split("\n");
    expect(rows[1]).toMatch(new RegExp(`^mmu0 yes +1 +2 +${m[0]!.refcnt} +${m[0]!.leaves} +${m[0]!.tablePages} +0x0001[0-9a-f]{12} +0x[0-9a-f]+ +in use$`));
    expect(rows[2]).toMatch(/^mmu1 no +- +3 +0 +0 /);
  });

  it("lists the canonical stage-2's leaves as its walk finds them, and L1's RAM as the memslots", async () => {
    const s = await touchDone({ ramSlots: 2 });
    const leaves = canonicalLeaves(s.kvm);
    expect(leaves).toHaveLength(s.kvm.mmu.pgt.leafCount);
    expect(leaves.length).toBeGreaterThan(0);
    for (const l of leaves) {
      const w = walkCanonicalStage2(s.kvm, l.ipa);
      expect([l.pa, l.size, l.perms]).toEqual([w.output, w.size, w.perms]);
    }
    const layout = memoryLayout(s.kvm);
    const half = BigInt(GUEST_MEMORY) / 2n;
    expect(layout.ram.map((r) => [r.start, r.last, r.dirtyLogging])).toEqual([
      [0x4000_0000n, 0x4000_0000n + half - 1n, false],
      [0x4000_0000n + half, 0x4000_0000n + 2n * half - 1n, false],
    ]);
    expect(layout.ram.reduce((n, r) => n + r.residentPages, 0)).toBe(s.kvm.memslots.reduce((n, m) => n + m.residentPages, 0));
    expect(layout.ram[0]!.residentPages).toBeGreaterThan(0);
    expect(layout.mmio).toEqual([{ name: "uart", start: 0x0900_0000n, last: 0x0900_0fffn }]);
    expect(layout.ipaSize).toBe(1n << 48n);
  });

  it("is plain data: a structured clone is the same", async () => {
    const s = await touchDone({ unmap: "accel", directMap: true });
    const maps = mapsData(s.kvm);
    expect(maps.shadows[0]!.length).toBeGreaterThan(0);
    expect(maps.records.mmus[0]!.directMap.length).toBeGreaterThan(0);
    expect(structuredClone(maps)).toStrictEqual(maps);
  });
});
