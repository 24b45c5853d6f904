// The metrics view's data: the history of counters (bounded by thinning the older half, cut when
// time goes back), the group totals and names the chart offers, the points it draws, and a spec
// vega-lite compiles.

import { describe, expect, it } from "vitest";
import { compile } from "vega-lite";
import { MetricsHistory, thin, type Sample } from "../../web/ui/metrics_history.ts";
import { DEFAULT_SERIES, groupThousands, seriesOrder, seriesTitle, withTotals } from "../../web/ui/metrics_keys.ts";
import { chartRows, chartSpec, DATA_NAME, pickSamples } from "../../web/ui/metrics_spec.ts";
import { flattenMetrics } from "../../web/worker/lab_vm.ts";
import { Metrics } from "../../hypervisor/metrics.ts";

const steps = (h: MetricsHistory): number[] => h.samples.map((s) => s.step);

describe("MetricsHistory", () => {
  it("keeps one sample per step, the later state of a step replacing the earlier", () => {
    const h = new MetricsHistory(10);
    h.push(0, { a: 0 });
    h.push(100, { a: 1 });
    h.push(100, { a: 2 });
    expect(h.samples).toEqual([{ step: 0, values: { a: 0 } }, { step: 100, values: { a: 2 } }]);
  });

  it("cuts the samples after a step it goes back to", () => {
    const h = new MetricsHistory(10);
    for (const s of [0, 10, 20, 30]) h.push(s, { a: s });
    h.push(15, { a: 15 });
    expect(steps(h)).toEqual([0, 10, 15]);
    h.push(0, { a: 0 }); // a new run
    expect(steps(h)).toEqual([0]);
  });

  it("stays within its bound, thinning the older samples and keeping the newest and the first", () => {
    const h = new MetricsHistory(100);
    for (let s = 0; s < 10_000; s++) h.push(s, { a: s });
    expect(h.samples.length).toBeLessThanOrEqual(100);
    expect(h.samples.length).toBeGreaterThan(50);
    expect(h.samples[0]!.step).toBe(0);
    const last = steps(h).slice(-30);
    expect(last).toEqual(Array.from({ length: 30 }, (_, i) => 9970 + i));
    const all = steps(h);
    expect(all).toEqual([...all].sort((a, b) => a - b));
  });

  it("thins every other sample of the older half", () => {
    const list: Sample[] = Array.from({ length: 8 }, (_, i) => ({ step: i, values: {} }));
    expect(thin(list).map((s) => s.step)).toEqual([0, 2, 4, 5, 6, 7]);
  });

  it("remembers every counter name seen", () => {
    const h = new MetricsHistory(10);
    h.push(0, { a: 1 });
    h.push(1, { b: 1 });
    expect([...h.names]).toEqual(["a", "b"]);
    expect(() => new MetricsHistory(2)).toThrow(RangeError);
  });

  it("counts its changes, so a drawing knows when it is out of date", () => {
    const h = new MetricsHistory(10);
    const r0 = h.revision;
    h.push(0, { a: 1 });
    expect(h.revision).toBeGreaterThan(r0);
  });
});

describe("counter names", () => {
  it("sums the exits and TLBIs groups of the worker's flattened counters", () => {
    const m = new Metrics();
    m.inc("exits.HVC64", 3);
    m.inc("exits.DABT_LOW", 2);
    m.inc("tlbi.IPAS2E1", 4);
    m.inc("shadowFaults", 7);
    m.recordUnmapVisit(2);
    const totals = withTotals(flattenMetrics(m.snapshot()));
    expect(totals).toMatchObject({ exits: 5, tlbi: 4, "exits.HVC64": 3, shadowFaults: 7, canonicalUnmaps: 0, shadowEntriesRemoved: 0, "shadowMmusVisited.samples": 1 });
    // The default series are all real keys of the flattened counters.
    for (const name of DEFAULT_SERIES) expect(totals).toHaveProperty([name]);
    expect(withTotals({})).toEqual({ exits: 0, tlbi: 0 });
  });

  it("offers the defaults first, then the rest alphabetically", () => {
    expect(seriesOrder(["z", "shadowFaults", "a", "exits"])).toEqual([...DEFAULT_SERIES, "a", "z"]);
    expect(seriesTitle("shadowEntriesRemoved")).toBe("shadow leaves unmapped");
    expect(seriesTitle("exits.HVC64")).toBe("exits.HVC64");
  });

  it("groups thousands as en-US does", () => {
    for (const v of [0, 7, 999, 1000, 1234567, -1234, 12345678901]) expect(groupThousands(v)).toBe(v.toLocaleString("en-US"));
    expect(groupThousands(1.5)).toBe("1.5");
  });
});

describe("chart", () => {
  const samples: Sample[] = Array.from({ length: 1000 }, (_, i) => ({ step: i * 10, values: { exits: i, shadowFaults: i * 2 } }));

  it("draws at most the asked points per counter, evenly spread, first and last kept", () => {
    const picked = pickSamples(samples, 11);
    expect(picked.map((s) => s.step)).toEqual([0, 1000, 2000, 3000, 4000, 5000, 5990, 6990, 7990, 8990, 9990]);
    expect(pickSamples(samples.slice(0, 5), 11)).toHaveLength(5);
  });

  it("gives a row per sample and counter, 0 for one not counted yet", () => {
    const rows = chartRows(samples.slice(0, 2), ["exits", "canonicalUnmaps"], 100);
    expect(rows).toEqual([
      { step: 0, metric: "exits (all classes)", value: 0 },
      { step: 0, metric: "canonical unmaps", value: 0 },
      { step: 10, metric: "exits (all classes)", value: 1 },
      { step: 10, metric: "canonical unmaps", value: 0 },
    ]);
  });

  it("builds a spec vega-lite compiles, fed through the named data set, log scale on request", () => {
    for (const log of [false, true]) {
      const spec = chartSpec({ log, width: 600, height: 200 });
      expect(spec.data).toEqual({ name: DATA_NAME, values: [] });
      const vg = compile(spec).spec;
      expect(vg.data?.some((d) => d.name === DATA_NAME)).toBe(true);
      expect(JSON.stringify(vg.scales)).toContain(log ? "symlog" : "linear");
    }
    const rows = chartRows(samples.slice(0, 3), ["exits"], 10);
    const first = compile(chartSpec({ log: false, width: 600, height: 200 }, rows)).spec;
    expect(first.data?.find((d) => d.name === DATA_NAME)).toMatchObject({ values: rows });
  });
});
