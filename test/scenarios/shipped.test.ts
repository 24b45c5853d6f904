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
      "chaos_aimed.yaml",
      "coalesce_order.yaml",
      "direct_map_store_failure.yaml",
      "dirty_log_nested.yaml",
      "dirty_log_shadow_tlb.yaml",
      "l1_tlbi_stale.yaml",
      "memslot_delete.yaml",
      "nested_fault_no_canonical.yaml",
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
      "unmap_gfn_range.yaml",
      "unmap_storm.yaml",
      "unmap_whole_block.yaml",
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
    expect(r.outcome.details).toMatchObject({ invariant: "L", title: "L1 consistency", tlbi: "TLBI RIPAS2E1IS 0x400000040202 (L1 VMID 1)", l1Maps: null });
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

  it("unmap_whole_block with stage2UnmapSplit (not KVM): the block is split and kept, only the unmapped page faults back", async () => {
    const whole = await runScenario(join(DIR, "unmap_whole_block.yaml"));
    const split = await runScenario(join(DIR, "unmap_whole_block.yaml"), { stage2UnmapSplit: true });
    expect(split.outcome).toMatchObject({ kind: "system-off", code: 0 });
    // 2 faults before the unmap (L1's image block, the region's block), then the region page by page or only the one page.
    expect(whole.metrics.canonicalFaults).toBe(2 + 512);
    expect(split.metrics.canonicalFaults).toBe(2 + 1);
    expect(split.failures).toEqual(["metric canonicalFaults: expected ≥ 512, got 3"]);
  });

  it("nested_fault_no_canonical: the canonical stage-2 had nothing to unmap, the nested unmap still removed the shadow entry", async () => {
    const lines: string[] = [];
    const r = await runScenario(join(DIR, "nested_fault_no_canonical.yaml"), { onEvent: (l) => lines.push(l) });
    expect(r.ok).toBe(true);
    const unmaps = lines.filter((l) => /\] unmap +/.test(l));
    expect(unmaps).toEqual([
      expect.stringMatching(/unmap +nested \(revmap\): 1 MMUs visited, 1 shadow entries removed$/),
      expect.stringMatching(/unmap +canonical 0x48125000\+0x1000: 0 canonical entries removed, 1 host pages freed$/),
    ]);
    // No canonical fault in L2's buffer: only L2's code page, which L1 reads itself.
    expect(lines.filter((l) => /canonical-fault +IPA 0x48/.test(l))).toEqual([expect.stringMatching(/IPA 0x48000000 /)]);
  });

  it("unmap_gfn_range: whole leaves over the range, one resched point only where the notifier may block", async () => {
    const lines: string[] = [];
    const r = await runScenario(join(DIR, "unmap_gfn_range.yaml"), { onEvent: (l) => lines.push(l) });
    expect(r.ok).toBe(true);
    expect(lines.filter((l) => /\] unmap +canonical/.test(l)).map((l) => l.replace(/^\[ *\d+\] unmap +/, ""))).toEqual([
      "canonical 0x42003000+0x1000: 1 canonical entries removed, 1 host pages freed",
      // L1's image block (one page in range) and the region's 512 4K pages; 1G boundary at 0x80000000.
      "canonical 0x401ff000+0x40001000: 513 canonical entries removed, 513 host pages freed, 1 resched points",
      "canonical 0x7ff00000+0x200000: 0 canonical entries removed, 0 host pages freed (may not block)",
    ]);
    // L1's code comes back as 4K pages: its region lost a page of host backing.
    const refault = lines.find((l) => /canonical-fault +IPA 0x401/.test(l));
    expect(refault).toMatch(/size 0x1000$/);
  });
});
