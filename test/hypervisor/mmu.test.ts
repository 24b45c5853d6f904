import { describe, expect, it } from "vitest";
import { EC, esr, type Exit, ISS_ISV, ISS_WNR, sysRegIss } from "../../emulator/exception.ts";
import { GuestError } from "../../hypervisor/errors.ts";
import { SZ_1G, SZ_2M, SZ_4K } from "../../hypervisor/memslot.ts";
import { kvmHandleGuestAbort, kvmReadGuest, kvmUnmapGfnRange, shadowLeafSize, stage2ApplyReschedPoints } from "../../hypervisor/mmu.ts";
import { Memslot } from "../../hypervisor/memslot.ts";
import { kvmVcpuLoadHwMmu } from "../../hypervisor/nested.ts";
import { kvmHandleSysTlbi } from "../../hypervisor/tlbi.ts";
import { tlbiByName } from "../../emulator/tlbi.ts";
import { KVM_PGTABLE_PROT_R, KVM_PGTABLE_PROT_W, KVM_PGTABLE_PROT_X } from "../../hypervisor/pgtable.ts";
import { rawAssemble } from "../helpers/machine.ts";
import { L1Stage2, s2Abort, useL1Stage2 } from "../../lab/fixtures/l1_stage2.ts";
import { type Fixture, makeVm, RAM_BASE } from "./stage2_fixture.ts";

const RWX = KVM_PGTABLE_PROT_R | KVM_PGTABLE_PROT_W | KVM_PGTABLE_PROT_X;
const TABLES = 0x4100_0000n;

const u64 = (v: bigint) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v, true);
  return b;
};

/** A VM whose vCPU runs L2 under L1's stage-2 (VMID 1), with the shadow MMU loaded. */
function nestedVm(blocks: boolean, vm = true): Fixture & { s2: L1Stage2 } {
  const f = makeVm({ blocks });
  const s2 = new L1Stage2(f.slot, TABLES);
  useL1Stage2(f.vcpus[0]!, s2, 1, vm);
  kvmVcpuLoadHwMmu(f.vcpu());
  return { ...f, s2 };
}

/** A shadow fault under one L1 leaf: the canonical and shadow leaves it must produce. */
interface ShadowSizeCase {
  /** Canonical 2M blocks (VmConfig.blocks). */
  blocks: boolean;
  l1: { nipa: bigint; cipa: bigint; size: bigint };
  fault: bigint;
  canon: { ipa: bigint; size: bigint };
  shadow: { ipa: bigint; size: bigint; sw: number };
  /** Nested IPAs that must stay without a shadow leaf. */
  unmapped: bigint[];
}

function shadowMmu(f: Fixture) {
  return f.vcpus[0]!.hwMmu!;
}

/** The host PA backing canonical `ipa` (the memslot's resident page). */
function hostPa(f: Fixture, ipa: bigint): bigint {
  const pa = f.slot.hostPa(ipa & ~0xfffn);
  expect(pa, `canonical 0x${ipa.toString(16)} has no host backing`).not.toBeNull();
  return BigInt(pa!) + (ipa & 0xfffn);
}

describe("canonical stage-2 faults (L1)", () => {
  function l1Vm(blocks: boolean) {
    const f = makeVm({ blocks });
    f.vcpus[0]!.hyp = true;
    kvmVcpuLoadHwMmu(f.vcpu());
    return f;
  }

  it("faults a 4K page in from the memslot with the image contents", () => {
    const f = l1Vm(false);
    f.slot.writeBytes(0x4010_0008n, u64(0x1122_3344_5566_7788n));
    kvmHandleGuestAbort(f.vcpu(), s2Abort(0x4010_0008n, { fsc: 0x07 }));
    const leaf = f.kvm.mmu.pgt.getLeaf(0x4010_0000n)!;
    expect(leaf).toMatchObject({ ipa: 0x4010_0000n, size: SZ_4K, prot: RWX, sw: 0 });
    expect(f.pool.contains(Number(leaf.pa))).toBe(true);
    expect(f.mem.read(Number(leaf.pa) + 8, 8)).toBe(0x1122_3344_5566_7788n);
    expect(f.kvm.metrics.canonicalFaults).toBe(1);
    expect(f.kvm.metrics.shadowFaults).toBe(0);
    expect(f.kvm.events.recent().map((e) => e.kind)).toEqual(["canonical-fault"]);
    expect(kvmReadGuest(f.kvm, 0x4010_0008n, 8)).toBe(0x1122_3344_5566_7788n);
    expect(kvmReadGuest(f.kvm, 0x0900_0000n, 8)).toBeNull();
  });

  it("maps a 2M block when the memslot backs the region with a 2M block", () => {
    const f = l1Vm(true);
    f.slot.writeBytes(0x4030_5000n, u64(42n));
    kvmHandleGuestAbort(f.vcpu(), s2Abort(0x4031_2000n));
    const leaf = f.kvm.mmu.pgt.getLeaf(0x4030_5000n)!;
    expect(leaf).toMatchObject({ ipa: 0x4020_0000n, size: SZ_2M, level: 2 });
    expect(leaf.pa % SZ_2M).toBe(0n);
    expect(f.mem.read(Number(leaf.pa) + 0x10_5000, 8)).toBe(42n);
    expect(f.kvm.mmu.pgt.leafCount).toBe(1);
  });

  it("runs L1 code on the CPU through the canonical tables it builds", async () => {
    const f = l1Vm(false);
    const cpu = f.vcpus[0]!.cpu;
    const code = await rawAssemble("ldr x0, [x1]\nadd x0, x0, #1\nstr x0, [x1, #8]\nbrk #0", 0x4010_0000);
    f.slot.writeBytes(0x4010_0000n, code);
    f.slot.writeBytes(0x4050_0000n, u64(99n));
    cpu.resetTo(0x4010_0000n);
    cpu.writeSysReg("HCR_EL2", 1n); // stage 2 on
    cpu.setX(1, 0x4050_0000n);
    const exits: number[] = [];
    for (;;) {
      const stop = cpu.run(1000);
      if (stop.kind !== "exit") {
        expect(stop.kind).toBe("brk");
        break;
      }
      exits.push(stop.exit.ec);
      kvmHandleGuestAbort(f.vcpu(), stop.exit);
      cpu.eretFromEl2();
    }
    expect(exits).toEqual([EC.IABT_LOW, EC.DABT_LOW]);
    expect(cpu.getX(0)).toBe(100n);
    expect(f.slot.read(0x4050_0008n, 8)).toBe(100n);
  });

  it("sends accesses outside RAM to MMIO emulation at the canonical IPA", () => {
    const f = l1Vm(false);
    f.vcpus[0]!.cpu.setX(3, 0x41n);
    const iss = ISS_ISV | (3 << 16) | ISS_WNR | 0x07; // strb w3
    const exit: Exit = { esr: esr(EC.DABT_LOW, iss), ec: EC.DABT_LOW, far: 0x0900_0000n, hpfar: (0x0900_0000n >> 12n) << 4n, elr: 0n, spsr: 0n };
    kvmHandleGuestAbort(f.vcpu(), exit);
    expect(f.kvm.console).toBe("A");
    expect(f.vcpus[0]!.skipped).toBe(1);
    expect(() => kvmHandleGuestAbort(f.vcpu(), s2Abort(0x2000_0000n))).toThrow(GuestError);
  });
});

describe("canonical unmap (kvmUnmapGfnRange)", () => {
  it("preserves the contents, poisons the old page, and the next access re-faults to a new page with the same data", () => {
    const f = makeVm();
    f.vcpus[0]!.hyp = true;
    kvmVcpuLoadHwMmu(f.vcpu());
    kvmHandleGuestAbort(f.vcpu(), s2Abort(0x4020_0000n));
    const old = f.kvm.mmu.pgt.getLeaf(0x4020_0000n)!;
    f.mem.write(Number(old.pa) + 0x80, 8, 0xcafe_f00dn); // L1 wrote through its mapping
    kvmUnmapGfnRange(f.kvm, 0x4020_0000n, SZ_4K);
    expect(f.kvm.mmu.pgt.getLeaf(0x4020_0000n)).toBeNull();
    expect(f.pool.isPoisoned(Number(old.pa))).toBe(true);
    expect(f.kvm.metrics.canonicalUnmaps).toBe(1);
    expect(kvmReadGuest(f.kvm, 0x4020_0080n, 8)).toBe(0xcafe_f00dn);
    f.pool.alloc(); // takes the poisoned page: the re-fault must land elsewhere
    kvmHandleGuestAbort(f.vcpu(), s2Abort(0x4020_0080n));
    const again = f.kvm.mmu.pgt.getLeaf(0x4020_0000n)!;
    expect(again.pa).not.toBe(old.pa);
    expect(f.mem.read(Number(again.pa) + 0x80, 8)).toBe(0xcafe_f00dn);
    expect(f.kvm.metrics.canonicalFaults).toBe(2);
  });

  it("removes the whole canonical 2M block around an unmapped page; the rest faults back as 4K pages of the same host memory", () => {
    const f = makeVm({ blocks: true });
    f.vcpus[0]!.hyp = true;
    kvmVcpuLoadHwMmu(f.vcpu());
    kvmHandleGuestAbort(f.vcpu(), s2Abort(0x4040_0000n));
    const block = f.kvm.mmu.pgt.getLeaf(0x4040_0000n)!;
    expect(block.size).toBe(SZ_2M);
    f.slot.writeBytes(0x4040_3000n, u64(7n));
    kvmUnmapGfnRange(f.kvm, 0x4040_3000n, SZ_4K);
    // KVM's stage2_unmap_walker: the block goes whole, nothing of it stays mapped.
    expect(f.kvm.mmu.pgt.leafCount).toBe(0);
    expect(f.kvm.events.recent().at(-1)!.data).toMatchObject({ kind: "unmap", scope: "canonical", removed: 1, freed: 1 });
    expect(f.pool.isPoisoned(Number(block.pa) + 0x3000)).toBe(true);
    expect(f.pool.isPoisoned(Number(block.pa) + 0x4000)).toBe(false);
    // The host split its backing: the rest refaults lazily as 4K pages at the same host PAs.
    kvmHandleGuestAbort(f.vcpu(), s2Abort(0x4040_4000n));
    expect(f.kvm.mmu.pgt.getLeaf(0x4040_4000n)).toMatchObject({ size: SZ_4K, pa: block.pa + 0x4000n });
    kvmHandleGuestAbort(f.vcpu(), s2Abort(0x4040_3000n));
    const page = f.kvm.mmu.pgt.getLeaf(0x4040_3000n)!;
    expect(page.size).toBe(SZ_4K);
    expect(page.pa).not.toBe(block.pa + 0x3000n);
    expect(kvmReadGuest(f.kvm, 0x4040_3000n, 8)).toBe(7n);
    expect(f.kvm.metrics.canonicalFaults).toBe(3);
  });

  it("flushes TLB entries of the whole removed block, not only the unmapped page", () => {
    const f = makeVm({ blocks: true });
    f.vcpus[0]!.hyp = true;
    kvmVcpuLoadHwMmu(f.vcpu());
    kvmHandleGuestAbort(f.vcpu(), s2Abort(0x4040_0000n));
    const tlb = f.vcpus[0]!.cpu.tlb;
    const cached = (ipa: bigint) => ({
      vmid: 1, asid: -1, stages: 2, va: ipa, shift: 12, pa: 0, s1Va: ipa, s1Shift: 12, s1Level: 3, ipa, s2Ipa: ipa, s2Shift: 12,
      s2Level: 2, s1Perm: 0, s2Perm: 0, s1Device: false, s2Device: false, attr: 0, sh: 0,
    });
    tlb.insert(cached(0x4040_3000n));
    tlb.insert(cached(0x405f_f000n));
    tlb.insert(cached(0x4060_0000n));
    kvmUnmapGfnRange(f.kvm, 0x4040_3000n, SZ_4K);
    expect([...tlb].map((e) => e.ipa)).toEqual([0x4060_0000n]);
  });
});

describe("the MMU notifier over ranges of many pages (kvm_gfn_range, may_block)", () => {
  function l1Vm() {
    const f = makeVm({ blocks: true, memory: 0x4000_0000n + 0x40_0000n });
    f.vcpus[0]!.hyp = true;
    kvmVcpuLoadHwMmu(f.vcpu());
    return f;
  }
  const unmapEvents = (f: Fixture) => f.kvm.events.recent().map((e) => e.data).filter((d) => d.kind === "unmap" && d.scope === "canonical");

  it.each<[string, bigint, bigint, boolean, number]>([
    ["inside one 1G piece", 0x4000_0000n, 0x7fff_f000n, true, 0],
    ["across one 1G boundary", 0x7fff_f000n, 0x8000_1000n, true, 1],
    ["ending on a 1G boundary", 0x7000_0000n, 0x8000_0000n, true, 0],
    ["over three 1G pieces", 0x4000_0000n, 0x1_0000_1000n, true, 3],
    ["across a boundary, atomic notifier", 0x7fff_f000n, 0x8000_1000n, false, 0],
  ])("stage2_apply_range resched points: %s", (_, start, end, mayBlock, want) => {
    expect(stage2ApplyReschedPoints(start, end, mayBlock)).toBe(want);
  });

  it("one range over 4K pages, a 2M block and a 1G boundary: whole leaves, one resched point, the host pages released", () => {
    const f = l1Vm();
    // A 2M block at 0x4060_0000 and, past the 1G boundary, 4K pages (the host split their region).
    kvmHandleGuestAbort(f.vcpu(), s2Abort(0x4060_0000n));
    kvmHandleGuestAbort(f.vcpu(), s2Abort(0x8000_0000n));
    kvmUnmapGfnRange(f.kvm, 0x8000_0000n, SZ_4K);
    for (let i = 1n; i <= 4n; i++) kvmHandleGuestAbort(f.vcpu(), s2Abort(0x8000_0000n + i * SZ_4K));
    expect(f.kvm.mmu.pgt.leafCount).toBe(5);
    const removed = kvmUnmapGfnRange(f.kvm, 0x407f_f000n, 0x8000_3000n - 0x407f_f000n);
    expect(removed).toBe(3); // the block (its last page in range) and two pages
    expect(f.kvm.mmu.pgt.getLeaf(0x4060_0000n)).toBeNull();
    expect(f.kvm.mmu.pgt.getLeaf(0x8000_3000n)).not.toBeNull();
    expect(unmapEvents(f).at(-1)).toEqual(
      expect.objectContaining({ start: 0x407f_f000n, size: 0x8000_3000n - 0x407f_f000n, removed: 3, freed: 1 + 2, mayBlock: true, resched: 1 }),
    );
    expect(f.kvm.metrics.get("unmapReschedPoints")).toBe(1);
    // An atomic notifier: no resched point.
    kvmUnmapGfnRange(f.kvm, 0x7fff_f000n, 0x8000_5000n - 0x7fff_f000n, false);
    expect(unmapEvents(f).at(-1)).toMatchObject({ removed: 2, mayBlock: false, resched: 0 });
    expect(f.kvm.metrics.get("unmapReschedPoints")).toBe(1);
    expect(f.kvm.mmu.pgt.leafCount).toBe(0);
  });

  it("is cut at memslot boundaries, one kvm_gfn_range each; what lies in no memslot is skipped", () => {
    const f = l1Vm();
    const second = new Memslot(0x2_0000_0000n, 0x40_0000n, f.mem, f.pool);
    f.kvm.memslots.push(second);
    kvmHandleGuestAbort(f.vcpu(), s2Abort(0x8003_f000n));
    kvmHandleGuestAbort(f.vcpu(), s2Abort(0x2_0000_1000n));
    kvmUnmapGfnRange(f.kvm, 0x8000_0000n, 0x2_0040_0000n - 0x8000_0000n + 0x1000_0000n);
    expect(unmapEvents(f)).toEqual([
      expect.objectContaining({ start: 0x8000_0000n, size: 0x40_0000n, removed: 1, freed: 512, resched: 0 }),
      expect.objectContaining({ start: 0x2_0000_0000n, size: 0x40_0000n, removed: 1, freed: 512, resched: 0 }),
    ]);
    expect(f.kvm.metrics.canonicalUnmaps).toBe(1);
    expect(f.kvm.mmu.pgt.leafCount).toBe(0);
    expect(second.residentPages).toBe(0);
  });
});

describe("shadow stage-2 faults (L2)", () => {
  it("4K page in L1 over a 2M host block gives a 4K shadow leaf tagged with L1's level; the canonical stage-2 stays empty", () => {
    const f = nestedVm(true);
    f.s2.map(0x8000_0000n, 0x4020_3000n, SZ_4K);
    kvmHandleGuestAbort(f.vcpu(), s2Abort(0x8000_0010n));
    // user_mem_abort for a nested fault maps only the shadow MMU, from the host backing.
    expect(f.kvm.mmu.pgt.leafCount).toBe(0);
    expect(f.slot.isBlockBacked(0x4020_3000n)).toBe(true);
    const leaf = shadowMmu(f).pgt.getLeaf(0x8000_0000n)!;
    expect(leaf).toMatchObject({ ipa: 0x8000_0000n, size: SZ_4K, pa: hostPa(f, 0x4020_3000n), prot: RWX, sw: 3 });
    expect((leaf.desc >> 55n) & 3n).toBe(3n);
    const m = f.kvm.metrics;
    expect([m.shadowFaults, m.l1S2Walks, m.canonicalFaults, m.faultsInjectedToL1]).toEqual([1, 1, 0, 0]);
    expect(f.kvm.events.recent().map((e) => e.kind)).toEqual(["shadow-fault"]);
    expect(f.kvm.events.recent()[0]!.data).toMatchObject({ kind: "shadow-fault", pa: leaf.pa, canonicalIpa: 0x4020_3000n });
  });

  // The shadow leaf is the smaller of L1's leaf and the host backing, at the faulting address.
  it.each<[string, ShadowSizeCase]>([
    ["2M block in L1 over a 2M host block gives a 2M shadow block, both IPAs aligned down", {
      blocks: true, l1: { nipa: 0x8040_0000n, cipa: 0x4060_0000n, size: SZ_2M }, fault: 0x8045_6000n,
      canon: { ipa: 0x4060_0000n, size: SZ_2M }, shadow: { ipa: 0x8040_0000n, size: SZ_2M, sw: 2 }, unmapped: [],
    }],
    ["2M block in L1 over 4K host pages gives a 4K shadow leaf at the faulting page", {
      blocks: false, l1: { nipa: 0x8040_0000n, cipa: 0x4060_0000n, size: SZ_2M }, fault: 0x8045_6000n,
      canon: { ipa: 0x4065_6000n, size: SZ_4K }, shadow: { ipa: 0x8045_6000n, size: SZ_4K, sw: 2 }, unmapped: [0x8045_7000n],
    }],
    ["1G block in L1 over a 2M host block gives a 2M shadow block", {
      blocks: true, l1: { nipa: 0xc000_0000n, cipa: 0x4000_0000n, size: SZ_1G }, fault: 0xc060_1000n,
      canon: { ipa: 0x4060_0000n, size: SZ_2M }, shadow: { ipa: 0xc060_0000n, size: SZ_2M, sw: 1 }, unmapped: [],
    }],
  ])("%s", (_, { blocks, l1, fault, canon, shadow, unmapped }) => {
    const f = nestedVm(blocks);
    f.s2.map(l1.nipa, l1.cipa, l1.size);
    kvmHandleGuestAbort(f.vcpu(), s2Abort(fault));
    expect(f.slot.isBlockBacked(canon.ipa)).toBe(canon.size === SZ_2M);
    expect(f.kvm.mmu.pgt.leafCount).toBe(0);
    expect(shadowMmu(f).pgt.getLeaf(fault)).toMatchObject({ ...shadow, pa: hostPa(f, canon.ipa) });
    for (const ipa of unmapped) expect(shadowMmu(f).pgt.getLeaf(ipa)).toBeNull();
  });

  it.each<[string, bigint | null, bigint, bigint]>([
    ["L1 4K page, 2M backing", SZ_4K, SZ_2M, SZ_4K],
    ["L1 16K page, 2M backing", 0x4000n, SZ_2M, SZ_4K],
    ["L1 64K page, 2M backing", 0x1_0000n, SZ_2M, SZ_4K],
    ["L1 2M block, 4K backing", SZ_2M, SZ_4K, SZ_4K],
    ["L1 32M block (16K granule), 2M backing", 0x200_0000n, SZ_2M, SZ_2M],
    ["L1 512M block (64K granule), 2M backing", 0x2000_0000n, SZ_2M, SZ_2M],
    ["L1 1G block, 2M backing", SZ_1G, SZ_2M, SZ_2M],
    ["L1 1G block, 1G backing", SZ_1G, SZ_1G, SZ_1G],
    ["L1 512M block, 1G backing", 0x2000_0000n, SZ_1G, SZ_2M],
    ["L1 stage-2 off, 2M backing", null, SZ_2M, SZ_2M],
  ])("shadow leaf size: %s", (_, l1, backing, want) => {
    expect(shadowLeafSize(l1, backing)).toBe(want);
  });

  it("L2 touching pages L1 never touched: the canonical stage-2 stays empty, and a canonical unmap still removes the shadow entries", () => {
    const f = nestedVm(false);
    f.s2.map(0x8000_0000n, 0x4020_0000n, SZ_4K);
    f.s2.map(0x8000_1000n, 0x4020_1000n, SZ_4K);
    f.slot.writeBytes(0x4020_0000n, u64(0x77n));
    kvmHandleGuestAbort(f.vcpu(), s2Abort(0x8000_0000n));
    kvmHandleGuestAbort(f.vcpu(), s2Abort(0x8000_1000n));
    expect(f.kvm.mmu.pgt.leafCount).toBe(0);
    expect(f.kvm.metrics.canonicalFaults).toBe(0);
    const pa = hostPa(f, 0x4020_0000n);
    expect(shadowMmu(f).pgt.getLeaf(0x8000_0000n)!.pa).toBe(pa);
    // The MMU notifier: nothing to unmap in the canonical stage-2, the nested unmap runs anyway.
    kvmUnmapGfnRange(f.kvm, 0x4020_0000n, SZ_4K);
    expect(f.kvm.events.recent().filter((e) => e.kind === "unmap").map((e) => e.data)).toEqual([
      expect.objectContaining({ scope: "nested", removed: 2 }),
      expect.objectContaining({ scope: "canonical", removed: 0, freed: 1 }),
    ]);
    expect(shadowMmu(f).pgt.leafCount).toBe(0);
    expect(f.pool.isPoisoned(Number(pa))).toBe(true);
    expect(f.slot.hostPa(0x4020_0000n)).toBeNull();
    // L2 faults the page back in from a fresh host page with the same contents.
    kvmHandleGuestAbort(f.vcpu(), s2Abort(0x8000_0000n));
    expect(f.mem.read(Number(shadowMmu(f).pgt.getLeaf(0x8000_0000n)!.pa), 8)).toBe(0x77n);
    expect(f.kvm.mmu.pgt.leafCount).toBe(0);
  });

  it("intersects permissions with L1's leaf", () => {
    const f = nestedVm(false);
    f.s2.map(0x8000_0000n, 0x4020_0000n, SZ_4K, { w: false });
    f.s2.map(0x8000_1000n, 0x4020_1000n, SZ_4K, { x: false });
    f.s2.map(0x8000_2000n, 0x4020_2000n, SZ_4K, { r: false });
    kvmHandleGuestAbort(f.vcpu(), s2Abort(0x8000_0000n));
    kvmHandleGuestAbort(f.vcpu(), s2Abort(0x8000_1000n, { write: true }));
    kvmHandleGuestAbort(f.vcpu(), s2Abort(0x8000_2000n, { write: true }));
    const pgt = shadowMmu(f).pgt;
    expect(pgt.getLeaf(0x8000_0000n)!.prot).toBe(KVM_PGTABLE_PROT_R | KVM_PGTABLE_PROT_X);
    expect(pgt.getLeaf(0x8000_1000n)!.prot).toBe(KVM_PGTABLE_PROT_R | KVM_PGTABLE_PROT_W);
    expect(pgt.getLeaf(0x8000_2000n)!.prot).toBe(KVM_PGTABLE_PROT_W | KVM_PGTABLE_PROT_X);
    const d = pgt.getLeaf(0x8000_1000n)!.desc;
    expect((d >> 54n) & 1n).toBe(1n); // XN in the real descriptor
    expect((d >> 6n) & 3n).toBe(3n); // S2AP RW
  });

  it("injects L1's translation fault with the walk level, keeping the rest of the ESR, FAR and HPFAR", () => {
    const f = nestedVm(false);
    f.s2.map(0x8000_0000n, 0x4020_0000n, SZ_4K);
    const exit1 = s2Abort(0x8000_5000n, { write: true, far: 0x1234_5678n });
    kvmHandleGuestAbort(f.vcpu(), exit1); // L3 table exists, entry empty
    const exit2 = s2Abort(0x1_0000_0000n, { fsc: 0x06 }); // no L1 entry at level 1
    kvmHandleGuestAbort(f.vcpu(), exit2);
    const inj = f.vcpus[0]!.injected;
    expect(inj).toHaveLength(2);
    expect(inj[0]).toEqual({ esr: (exit1.esr & ~0x3fn) | 0x07n, far: 0x1234_5678n, hpfar: exit1.hpfar });
    expect(Number(inj[0]!.esr & BigInt(ISS_WNR))).toBe(ISS_WNR);
    expect(inj[1]!.esr & 0x3fn).toBe(0x05n);
    expect(inj[1]!.hpfar).toBe((0x1_0000_0000n >> 12n) << 4n);
    expect(f.kvm.metrics.faultsInjectedToL1).toBe(2);
    expect(f.kvm.metrics.canonicalFaults).toBe(0);
    expect(shadowMmu(f).pgt.leafCount).toBe(0);
    expect(f.kvm.events.recent().filter((e) => e.kind === "inject")).toHaveLength(2);
  });

  it("injects an access flag fault for a leaf without AF", () => {
    const f = nestedVm(false);
    f.s2.map(0x8040_0000n, 0x4060_0000n, SZ_2M, { af: false });
    kvmHandleGuestAbort(f.vcpu(), s2Abort(0x8041_0000n));
    expect(f.vcpus[0]!.injected[0]!.esr & 0x3fn).toBe(0x0an);
  });

  it("injects Address size level 0 when the walk cannot be done (tables outside L1 RAM)", () => {
    const f = makeVm();
    const v = f.vcpus[0]!;
    v.vregs.set("VTTBR_EL2", (1n << 48n) | 0x1000_0000n);
    v.vregs.set("VTCR_EL2", 25n | (1n << 6n) | (2n << 16n));
    v.vregs.set("HCR_EL2", 1n);
    kvmVcpuLoadHwMmu(f.vcpu());
    const exit = s2Abort(0x8000_0000n, { exec: true });
    kvmHandleGuestAbort(f.vcpu(), exit);
    expect(v.injected).toEqual([{ esr: exit.esr & ~0x3fn, far: exit.far, hpfar: exit.hpfar }]);
  });

  it("forwards permission faults that L1's leaf explains, and fixes up those it does not", () => {
    const f = nestedVm(false);
    f.s2.map(0x8000_0000n, 0x4020_0000n, SZ_4K, { w: false, x: false });
    kvmHandleGuestAbort(f.vcpu(), s2Abort(0x8000_0000n)); // read: mapped R only
    kvmHandleGuestAbort(f.vcpu(), s2Abort(0x8000_0000n, { fsc: 0x0f, write: true }));
    kvmHandleGuestAbort(f.vcpu(), s2Abort(0x8000_0000n, { fsc: 0x0f, exec: true }));
    const inj = f.vcpus[0]!.injected;
    expect(inj.map((i) => [Number((i.esr >> 26n) & 0x3fn), Number(i.esr & 0x3fn)])).toEqual([
      [EC.DABT_LOW, 0x0f],
      [EC.IABT_LOW, 0x0f],
    ]);
    // L1 makes the page writable without a TLBI: the next write permission fault is L0's to fix.
    f.s2.map(0x8000_0000n, 0x4020_0000n, SZ_4K, { x: false });
    kvmHandleGuestAbort(f.vcpu(), s2Abort(0x8000_0000n, { fsc: 0x0f, write: true }));
    expect(inj).toHaveLength(2);
    expect(shadowMmu(f).pgt.getLeaf(0x8000_0000n)!.prot).toBe(KVM_PGTABLE_PROT_R | KVM_PGTABLE_PROT_W);
  });

  it("with L1's stage 2 off, the nested IPA is the canonical IPA", () => {
    const f = nestedVm(true, false);
    const m = shadowMmu(f);
    expect(m.nestedStage2Enabled).toBe(false);
    kvmHandleGuestAbort(f.vcpu(), s2Abort(0x4060_2000n));
    expect(f.kvm.metrics.l1S2Walks).toBe(0);
    expect(f.kvm.mmu.pgt.leafCount).toBe(0);
    expect(m.pgt.getLeaf(0x4060_2000n)).toMatchObject({ ipa: 0x4060_0000n, size: SZ_2M, pa: hostPa(f, 0x4060_0000n), prot: RWX, sw: 0 });
  });

  it("sends an L2 access that L1 maps to the UART to MMIO emulation at the canonical IPA", () => {
    const f = nestedVm(false);
    f.s2.map(0x9000_0000n, 0x0900_0000n, SZ_4K);
    f.vcpus[0]!.cpu.setX(2, 0x5an);
    const iss = ISS_ISV | (2 << 16) | ISS_WNR | 0x07;
    const exit: Exit = { esr: esr(EC.DABT_LOW, iss), ec: EC.DABT_LOW, far: 0xffff_8000_0000_0000n, hpfar: (0x9000_0000n >> 12n) << 4n, elr: 0n, spsr: 0n };
    kvmHandleGuestAbort(f.vcpu(), exit);
    expect(f.kvm.console).toBe("Z");
    expect(shadowMmu(f).pgt.leafCount).toBe(0);
  });

  it("after a full canonical unmap no shadow leaf maps the freed host page; L2 re-faults to the same data", () => {
    const f = nestedVm(false);
    f.s2.map(0x8000_0000n, 0x4020_0000n, SZ_4K);
    f.s2.map(0x8000_1000n, 0x4020_1000n, SZ_4K);
    f.slot.writeBytes(0x4020_0000n, u64(0xabcdn));
    kvmHandleGuestAbort(f.vcpu(), s2Abort(0x8000_0000n));
    kvmHandleGuestAbort(f.vcpu(), s2Abort(0x8000_1000n));
    const freedPa = hostPa(f, 0x4020_0000n);
    // A second shadow MMU (another L2) also maps the page.
    const other = f.kvm.nestedMmus.find((m) => m !== shadowMmu(f))!;
    other.tlbVttbr = 9n << 48n;
    other.pgt.map(0x7000_0000n, SZ_4K, freedPa, KVM_PGTABLE_PROT_R);
    kvmUnmapGfnRange(f.kvm, 0x4020_0000n, SZ_4K);
    for (const m of f.kvm.nestedMmus) for (const l of m.pgt.leaves()) expect(l.pa).not.toBe(freedPa);
    expect(f.pool.isPoisoned(Number(freedPa))).toBe(true);
    const met = f.kvm.metrics;
    expect(met.canonicalUnmaps).toBe(1);
    expect(met.shadowEntriesRemoved).toBe(3);
    expect(met.shadowMmusVisited).toEqual([2]);
    // The untouched page keeps its host backing; the shadow will re-fault the other one in.
    expect(f.slot.hostPa(0x4020_1000n)).not.toBeNull();
    kvmHandleGuestAbort(f.vcpu(), s2Abort(0x8000_0000n));
    const leaf = shadowMmu(f).pgt.getLeaf(0x8000_0000n)!;
    expect(leaf.pa).toBe(hostPa(f, 0x4020_0000n)); // a fresh page (the pool may reuse the freed one)
    expect(f.pool.isAllocated(Number(leaf.pa))).toBe(true);
    expect(f.mem.read(Number(leaf.pa), 8)).toBe(0xabcdn);
  });

  it("after an 8K RIPAS2E1IS inside a 2M shadow block, a read of another page of the block re-faults", async () => {
    const f = nestedVm(true);
    const cpu = f.vcpus[0]!.cpu;
    f.s2.map(0x8000_0000n, 0x4020_0000n, SZ_4K); // code
    f.s2.map(0x8040_0000n, 0x4060_0000n, SZ_2M); // data, a 2M block in L1 and in the shadow
    f.slot.writeBytes(0x4020_0000n, await rawAssemble("ldr x0, [x1]\nbrk #0", 0x8000_0000));
    f.slot.writeBytes(0x4063_0000n, u64(5n));
    const read = (nested: bigint): number[] => {
      const ecs: number[] = [];
      cpu.resetTo(0x8000_0000n);
      cpu.writeSysReg("HCR_EL2", 1n);
      cpu.setX(1, nested);
      for (;;) {
        const stop = cpu.run(1000);
        if (stop.kind !== "exit") return ecs;
        ecs.push(stop.exit.ec);
        kvmHandleGuestAbort(f.vcpu(), stop.exit);
        cpu.eretFromEl2();
      }
    };
    expect(read(0x8041_0000n)).toEqual([EC.IABT_LOW, EC.DABT_LOW]);
    expect(read(0x8043_0000n)).toEqual([]); // the block, through the TLB
    expect(shadowMmu(f).pgt.getLeaf(0x8043_0000n)!.size).toBe(SZ_2M);
    // TG 4K, SCALE 0, NUM 0: two pages from 0x8040_2000.
    const ripas = (1n << 46n) | (0x8040_2000n >> 12n);
    const op = tlbiByName("RIPAS2E1IS")!;
    kvmHandleSysTlbi(f.vcpu(), sysRegIss(1, op.op1, op.crn, op.crm, op.op2, 1, false), ripas);
    expect(shadowMmu(f).pgt.leafCount).toBe(1); // only the code page
    expect(read(0x8043_0000n)).toEqual([EC.DABT_LOW]);
    expect(cpu.getX(0)).toBe(5n);
    expect(shadowMmu(f).pgt.getLeaf(0x8043_0000n)!.size).toBe(SZ_2M);
  });

  it("runs L2 on the CPU through the shadow tables, and survives a canonical unmap of its data page", async () => {
    const f = nestedVm(true);
    const cpu = f.vcpus[0]!.cpu;
    f.s2.map(0x8000_0000n, 0x4020_0000n, SZ_4K); // code
    f.s2.map(0x8040_0000n, 0x4060_0000n, SZ_2M); // data, a 2M block in L1
    const code = await rawAssemble("ldr x0, [x1]\nadd x0, x0, #1\nstr x0, [x1, #8]\nbrk #0", 0x8000_0000);
    f.slot.writeBytes(0x4020_0000n, code);
    f.slot.writeBytes(0x4061_0000n, u64(41n));
    const run = (): number[] => {
      const ecs: number[] = [];
      cpu.resetTo(0x8000_0000n);
      cpu.writeSysReg("HCR_EL2", 1n);
      cpu.setX(1, 0x8041_0000n);
      for (;;) {
        const stop = cpu.run(1000);
        if (stop.kind !== "exit") {
          expect(stop.kind).toBe("brk");
          return ecs;
        }
        ecs.push(stop.exit.ec);
        kvmHandleGuestAbort(f.vcpu(), stop.exit);
        cpu.eretFromEl2();
      }
    };
    expect(run()).toEqual([EC.IABT_LOW, EC.DABT_LOW]);
    expect(cpu.getX(0)).toBe(42n);
    expect(f.slot.read(0x4061_0008n, 8)).toBe(42n);
    expect(shadowMmu(f).pgt.getLeaf(0x8041_0000n)!.size).toBe(SZ_2M);

    f.slot.writeBytes(0x4061_0000n, u64(99n));
    kvmUnmapGfnRange(f.kvm, 0x4061_0000n, SZ_4K);
    expect(run()).toEqual([EC.IABT_LOW, EC.DABT_LOW]);
    expect(cpu.getX(0)).toBe(100n);
    expect(f.slot.read(0x4061_0008n, 8)).toBe(100n);
    // After the split the data page is a 4K canonical page, so the shadow is 4K too.
    expect(shadowMmu(f).pgt.getLeaf(0x8041_0000n)!.size).toBe(SZ_4K);
    expect(RAM_BASE).toBe(0x4000_0000n);
  });
});
