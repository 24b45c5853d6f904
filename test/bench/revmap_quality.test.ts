import { describe, expect, it } from "vitest";
import { generateWorkload, RevmapWorld } from "../../bench/lib/l0_driver_revmap.ts";
import { QUALITY_CONFIGS, qualityWorkload, runFailures, runQuality } from "../../bench/revmap_quality.ts";
import { checkInvariants } from "../../lab/check.ts";

const SEED = 11;
const config = (name: string) => QUALITY_CONFIGS.find((c) => c.name === name)!;

describe("revmap-quality benchmark (smoke)", () => {
  it("stale revmap entries and accelerator bits grow as the seeds are written and stay 0 under v3 with the direct map", () => {
    const every = 250;
    const accel = runQuality(config("accel (seed)"), SEED, 2_000, every);
    const exact = runQuality(config("accel (v3) + directMap"), SEED, 2_000, every);
    const stale = accel.samples.map((s) => s.staleEntries);
    expect(stale[0]).toBe(0);
    expect(Math.max(...stale)).toBeGreaterThan(20);
    expect(stale[stale.length - 1]!).toBeGreaterThan(stale[1]!);
    expect(Math.max(...accel.samples.map((s) => s.accelStaleBits))).toBeGreaterThan(20);
    expect(exact.samples.map((s) => s.staleEntries).every((n) => n === 0)).toBe(true);
    expect(exact.samples.map((s) => s.accelStaleBits).every((n) => n === 0)).toBe(true);
    expect(exact.pollutedRecords).toBe(0);
    // Same operations, but stale ranges make canonical unmaps remove live leaves that had to stay.
    const wrong = (r: typeof accel) => r.unmaps.reduce((n, u) => n + u.removed - u.needed, 0);
    expect(wrong(accel)).toBeGreaterThan(0);
    expect(wrong(exact)).toBe(0);
    // The direct map's price: one more entry per shadow leaf.
    const end = exact.samples[exact.samples.length - 1]!;
    expect(end.directMapEntries).toBe(end.shadowLeaves);
  });

  it("v3 without the direct map (a scan of the revmap at each TLBI) keeps the revmap exact too", () => {
    const scan = runQuality(config("revmap (v3)"), SEED, 2_000, 250);
    const seed = runQuality(config("revmap (seed)"), SEED, 2_000, 250);
    expect(scan.samples.every((s) => s.staleEntries === 0)).toBe(true);
    expect(scan.samples[scan.samples.length - 1]!.directMapEntries).toBe(0);
    expect(Math.max(...seed.samples.map((s) => s.staleEntries))).toBeGreaterThan(20);
  });

  it("fallback full unmaps grow with the injected revmap store-failure rate", () => {
    const revmap = { name: "revmap", config: { unmap: "revmap" as const } };
    const runs = [0, 0.01, 0.2].map((rate) => runFailures(revmap, rate, SEED, 1_500));
    const fallbacks = runs.map((r) => r.fallbackFullUnmaps);
    expect(fallbacks[0]).toBe(0);
    expect(runs[0]!.storesFailed).toBe(0);
    expect(runs[2]!.storesFailed).toBeGreaterThan(0);
    expect(fallbacks[1]!).toBeGreaterThanOrEqual(fallbacks[0]!);
    expect(fallbacks[2]!).toBeGreaterThan(fallbacks[1]!);
    expect(runs[2]!.shadowEntriesRemoved).toBeGreaterThan(runs[0]!.shadowEntriesRemoved);
  });

  it("the workload keeps L0 safe and exact (S, R, A hold at the end of a run)", () => {
    for (const c of QUALITY_CONFIGS) {
      const w = generateWorkload(qualityWorkload(SEED, 1_500));
      const world = new RevmapWorld(w, c.config);
      for (const o of w.ops) world.apply(o);
      expect(world.kvm.metrics.shadowFaults, c.name).toBeGreaterThan(200);
      expect(checkInvariants(world.kvm), c.name).toBeNull();
    }
  });
});
