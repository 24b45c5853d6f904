// scenarios/coalesce_order.yaml under both coalescing orders: the same guest result and invariants,
// but only break-before-make leaves the region invalid while the page mappings are freed, and the
// vCPUs that touch it meanwhile fault and wait.

import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runScenario } from "../../../lab/scenario/run.ts";
import { REPO_ROOT } from "../../qemu/pairs.ts";

const FILE = join(REPO_ROOT, "scenarios", "coalesce_order.yaml");
const metric = (m: Record<string, unknown>, name: string): number => (typeof m[name] === "number" ? (m[name]) : 0);

describe("coalesce_order.yaml", () => {
  it("bbm: 512 invalid ticks; the four vCPUs fault on the region and wait; every word right", async () => {
    const r = await runScenario(FILE, { coalesce: "bbm" });
    expect(r.failures).toEqual([]);
    expect(metric(r.metrics, "coalesceInvalidTicks")).toBe(512);
    expect(metric(r.metrics, "coalescePagesFreed")).toBe(512);
    // Every vCPU is inside its passes when the coalescing begins, so each faults once and waits.
    expect(metric(r.metrics, "coalesceFaults")).toBe(4);
    expect(r.injections.map((i) => i.replace(/^step \d+: /, ""))).toEqual([
      "timeline[0] split 0x42000000",
      "timeline[1] coalesce 0x42000000 (bbm, 512 page mappings, 512 ticks)",
    ]);
  });

  it("install-first: the block is valid at once: no invalid tick, no fault, same result", async () => {
    const r = await runScenario(FILE, { coalesce: "install-first" });
    expect(r.failures).toEqual([]);
    expect(metric(r.metrics, "coalesceInvalidTicks")).toBe(0);
    expect(metric(r.metrics, "coalesceFaults")).toBe(0);
    expect(metric(r.metrics, "coalescePagesFreed")).toBeGreaterThan(0);
  });
});
