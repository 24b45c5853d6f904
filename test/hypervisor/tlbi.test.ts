import { describe, expect, it } from "vitest";
import { sysRegIss } from "../../emulator/exception.ts";
import { STAGE1, STAGE2, type TlbEntry } from "../../emulator/mmu/tlb.ts";
import { tlbiByName } from "../../emulator/tlbi.ts";
import { HostError } from "../../hypervisor/errors.ts";
import type { KvmS2Mmu } from "../../hypervisor/nested.ts";
import { KVM_PGTABLE_PROT_R } from "../../hypervisor/pgtable.ts";
import { kvmHandleSysTlbi } from "../../hypervisor/tlbi.ts";
import { L1_VTCR } from "../../lab/fixtures/l1_stage2.ts";
import { makeVm } from "./stage2_fixture.ts";

const SZ_4K = 0x1000n;
const SZ_2M = 0x20_0000n;
const PA = 0x10_0000_0000n;

function iss(name: string): number {
  const op = tlbiByName(name);
  if (!op) throw new Error(`no TLBI ${name}`);
  return sysRegIss(1, op.op1, op.crn, op.crm, op.op2, 1, false);
}

/** A VM with shadow MMUs 0 and 1 for L1 VMIDs 5 and 6 and the vCPU's virtual VTTBR at VMID 5. */
function setup() {
  const f = makeVm({ vcpus: 2 });
  const [m0, m1] = f.kvm.nestedMmus as [KvmS2Mmu, KvmS2Mmu];
  m0.tlbVttbr = (5n << 48n) | 0x4100_0000n;
  m1.tlbVttbr = (6n << 48n) | 0x4200_0000n;
  for (const m of [m0, m1]) {
    m.tlbVtcr = L1_VTCR;
    m.nestedStage2Enabled = true;
    // Shadow leaves tagged with L1's level: 4K pages (level 3) and a 2M block (level 2).
    for (let i = 0n; i < 6n; i++) m.pgt.map(0x8000_0000n + i * SZ_4K, SZ_4K, PA + i * SZ_4K, KVM_PGTABLE_PROT_R, 3);
    m.pgt.map(0x8040_0000n, SZ_2M, PA + SZ_2M, KVM_PGTABLE_PROT_R, 2);
    m.pgt.map(0xc000_0000n, SZ_4K, PA, KVM_PGTABLE_PROT_R, 3);
  }
  const v = f.vcpus[0]!;
  v.vregs.set("VTTBR_EL2", (5n << 48n) | 0x4100_0000n);
  v.vregs.set("HCR_EL2", 1n | (1n << 31n));
  v.hyp = true;
  return { ...f, m0, m1, v };
}

const mapped = (m: KvmS2Mmu) => [...m.pgt.leaves()].map((l) => l.ipa);

function entry(vmid: number, stages: number, addr: bigint): TlbEntry {
  return {
    vmid, asid: -1, stages, va: addr, shift: 12, pa: 0, s1Va: addr, s1Shift: 12, s1Level: 3, ipa: addr, s2Ipa: addr,
    s2Shift: stages & STAGE2 ? 12 : -1, s2Level: 3, s1Perm: 0, s2Perm: 0, s1Device: false, s2Device: false, attr: 0, sh: 0,
  };
}

describe("kvmHandleSysTlbi: stage-2 forms unmap shadow ranges", () => {
  it("IPAS2E1IS with a TTL hint unmaps the hinted size, only in MMUs with L1's VMID", () => {
    const f = setup();
    const before1 = mapped(f.m1);
    const ttl4kL3 = 0b0111n << 44n;
    kvmHandleSysTlbi(f.vcpu(), iss("IPAS2E1IS"), ttl4kL3 | (0x8000_1000n >> 12n));
    expect(mapped(f.m0)).not.toContain(0x8000_1000n);
    expect(f.m0.pgt.leafCount).toBe(7);
    const ttl4kL2 = 0b0110n << 44n;
    kvmHandleSysTlbi(f.vcpu(), iss("IPAS2E1IS"), ttl4kL2 | (0x8000_3000n >> 12n));
    expect(f.m0.pgt.leafCount).toBe(2); // the whole 2M around 0x8000_3000 went
    expect(mapped(f.m1)).toEqual(before1);
    expect(f.v.skipped).toBe(2);
    expect(f.kvm.metrics.tlbi.IPAS2E1IS).toBe(2);
    expect(f.kvm.events.recent().filter((e) => e.kind === "tlbi")).toHaveLength(2);
  });

  it("IPAS2E1 without a hint sizes the unmap from the shadow leaf's level tag", () => {
    const f = setup();
    kvmHandleSysTlbi(f.vcpu(), iss("IPAS2E1"), 0x8000_2000n >> 12n); // tag 3: 4K
    expect(mapped(f.m0)).not.toContain(0x8000_2000n);
    expect(f.m0.pgt.leafCount).toBe(7);
    kvmHandleSysTlbi(f.vcpu(), iss("IPAS2LE1IS"), 0x8051_2000n >> 12n); // inside the tag-2 block: 2M
    expect(mapped(f.m0)).not.toContain(0x8040_0000n);
    expect(f.m0.pgt.leafCount).toBe(6);
  });

  it("IPAS2E1OS without a hint and without a shadow leaf falls back to the granule's largest block (1G)", () => {
    const f = setup();
    kvmHandleSysTlbi(f.vcpu(), iss("IPAS2E1OSNXS"), 0x8070_0000n >> 12n);
    expect(mapped(f.m0)).toEqual([0xc000_0000n]);
  });

  it("RIPAS2E1IS unmaps the decoded range, ignoring its TTL", () => {
    const f = setup();
    // TG 4K, SCALE 0, NUM 1 → 4 pages; TTL = 3 must not matter.
    const op = (1n << 46n) | (1n << 39n) | (3n << 37n) | (0x8000_1000n >> 12n);
    kvmHandleSysTlbi(f.vcpu(), iss("RIPAS2E1IS"), op);
    expect(mapped(f.m0)).toEqual([0x8000_0000n, 0x8000_5000n, 0x8040_0000n, 0xc000_0000n]);
    expect(f.m1.pgt.leafCount).toBe(8);
  });

  it("VMALLS12E1IS empties every MMU with L1's VMID and no other", () => {
    const f = setup();
    const m2 = f.kvm.nestedMmus[2]!;
    m2.tlbVttbr = (5n << 48n) | 0x4300_0000n; // same VMID, other BADDR
    m2.pgt.map(0x8000_0000n, SZ_4K, PA, KVM_PGTABLE_PROT_R, 3);
    kvmHandleSysTlbi(f.vcpu(), iss("VMALLS12E1IS"), 0n);
    expect(f.m0.pgt.leafCount).toBe(0);
    expect(m2.pgt.leafCount).toBe(0);
    expect(f.m1.pgt.leafCount).toBe(8);
    expect(f.kvm.metrics.get("tlbiShadowEntriesRemoved")).toBe(9);
  });

  it("ALLE1IS empties every valid shadow MMU and leaves the canonical MMU alone", () => {
    const f = setup();
    f.kvm.mmu.pgt.map(0x4000_0000n, SZ_4K, PA, KVM_PGTABLE_PROT_R);
    kvmHandleSysTlbi(f.vcpu(), iss("ALLE1ISNXS"), 0n);
    expect(f.m0.pgt.leafCount + f.m1.pgt.leafCount).toBe(0);
    expect(f.kvm.mmu.pgt.leafCount).toBe(1);
    expect(f.kvm.metrics.tlbi.ALLE1ISNXS).toBe(1);
  });

  it("stage-2 unmaps also drop the CPU TLB entries of the shadow VMID on every vCPU", () => {
    const f = setup();
    for (const v of f.vcpus) {
      v.cpu.tlb.insert(entry(f.m0.hwVmid, STAGE1 | STAGE2, 0x8000_1000n));
      v.cpu.tlb.insert(entry(f.m1.hwVmid, STAGE1 | STAGE2, 0x8000_1000n));
    }
    kvmHandleSysTlbi(f.vcpu(), iss("IPAS2E1IS"), 0x8000_1000n >> 12n);
    for (const v of f.vcpus) expect([...v.cpu.tlb].map((e) => e.vmid)).toEqual([f.m1.hwVmid]);
  });
});

describe("kvmHandleSysTlbi: stage-1 forms", () => {
  it("EL1 forms from L1 invalidate the CPU TLB entries of every shadow MMU with L1's VMID, not the tables", () => {
    const f = setup();
    for (const v of f.vcpus) {
      v.cpu.tlb.insert(entry(f.m0.hwVmid, STAGE1 | STAGE2, 0x1000n));
      v.cpu.tlb.insert(entry(f.m0.hwVmid, STAGE1 | STAGE2, 0x2000n));
      v.cpu.tlb.insert(entry(f.m1.hwVmid, STAGE1 | STAGE2, 0x1000n));
      v.cpu.tlb.insert(entry(1, STAGE1 | STAGE2, 0x1000n));
    }
    kvmHandleSysTlbi(f.vcpu(), iss("VAE1IS"), 0x1000n >> 12n);
    for (const v of f.vcpus) expect([...v.cpu.tlb].map((e) => [e.vmid, e.va])).toEqual([[f.m0.hwVmid, 0x2000n], [f.m1.hwVmid, 0x1000n], [1, 0x1000n]]);
    kvmHandleSysTlbi(f.vcpu(), iss("VMALLE1"), 0n);
    for (const v of f.vcpus) expect([...v.cpu.tlb].map((e) => e.vmid)).toEqual([f.m1.hwVmid, 1]);
    expect(f.m0.pgt.leafCount).toBe(8);
    expect(f.kvm.metrics.tlbi.VMALLE1).toBe(1);
  });

  it("EL2 forms invalidate L1's own stage-1 entries under the canonical VMID", () => {
    const f = setup();
    const cpu = f.vcpus[1]!.cpu;
    cpu.tlb.insert(entry(1, STAGE1 | STAGE2, 0x4010_0000n));
    cpu.tlb.insert(entry(1, STAGE1 | STAGE2, 0x4020_0000n));
    cpu.tlb.insert(entry(f.m0.hwVmid, STAGE1 | STAGE2, 0x4010_0000n));
    kvmHandleSysTlbi(f.vcpu(), iss("VAE2IS"), 0x4010_0000n >> 12n);
    expect([...cpu.tlb].map((e) => [e.vmid, e.va])).toEqual([[1, 0x4020_0000n], [f.m0.hwVmid, 0x4010_0000n]]);
    kvmHandleSysTlbi(f.vcpu(), iss("ALLE2"), 0n);
    expect([...cpu.tlb].map((e) => e.vmid)).toEqual([f.m0.hwVmid]);
    expect(f.m0.pgt.leafCount).toBe(8);
  });

  it("rejects an ISS that is not a TLBI", () => {
    const f = setup();
    expect(() => kvmHandleSysTlbi(f.vcpu(), sysRegIss(3, 0, 1, 0, 0, 1, false), 0n)).toThrow(HostError);
  });
});
