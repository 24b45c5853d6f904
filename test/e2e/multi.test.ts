// multi.S runs six L2s (VMIDs 1–6, each with its own stage-2 tables in L1) in order, twice, on one
// vCPU. L0 has two shadow MMUs per vCPU, so every L2 run after the first two recycles the MMU
// least recently taken (round-robin): the shadow MMUs behave as a 2-entry TLB of VMIDs.

import { describe, expect, it } from "vitest";
import { S2_MMU_PER_VCPU } from "../../hypervisor/nested.ts";
import { GUEST_PAIRS } from "../qemu/pairs.ts";
import { runPair } from "./harness.ts";

const PAIR = GUEST_PAIRS.find((p) => p.name === "multi+6")!;
const ROUNDS = 2;
/** Pages each L2 touches (and L1's stage-2 faults for it in round 1): code, plus 64 data pages. */
const PAGES = [1, 65, 65, 1, 65, 65];

describe("six L2 VMIDs on one vCPU with two shadow MMUs", () => {
  it("all L2 outputs are correct, MMUs are recycled round-robin, and every fault count follows", async () => {
    const lines: string[] = [];
    const r = await runPair(PAIR.l1, PAIR.l2.map((s) => s.path), {
      config: { vcpus: 1 },
      onEvent: (l) => lines.push(l),
    });
    expect(r.console).toBe(PAIR.expected);
    expect(r.outcome).toEqual({ kind: "system-off", code: 0 });

    const vmids = PAIR.l2.length;
    expect(vmids).toBe(6);
    expect(r.kvm.nestedMmus).toHaveLength(S2_MMU_PER_VCPU);
    expect(S2_MMU_PER_VCPU).toBe(2);
    const runs = vmids * ROUNDS;
    const m = r.metrics;
    // The first two runs take unused MMUs; every later one evicts the VMID run two before it.
    expect(m.mmusRecycled).toBe(runs - S2_MMU_PER_VCPU);
    expect(m.mmusRecycled).toBeGreaterThan(0);

    const vmidOfRun = (k: number): number => (k % vmids) + 1;
    const recycles = lines.filter((l) => / recycle +mmu\d vmid=/.test(l)).map((l) => l.replace(/^\[ *\d+\] recycle +/, ""));
    const expected: string[] = [];
    for (let k = S2_MMU_PER_VCPU; k < runs; k++) expected.push(`mmu${k % 2} vmid=${vmidOfRun(k - 2)} -> vmid=${vmidOfRun(k)}`);
    expect(recycles).toEqual(expected);
    // Each recycled MMU is emptied before use: it held every page of the VMID it served.
    const emptied = lines.filter((l) => / recycle +mmu\d emptied/.test(l)).map((l) => Number(/\((\d+) entries\)/.exec(l)![1]));
    expect(emptied).toEqual(expected.map((_, i) => PAGES[i % vmids]!));

    const perRound = PAGES.reduce((a, b) => a + b, 0);
    // Round 1: L1 maps every page lazily (one injected fault each, then the shadowing retry).
    // Round 2: L1's tables are complete (L1 prints 0 faults), but the VMID's shadow MMU was
    // recycled in between, so every page costs exactly one shadow fault again.
    expect(m.faultsInjectedToL1).toBe(perRound);
    expect(m.shadowFaults).toBe(2 * perRound + perRound);
    expect(m.l1S2Walks).toBe(m.shadowFaults);
    for (const [n, faults] of PAGES.entries()) {
      expect(r.console).toContain(`L1: L2 #${n} exited with code 0, stage-2 faults: ${faults}\n`);
      expect(r.console).toContain(`L1: L2 #${n} exited with code 0, stage-2 faults: 0\n`);
    }
    // What is left: the last two VMIDs of round 2 (5: touch, 6: checksum), one per MMU.
    const left = r.kvm.nestedMmus.map((mmu) => ({ vmid: Number(mmu.tlbVttbr >> 48n), leaves: mmu.pgt.leafCount }));
    expect(left).toEqual([
      { vmid: vmidOfRun(runs - 2), leaves: PAGES[vmids - 2] },
      { vmid: vmidOfRun(runs - 1), leaves: PAGES[vmids - 1] },
    ]);
  }, 30_000);
});
