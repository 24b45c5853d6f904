// The injection actions on a live VM (hyp + checksum paused while L2 runs): each does what KVM
// would do, is logged as a "chaos" event and counted under injected.*.

import { describe, expect, it } from "vitest";
import { tlbiByName } from "../../emulator/tlbi.ts";
import { tlbiFromIss } from "../../emulator/tlbi.ts";
import { failRevmapStores, failStores, forceRecycle, tlbiIss, tlbiOnBehalfOfL1, unmapCanonical } from "../../lab/injection.ts";
import { revmapOf } from "../../hypervisor/unmap/revmap.ts";
import { kvmArchVcpuRun } from "../../hypervisor/scheduler.ts";
import { E2E_MAX_STEPS, bootPair, l1Path, l2Path } from "../e2e/harness.ts";

/** L2 is in its checksum passes: 65 shadow leaves in MMU 0, which vCPU 0 holds. */
async function midRun(config = {}) {
  const kvm = await bootPair(l1Path("hyp"), [l2Path("checksum")], config);
  expect(kvmArchVcpuRun(kvm.vcpus[0]!, 400_000).kind).toBe("budget");
  expect(kvm.vcpus[0]!.isHypCtxt()).toBe(false);
  return kvm;
}

const chaosEvents = (kvm: Awaited<ReturnType<typeof midRun>>) => kvm.events.recent().filter((e) => e.kind === "chaos").map((e) => e.detail);

describe("injection actions", () => {
  it("tlbiIss encodes the trapped-SYS ISS that decodes back to the same TLBI", () => {
    for (const name of ["IPAS2E1IS", "RIPAS2E1IS", "VMALLS12E1IS", "ALLE1", "VMALLE1IS", "IPAS2LE1OS"]) {
      expect(tlbiFromIss(tlbiIss(name))).toBe(tlbiByName(name));
    }
    expect(() => tlbiIss("IPAS2E9")).toThrow(/unknown TLBI operation/);
  });

  it("unmapCanonical: the canonical page and its shadow entries go; logged and counted", async () => {
    const kvm = await midRun();
    unmapCanonical(kvm, 0x4810_0000n, 0x1000n, "test");
    expect(kvm.mmu.pgt.getLeaf(0x4810_0000n)).toBeNull();
    expect(kvm.metrics.get("injected.unmaps")).toBe(1);
    expect(kvm.metrics.canonicalUnmaps).toBe(1);
    expect(chaosEvents(kvm)).toEqual(["test: unmap canonical 0x48100000+0x1000"]);
    expect(kvmArchVcpuRun(kvm.vcpus[0]!, E2E_MAX_STEPS)).toEqual({ kind: "system-off", code: 0 });
  });

  it("failRevmapStores adds to the knob the revmap store consults", async () => {
    const kvm = await midRun();
    failRevmapStores(kvm, 2);
    failRevmapStores(kvm, 1);
    expect(kvm.faultInject.storeFailures).toBe(3);
    expect(kvm.metrics.get("injected.revmapStoreFailures")).toBe(2);
    expect(() => failRevmapStores(kvm, 0)).toThrow(/not a positive count/);
  });

  it("failStores names the store: the revmap's, the accelerator's or the direct map's; logged and counted", async () => {
    const kvm = await midRun({ unmap: "accel", directMap: true });
    failStores(kvm, "revmap", 1, "test");
    failStores(kvm, "accel", 2, "test");
    failStores(kvm, "directMap", 3, "test");
    expect(kvm.faultInject).toEqual({ storeFailures: 1, accelStoreFailures: 2, directMapStoreFailures: 3, skipShadowTlbi: 0 });
    expect(kvm.metrics.get("injected.revmapStoreFailures")).toBe(1);
    expect(kvm.metrics.get("injected.accelStoreFailures")).toBe(1);
    expect(kvm.metrics.get("injected.directMapStoreFailures")).toBe(1);
    expect(chaosEvents(kvm)).toEqual([
      "test: fail the next 1 revmap store",
      "test: fail the next 2 accel stores",
      "test: fail the next 3 directMap stores",
    ]);
    expect(() => failStores(kvm, "accel", 0)).toThrow(/not a positive count/);
    expect(() => failStores(kvm, "pgtable" as "accel", 1)).toThrow(/unknown store "pgtable"/);
  });

  it("forceRecycle of an unused MMU with a broken revmap: its next context starts with a clean one", async () => {
    const kvm = await midRun({ unmap: "revmap" });
    const mmu = kvm.nestedMmus[0]!;
    const state = revmapOf(mmu)!;
    state.broken = true;
    state.revmap = null;
    mmu.refcnt = 0;
    expect(forceRecycle(kvm, 0)).toBe(mmu);
    expect(state.broken).toBe(false);
    expect(kvm.metrics.get("revmap.fallbackFullUnmaps")).toBe(0);
  });

  it("forceRecycle of the MMU in use: pending unmap, emptied before the vCPU re-enters L2", async () => {
    const kvm = await midRun();
    const mmu = kvm.nestedMmus[0]!;
    expect(mmu.refcnt).toBe(1);
    expect(mmu.pgt.leafCount).toBe(65);
    expect(forceRecycle(kvm, "any-valid")).toBe(mmu);
    expect(mmu.pendingUnmap).toBe(true);
    expect(mmu.valid).toBe(true);
    expect(mmu.pgt.leafCount).toBe(65); // not yet: only at the next entry
    expect(kvmArchVcpuRun(kvm.vcpus[0]!, 1).kind).toBe("budget");
    expect(mmu.pendingUnmap).toBe(false);
    expect(mmu.pgt.leafCount).toBeLessThanOrEqual(1);
    expect(kvm.metrics.mmusRecycled).toBe(1);
    expect(kvmArchVcpuRun(kvm.vcpus[0]!, E2E_MAX_STEPS)).toEqual({ kind: "system-off", code: 0 });
  });

  it("forceRecycle of an unused MMU: emptied and invalidated now; an invalid one is left alone", async () => {
    const kvm = await midRun();
    const mmu = kvm.nestedMmus[0]!;
    // Make it unused: drop the vCPU's reference as a world switch to L1 would.
    mmu.refcnt = 0;
    expect(forceRecycle(kvm, 0)).toBe(mmu);
    expect(mmu.valid).toBe(false);
    expect(mmu.pgt.leafCount).toBe(0);
    expect(mmu.pendingUnmap).toBe(false);
    expect(forceRecycle(kvm, 1)).toBeNull();
    expect(() => forceRecycle(kvm, 9)).toThrow(/no shadow MMU 9/);
    expect(chaosEvents(kvm)).toEqual([
      "inject: recycle mmu0: unused, emptied and invalidated",
      "inject: recycle mmu1: not valid, nothing to do",
    ]);
  });

  it("tlbiOnBehalfOfL1: IPAS2E1IS removes the shadow entry for that nested page and skips nothing", async () => {
    const kvm = await midRun();
    const vcpu = kvm.vcpus[0]!;
    const elr = vcpu.cpu.sr.ELR_EL2;
    const mmu = kvm.nestedMmus[0]!;
    expect(mmu.pgt.getLeaf(0x4010_0000n)).not.toBeNull();
    tlbiOnBehalfOfL1(vcpu, "ipas2e1is", 0x4010_0000n >> 12n);
    expect(mmu.pgt.getLeaf(0x4010_0000n)).toBeNull();
    expect(mmu.pgt.leafCount).toBe(64);
    expect(vcpu.cpu.sr.ELR_EL2).toBe(elr);
    expect(kvm.metrics.get("tlbi.IPAS2E1IS")).toBe(1);
    expect(kvm.metrics.get("injected.tlbis")).toBe(1);
    expect(kvmArchVcpuRun(vcpu, E2E_MAX_STEPS)).toEqual({ kind: "system-off", code: 0 });
  });
});
