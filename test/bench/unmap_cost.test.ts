import { describe, expect, it } from "vitest";
import { faultCost, runUnmapCost, type CaseResult, type UnmapCostSizes, unmapCostResult } from "../../bench/unmap_cost.ts";

const ctx = { quick: true, seed: 7, progress: () => {} };
const TINY: UnmapCostSizes = { mmuCounts: [4, 70], pageCounts: [32], repeats: 1, pageRepeats: 1, sweepMmus: 4, pagesPerMmu: 8, faultMmus: [4] };

describe("unmap-cost benchmark (tiny sizes)", () => {
  it("counts what each strategy visits, removes and refaults, in the expected direction", async () => {
    const { byMmus, byPages } = await runUnmapCost(ctx, TINY);
    const at = (rs: CaseResult[], n: number, s: string, sharing = "one") => rs.find((c) => c.mmus === n && c.strategy === s && c.sharing === sharing)!;
    for (const n of [4, 70]) {
      const full = at(byMmus, n, "full");
      const accel = at(byMmus, n, "accel");
      const revmap = at(byMmus, n, "revmap");
      // full empties every valid MMU; the bookkeeping strategies remove only the page's one leaf.
      expect(full.visited).toBe(n);
      expect(full.removed).toBe(n * 8);
      expect(full.refaults).toBe(n * 8);
      expect(revmap.visited).toBe(n);
      expect(revmap.removed).toBe(1);
      expect(revmap.refaults).toBe(1);
      expect(accel.removed).toBe(1);
      expect(accel.visited).toBeLessThan(full.visited);
      for (const c of byMmus.filter((c) => c.mmus === n)) expect(c.missed, `${c.strategy} ${c.sharing}`).toBe(0);
      // A page every MMU maps: every strategy visits and removes one leaf per MMU.
      expect(at(byMmus, n, "accel", "all").removed).toBe(n);
    }
    // p = 0 below 63 MMUs: one MMU per bit; 70 MMUs: two per bit.
    expect(at(byMmus, 4, "accel").visited).toBe(1);
    expect(at(byMmus, 70, "accel").p).toBe(1);
    expect(at(byMmus, 70, "accel").visited).toBe(2);
    expect(at(byMmus, 4, "accel", "few").visited).toBe(4);
    const pf = at(byPages, 4, "full");
    expect(pf.removed).toBe(4 * 32);
    expect(at(byPages, 4, "accel").removed).toBe(1);
  }, 60_000);

  it("measures shadow-fault cost for every strategy", () => {
    const f = faultCost([2], 4, 1);
    expect(f.map((c) => c.strategy).sort()).toEqual(["accel", "full", "revmap", "rfc-rbtree"]);
    for (const c of f) expect(c.micros.median).toBeGreaterThan(0);
  });

  it("returns tables, plots with inline data and the bars its sizes allow", async () => {
    const sizes: UnmapCostSizes = { ...TINY, mmuCounts: [1, 4, 16] };
    const r = unmapCostResult(sizes, await runUnmapCost(ctx, sizes));
    expect(r.id).toBe("unmap-cost");
    expect(r.tables.map((t) => t.rows.length)).toEqual([3 * 3 * 4, 4, 1]);
    expect(r.plots.length).toBe(4);
    for (const p of r.plots) expect((p.spec.data as { values: unknown[] }).values.length).toBeGreaterThan(0);
    // Without 256 MMUs only the flagged-group bar can be checked; accel visits one MMU at 1, 4 and 16 (p = 0).
    expect(r.bars).toHaveLength(1);
    expect(r.bars[0]!.pass).toBe(true);
    expect(r.bars[0]!.detail).toBe("1: 1 (2^0 = 1), 4: 1 (2^0 = 1), 16: 1 (2^0 = 1)");
  }, 60_000);
});
