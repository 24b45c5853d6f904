// The multi-vCPU scenarios (scenarios/smp_unmaps.yaml, smp_recycle.yaml) run on their real guests
// and do what they claim: canonical unmaps land while several vCPUs hold shadow MMUs, recycles
// happen under contention (more VMIDs than MMUs) and only ever take an MMU no vCPU holds, the
// console is exactly that of the undisturbed guest pair, and every strategy keeps the invariants.

import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runScenario, type ScenarioOverrides } from "../../../lab/scenario/run.ts";
import { ScenarioError, STRATEGIES } from "../../../lab/scenario/schema.ts";
import type { Kvm } from "../../../hypervisor/vm.ts";
import { GUEST_PAIRS, REPO_ROOT } from "../../qemu/pairs.ts";

const UNMAPS = join(REPO_ROOT, "scenarios/smp_unmaps.yaml");
const RECYCLE = join(REPO_ROOT, "scenarios/smp_recycle.yaml");
const pair = (name: string) => GUEST_PAIRS.find((p) => p.name === name)!;

/** Who held which shadow MMU at one L0 event. */
interface Holding {
  kind: string;
  detail: string;
  /** vCPUs holding a nested MMU, and the distinct MMUs they hold. */
  holders: number;
  mmusHeld: number;
  /** Sum of the nested MMUs' refcounts (must equal `holders`). */
  refs: number;
  /** For "mmuN vmid=a -> vmid=b" recycles: MMU N's refcount when it was picked. */
  pickedRefcnt: number | null;
}

/** Record, at every injection and recycle event, which vCPUs hold which shadow MMU. */
function watchHoldings(into: Holding[]): ScenarioOverrides["monitors"] {
  return (kvm: Kvm) => {
    kvm.events.subscribe((e) => {
      if (e.kind !== "chaos" && e.kind !== "recycle") return;
      const held = kvm.vcpus.flatMap((v) => (v.hwMmu?.isNested ? [v.hwMmu] : []));
      const picked = e.data.kind === "recycle" && e.data.action === "reassign" ? e.data.mmu : null;
      into.push({
        kind: e.kind,
        detail: e.detail,
        holders: held.length,
        mmusHeld: new Set(held).size,
        refs: kvm.nestedMmus.reduce((n, m) => n + m.refcnt, 0),
        pickedRefcnt: picked !== null ? kvm.nestedMmus[picked]!.refcnt : null,
      });
    });
    return [];
  };
}

/** At every event each holding vCPU has its own MMU, and the refcounts count exactly the holders. */
function expectHeldOnce(holdings: Holding[]): void {
  for (const h of holdings) {
    expect(h.mmusHeld, h.detail).toBe(h.holders);
    expect(h.refs, h.detail).toBe(h.holders);
  }
}

describe("smp_unmaps.yaml: canonical unmaps while 4 vCPUs run L2s on different shadow MMUs", () => {
  it("every expectation holds; the unmaps are real and land while several vCPUs hold their MMUs", async () => {
    const holdings: Holding[] = [];
    const r = await runScenario(UNMAPS, { monitors: watchHoldings(holdings) });
    expect(r.failures).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.strategy).toBe("accel");
    // L1 and the L2s see nothing of it: the console is the undisturbed smp+4 pair's, to the byte.
    expect(r.console).toBe(pair("smp+4").expected);
    expect(r.outcome).toEqual({ kind: "system-off", code: 0 });
    expect(r.metrics.canonicalUnmaps).toBe(70);
    expect(r.injections.filter((i) => i.includes("unmapCanonical"))).toHaveLength(70);
    // Shadow leaves went and came back: each unmap visited at most the one MMU of its L2.
    expect(r.metrics.shadowEntriesRemoved).toBeGreaterThanOrEqual(30);
    const visited = r.metrics.shadowMmusVisited;
    expect(visited).toHaveLength(70);
    expect(Math.max(...visited)).toBe(1);
    expect(r.metrics.shadowFaults).toBeGreaterThan(392); // smp+4 undisturbed: 392
    // Some unmaps happened while three or four vCPUs were in L2, each on its own MMU.
    const unmaps = holdings.filter((h) => h.kind === "chaos" && h.detail.includes("unmap"));
    expect(unmaps).toHaveLength(70);
    expect(unmaps.filter((h) => h.mmusHeld >= 2).length).toBeGreaterThanOrEqual(10);
    expect(Math.max(...unmaps.map((h) => h.mmusHeld))).toBeGreaterThanOrEqual(3);
    expectHeldOnce(holdings);
  }, 120_000);

  it.each(STRATEGIES)("under %s: same console, invariants hold; only accel visits one MMU per unmap", async (unmap) => {
    const r = await runScenario(UNMAPS, { unmap });
    expect(r.strategy).toBe(unmap);
    expect(r.outcome).toEqual({ kind: "system-off", code: 0 });
    expect(r.console).toBe(pair("smp+4").expected);
    expect(r.metrics.canonicalUnmaps).toBe(70);
    const visited = r.metrics.shadowMmusVisited;
    if (unmap === "accel") {
      expect(r.failures).toEqual([]);
    } else {
      // These visit every valid MMU (the four L2s' VMIDs) on each unmap.
      expect(visited.every((v) => v === 4)).toBe(true);
      expect(r.failures).toHaveLength(1);
      expect(r.failures[0]).toMatch(/^metric shadowMmusVisited: expected each ≤ 1, got \[4, 4, /);
    }
    if (unmap === "full") {
      // Emptying whole MMUs removes far more than the pages taken back, and costs refaults.
      const accel = await runScenario(UNMAPS, { unmap: "accel" });
      expect(r.metrics.shadowEntriesRemoved).toBeGreaterThan(accel.metrics.shadowEntriesRemoved);
      expect(r.metrics.shadowFaults).toBeGreaterThan(accel.metrics.shadowFaults);
    }
  }, 120_000);
});

describe("smp_recycle.yaml: 12 VMIDs over 4 shadow MMUs on 4 vCPUs", () => {
  it("every expectation holds; recycles happen under contention and never take a held MMU", async () => {
    const holdings: Holding[] = [];
    const r = await runScenario(RECYCLE, { monitors: watchHoldings(holdings) });
    expect(r.failures).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.nestedMmus).toBe(4);
    expect(r.console).toBe(pair("smp_rounds+4").expected);
    expect(r.outcome).toEqual({ kind: "system-off", code: 0 });
    // 12 VMIDs, 4 MMUs: at least 8 recycles from the guest alone, plus the 8 forced ones.
    expect(r.metrics["injected.recycles"]).toBe(8);
    expect(r.metrics.mmusRecycled).toBeGreaterThanOrEqual(8 + 8);
    expect(r.metrics.canonicalUnmaps).toBe(16);
    // Some forced recycles hit an MMU a vCPU was running on (pending_unmap), others an idle one.
    const forced = r.injections.filter((i) => i.includes("recycle any-valid"));
    expect(forced).toHaveLength(8);
    expect(forced.some((i) => i.endsWith("(pending unmap)"))).toBe(true);
    expect(forced.some((i) => /: mmu\d+$/.test(i))).toBe(true);
    // A new VMID takes an MMU no vCPU holds, while the other vCPUs hold theirs.
    const picks = holdings.filter((h) => h.pickedRefcnt !== null);
    expect(picks.length).toBeGreaterThanOrEqual(8);
    for (const p of picks) expect(p.pickedRefcnt, p.detail).toBe(0);
    expect(Math.max(...picks.map((p) => p.holders))).toBeGreaterThanOrEqual(2);
    expectHeldOnce(holdings);
  }, 120_000);

  it.each(STRATEGIES)("under %s: every expectation holds", async (unmap) => {
    const r = await runScenario(RECYCLE, { unmap });
    expect(r.strategy).toBe(unmap);
    expect(r.failures).toEqual([]);
    expect(r.console).toBe(pair("smp_rounds+4").expected);
    expect(r.metrics.mmusRecycled).toBeGreaterThanOrEqual(16);
    expect(r.metrics.shadowEntriesRemoved).toBeGreaterThan(0);
  }, 120_000);

  it("with 6 shadow MMUs (--nested-mmus 6) L0 still recycles: at least 12 − 6 times", async () => {
    const r = await runScenario(RECYCLE, { nestedMmus: 6 });
    expect(r.nestedMmus).toBe(6);
    expect(r.failures).toEqual([]);
    expect(r.console).toBe(pair("smp_rounds+4").expected);
    expect(r.metrics.mmusRecycled).toBeGreaterThanOrEqual(6);
  }, 120_000);

  it("fewer shadow MMUs than vCPUs is refused before anything runs", async () => {
    await expect(runScenario(RECYCLE, { nestedMmus: 3 })).rejects.toThrow(ScenarioError);
    await expect(runScenario(RECYCLE, { nestedMmus: 3 })).rejects.toThrow(/nestedMmus: 3 is fewer than the 4 vCPUs/);
  });
});
