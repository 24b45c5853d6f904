// Shrinking against predicates with a known smallest failing timeline: ddmin keeps the entries
// that matter, triggers move as early as they still fail, ranges halve down to the page that
// matters, counts drop, and the budget bounds the runs.

import { describe, expect, it } from "vitest";
import type { ChaosInjection } from "../../../lab/chaos.ts";
import { shrinkTimeline, type Timeline } from "../../../lab/fuzz/shrink.ts";

const unmap = (exits: number, ipa: bigint, size = 0x1000n): ChaosInjection => ({ exits, action: { unmapCanonical: { ipa, size } } });
const recycle = (exits: number, mmu: number): ChaosInjection => ({ exits, action: { recycle: { mmu } } });
const fail = (exits: number, count: number): ChaosInjection => ({ exits, action: { failStores: { store: "revmap", count } } });

/** Fails when some unmap covers `page` at or after exit `from`. */
const coversPage = (page: bigint, from: number) => (t: Timeline): boolean =>
  t.some((e) => e.exits >= from && "unmapCanonical" in e.action && e.action.unmapCanonical.ipa <= page && page < e.action.unmapCanonical.ipa + e.action.unmapCanonical.size);

describe("shrinkTimeline", () => {
  it("keeps the one entry that matters, moves it to the earliest exit that fails, and narrows its range to one page", async () => {
    const t = [recycle(5, 0), fail(9, 3), unmap(20, 0x4800_0000n, 0x20_0000n), recycle(30, 1), unmap(40, 0x4000_0000n), fail(41, 1)];
    const fails = coversPage(0x4810_3000n, 12);
    const r = await shrinkTimeline(t, async (x) => fails(x), 200);
    expect(r.timeline).toEqual([unmap(12, 0x4810_3000n)]);
    expect(r.exhausted).toBe(false);
  });

  it("keeps two entries that fail only together, in order", async () => {
    const t = Array.from({ length: 20 }, (_, i) => recycle(10 * (i + 1), i % 3));
    // Fails when MMU 2 is recycled at exit ≥ 30 and later MMU 1 at exit ≥ 150.
    const fails = (x: Timeline): boolean => {
      const a = x.findIndex((e) => "recycle" in e.action && e.action.recycle.mmu === 2 && e.exits >= 30);
      return a >= 0 && x.slice(a + 1).some((e) => "recycle" in e.action && e.action.recycle.mmu === 1 && e.exits >= 150);
    };
    const r = await shrinkTimeline(t, async (x) => fails(x), 300);
    expect(r.timeline.length).toBe(2);
    expect(r.timeline.map((e) => e.exits)).toEqual([30, 150]);
    expect(fails(r.timeline)).toBe(true);
  });

  it("lowers a store-failure count to the smallest that still fails", async () => {
    const fails = (x: Timeline): boolean => x.some((e) => "failStores" in e.action && e.action.failStores.count >= 2);
    const r = await shrinkTimeline([fail(3, 3), recycle(4, 0)], async (x) => fails(x), 100);
    expect(r.timeline).toEqual([fail(1, 2)]);
  });

  it("gives up an empty timeline only when the run fails without any injection", async () => {
    const r = await shrinkTimeline([recycle(3, 0), recycle(4, 1)], async () => true, 100);
    expect(r.timeline).toEqual([]);
  });

  it("a long schedule whose failure needs its last entries shrinks within a small budget", async () => {
    const t = Array.from({ length: 200 }, (_, i) => recycle(i + 1, i));
    const needs = [150, 199];
    const fails = (x: Timeline): boolean => needs.every((m) => x.some((e) => "recycle" in e.action && e.action.recycle.mmu === m));
    const r = await shrinkTimeline(t, async (x) => fails(x), 150);
    expect(r.timeline.map((e) => "recycle" in e.action && e.action.recycle.mmu)).toEqual(needs);
    expect(r.exhausted).toBe(false);
    // The suffix search narrows the 200 entries to the last 64 in 7 runs; ddmin takes it from there.
    expect(r.runs).toBeLessThan(110);
  });

  it("never runs more candidates than its budget, and says it ran out", async () => {
    let runs = 0;
    const t = Array.from({ length: 64 }, (_, i) => unmap(i + 1, BigInt(0x4000_0000 + i * 0x1000)));
    const r = await shrinkTimeline(t, async (x) => (runs++, x.length > 3), 10);
    expect(runs).toBe(10);
    expect(r.runs).toBe(10);
    expect(r.exhausted).toBe(true);
    expect(r.timeline.length).toBeGreaterThan(3);
  });
});
