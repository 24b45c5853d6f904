import { describe, expect, it } from "vitest";
import { GuestError, HostError } from "../../hypervisor/errors.ts";
import { SZ_4K } from "../../hypervisor/memslot.ts";
import { gfnToMemslot, kvmHandleGuestAbort } from "../../hypervisor/mmu.ts";
import { KVM_MEM_LOG_DIRTY_PAGES, kvmRamMemslots, kvmSetMemoryRegion } from "../../hypervisor/set_memory_region.ts";
import { Kvm, type VmConfig } from "../../hypervisor/vm.ts";
import { kvmVcpuLoadHwMmu } from "../../hypervisor/nested.ts";
import { enterL2, L1Stage2, s2Abort } from "../../lab/fixtures/l1_stage2.ts";
import { type Fixture, makeVm, RAM_BASE } from "./stage2_fixture.ts";

const TABLES = 0x4100_0000n;
/** A second slot, above the fixture's 32M of L1 RAM. */
const EXTRA = 0x4200_0000n;
const EXTRA_SIZE = 4n << 20n;

/** The vCPU returns to L1: it drops its shadow MMU (kvm_vcpu_put_hw_mmu). */
function leaveL2(f: Fixture): void {
  f.vcpus[0]!.hwMmu!.refcnt--;
  f.vcpus[0]!.hwMmu = null;
}

/** The fixture with an extra 4M slot, and two L2s (VMIDs 1 and 2) whose shadow MMUs map a page of each slot. */
function twoSlots(opts: Partial<VmConfig> = {}): Fixture & { a: L1Stage2; b: L1Stage2 } {
  const f = makeVm({ nestedMmus: 4, ...opts });
  expect(kvmSetMemoryRegion(f.kvm, { guestPhysAddr: EXTRA, memorySize: EXTRA_SIZE, flags: 0 })).toBe("create");
  const a = new L1Stage2(f.slot, TABLES);
  const b = new L1Stage2(f.slot, TABLES + 0x10_0000n);
  a.map(0x8000_0000n, EXTRA + 0x5000n);
  a.map(0x8000_1000n, 0x4030_0000n);
  b.map(0x9000_0000n, 0x4030_1000n);
  const vcpu = f.vcpu();
  enterL2(vcpu, a, 1);
  kvmHandleGuestAbort(vcpu, s2Abort(0x8000_0000n, { write: true }));
  kvmHandleGuestAbort(vcpu, s2Abort(0x8000_1000n, { write: true }));
  leaveL2(f);
  enterL2(vcpu, b, 2);
  kvmHandleGuestAbort(vcpu, s2Abort(0x9000_0000n, { write: true }));
  return { ...f, a, b };
}

describe("kvm_set_memory_region", () => {
  it("creates a slot that faults in like L1's RAM, and refuses overlaps, resizes and unknown flags", () => {
    const f = twoSlots();
    const extra = gfnToMemslot(f.kvm, EXTRA + 0x5000n)!;
    expect(extra.base).toBe(EXTRA);
    expect(extra.residentPages).toBe(1);
    expect(f.kvm.memslots.map((s) => s.base)).toEqual([RAM_BASE, EXTRA]);
    expect(() => kvmSetMemoryRegion(f.kvm, { guestPhysAddr: EXTRA + EXTRA_SIZE - SZ_4K, memorySize: 2n * SZ_4K, flags: 0 })).toThrow(/overlaps memslot 0x42000000/);
    expect(() => kvmSetMemoryRegion(f.kvm, { guestPhysAddr: EXTRA, memorySize: SZ_4K, flags: 0 })).toThrow(/cannot change/);
    expect(() => kvmSetMemoryRegion(f.kvm, { guestPhysAddr: EXTRA, memorySize: EXTRA_SIZE, flags: 4 })).toThrow(HostError);
    expect(() => kvmSetMemoryRegion(f.kvm, { guestPhysAddr: 0x5000_0000n, memorySize: 0n, flags: 0 })).toThrow(/no memslot at 0x50000000/);
  });

  it("changes only the flags when base and size stay", () => {
    const f = twoSlots();
    expect(kvmSetMemoryRegion(f.kvm, { guestPhysAddr: EXTRA, memorySize: EXTRA_SIZE, flags: KVM_MEM_LOG_DIRTY_PAGES })).toBe("flags-only");
    expect(gfnToMemslot(f.kvm, EXTRA)!.dirtyBitmap).not.toBeNull();
    expect(f.slot.dirtyBitmap).toBeNull();
  });
});

describe("deleting a slot (kvm_arch_flush_shadow_memslot)", () => {
  it("with upstream's full unmap: the canonical range goes, every valid shadow MMU is emptied, the host pages are freed", () => {
    const f = twoSlots();
    const free = f.pool.available;
    const [m0, m1] = f.kvm.nestedMmus;
    expect(kvmSetMemoryRegion(f.kvm, { guestPhysAddr: EXTRA, memorySize: 0n, flags: 0 })).toBe("delete");
    expect(f.kvm.memslots.map((s) => s.base)).toEqual([RAM_BASE]);
    expect(f.kvm.mmu.pgt.hasLeafIn(EXTRA, EXTRA_SIZE)).toBe(false);
    // The other slot keeps its host backing (L2's faults filled only the shadow MMUs).
    expect(f.slot.hostPa(0x4030_0000n)).not.toBeNull();
    expect(m0!.pgt.leafCount + m1!.pgt.leafCount).toBe(0);
    expect(f.pool.available).toBeGreaterThan(free);
    expect(f.kvm.metrics.get("memslotsDeleted")).toBe(1);
    expect(f.kvm.events.recent().at(-1)!.detail).toBe("delete slot 0x42000000+0x400000: 0 canonical entries removed, 1 host pages freed");
  });

  it("with the revmap: only the shadow leaves that map the slot go", () => {
    const f = twoSlots({ unmap: "revmap" });
    const [m0, m1] = f.kvm.nestedMmus;
    kvmSetMemoryRegion(f.kvm, { guestPhysAddr: EXTRA, memorySize: 0n, flags: 0 });
    expect(m0!.pgt.getLeaf(0x8000_0000n)).toBeNull();
    expect(m0!.pgt.getLeaf(0x8000_1000n)).not.toBeNull();
    expect(m1!.pgt.getLeaf(0x9000_0000n)).not.toBeNull();
  });

  it("afterwards an access to the range is MMIO (io_mem_abort), for L2 as for L1", () => {
    const f = twoSlots();
    kvmSetMemoryRegion(f.kvm, { guestPhysAddr: EXTRA, memorySize: 0n, flags: 0 });
    f.vcpus[0]!.hyp = true;
    leaveL2(f);
    kvmVcpuLoadHwMmu(f.vcpu());
    expect(() => kvmHandleGuestAbort(f.vcpu(), s2Abort(EXTRA + 0x5000n))).toThrow(/read access to canonical IPA 0x42005000 .*outside RAM/);
    f.vcpus[0]!.hyp = false;
    leaveL2(f);
    enterL2(f.vcpu(), f.a, 1);
    // No device lives there: the MMIO path reports the access.
    expect(() => kvmHandleGuestAbort(f.vcpu(), s2Abort(0x8000_0000n))).toThrow(GuestError);
    expect(() => kvmHandleGuestAbort(f.vcpu(), s2Abort(0x8000_0000n))).toThrow(/read access to canonical IPA 0x42005000/);
  });
});

describe("L1's RAM as several memslots (VmConfig.ramSlots)", () => {
  it("splits the RAM into equal slots of whole 2M regions", () => {
    const kvm = new Kvm({ memory: 64n << 20n, ramSlots: 4 });
    expect(kvm.memslots.map((s) => [s.base, s.size])).toEqual([0n, 1n, 2n, 3n].map((i) => [RAM_BASE + i * (16n << 20n), 16n << 20n]));
    expect(() => new Kvm({ memory: 64n << 20n, ramSlots: 3 })).toThrow(/does not split into 3 memslots/);
    expect(() => kvmRamMemslots(kvm, RAM_BASE, 64n << 20n, 0)).toThrow(/positive integer/);
  });
});
