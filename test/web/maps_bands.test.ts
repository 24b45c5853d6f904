// What the maps draw and list: shadow leaves coloured by their verdict with the changed outline
// and the L1-level tick, revmap ranges polluted or stale, accelerator groups named as the
// debugger names them, the bands of each space and what a fit looks at, the table rows browser
// tests click; leaves and revmap ranges gone since the previous maps as ghosts and struck rows
// apart from the live ones; then the same on a real run of touch.S, where a page L1 moved shows
// red and a page the host unmapped stays as a ghost for one stop.

import { describe, expect, it } from "vitest";
import type { MapsData, ShadowLeaf } from "../../debug/maps.ts";
import { mapsData } from "../../debug/maps.ts";
import type { CanonicalIpa, HostPa, NestedIpa } from "../../hypervisor/addr.ts";
import { unmapCanonical } from "../../lab/injection.ts";
import { accelGroupLabel, accelItem, canonicalBands, fitRanges, mapsSummary, nestedBands, removedLeafItem, revmapItem, shadowLeafItem } from "../../web/ui/maps_bands.ts";
import { accelRow, removedRevmapRow, revmapRow, revmapTableRows, shadowLeafRow, shadowTableRows } from "../../web/ui/maps_tables.ts";
import { HYP, l2, openPair } from "../debug/session_fixture.ts";

const n = (v: bigint): NestedIpa => v as NestedIpa;
const c = (v: bigint): CanonicalIpa => v as CanonicalIpa;
const p = (v: bigint): HostPa => v as HostPa;

function leaf(nested: bigint, patch: Partial<ShadowLeaf> = {}): ShadowLeaf {
  return {
    nested: n(nested), size: 0x1000n, pa: p(0x90_0000n + nested), perms: "RWX", level: 3, l1Level: 3,
    canonical: c(0x4800_0000n + nested), backing: p(0x90_0000n + nested), agrees: true, changed: false, ...patch,
  };
}

function data(): MapsData {
  return {
    layout: { ipaSize: 1n << 40n, ram: [{ start: c(0x4000_0000n), last: c(0x4fff_ffffn), residentPages: 12, dirtyLogging: false }], mmio: [{ name: "uart", start: c(0x900_0000n), last: c(0x900_0fffn) }] },
    mmus: [
      { mmu: 0, valid: true, l1Vmid: 1, hwVmid: 3, refcnt: 1, leaves: 3, tablePages: 4, vttbr: 0n, vtcr: 0n, inUseBy: [0], notes: [] },
      { mmu: 1, valid: false, l1Vmid: null, hwVmid: 4, refcnt: 0, leaves: 0, tablePages: 1, vttbr: 0n, vtcr: 0n, inUseBy: [], notes: [] },
    ],
    shadows: [[leaf(0x1000n), leaf(0x2000n, { agrees: false, backing: p(0x77_0000n), changed: true }), leaf(0x20_0000n, { l1Level: 2, canonical: null, backing: null, agrees: null })], []],
    canonical: [{ ipa: c(0x4010_0000n), size: 0x1000n, pa: p(0x50_0000n), perms: "RWX", level: 3 }],
    records: {
      strategy: "accel",
      mmus: [
        {
          mmu: 0, broken: false,
          revmap: [
            { start: c(0x4800_1000n), last: c(0x4800_1fffn), nested: n(0x1000n), stale: false },
            { start: c(0x4800_4000n), last: c(0x4800_5fffn), nested: null, stale: false },
            { start: c(0x4800_8000n), last: c(0x4800_8fffn), nested: n(0x8000n), stale: true },
          ],
          directMap: [{ start: n(0x1000n), last: n(0x1fffn), canonical: c(0x4800_1000n) }],
        },
        { mmu: 1, broken: true, revmap: null, directMap: [] },
      ],
      accel: { mmusPerBit: 2, ranges: [{ start: c(0x4800_1000n), last: c(0x4800_8fffn), value: 4n, bits: [{ bit: 2, mmus: [0, 1], stale: false }] }] },
    },
    removed: [[], []],
    removedRevmap: [[], []],
  };
}

/** data() after an unmap took the leaf at nested 0x3000 and its revmap range. */
function withRemoved(): MapsData {
  const d = data();
  d.removed[0] = [leaf(0x3000n, { changed: true })];
  d.removedRevmap[0] = [{ start: c(0x4800_3000n), last: c(0x4800_3fffn), nested: n(0x3000n), stale: false }];
  return d;
}

describe("items", () => {
  it("colours a shadow leaf by its verdict, outlines a changed one, ticks one L1 maps at another level", () => {
    const [ok, bad, unknown] = data().shadows[0]!.map((l) => shadowLeafItem(0, l));
    expect(ok).toMatchObject({ start: 0x1000n, last: 0x1fffn, tone: "agrees", outline: false, tick: null, click: { space: "nipa", addr: 0x1000n } });
    expect(bad).toMatchObject({ tone: "disagrees", outline: true });
    expect(bad!.tooltip().join("\n")).toMatch(/DISAGREES \(stale\): L1 \+ host backing give 0x770000/);
    expect(unknown).toMatchObject({ tone: "unknown", tick: "L1 leaf level 2, shadow level 3" });
  });

  it("hatches a polluted revmap range, marks a stale one, and follows canonical IPAs on click", () => {
    const [plain, polluted, stale] = data().records.mmus[0]!.revmap!.map((r) => revmapItem(0, r));
    expect(plain).toMatchObject({ tone: "revmap", hatch: false, stale: false, click: { space: "ipa", addr: 0x4800_1000n } });
    expect(polluted).toMatchObject({ tone: "polluted", hatch: true, label: "polluted" });
    expect(stale).toMatchObject({ stale: true });
    expect(stale!.tooltip()).toContain("stale: no shadow leaf built from it remains");
  });

  it("names accelerator groups as the debugger does", () => {
    const r = data().records.accel!.ranges[0]!;
    expect(accelGroupLabel(r.bits[0]!)).toBe("bit 2 (mmu0,mmu1)");
    expect(accelItem(r)).toMatchObject({ tone: "accel", label: "bit 2 (mmu0,mmu1)", stale: false, click: { space: "ipa", addr: 0x4800_1000n } });
    expect(accelItem({ ...r, bits: [{ bit: 3, mmus: [2, 3], stale: true }] }).stale).toBe(true);
  });
});

describe("bands", () => {
  it("gives the nested space a band per MMU (invalid ones dimmed) and the direct maps", () => {
    const bands = nestedBands(data());
    expect(bands.map((b) => b.key)).toEqual(["shadow-0", "direct-0", "shadow-1"]);
    expect(bands.every((b) => b.space === "nipa")).toBe(true);
    expect(bands[0]!.detail).toBe("mmu0: L1 VMID 1, hw VMID 3, refcnt 1, 3 leaves, in use by vCPU 0");
    expect(bands[2]).toMatchObject({ inactive: true, items: [] });
  });

  it("gives the canonical space the layout, the canonical stage-2, each MMU's leaves beside its revmap, and the accelerator", () => {
    const bands = canonicalBands(data());
    expect(bands.map((b) => b.key)).toEqual(["layout", "canonical", "leaves-0", "revmap-0", "leaves-1", "revmap-1", "accel"]);
    // A leaf L1 maps nothing for has no canonical place.
    expect(bands[2]!.items.map((i) => i.start)).toEqual([0x4800_1000n, 0x4800_2000n]);
    expect(bands[5]!.title).toBe("mmu1 revmap (broken)");
    expect(bands[0]!.items.map((i) => i.tone)).toEqual(["ram", "mmio"]);
  });

  it("fits to the leaves and records, not to the whole of L1's RAM", () => {
    const ranges = fitRanges(canonicalBands(data()));
    expect(ranges.some((r) => r.start === 0x4000_0000n && r.last === 0x4fff_ffffn)).toBe(false);
    expect(ranges.length).toBeGreaterThan(0);
  });
});

describe("table rows", () => {
  it("carry what a browser test looks for, and the address a click follows", () => {
    const [, bad] = data().shadows[0]!;
    expect(shadowLeafRow(0, bad!)).toMatchObject({
      className: "shadow-leaf",
      data: { mmu: "0", nested: "0x2000", agrees: "false", changed: "true" },
      link: { space: "nipa", addr: 0x2000n },
    });
    const polluted = data().records.mmus[0]!.revmap![1]!;
    expect(revmapRow(0, polluted)).toMatchObject({ className: "revmap-range", data: { mmu: "0", start: "0x48004000", polluted: "true", stale: "false" }, link: { space: "ipa" } });
    expect(accelRow(data().records.accel!.ranges[0]!)).toMatchObject({ className: "accel-range", data: { start: "0x48001000", bits: "2" }, link: { space: "ipa", addr: 0x4800_1000n } });
  });
});

describe("removed since the previous maps", () => {
  it("draws a removed leaf as a ghost in its own tone, under the live leaves, on both spaces", () => {
    const d = withRemoved();
    const gone = removedLeafItem(0, d.removed[0]![0]!);
    expect(gone).toMatchObject({ start: 0x3000n, last: 0x3fffn, tone: "removed", ghost: true, outline: false, click: { space: "nipa", addr: 0x3000n } });
    expect(gone.tooltip()[0]).toBe("mmu0 shadow leaf 4K RWX: removed since the last stop");
    expect(shadowLeafItem(0, d.shadows[0]![0]!).ghost).toBe(false);

    const shadow0 = nestedBands(d)[0]!;
    expect(shadow0.items.map((i) => [i.start, i.ghost])).toEqual([[0x3000n, true], [0x1000n, false], [0x2000n, false], [0x20_0000n, false]]);
    expect(shadow0.detail).toMatch(/, 1 removed since the last stop$/);
    const canon = canonicalBands(d);
    expect(canon.find((b) => b.key === "leaves-0")!.items.filter((i) => i.ghost).map((i) => i.start)).toEqual([0x4800_3000n]);
    const revmap = canon.find((b) => b.key === "revmap-0")!.items;
    expect(revmap.filter((i) => i.ghost).map((i) => [i.start, i.tone])).toEqual([[0x4800_3000n, "removed"]]);
    expect(revmap.filter((i) => !i.ghost)).toHaveLength(3);
  });

  it("lists a removed leaf in its MMU's rows where it was, as a row that is not a live leaf", () => {
    const d = withRemoved();
    const rows = shadowTableRows(0, d.shadows[0]!, d.removed[0]!);
    expect(rows.map((r) => [r.className, r.data.nested])).toEqual([
      ["shadow-leaf", "0x1000"], ["shadow-leaf", "0x2000"], ["shadow-leaf-removed", "0x3000"], ["shadow-leaf", "0x200000"],
    ]);
    const gone = rows[2]!;
    expect(gone).toMatchObject({ data: { mmu: "0", nested: "0x3000" }, link: { space: "nipa", addr: 0x3000n } });
    expect(gone.data).not.toHaveProperty("agrees");
    expect(gone.cells).toHaveLength(shadowLeafRow(0, d.shadows[0]![0]!).cells.length);
    expect(gone.cells.at(-1)).toBe("removed");
    expect(removedRevmapRow(0, d.removedRevmap[0]![0]!)).toMatchObject({ className: "revmap-range-removed", data: { mmu: "0", start: "0x48003000" } });
    const ranges = revmapTableRows(0, d.records.mmus[0]!.revmap!, d.removedRevmap[0]!);
    expect(ranges.map((r) => [r.className, r.data.start])).toEqual([
      ["revmap-range", "0x48001000"], ["revmap-range-removed", "0x48003000"], ["revmap-range", "0x48004000"], ["revmap-range", "0x48008000"],
    ]);
  });

  it("says in the summary how many leaves went, and nothing when none did", () => {
    expect(mapsSummary(data())).toEqual({ stale: 1, text: "strategy accel: 1 of 2 shadow MMUs valid, 3 shadow leaves, 1 disagreeing, 1 canonical stage-2 leaves" });
    const d = withRemoved();
    d.removed[1] = [leaf(0x9000n), leaf(0xa000n)];
    expect(mapsSummary(d).text).toBe("strategy accel: 1 of 2 shadow MMUs valid, 3 shadow leaves, 1 disagreeing, 3 removed since the last stop, 1 canonical stage-2 leaves");
  });
});

describe("a real run (touch.S under hyp.S, revmap): a canonical unmap", () => {
  it("leaves the page's leaf as a ghost and a struck row for one stop", async () => {
    const s = await openPair(HYP, [l2("touch")], { unmap: "revmap" });
    s.addExitBreak("HVC64");
    expect(s.resume().reason.kind).toBe("exit-break");
    const before = mapsData(s.kvm);
    const touched = 0x4010_3000n;
    const gone = before.shadows[0]!.find((l) => l.nested === touched)!;
    unmapCanonical(s.kvm, gone.canonical!, 0x1000n);
    const after = mapsData(s.kvm, before);
    const ghosts = nestedBands(after).find((b) => b.key === "shadow-0")!.items.filter((i) => i.ghost);
    expect(ghosts.map((i) => [i.start, i.last])).toEqual([[touched, touched + 0xfffn]]);
    const revmapGhosts = canonicalBands(after).find((b) => b.key === "revmap-0")!.items.filter((i) => i.ghost);
    expect(revmapGhosts.map((i) => i.start)).toEqual([gone.canonical]);
    const rows = shadowTableRows(0, after.shadows[0]!, after.removed[0]!);
    expect(rows.filter((r) => r.className === "shadow-leaf")).toHaveLength(before.shadows[0]!.length - 1);
    expect(rows.filter((r) => r.className === "shadow-leaf-removed").map((r) => r.data.nested)).toEqual(["0x40103000"]);
    expect(mapsSummary(after).text).toContain(", 1 removed since the last stop,");
    // The next stop forgets it.
    expect(nestedBands(mapsData(s.kvm, after)).flatMap((b) => b.items).some((i) => i.ghost)).toBe(false);
  });
});

describe("a real run (touch.S under hyp.S, accel)", () => {
  it("draws every leaf green, then the page L1 moved without a TLBI red and outlined", async () => {
    const s = await openPair(HYP, [l2("touch")], { unmap: "accel" });
    s.addExitBreak("HVC64");
    expect(s.resume().reason.kind).toBe("exit-break");
    const before = mapsData(s.kvm);
    const shadow0 = nestedBands(before).find((b) => b.key === "shadow-0")!;
    expect(shadow0.items.length).toBe(before.shadows[0]!.length);
    expect(shadow0.items.every((i) => i.tone === "agrees")).toBe(true);
    const accel = canonicalBands(before).find((b) => b.key === "accel")!;
    expect(accel.items.length).toBeGreaterThan(0);
    expect(accel.items.every((i) => /^bit \d+ \(mmu\d+(,mmu\d+)*\)/.test(i.label))).toBe(true);

    const touched = 0x4010_3000n;
    const l3 = s.translate(touched, "L2").stages[1]!.steps[2]!;
    const desc = new Uint8Array(8);
    new DataView(desc.buffer).setBigUint64(0, (l3.desc! & ~0xffff_ffff_f000n) | 0x4810_4000n, true);
    s.writeMemory("ipa", l3.address, desc);
    const after = nestedBands(mapsData(s.kvm, before)).find((b) => b.key === "shadow-0")!;
    expect(after.items.filter((i) => i.tone === "disagrees").map((i) => [i.start, i.outline])).toEqual([[touched, true]]);
  });
});
