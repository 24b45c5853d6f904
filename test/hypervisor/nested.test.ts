import { describe, expect, it } from "vitest";
import { HostError } from "../../hypervisor/errors.ts";
import {
  checkNestedVcpuRequests, getS2MmuNested, getVmid, kvmStage2UnmapRange, kvmVcpuLoadHwMmu, kvmVcpuPutHwMmu, lookupS2Mmu,
} from "../../hypervisor/nested.ts";
import { KVM_PGTABLE_PROT_R } from "../../hypervisor/pgtable.ts";
import { type FakeVcpu, makeVm } from "./stage2_fixture.ts";

const VTCR = 0x8055_9n;
const HCR_VM = 1n;

/** Point the vCPU's virtual EL2 at an L2 context. */
function setCtx(v: FakeVcpu, vmid: number, baddr: bigint, vm = true, vtcr = VTCR): void {
  v.vregs.set("VTTBR_EL2", (BigInt(vmid) << 48n) | baddr);
  v.vregs.set("VTCR_EL2", vtcr);
  v.vregs.set("HCR_EL2", vm ? HCR_VM | (1n << 31n) : 1n << 31n);
}

describe("nested MMUs", () => {
  it("kvmInitNested makes 2 × vCPUs invalid MMUs, each with its own hardware VMID and table", () => {
    const { kvm } = makeVm({ vcpus: 3 });
    expect(kvm.nestedMmus).toHaveLength(6);
    kvm.nestedMmus.forEach((m, i) => {
      expect(m.valid).toBe(false);
      expect(m.tlbVttbr).toBe(1n);
      expect(m.index).toBe(i);
      expect(m.hwVmid).toBe(2 + i);
      expect(m.refcnt).toBe(0);
      expect(m.vttbr()).toBe((BigInt(2 + i) << 48n) | BigInt(m.pgt.pgdPa));
    });
    expect(new Set(kvm.nestedMmus.map((m) => m.pgt.pgdPa)).size).toBe(6);
    expect(kvm.mmu.index).toBe(-1);
    expect(kvm.mmu.hwVmid).toBe(1);
    expect(kvm.mmu.valid).toBe(true);
  });

  it("getS2MmuNested assigns a free MMU, caches the context without CnP, and finds it again", () => {
    const f = makeVm();
    const v = f.vcpus[0]!;
    setCtx(v, 5, 0x4080_0000n | 1n); // CnP set by L1
    const m = getS2MmuNested(f.vcpu());
    expect(m.index).toBe(0);
    expect(m.tlbVttbr).toBe((5n << 48n) | 0x4080_0000n);
    expect(m.tlbVtcr).toBe(VTCR);
    expect(m.nestedStage2Enabled).toBe(true);
    expect(m.refcnt).toBe(1);
    expect(m.pendingUnmap).toBe(false);
    expect(f.kvm.nestedMmusNext).toBe(1);
    expect(lookupS2Mmu(f.vcpu())).toBe(m);
    // Another BADDR or VTCR with the same VMID is another context when stage 2 is on.
    setCtx(v, 5, 0x4090_0000n);
    expect(lookupS2Mmu(f.vcpu())).toBeNull();
    setCtx(v, 5, 0x4080_0000n, true, VTCR ^ 0x40n);
    expect(lookupS2Mmu(f.vcpu())).toBeNull();
    // Stage 2 off: the VMID alone names the context, and only S2-off MMUs match.
    setCtx(v, 5, 0x4090_0000n, false);
    expect(lookupS2Mmu(f.vcpu())).toBeNull();
    kvmVcpuPutHwMmu(f.vcpu()); // no-op (hwMmu null)
    m.refcnt--;
    const off = getS2MmuNested(f.vcpu());
    expect(off.index).toBe(1);
    expect(off.nestedStage2Enabled).toBe(false);
    setCtx(v, 5, 0x1234_5000n, false, 0n);
    expect(lookupS2Mmu(f.vcpu())).toBe(off);
    setCtx(v, 6, 0x4090_0000n, false);
    expect(lookupS2Mmu(f.vcpu())).toBeNull();
  });

  it("recycles round-robin, skipping referenced MMUs, and marks valid victims pending_unmap", () => {
    const f = makeVm({ vcpus: 2 }); // 4 MMUs
    const v = f.vcpus[0]!;
    const mmus = [];
    for (let vmid = 1; vmid <= 4; vmid++) {
      setCtx(v, vmid, 0x4080_0000n);
      const m = getS2MmuNested(f.vcpu());
      mmus.push(m);
      if (vmid !== 2) m.refcnt--; // only VMID 2's MMU stays referenced
    }
    expect(mmus.map((m) => m.index)).toEqual([0, 1, 2, 3]);
    expect(f.kvm.nestedMmusNext).toBe(0);
    // Put something in MMU 0's table so the pending unmap has work to do.
    mmus[0]!.pgt.map(0x8000_0000n, 0x1000n, 0x10_0000_0000n, KVM_PGTABLE_PROT_R);

    setCtx(v, 7, 0x4080_0000n);
    const r1 = getS2MmuNested(f.vcpu());
    expect(r1).toBe(mmus[0]);
    expect(r1.pendingUnmap).toBe(true);
    expect(getVmid(r1.tlbVttbr)).toBe(7);
    expect(r1.hwVmid).toBe(2); // the hardware VMID stays
    expect(r1.pgt.leafCount).toBe(1); // not emptied yet
    r1.refcnt--;

    setCtx(v, 8, 0x4080_0000n);
    const r2 = getS2MmuNested(f.vcpu());
    expect(r2).toBe(mmus[2]); // MMU 1 is referenced: skipped
    expect(f.kvm.nestedMmusNext).toBe(3);
    expect(f.kvm.events.recent().filter((e) => e.kind === "recycle")).toHaveLength(2);
  });

  it("never hands out a referenced MMU: with every vCPU holding one, one is always free", () => {
    const f = makeVm({ vcpus: 2 });
    for (let vmid = 1; vmid <= 4; vmid++) {
      setCtx(f.vcpus[0]!, vmid, 0x4080_0000n);
      getS2MmuNested(f.vcpu());
    }
    setCtx(f.vcpus[0]!, 9, 0x4080_0000n);
    expect(() => getS2MmuNested(f.vcpu())).toThrow(HostError);
  });

  it("a hit on an MMU another vCPU recycled still sees pending_unmap; the request empties it once", () => {
    const f = makeVm({ vcpus: 2 });
    const [a, b] = f.vcpus as [FakeVcpu, FakeVcpu];
    setCtx(a, 1, 0x4080_0000n);
    kvmVcpuLoadHwMmu(f.vcpu(0));
    const m = a.hwMmu!;
    m.pgt.map(0x8000_0000n, 0x1000n, 0x10_0000_0000n, KVM_PGTABLE_PROT_R);
    m.pgt.map(0x8020_0000n, 0x1000n, 0x10_0000_1000n, KVM_PGTABLE_PROT_R);
    kvmVcpuPutHwMmu(f.vcpu(0));
    expect(m.refcnt).toBe(0);
    // Fill the other MMUs, then B recycles m for VMID 9.
    for (let vmid = 2; vmid <= 4; vmid++) {
      setCtx(b, vmid, 0x4080_0000n);
      getS2MmuNested(f.vcpu(1)).refcnt--;
    }
    setCtx(b, 9, 0x4080_0000n);
    const r = getS2MmuNested(f.vcpu(1));
    expect(r).toBe(m);
    expect(m.pendingUnmap).toBe(true);
    // A looks up the same context: a hit, still pending.
    setCtx(a, 9, 0x4080_0000n);
    kvmVcpuLoadHwMmu(f.vcpu(0));
    expect(a.hwMmu).toBe(m);
    expect(m.refcnt).toBe(2);
    checkNestedVcpuRequests(f.vcpu(0));
    expect(m.pendingUnmap).toBe(false);
    expect(m.pgt.leafCount).toBe(0);
    expect(f.kvm.metrics.mmusRecycled).toBe(1);
    checkNestedVcpuRequests(f.vcpu(1)); // nothing left to do
    expect(f.kvm.metrics.mmusRecycled).toBe(1);
  });

  it("kvmVcpuLoadHwMmu programs the CPU: canonical MMU in a hyp context (no reference), shadow MMU otherwise", () => {
    const f = makeVm();
    const v = f.vcpus[0]!;
    v.hyp = true;
    kvmVcpuLoadHwMmu(f.vcpu());
    expect(v.hwMmu).toBe(f.kvm.mmu);
    expect(v.cpu.sr.VTTBR_EL2).toBe((1n << 48n) | BigInt(f.kvm.mmu.pgt.pgdPa));
    expect(v.cpu.sr.VTCR_EL2).toBe(f.kvm.mmu.pgt.vtcr);
    kvmVcpuPutHwMmu(f.vcpu());
    expect(v.hwMmu).toBeNull();

    v.hyp = false;
    setCtx(v, 3, 0x4080_0000n);
    kvmVcpuLoadHwMmu(f.vcpu());
    const m = v.hwMmu!;
    expect(m.isNested).toBe(true);
    expect(m.refcnt).toBe(1);
    expect(v.cpu.sr.VTTBR_EL2).toBe(m.vttbr());
    kvmVcpuLoadHwMmu(f.vcpu()); // already loaded: no second reference
    expect(m.refcnt).toBe(1);
    kvmVcpuPutHwMmu(f.vcpu());
    expect(m.refcnt).toBe(0);
    expect(m.valid).toBe(true); // still caches the context
  });

  it("kvmStage2UnmapRange removes the range and drops the CPU TLB entries of that hardware VMID only", () => {
    const f = makeVm();
    const [m0, m1] = f.kvm.nestedMmus as [typeof f.kvm.mmu, typeof f.kvm.mmu];
    m0.pgt.map(0x8000_0000n, 0x1000n, 0x10_0000_0000n, KVM_PGTABLE_PROT_R);
    m0.pgt.map(0x8000_1000n, 0x1000n, 0x10_0000_1000n, KVM_PGTABLE_PROT_R);
    const tlb = f.vcpus[0]!.cpu.tlb;
    const entry = (vmid: number, ipa: bigint) => ({
      vmid, asid: -1, stages: 2, va: ipa, shift: 12, pa: 0, s1Va: ipa, s1Shift: 12, s1Level: 3, ipa, s2Ipa: ipa, s2Shift: 12,
      s2Level: 3, s1Perm: 0, s2Perm: 0, s1Device: false, s2Device: false, attr: 0, sh: 0,
    });
    tlb.insert(entry(m0.hwVmid, 0x8000_0000n));
    tlb.insert(entry(m0.hwVmid, 0x8000_1000n));
    tlb.insert(entry(m1.hwVmid, 0x8000_0000n));
    expect(kvmStage2UnmapRange(m0, 0x8000_0000n, 0x1000n)).toBe(1);
    expect(m0.pgt.getLeaf(0x8000_1000n)).not.toBeNull();
    expect([...tlb].map((e) => [e.vmid, e.ipa])).toEqual([[m0.hwVmid, 0x8000_1000n], [m1.hwVmid, 0x8000_0000n]]);
  });
});
