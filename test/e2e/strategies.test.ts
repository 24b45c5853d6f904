// The canonical-unmap strategies on real guests: every shipped pair prints the same console under
// revmap and accel (with and without the direct map), and on multi.S with all six L2 VMIDs live in
// their own shadow MMUs, canonical unmaps mid-run cost what each design promises — full empties
// every valid MMU, revmap and rfc-rbtree look at every valid MMU but remove only the affected
// leaves, accel looks only at the MMUs that map the page — while the guests cannot tell. The
// invariant checker runs after every L0 action throughout.

import { describe, expect, it } from "vitest";
import { assertInvariants, InvariantChecker } from "../../lab/check.ts";
import { kvmUnmapGfnRange } from "../../hypervisor/mmu.ts";
import { kvmArchVcpuRun } from "../../hypervisor/scheduler.ts";
import type { Kvm, VmConfig } from "../../hypervisor/vm.ts";
import { GUEST_PAIRS, l2Ipa } from "../qemu/pairs.ts";
import { bootPair, E2E_MAX_STEPS, runPair } from "./harness.ts";

const CONFIGS: { what: string; config: Partial<VmConfig> }[] = [
  { what: "revmap", config: { unmap: "revmap" } },
  { what: "accel", config: { unmap: "accel" } },
  { what: "accel + directMap", config: { unmap: "accel", directMap: true } },
];

describe("shipped guest pairs under the revmap strategies", () => {
  for (const { what, config } of CONFIGS) {
    for (const pair of GUEST_PAIRS) {
      it(`${what}: ${pair.name} prints the expected console, exit code ${pair.exitCode}`, async () => {
        const r = await runPair(pair.l1, pair.l2, { config: { ...config, vcpus: pair.vcpus ?? 1 }, check: true });
        expect(r.outcome.kind === "monitor-stop" ? r.outcome.message : "").toBe("");
        expect(r.console).toBe(pair.expected);
        expect(r.outcome).toEqual({ kind: "system-off", code: pair.exitCode });
      }, 60_000);
    }
  }
});

const MULTI = GUEST_PAIRS.find((p) => p.name === "multi+6")!;
const BUF = 0x10_0000n;
const PAGE = 0x1000n;
/** One canonical page unmapped after each 300K-instruction chunk: L2 code and buffer pages, L1's entry page. */
const UNMAPS = [
  l2Ipa(1) + BUF + 3n * PAGE,
  l2Ipa(2) + BUF + 10n * PAGE,
  l2Ipa(0),
  l2Ipa(4) + BUF, // not touched yet at this point
  l2Ipa(5) + BUF + 63n * PAGE, // not touched yet either
  l2Ipa(2),
  0x4010_0000n, // L1's: no shadow leaf maps it
  l2Ipa(1) + BUF + 7n * PAGE,
];
const CHUNK = 300_000;

function leavesMapping(kvm: Kvm, pa: bigint): number {
  return kvm.nestedMmus.reduce((n, m) => n + [...m.pgt.leaves()].filter((l) => pa >= l.pa && pa < l.pa + l.size).length, 0);
}

async function multiWithUnmaps(unmap: VmConfig["unmap"]) {
  // Twelve shadow MMUs: the six VMIDs never evict each other, so round 2 finds them all valid.
  const kvm = await bootPair(MULTI.l1, MULTI.l2.map((s) => s.path), { unmap, nestedMmus: 12 });
  kvm.monitors.push(new InvariantChecker(kvm));
  const vcpu = kvm.vcpus[0]!;
  const removed: number[] = [];
  for (const ipa of UNMAPS) {
    expect(kvmArchVcpuRun(vcpu, CHUNK).kind).toBe("budget");
    const leaf = kvm.mmu.pgt.getLeaf(ipa);
    const pa = leaf ? leaf.pa + (ipa - leaf.ipa) : null;
    const before = kvm.metrics.shadowEntriesRemoved;
    kvmUnmapGfnRange(kvm, ipa, PAGE);
    removed.push(kvm.metrics.shadowEntriesRemoved - before);
    assertInvariants(kvm);
    if (pa !== null) {
      expect(kvm.pool.isPoisoned(Number(pa))).toBe(true);
      expect(leavesMapping(kvm, pa)).toBe(0);
    }
  }
  expect(kvmArchVcpuRun(vcpu, E2E_MAX_STEPS)).toEqual({ kind: "system-off", code: 0 });
  expect(kvm.console).toBe(MULTI.expected);
  return { visited: kvm.metrics.shadowMmusVisited, removed, shadowFaults: kvm.metrics.shadowFaults, kvm };
}

describe("canonical unmaps on multi.S with six live shadow MMUs", () => {
  it("each strategy visits and removes what its design says, and the guests print the same", async () => {
    const full = await multiWithUnmaps("full");
    const revmap = await multiWithUnmaps("revmap");
    const accel = await multiWithUnmaps("accel");
    const rfc = await multiWithUnmaps("rfc-rbtree");
    // Round 1 has three VMIDs live at the first unmaps, all six from the fifth on.
    expect(full.visited).toEqual([3, 3, 3, 3, 6, 6, 6, 6]);
    expect(revmap.visited).toEqual(full.visited);
    expect(rfc.visited).toEqual(full.visited);
    expect(accel.visited).toEqual([1, 1, 1, 0, 0, 1, 0, 1]);
    // full throws away every shadow leaf each time; the others only the page's own leaf.
    expect(full.removed.every((n) => n > 1)).toBe(true);
    expect(revmap.removed).toEqual([1, 1, 1, 0, 0, 1, 0, 1]);
    expect(accel.removed).toEqual(revmap.removed);
    expect(rfc.removed).toEqual(revmap.removed);
    // Everything full threw away is faulted back in.
    expect(full.shadowFaults).toBeGreaterThan(2 * revmap.shadowFaults);
    expect(accel.shadowFaults).toBe(revmap.shadowFaults);
    expect(revmap.kvm.metrics.samples["revmap.staleEntries"]).toEqual(UNMAPS.map(() => 0));
    expect(accel.kvm.metrics.samples["accel.staleBits"]).toEqual(UNMAPS.map(() => 0));
  }, 60_000);
});
