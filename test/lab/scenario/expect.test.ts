// Resolving a metric expectation's name against a run's metrics: an aggregate of a grouped counter
// reads the counter, not a key of the group that was never bumped.

import { describe, expect, it } from "vitest";
import type { MetricsSnapshot } from "../../../hypervisor/metrics.ts";
import { resolveMetric } from "../../../lab/scenario/expect.ts";

const SNAPSHOT: MetricsSnapshot = {
  exits: { HVC64: 7 },
  tlbi: { IPAS2E1IS: 3 },
  shadowFaults: 5,
  l1S2Walks: 0,
  faultsInjectedToL1: 0,
  canonicalFaults: 0,
  mmusRecycled: 0,
  canonicalUnmaps: 2,
  shadowEntriesRemoved: 0,
  shadowMmusVisited: [1, 4],
};

describe("resolveMetric", () => {
  it("reads counters, grouped counters and sample lists", () => {
    expect(resolveMetric(SNAPSHOT, "shadowFaults")).toEqual({ values: [5], each: false });
    expect(resolveMetric(SNAPSHOT, "exits.HVC64")).toEqual({ values: [7], each: false });
    expect(resolveMetric(SNAPSHOT, "exits.DABT_LOW")).toEqual({ values: [0], each: false });
    expect(resolveMetric(SNAPSHOT, "shadowMmusVisited")).toEqual({ values: [1, 4], each: true });
    expect(resolveMetric(SNAPSHOT, "shadowMmusVisited.max")).toEqual({ values: [4], each: false });
    expect(resolveMetric(SNAPSHOT, "shadowMmusVisited.sum")).toEqual({ values: [5], each: false });
  });

  it("an aggregate of a counter, grouped or not, is the counter", () => {
    expect(resolveMetric(SNAPSHOT, "tlbi.IPAS2E1IS.max")).toEqual({ values: [3], each: false });
    expect(resolveMetric(SNAPSHOT, "exits.HVC64.sum")).toEqual({ values: [7], each: false });
    expect(resolveMetric(SNAPSHOT, "shadowFaults.last")).toEqual({ values: [5], each: false });
  });
});
