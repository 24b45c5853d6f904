// Invariant T (lab/check_tlb.ts): no CPU TLB entry of a shadow VMID translates through a shadow
// leaf that is gone. Shown on a real run: L2 runs checksum.S, the host takes back a page L2 uses,
// and the lab injection skipTlbInvalidation makes L0 lose the TLB invalidation of that unmap.

import { describe, expect, it } from "vitest";
import type { VmMonitor } from "../../hypervisor/monitor.ts";
import type { Kvm } from "../../hypervisor/vm.ts";
import { checkInvariants, formatViolation } from "../../lab/check.ts";
import { skipShadowTlbInvalidation, unmapCanonical } from "../../lab/injection.ts";
import { runVm } from "../../lab/run.ts";
import { STAGE2 } from "../../emulator/mmu/tlb.ts";
import { assemblePair, E2E_MAX_STEPS, GUEST_MEMORY } from "../e2e/harness.ts";
import { GUEST_PAIRS } from "../qemu/pairs.ts";

const L2_CODE = 0x4800_0000n;

/** hyp+checksum, checker on; at 400K steps (L2 checksumming) the host takes back L2's code page. */
async function run(lose: boolean) {
  const pair = GUEST_PAIRS.find((p) => p.name === "hyp+checksum")!;
  const images = await assemblePair(pair.l1, pair.l2);
  let done = false;
  let entries = 0;
  const saboteur = (kvm: Kvm): VmMonitor => ({
    nextPause: () => (done ? Infinity : 400_000),
    onPause() {
      done = true;
      entries = [...kvm.vcpus[0]!.cpu.tlb].filter((e) => e.vmid >= 2 && (e.stages & STAGE2) !== 0).length;
      if (lose) skipShadowTlbInvalidation(kvm, 1, "test");
      unmapCanonical(kvm, L2_CODE, 0x1000n, "test");
      const v = checkInvariants(kvm);
      if (v) throw new Error(formatViolation(v));
    },
  });
  const r = runVm({ l1: images.l1, l2: images.l2, config: { memory: GUEST_MEMORY }, check: true, maxSteps: E2E_MAX_STEPS, monitors: (kvm) => [saboteur(kvm)] });
  return { r, entries, pair };
}

describe("T: stale TLB entries of a shadow VMID", () => {
  it("with the invalidation done, the unmap leaves no stale entry and the run ends as undisturbed", async () => {
    const { r, entries, pair } = await run(false);
    expect(entries).toBeGreaterThan(0);
    expect(r.outcome).toEqual({ kind: "system-off", code: pair.exitCode });
  }, 60_000);

  it("with the invalidation lost, T names the stale entry: L2's code page through a leaf that is gone, to a page back in the pool", async () => {
    await expect(run(true)).rejects.toThrow(/^invariant T \(TLB\) violated: stale TLB entry: its shadow leaf is gone and was not invalidated/);
    await expect(run(true)).rejects.toThrow(/stale TLB entry on vCPU 0: VA 0x40000000 -> IPA 0x40000000 -> host PA 0x[0-9a-f]+, size 0x1000/);
  }, 60_000);

  it("skipShadowTlbInvalidation refuses a count that is not positive", async () => {
    const { r } = await run(false);
    expect(() => skipShadowTlbInvalidation(r.kvm, 0)).toThrow(/not a positive count/);
    expect(r.kvm.faultInject.skipShadowTlbi).toBe(0);
  }, 60_000);
});
