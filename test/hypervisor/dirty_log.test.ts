import { describe, expect, it } from "vitest";
import { STAGE2, type TlbEntry } from "../../emulator/mmu/tlb.ts";
import { kvmGetDirtyLogProtect, markPageDirtyInSlot, memslotIsLogging } from "../../hypervisor/dirty_log.ts";
import { SZ_2M, SZ_4K } from "../../hypervisor/memslot.ts";
import { kvmHandleGuestAbort } from "../../hypervisor/mmu.ts";
import { CANONICAL_HW_VMID, kvmVcpuLoadHwMmu } from "../../hypervisor/nested.ts";
import { KVM_PGTABLE_PROT_R as R, KVM_PGTABLE_PROT_W as W, KVM_PGTABLE_PROT_X as X } from "../../hypervisor/pgtable.ts";
import { KVM_MEM_LOG_DIRTY_PAGES, kvmSetMemoryRegion } from "../../hypervisor/set_memory_region.ts";
import type { VmConfig } from "../../hypervisor/vm.ts";
import { enterL2, L1Stage2, s2Abort } from "../../lab/fixtures/l1_stage2.ts";
import { type Fixture, makeVm, RAM_BASE } from "./stage2_fixture.ts";

const TABLES = 0x4100_0000n;
const RWX = R | W | X;
/** L1's RAM in the fixture: 32M at RAM_BASE, one slot. */
const RAM = 32n << 20n;

function logDirty(f: Fixture, on: boolean): void {
  kvmSetMemoryRegion(f.kvm, { guestPhysAddr: RAM_BASE, memorySize: RAM, flags: on ? KVM_MEM_LOG_DIRTY_PAGES : 0 });
}

/** A fixture whose vCPU runs L1 itself (canonical faults). */
function l1Vm(opts: Partial<VmConfig> = {}): Fixture {
  const f = makeVm(opts);
  f.vcpus[0]!.hyp = true;
  kvmVcpuLoadHwMmu(f.vcpu());
  return f;
}

/** A fixture whose vCPU runs an L2 under `s2` (VMID 1) in shadow MMU 0. */
function l2Vm(opts: Partial<VmConfig> = {}): Fixture & { s2: L1Stage2 } {
  const f = makeVm(opts);
  const s2 = new L1Stage2(f.slot, TABLES);
  enterL2(f.vcpu(), s2, 1);
  return { ...f, s2 };
}

const shadow = (f: Fixture) => f.vcpus[0]!.hwMmu!;

/** A combined TLB entry of `vmid` for one 4K stage-2 page (what the CPU caches after a walk). */
function tlbEntry(vmid: number, ipa: bigint): TlbEntry {
  return {
    vmid, asid: -1, stages: STAGE2, va: ipa, shift: 12, pa: 0, s1Va: ipa, s1Shift: 12, s1Level: 3, ipa, s2Ipa: ipa, s2Shift: 12, s2Level: 3,
    s1Perm: 0, s2Perm: 0xff, s1Device: false, s2Device: false, attr: 0, sh: 0,
  };
}

describe("turning dirty logging on (kvm_mmu_wp_memory_region)", () => {
  it("write-protects the slot in the canonical stage-2 and every valid shadow MMU entirely, flushing only the canonical VMID", () => {
    const f = l2Vm();
    f.s2.map(0x8000_0000n, 0x4020_0000n);
    kvmHandleGuestAbort(f.vcpu(), s2Abort(0x8000_0000n, { write: true }));
    const mmu = shadow(f);
    expect(mmu.pgt.getLeaf(0x8000_0000n)!.prot).toBe(RWX);
    const cpu = f.vcpus[0]!.cpu;
    cpu.tlb.insert(tlbEntry(mmu.hwVmid, 0x8000_0000n));
    cpu.tlb.insert(tlbEntry(CANONICAL_HW_VMID, 0x4020_0000n));

    logDirty(f, true);
    expect(memslotIsLogging(f.slot)).toBe(true);
    // L2's fault mapped only the shadow stage-2 (user_mem_abort on a shadow MMU): nothing canonical to protect.
    expect(f.kvm.mmu.pgt.getLeaf(0x4020_0000n)).toBeNull();
    expect(mmu.pgt.getLeaf(0x8000_0000n)!.prot).toBe(R | X);
    expect(f.kvm.metrics.get("dirtyLog.wrprotected")).toBe(1);
    // KVM flushes the canonical VMID over the slot; the shadow VMID keeps its entry.
    expect([...cpu.tlb].map((e) => e.vmid)).toEqual([mmu.hwVmid]);
    const ev = f.kvm.events.recent().at(-1)!;
    expect(ev.data).toMatchObject({ kind: "memslot", what: "log-dirty", enable: true, wrprotected: 0, shadowWrprotected: 1, mmus: 1 });
  });

  it("with nestedS2WpFlush, also invalidates every write-protected shadow MMU's VMID", () => {
    const f = l2Vm({ nestedS2WpFlush: true });
    f.s2.map(0x8000_0000n, 0x4020_0000n);
    kvmHandleGuestAbort(f.vcpu(), s2Abort(0x8000_0000n, { write: true }));
    const cpu = f.vcpus[0]!.cpu;
    cpu.tlb.insert(tlbEntry(shadow(f).hwVmid, 0x8000_0000n));
    logDirty(f, true);
    expect(cpu.tlb.size).toBe(0);
  });

  it("turning it off drops the bitmap and leaves the mappings read-only", () => {
    const f = l1Vm();
    kvmHandleGuestAbort(f.vcpu(), s2Abort(0x4020_0000n, { write: true }));
    logDirty(f, true);
    logDirty(f, false);
    expect(f.slot.dirtyBitmap).toBeNull();
    expect(f.kvm.mmu.pgt.getLeaf(0x4020_0000n)!.prot).toBe(R | X);
    // The next write relaxes the page again but marks nothing.
    kvmHandleGuestAbort(f.vcpu(), s2Abort(0x4020_0000n, { fsc: 0x0f, write: true }));
    expect(f.kvm.mmu.pgt.getLeaf(0x4020_0000n)!.prot).toBe(RWX);
    expect(f.kvm.metrics.get("dirtyLog.pagesDirtied")).toBe(0);
  });
});

describe("canonical faults while the slot logs", () => {
  it("maps page-sized even where the slot has a 2M block, writable only on a write fault", () => {
    const f = l1Vm({ blocks: true });
    logDirty(f, true);
    kvmHandleGuestAbort(f.vcpu(), s2Abort(0x4020_3000n));
    expect(f.kvm.mmu.pgt.getLeaf(0x4020_3000n)).toMatchObject({ ipa: 0x4020_3000n, size: SZ_4K, prot: R | X });
    kvmHandleGuestAbort(f.vcpu(), s2Abort(0x4020_5000n, { write: true }));
    expect(f.kvm.mmu.pgt.getLeaf(0x4020_5000n)).toMatchObject({ size: SZ_4K, prot: RWX });
    expect(f.kvm.mmu.pgt.getLeaf(0x4020_4000n)).toBeNull();
    expect(kvmGetDirtyLogProtect(f.kvm, f.slot).dirty).toEqual([0x4020_5000n]);
  });

  it("a write permission fault on a write-protected page relaxes it in place and marks it dirty", () => {
    const f = l1Vm();
    kvmHandleGuestAbort(f.vcpu(), s2Abort(0x4020_0000n, { write: true }));
    const before = f.kvm.mmu.pgt.getLeaf(0x4020_0000n)!;
    logDirty(f, true);
    const cpu = f.vcpus[0]!.cpu;
    cpu.tlb.insert(tlbEntry(CANONICAL_HW_VMID, 0x4020_0000n));
    cpu.tlb.insert(tlbEntry(CANONICAL_HW_VMID, 0x4020_1000n));
    const mark = f.kvm.events.recent().length;

    kvmHandleGuestAbort(f.vcpu(), s2Abort(0x4020_0008n, { fsc: 0x0f, write: true }));
    const after = f.kvm.mmu.pgt.getLeaf(0x4020_0000n)!;
    expect(after).toMatchObject({ ipa: before.ipa, size: before.size, pa: before.pa, prot: RWX, sw: before.sw });
    // Only the relaxed page leaves this CPU's TLB (__kvm_tlb_flush_vmid_ipa_nsh).
    expect([...cpu.tlb].map((e) => e.ipa)).toEqual([0x4020_1000n]);
    const m = f.kvm.metrics;
    expect([m.get("stage2.relaxPerms"), m.get("dirtyLog.wpFaults"), m.get("stage2.permRemaps"), m.canonicalFaults]).toEqual([1, 1, 0, 1]);
    expect(f.kvm.events.recent().slice(mark).map((e) => e.detail)).toEqual(["canonical 0x40200000 size 0x1000 prot rwx in place, dirty"]);
    expect(kvmGetDirtyLogProtect(f.kvm, f.slot).dirty).toEqual([0x4020_0000n]);
  });

  it("a write permission fault on a write-protected 2M block maps the page instead (sizes differ)", () => {
    const f = l1Vm({ blocks: true });
    kvmHandleGuestAbort(f.vcpu(), s2Abort(0x4020_0000n, { write: true }));
    expect(f.kvm.mmu.pgt.getLeaf(0x4020_0000n)!.size).toBe(SZ_2M);
    logDirty(f, true);
    kvmHandleGuestAbort(f.vcpu(), s2Abort(0x4020_3000n, { fsc: 0x0e, write: true }));
    expect(f.kvm.mmu.pgt.getLeaf(0x4020_3000n)).toMatchObject({ size: SZ_4K, prot: RWX });
    expect(f.kvm.metrics.get("stage2.permRemaps")).toBe(1);
    expect(f.kvm.metrics.get("stage2.relaxPerms")).toBe(0);
    expect(kvmGetDirtyLogProtect(f.kvm, f.slot).dirty).toEqual([0x4020_3000n]);
  });
});

describe("shadow faults while the slot logs", () => {
  it("a write to a write-protected shadow page relaxes the shadow leaf in place and marks the canonical page behind it", () => {
    const f = l2Vm();
    f.s2.map(0x8000_0000n, 0x4030_7000n);
    kvmHandleGuestAbort(f.vcpu(), s2Abort(0x8000_0000n, { write: true }));
    const mmu = shadow(f);
    const before = mmu.pgt.getLeaf(0x8000_0000n)!;
    logDirty(f, true);
    // The canonical page is not mapped at all: the dirty page still comes from L1's stage-2.
    f.kvm.mmu.pgt.unmap(0x4030_7000n, SZ_4K);
    const mark = f.kvm.events.recent().length;

    kvmHandleGuestAbort(f.vcpu(), s2Abort(0x8000_0010n, { fsc: 0x0f, write: true }));
    expect(mmu.pgt.getLeaf(0x8000_0000n)).toMatchObject({ pa: before.pa, size: SZ_4K, prot: RWX, sw: 3 });
    const kinds = f.kvm.events.recent().slice(mark).map((e) => e.kind);
    expect(kinds).not.toContain("shadow-fault");
    expect(kinds).toContain("relax-perms");
    expect(f.kvm.metrics.get("stage2.relaxPerms")).toBe(1);
    expect(kvmGetDirtyLogProtect(f.kvm, f.slot).dirty).toEqual([0x4030_7000n]);
  });

  it("maps page-sized under L1's 2M block, writable only on a write fault", () => {
    const f = l2Vm({ blocks: true });
    f.s2.map(0x8040_0000n, 0x4060_0000n, SZ_2M);
    logDirty(f, true);
    kvmHandleGuestAbort(f.vcpu(), s2Abort(0x8045_6000n));
    expect(shadow(f).pgt.getLeaf(0x8045_6000n)).toMatchObject({ ipa: 0x8045_6000n, size: SZ_4K, prot: R | X, sw: 2 });
    kvmHandleGuestAbort(f.vcpu(), s2Abort(0x8045_7000n, { write: true }));
    expect(shadow(f).pgt.getLeaf(0x8045_7000n)).toMatchObject({ size: SZ_4K, prot: RWX });
    expect(kvmGetDirtyLogProtect(f.kvm, f.slot).dirty).toEqual([0x4065_7000n]);
  });

  it("a write L1's leaf forbids is still L1's fault, and marks nothing", () => {
    const f = l2Vm();
    f.s2.map(0x8000_0000n, 0x4030_0000n, SZ_4K, { w: false });
    logDirty(f, true);
    kvmHandleGuestAbort(f.vcpu(), s2Abort(0x8000_0000n));
    kvmHandleGuestAbort(f.vcpu(), s2Abort(0x8000_0000n, { fsc: 0x0f, write: true }));
    expect(f.vcpus[0]!.injected).toHaveLength(1);
    expect(kvmGetDirtyLogProtect(f.kvm, f.slot).dirty).toEqual([]);
  });
});

describe("KVM_GET_DIRTY_LOG (kvm_get_dirty_log_protect)", () => {
  it("reports and clears the dirty pages, write-protects their canonical span and every valid shadow MMU again", () => {
    const f = l2Vm();
    for (let i = 0n; i < 3n; i++) f.s2.map(0x8000_0000n + i * SZ_4K, 0x4030_0000n + i * 0x2_0000n);
    logDirty(f, true);
    for (let i = 0n; i < 3n; i++) kvmHandleGuestAbort(f.vcpu(), s2Abort(0x8000_0000n + i * SZ_4K, { write: true }));
    expect(shadow(f).pgt.getLeaf(0x8000_1000n)!.prot).toBe(RWX);
    // A canonical page L1 wrote itself, in the same 64-page word as the first.
    markPageDirtyInSlot(f.kvm, f.slot, 0x4030_8000n);
    f.kvm.mmu.pgt.map(0x4030_8000n, SZ_4K, 0x10_0000_0000n, RWX);

    const log = kvmGetDirtyLogProtect(f.kvm, f.slot);
    expect(log.dirty).toEqual([0x4030_0000n, 0x4030_8000n, 0x4032_0000n, 0x4034_0000n]);
    for (let i = 0n; i < 3n; i++) expect(shadow(f).pgt.getLeaf(0x8000_0000n + i * SZ_4K)!.prot).toBe(R | X);
    expect(f.kvm.mmu.pgt.getLeaf(0x4030_8000n)!.prot).toBe(R | X);
    // Pages 0x300, 0x308 and 0x320 of the slot are in bitmap word 12, page 0x340 in word 13: each
    // non-zero word write-protects every valid shadow MMU once.
    expect(log.mmus).toBe(2);
    expect(f.kvm.metrics.snapshot()["dirtyLog.dirtyPages"]).toEqual([4]);
    expect(kvmGetDirtyLogProtect(f.kvm, f.slot).dirty).toEqual([]);
  });

  it("a slot that does not log has nothing to report", () => {
    const f = l1Vm();
    expect(markPageDirtyInSlot(f.kvm, f.slot, 0x4020_0000n)).toBe(false);
    expect(kvmGetDirtyLogProtect(f.kvm, f.slot).dirty).toEqual([]);
  });
});
