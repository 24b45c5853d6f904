// A run's case depends on (seed, index) alone; shards split a campaign into disjoint slices that
// together are the campaign.

import { describe, expect, it } from "vitest";
import { UNMAP_STRATEGIES } from "../../../hypervisor/unmap/registry.ts";
import { fuzzCase, shardRuns } from "../../../lab/fuzz/case.ts";
import { FUZZ_GUESTS } from "../../../lab/fuzz/guests.ts";

describe("fuzz cases", () => {
  it("are a pure function of (seed, index)", () => {
    for (let i = 0; i < 50; i++) expect(fuzzCase(7, i)).toEqual(fuzzCase(7, i));
    const a = Array.from({ length: 50 }, (_, i) => JSON.stringify(fuzzCase(7, i), (_k, v) => (typeof v === "bigint" ? String(v) : v)));
    const b = Array.from({ length: 50 }, (_, i) => JSON.stringify(fuzzCase(8, i), (_k, v) => (typeof v === "bigint" ? String(v) : v)));
    expect(new Set(a).size).toBe(50);
    expect(a).not.toEqual(b);
  });

  it("draw every strategy, many guest sets and chaos rates; --strategy fixes the strategy", () => {
    const cases = Array.from({ length: 400 }, (_, i) => fuzzCase(0, i));
    expect(new Set(cases.map((c) => c.vm.unmap))).toEqual(new Set(UNMAP_STRATEGIES));
    expect(new Set(cases.map((c) => c.guests.name)).size).toBe(FUZZ_GUESTS.length);
    expect(new Set(cases.map((c) => c.chaos.rate)).size).toBeGreaterThan(3);
    expect(cases.some((c) => c.vm.directMap) && cases.some((c) => c.vm.revmapTlbi === "v3") && cases.some((c) => c.vm.blocks === false)).toBe(true);
    expect(Array.from({ length: 50 }, (_, i) => fuzzCase(0, i, { strategy: "accel" }).vm.unmap).every((s) => s === "accel")).toBe(true);
  });

  it("give every VM a valid shape: directMap only with revmap/accel and never with seed TLBIs, enough shadow MMUs", () => {
    for (let i = 0; i < 400; i++) {
      const { vm, guests } = fuzzCase(3, i);
      if (vm.directMap || vm.revmapTlbi) expect(["revmap", "accel"]).toContain(vm.unmap);
      expect(vm.directMap && vm.revmapTlbi === "seed").toBeFalsy();
      expect(vm.nestedMmus ?? Infinity).toBeGreaterThanOrEqual(guests.vcpus ?? 1);
      expect(vm.vcpus ?? 1).toBe(guests.vcpus ?? 1);
    }
  });
});

describe("shards", () => {
  it("are disjoint and together are the campaign", () => {
    for (const [runs, n] of [[100, 8], [10, 3], [5, 7], [1, 1]] as const) {
      const slices = Array.from({ length: n }, (_, i) => shardRuns(runs, i, n));
      const all = slices.flat().sort((a, b) => a - b);
      expect(all).toEqual(Array.from({ length: runs }, (_, i) => i));
      for (const [i, s] of slices.entries()) expect(s.every((x) => x % n === i)).toBe(true);
    }
  });
});
