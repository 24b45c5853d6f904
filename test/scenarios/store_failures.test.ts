// The store-failure and TLBI-mode scenarios: what the seed's failure path leaves behind, named by
// the checker, and how the same runs go under the other strategies and modes.

import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runScenario } from "../../lab/scenario/run.ts";
import { REPO_ROOT } from "../qemu/pairs.ts";

const DIR = join(REPO_ROOT, "scenarios");

describe.concurrent("store failures and TLBI modes", () => {
  it("accel_store_failure: the checker names (A) and the leaf the failed record_accel left in neither structure", async () => {
    const r = await runScenario(join(DIR, "accel_store_failure.yaml"));
    expect(r.failures).toEqual([]);
    expect(r.outcome.kind).toBe("monitor-stop");
    if (r.outcome.kind !== "monitor-stop") return;
    expect(r.outcome.verdict).toBe("invariant A");
    expect(r.outcome.details).toMatchObject({ invariant: "A", mmu: { index: 0 } });
    expect(r.metrics.canonicalUnmaps).toBe(0);
  });

  it("accel_store_failure under revmap and full: there is no accelerator store to fail; the run ends clean", async () => {
    for (const unmap of ["revmap", "full"] as const) {
      const r = await runScenario(join(DIR, "accel_store_failure.yaml"), { unmap });
      expect(r.outcome, unmap).toMatchObject({ kind: "system-off", code: 0 });
      expect(r.failures, unmap).toEqual(["invariants: expected invariant A violated, got held", "metric accel.storeFailures: expected = 1, got 0"]);
    }
  });

  it("direct_map_store_failure under accel: the same fallback, still safe", async () => {
    const r = await runScenario(join(DIR, "direct_map_store_failure.yaml"), { unmap: "accel" });
    expect(r.failures).toEqual([]);
    expect(r.metrics["revmap.broken"]).toBe(1);
  });

  it("revmap_tlbi_v3 with the seeds' TLBIs (revmapTlbi seed): the entry goes stale, as in revmap_stale", async () => {
    const r = await runScenario(join(DIR, "revmap_tlbi_v3.yaml"), { revmapTlbi: "seed" });
    expect(r.metrics["revmap.staleEntries"]).toEqual([1]);
    expect(r.failures).toEqual(["metric revmap.staleEntries: expected each = 0, got [1]", "metric revmap.tlbiErased: expected ≥ 1, got 0"]);
  });
});
