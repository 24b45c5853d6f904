import { describe, expect, it } from "vitest";
import { HostError } from "../../../hypervisor/errors.ts";
import { kvmHandleGuestAbort, kvmUnmapGfnRange } from "../../../hypervisor/mmu.ts";
import { checkNestedVcpuRequests, getS2MmuNested, type KvmS2Mmu, kvmNestedS2Unmap, kvmVcpuLoadHwMmu } from "../../../hypervisor/nested.ts";
import { KVM_PGTABLE_PROT_R } from "../../../hypervisor/pgtable.ts";
import { sysRegIss } from "../../../emulator/exception.ts";
import { tlbiByName } from "../../../emulator/tlbi.ts";
import { kvmHandleSysTlbi } from "../../../hypervisor/tlbi.ts";
import { fullUnmapStrategy } from "../../../hypervisor/unmap/full.ts";
import { createUnmapStrategy } from "../../../hypervisor/unmap/registry.ts";
import type { UnmapStrategy } from "../../../hypervisor/unmap/strategy.ts";
import type { Kvm } from "../../../hypervisor/vm.ts";
import { L1Stage2, s2Abort, useL1Stage2 } from "../../../lab/fixtures/l1_stage2.ts";
import { makeVm } from "../stage2_fixture.ts";
import { hex } from "../../../emulator/types.ts";

/** A strategy that records what it hears and otherwise behaves as `full`. */
function recorder(): UnmapStrategy & { calls: string[] } {
  const calls: string[] = [];
  return {
    ...fullUnmapStrategy(),
    name: "recorder",
    calls,
    shadowMap(mmu, c, n, size) {
      calls.push(`map mmu${mmu.index} ${hex(c)} ${hex(n)} ${hex(size)}`);
    },
    canonicalUnmap(kvm: Kvm, gpa, size) {
      calls.push(`canonical ${hex(gpa)} ${hex(size)}`);
      kvmNestedS2Unmap(kvm);
    },
    mmuFullyUnmapped(mmu: KvmS2Mmu) {
      calls.push(`full mmu${mmu.index}`);
    },
    shadowUnmap(mmu, n, size) {
      calls.push(`range mmu${mmu.index} ${hex(n)} ${hex(size)}`);
    },
  };
}

const tlbiIss = (name: string) => {
  const op = tlbiByName(name)!;
  return sysRegIss(1, op.op1, op.crn, op.crm, op.op2, 0, false);
};

describe("unmap strategies", () => {
  it("selects the configured strategy and rejects unknown names", () => {
    const f = makeVm();
    expect(f.kvm.unmap.name).toBe("full");
    for (const name of ["revmap", "accel", "rfc-rbtree"] as const) expect(makeVm({ unmap: name }).kvm.unmap.name).toBe(name);
    expect(() => createUnmapStrategy("nope", { directMap: false })).toThrow(HostError);
  });

  it("full: every valid shadow MMU is emptied, invalid ones are not visited", () => {
    const f = makeVm({ vcpus: 2 });
    const [m0, m1, m2] = f.kvm.nestedMmus as [KvmS2Mmu, KvmS2Mmu, KvmS2Mmu];
    m0.tlbVttbr = 1n << 48n;
    m1.tlbVttbr = 2n << 48n;
    m0.pgt.map(0x8000_0000n, 0x1000n, 0x10_0000_0000n, KVM_PGTABLE_PROT_R);
    m1.pgt.map(0x8000_0000n, 0x1000n, 0x10_0000_0000n, KVM_PGTABLE_PROT_R);
    m1.pgt.map(0x8000_1000n, 0x1000n, 0x10_0000_1000n, KVM_PGTABLE_PROT_R);
    m2.pgt.map(0x8000_0000n, 0x1000n, 0x10_0000_0000n, KVM_PGTABLE_PROT_R); // invalid MMU: not visited
    expect(kvmNestedS2Unmap(f.kvm)).toBe(3);
    expect(m0.pgt.leafCount + m1.pgt.leafCount).toBe(0);
    expect(m2.pgt.leafCount).toBe(1);
    expect(f.kvm.metrics.shadowEntriesRemoved).toBe(3);
    expect(f.kvm.metrics.shadowMmusVisited).toEqual([2]);
  });

  it("the VM's strategy object hears shadow maps, canonical unmaps, full and partial shadow unmaps", () => {
    const rec = recorder();
    const f = makeVm({ vcpus: 1 }, rec);
    const v = f.vcpus[0]!;
    const s2 = new L1Stage2(f.slot, 0x4100_0000n);
    s2.map(0x8000_0000n, 0x4020_0000n, 0x1000n);
    useL1Stage2(v, s2, 3);
    kvmVcpuLoadHwMmu(f.vcpu());
    const m = v.hwMmu!;
    kvmHandleGuestAbort(f.vcpu(), s2Abort(0x8000_0000n));
    kvmUnmapGfnRange(f.kvm, 0x4020_0000n, 0x1000n);
    kvmHandleGuestAbort(f.vcpu(), s2Abort(0x8000_0000n));
    kvmHandleSysTlbi(f.vcpu(), tlbiIss("IPAS2E1IS"), 0x8000_0000n >> 12n);
    kvmHandleSysTlbi(f.vcpu(), tlbiIss("ALLE1IS"), 0n);
    // Recycle the MMU: another context takes it while unreferenced, then the request empties it.
    v.hwMmu = null;
    m.refcnt = 0;
    m.pgt.map(0x8000_0000n, 0x1000n, 0x10_0000_0000n, KVM_PGTABLE_PROT_R);
    const other = f.kvm.nestedMmus[1]!;
    other.tlbVttbr = 7n << 48n;
    other.refcnt = 1;
    v.vregs.set("VTTBR_EL2", 9n << 48n);
    v.hwMmu = getS2MmuNested(f.vcpu());
    expect(v.hwMmu).toBe(m);
    checkNestedVcpuRequests(f.vcpu());
    expect(rec.calls).toEqual([
      "map mmu0 0x40200000 0x80000000 0x1000",
      "canonical 0x40200000 0x1000",
      "full mmu0",
      "map mmu0 0x40200000 0x80000000 0x1000",
      "range mmu0 0x80000000 0x1000",
      "full mmu0",
      "full mmu0",
    ]);
  });
});
