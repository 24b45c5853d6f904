// Every shipped scenario (scenarios/*.yaml) runs on its real guests and all its expectations hold;
// a few are also run under other strategies to show the comparison the scenarios are meant for.

import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runScenario } from "../../lab/scenario/run.ts";
import { REPO_ROOT } from "../qemu/pairs.ts";

const DIR = join(REPO_ROOT, "scenarios");
const FILES = readdirSync(DIR).filter((f) => f.endsWith(".yaml")).sort();

describe.concurrent("shipped scenarios", () => {
  it("there is one per behaviour the scenarios document", () => {
    expect(FILES).toEqual([
      "accel_affected.yaml",
      "accel_groups.yaml",
      "accel_store_failure.yaml",
      "coalesce_order.yaml",
      "direct_map_store_failure.yaml",
      "dirty_log_nested.yaml",
      "dirty_log_shadow_tlb.yaml",
      "l1_tlbi_stale.yaml",
      "memslot_delete.yaml",
      "recycle_pending.yaml",
      "relax_perms.yaml",
      "revmap_broken.yaml",
      "revmap_direct_map.yaml",
      "revmap_polluted.yaml",
      "revmap_stale.yaml",
      "revmap_tlbi_v3.yaml",
      "rfc_rbtree_alias.yaml",
      "rfc_rbtree_flaw.yaml",
      "smp_recycle.yaml",
      "smp_unmaps.yaml",
      "tlb_stale.yaml",
      "unmap_storm.yaml",
    ]);
  });

  it.each(FILES)("%s: every expectation holds", async (f) => {
    const r = await runScenario(join(DIR, f));
    expect(r.failures).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.checks.length).toBeGreaterThanOrEqual(2);
    expect(r.checks.every((c) => c.ok)).toBe(true);
  });

  it("rfc_rbtree_flaw: the checker names (S), the MMU and the addresses of the stale leaf", async () => {
    const r = await runScenario(join(DIR, "rfc_rbtree_flaw.yaml"));
    expect(r.outcome.kind).toBe("monitor-stop");
    if (r.outcome.kind !== "monitor-stop") return;
    expect(r.outcome.verdict).toBe("invariant S");
    expect(r.outcome.details).toMatchObject({ invariant: "S", mmu: { index: 0 }, nestedIpa: "0x40100000", canonicalIpa: "0x48100000" });
  });

  it("rfc_rbtree_flaw under a safe strategy: the same unmap is handled and the invariants hold", async () => {
    for (const unmap of ["full", "revmap", "accel"] as const) {
      const r = await runScenario(join(DIR, "rfc_rbtree_flaw.yaml"), { unmap });
      expect(r.outcome, unmap).toMatchObject({ kind: "system-off", code: 0 });
      expect(r.failures).toEqual(["invariants: expected invariant S violated, got held"]);
    }
  });

  it("tlb_stale: the checker names (T), the MMU, the gone leaf and the stale TLB entry", async () => {
    const r = await runScenario(join(DIR, "tlb_stale.yaml"));
    expect(r.outcome.kind).toBe("monitor-stop");
    if (r.outcome.kind !== "monitor-stop") return;
    expect(r.outcome.verdict).toBe("invariant T");
    expect(r.outcome.details).toMatchObject({
      invariant: "T",
      title: "TLB",
      mmu: { index: 0 },
      canonicalIpa: "0x48000000",
      hostBacking: null,
      tlbEntry: { cpu: 0, ipa: "0x40000000", size: "0x1000" },
    });
  });

  it("l1_tlbi_stale: the checker names (L), the TLBI and a surviving piece of the old block", async () => {
    const r = await runScenario(join(DIR, "l1_tlbi_stale.yaml"));
    expect(r.outcome.kind).toBe("monitor-stop");
    if (r.outcome.kind !== "monitor-stop") return;
    expect(r.outcome.verdict).toBe("invariant L");
    expect(r.outcome.details).toMatchObject({ invariant: "L", title: "L1 consistency", tlbi: "TLBI RIPAS2E1IS 0x400000040300 (L1 VMID 1)", l1Maps: null });
    expect(r.outcome.details.leaf).toMatchObject({ size: "0x1000" });
  });

  it("accel_affected under full: every canonical unmap visits all six valid MMUs", async () => {
    const r = await runScenario(join(DIR, "accel_affected.yaml"), { unmap: "full" });
    expect(r.metrics.shadowMmusVisited).toEqual([6, 6, 6]);
    expect(r.ok).toBe(false);
    expect(r.failures.some((f) => f.startsWith("metric shadowMmusVisited: expected each = 1, got [6, 6, 6]"))).toBe(true);
  });

  it("revmap_stale with directMap forced on: no stale entries any more", async () => {
    const r = await runScenario(join(DIR, "revmap_stale.yaml"), { directMap: true });
    expect(r.metrics["revmap.staleEntries"]).toEqual([0]);
    expect(r.failures).toEqual(["metric revmap.staleEntries.max: expected ≥ 1, got 0"]);
  });
});
