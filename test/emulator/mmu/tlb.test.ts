import { describe, expect, it } from "vitest";
import { AccessKind, FaultType } from "../../../emulator/fault.ts";
import { S1_ALL, S2_ALL } from "../../../emulator/mmu/attrs.ts";
import { GLOBAL, STAGE1, STAGE2, Tlb, type TlbEntry } from "../../../emulator/mmu/tlb.ts";
import { translate, type Translation } from "../../../emulator/mmu/translate.ts";
import {
  AF, Allocator, AP_RO_EL1, attrIndx, enableStage1, enableStage2, machine, MEMATTR_NORMAL_WB, NG, S2AP_R, S2AP_RW, Tables,
  tcr, vtcr,
} from "./pagetable.ts";

const R = AccessKind.Read;
const W = AccessKind.Write;
const S1_PAGE = AF | attrIndx(0);
const S2_PAGE = AF | S2AP_RW | MEMATTR_NORMAL_WB;

function pa(t: Translation): number {
  if (!t.ok) throw new Error(`unexpected fault type ${t.fault.type} stage ${t.fault.stage} level ${t.fault.level}`);
  return t.pa;
}

function entry(o: Partial<TlbEntry> & { va: bigint }): TlbEntry {
  return {
    vmid: 1, asid: GLOBAL, stages: STAGE1 | STAGE2, shift: 12, pa: 0x1000, s1Va: o.va, s1Shift: 12, s1Level: 3,
    ipa: o.va, s2Ipa: o.va, s2Shift: 12, s2Level: 3, s1Perm: S1_ALL, s2Perm: S2_ALL, s1Device: false, s2Device: false,
    attr: 0xff, sh: 3, ...o,
  };
}

describe("Tlb", () => {
  it("looks up by VMID, stages and ASID, with global entries matching every ASID", () => {
    const tlb = new Tlb();
    tlb.insert(entry({ va: 0x1000n, asid: 1, pa: 0xa000 }));
    tlb.insert(entry({ va: 0x2000n, pa: 0xb000 }));
    tlb.insert(entry({ va: 0x20_0000n, shift: 21, s1Shift: 21, pa: 0x40_0000 }));
    expect(tlb.lookup(1, STAGE1 | STAGE2, 1, 0x1fffn)?.pa).toBe(0xa000);
    expect(tlb.lookup(1, STAGE1 | STAGE2, 2, 0x1000n)).toBeUndefined();
    expect(tlb.lookup(1, STAGE1 | STAGE2, 2, 0x2000n)?.pa).toBe(0xb000);
    expect(tlb.lookup(2, STAGE1 | STAGE2, 1, 0x2000n)).toBeUndefined();
    expect(tlb.lookup(1, STAGE1, 1, 0x2000n)).toBeUndefined();
    expect(tlb.lookup(1, STAGE1 | STAGE2, 7, 0x3f_fff8n)?.pa).toBe(0x40_0000);
    expect(tlb.size).toBe(3);
    expect([...tlb].map((e) => e.pa)).toEqual([0xa000, 0xb000, 0x40_0000]);
  });

  it("evicts the oldest entry beyond its capacity", () => {
    const tlb = new Tlb(4);
    for (let i = 1; i <= 5; i++) tlb.insert(entry({ va: BigInt(i) << 12n }));
    expect(tlb.size).toBe(4);
    expect(tlb.lookup(1, STAGE1 | STAGE2, 0, 0x1000n)).toBeUndefined();
    expect(tlb.lookup(1, STAGE1 | STAGE2, 0, 0x5000n)).toBeDefined();
    expect(new Tlb().capacity).toBe(4096);
  });

  it("invalidates by VA (any page of a stage-1 block), ASID, VMID, IPA and ranges", () => {
    const tlb = new Tlb();
    const block = entry({ va: 0x20_3000n, s1Va: 0x20_0000n, s1Shift: 21, asid: 3, ipa: 0x8000_3000n, s2Ipa: 0x8000_3000n });
    const global = entry({ va: 0x5000n, ipa: 0x9000_5000n, s2Ipa: 0x9000_0000n, s2Shift: 21 });
    const other = entry({ va: 0x6000n, asid: 4, vmid: 2 });
    const s2only = entry({ va: 0x7000n, stages: STAGE2 });
    const reset = () => {
      tlb.flushAll();
      for (const e of [block, global, other, s2only]) tlb.insert(e);
    };
    const left = () => [...tlb].map((e) => e.va);

    reset();
    tlb.flushVa(1, 4, 0x21_0000n, true); // ASID 4 does not match ASID 3
    expect(left()).toEqual([0x20_3000n, 0x5000n, 0x6000n, 0x7000n]);
    tlb.flushVa(1, 3, 0x21_0000n, true);
    expect(left()).toEqual([0x5000n, 0x6000n, 0x7000n]);
    expect(tlb.lastInvalidation).toMatchObject({ op: "va", vmid: 1, asid: 3, lastLevelOnly: true, removed: 1 });
    tlb.flushVa(1, 9, 0x5ff8n, false); // global entries match any ASID
    tlb.flushVa(1, null, 0x7000n, false); // stage-2-only entries are not stage-1 entries
    expect(left()).toEqual([0x6000n, 0x7000n]);

    reset();
    tlb.insert(entry({ va: 0xffff_ff80_0000_1000n }));
    tlb.flushVa(1, null, 0x00ff_ff80_0000_1000n, false); // VA[55:0], as a TLBI operand gives it
    expect(left()).toEqual([0x20_3000n, 0x5000n, 0x6000n, 0x7000n]);

    reset();
    tlb.flushAsid(1, 3);
    expect(left()).toEqual([0x5000n, 0x6000n, 0x7000n]);
    reset();
    tlb.flushVaRange(1, null, 0x1000n, 0x20_0001n, false);
    expect(left()).toEqual([0x6000n, 0x7000n]);
    reset();
    tlb.flushVmidStage1(1);
    expect(left()).toEqual([0x6000n, 0x7000n]);
    reset();
    tlb.flushVmid(1);
    expect(left()).toEqual([0x6000n]);
    reset();
    tlb.flushIpa(1, 0x9010_0000n, true); // inside global's 2M stage-2 leaf
    expect(left()).toEqual([0x20_3000n, 0x6000n, 0x7000n]);
    reset();
    tlb.flushIpaRange(1, 0x8000_0000n, 0x8000_4000n, false);
    expect(left()).toEqual([0x5000n, 0x6000n, 0x7000n]);
    expect(tlb.lastInvalidation).toMatchObject({ op: "ipa-range", lastLevelOnly: false, removed: 1 });
  });
});

/** Two stages, VMID 5, ASID 1: VA 0x1000 → IPA 0x4000_0000 → PA 0x7000_0000. */
function twoStages() {
  const { cpu, mem } = machine();
  const s2 = new Tables(mem, { granule: "4K", startLevel: 1, iaBits: 39, alloc: new Allocator(0x1000_0000n) });
  enableStage2(cpu, { vtcr: vtcr({ t0sz: 25, sl0: 1 }), root: s2.root, vmid: 5 });
  s2.map(0x100_0000n, 0x100_0000n, 2, S2_PAGE); // stage-1 tables, identity
  const s1 = new Tables(mem, { granule: "4K", startLevel: 1, iaBits: 39, alloc: new Allocator(0x100_0000n) });
  enableStage1(cpu, { tcr: tcr({ t0sz: 25 }), ttbr0: (1n << 48n) | s1.root });
  s1.map(0x1000n, 0x4000_0000n, 3, S1_PAGE | NG);
  s1.map(0x2000n, 0x4000_2000n, 3, S1_PAGE);
  s2.map(0x4000_0000n, 0x7000_0000n, 3, S2_PAGE);
  s2.map(0x4000_1000n, 0x7100_0000n, 3, S2_PAGE);
  s2.map(0x4000_2000n, 0x7200_0000n, 3, S2_PAGE);
  return { cpu, s1, s2, root: s1.root };
}

describe("TLB through translate(): staleness and invalidation", () => {
  const flushes: [string, (tlb: Tlb) => void][] = [
    ["flushVa", (tlb) => tlb.flushVa(5, 1, 0x1000n, true)],
    ["flushVa (any ASID)", (tlb) => tlb.flushVa(5, null, 0x1abcn, false)],
    ["flushVaRange", (tlb) => tlb.flushVaRange(5, 1, 0n, 0x2000n, false)],
    ["flushAsid", (tlb) => tlb.flushAsid(5, 1)],
    ["flushVmidStage1", (tlb) => tlb.flushVmidStage1(5)],
    ["flushVmid", (tlb) => tlb.flushVmid(5)],
    ["flushAll", (tlb) => tlb.flushAll()],
  ];
  for (const [name, flush] of flushes) {
    it(`a stage-1 change is invisible until ${name}`, () => {
      const { cpu, s1 } = twoStages();
      expect(pa(translate(cpu, 0x1010n, R, false))).toBe(0x7000_0010);
      s1.map(0x1000n, 0x4000_1000n, 3, S1_PAGE | NG);
      expect(pa(translate(cpu, 0x1010n, R, false))).toBe(0x7000_0010);
      flush(cpu.tlb);
      expect(pa(translate(cpu, 0x1010n, R, false))).toBe(0x7100_0010);
    });
  }

  it("flushes that do not cover the entry leave it stale", () => {
    const { cpu, s1 } = twoStages();
    pa(translate(cpu, 0x1000n, R, false));
    s1.map(0x1000n, 0x4000_1000n, 3, S1_PAGE | NG);
    cpu.tlb.flushVa(5, 2, 0x1000n, false); // another ASID
    cpu.tlb.flushVa(5, 1, 0x2000n, false); // another page
    cpu.tlb.flushAsid(5, 2);
    cpu.tlb.flushVmid(6);
    cpu.tlb.flushIpa(5, 0x4000_1000n, false);
    expect(pa(translate(cpu, 0x1000n, R, false))).toBe(0x7000_0000);
  });

  it("a stage-2 change is invisible until flushIpa / flushIpaRange", () => {
    const { cpu, s2 } = twoStages();
    expect(pa(translate(cpu, 0x1000n, W, false))).toBe(0x7000_0000);
    s2.map(0x4000_0000n, 0x7300_0000n, 3, S2_PAGE);
    expect(pa(translate(cpu, 0x1000n, W, false))).toBe(0x7000_0000);
    cpu.tlb.flushIpa(5, 0x4000_0ff8n, true);
    expect(pa(translate(cpu, 0x1000n, W, false))).toBe(0x7300_0000);
    s2.map(0x4000_0000n, 0x7400_0000n, 3, S2_PAGE);
    cpu.tlb.flushIpaRange(5, 0x3000_0000n, 0x4000_0001n, false);
    expect(pa(translate(cpu, 0x1000n, W, false))).toBe(0x7400_0000);
  });

  it("nG entries are ASID-tagged, global entries match every ASID", () => {
    const { cpu, s1, root } = twoStages();
    expect(pa(translate(cpu, 0x1000n, R, false))).toBe(0x7000_0000);
    expect(pa(translate(cpu, 0x2000n, R, false))).toBe(0x7200_0000);
    s1.map(0x1000n, 0x4000_1000n, 3, S1_PAGE | NG);
    s1.map(0x2000n, 0x4000_1000n, 3, S1_PAGE);
    cpu.sr.TTBR0_EL1 = (2n << 48n) | root;
    expect(pa(translate(cpu, 0x1000n, R, false))).toBe(0x7100_0000); // ASID 2 misses, walks
    expect(pa(translate(cpu, 0x2000n, R, false))).toBe(0x7200_0000); // global: stale hit
    cpu.sr.TTBR0_EL1 = (1n << 48n) | root;
    expect(pa(translate(cpu, 0x1000n, R, false))).toBe(0x7000_0000); // ASID 1 entry still there
    cpu.tlb.flushAsid(5, 1);
    expect(pa(translate(cpu, 0x1000n, R, false))).toBe(0x7100_0000);
    expect(pa(translate(cpu, 0x2000n, R, false))).toBe(0x7200_0000); // ASIDE1 keeps global entries
    const asids = [...cpu.tlb].map((e) => e.asid).sort();
    expect(asids).toEqual([GLOBAL, 1, 2]);
  });

  it("takes the ASID from TTBR1 with TCR_EL1.A1, 16 bits with TCR_EL1.AS", () => {
    const { cpu, root } = twoStages();
    cpu.sr.TTBR0_EL1 = (0x1234n << 48n) | root;
    cpu.sr.TTBR1_EL1 = 0x0777n << 48n;
    translate(cpu, 0x1000n, R, false);
    cpu.sr.TCR_EL1 = tcr({ t0sz: 25, as16: true });
    translate(cpu, 0x1000n, R, false);
    cpu.sr.TCR_EL1 = tcr({ t0sz: 25, a1: true, as16: true });
    translate(cpu, 0x1000n, R, false);
    expect([...cpu.tlb].map((e) => e.asid)).toEqual([0x34, 0x1234, 0x777]);
  });

  it("entries are VMID-tagged (8 bits, 16 with VTCR_EL2.VS)", () => {
    const { cpu, s2 } = twoStages();
    const vttbr = cpu.sr.VTTBR_EL2 & ((1n << 48n) - 1n);
    expect(pa(translate(cpu, 0x1000n, R, false))).toBe(0x7000_0000);
    s2.map(0x4000_0000n, 0x7300_0000n, 3, S2_PAGE);
    cpu.sr.VTTBR_EL2 = (6n << 48n) | vttbr;
    expect(pa(translate(cpu, 0x1000n, R, false))).toBe(0x7300_0000);
    cpu.sr.VTTBR_EL2 = (0x105n << 48n) | vttbr; // VMID 5 with 8-bit VMIDs
    expect(pa(translate(cpu, 0x1000n, R, false))).toBe(0x7000_0000);
    cpu.sr.VTCR_EL2 |= 1n << 19n;
    expect(pa(translate(cpu, 0x1000n, R, false))).toBe(0x7300_0000);
    expect([...cpu.tlb].map((e) => e.vmid)).toEqual([5, 6, 0x105]);
    cpu.tlb.flushVmid(5);
    cpu.sr.VTCR_EL2 &= ~(1n << 19n);
    expect(pa(translate(cpu, 0x1000n, R, false))).toBe(0x7300_0000);
  });

  it("checks permissions on a hit, per stage and level", () => {
    const { cpu, s1, s2 } = twoStages();
    s1.map(0x3000n, 0x4000_3000n, 3, S1_PAGE | AP_RO_EL1);
    s2.map(0x4000_3000n, 0x7500_0000n, 3, AF | S2AP_R | MEMATTR_NORMAL_WB);
    s1.map(0x4000n, 0x4000_3000n, 3, S1_PAGE);
    expect(pa(translate(cpu, 0x3000n, R, false))).toBe(0x7500_0000);
    expect(pa(translate(cpu, 0x4008n, R, false))).toBe(0x7500_0008);
    const before = cpu.tlb.hits;
    expect(translate(cpu, 0x3000n, W, false)).toMatchObject({ ok: false, fault: { type: FaultType.Permission, stage: 1, level: 3 } });
    expect(translate(cpu, 0x3000n, R, true)).toMatchObject({ ok: false, fault: { type: FaultType.Permission, stage: 1, level: 3 } });
    expect(translate(cpu, 0x4008n, W, false)).toMatchObject({
      ok: false, fault: { type: FaultType.Permission, stage: 2, level: 3, ipa: 0x4000_3008n },
    });
    expect(cpu.tlb.hits - before).toBe(3);
  });

  it("does not cache faulting translations", () => {
    const { cpu, s1 } = twoStages();
    s1.map(0x3000n, 0x4000_2000n, 3, S1_PAGE | AP_RO_EL1);
    translate(cpu, 0x3000n, W, false);
    translate(cpu, 0x5000n, R, false);
    expect(cpu.tlb.size).toBe(0);
  });
});
