import { describe, expect, it } from "vitest";
import { AccessKind, FaultType, type Fault } from "../../../emulator/fault.ts";
import { translate, type Translation } from "../../../emulator/mmu/translate.ts";
import {
  AF, Allocator, AP_RO_EL1, attrIndx, enableStage1, enableStage2, type GranuleName, GRANULE_SHIFT, HCR_DC, HCR_PTW,
  levelShift, machine, MEMATTR_DEVICE, MEMATTR_NORMAL_WB, S2AP_R, S2AP_RW, S2AP_W, Tables, tcr, vtcr, XN,
} from "./pagetable.ts";
import type { Cpu } from "../../../emulator/cpu.ts";
import type { PhysMemory } from "../../../emulator/memory.ts";

const R = AccessKind.Read;
const W = AccessKind.Write;
const X = AccessKind.Fetch;
const S2_PAGE = AF | S2AP_RW | MEMATTR_NORMAL_WB;
const S1_PAGE = AF | attrIndx(0);

function pa(t: Translation): number {
  if (!t.ok) throw new Error(`unexpected fault ${JSON.stringify(t.fault, (_k, v) => (typeof v === "bigint" ? v.toString(16) : v))}`);
  return t.pa;
}

function fault(t: Translation): Fault {
  if (t.ok) throw new Error(`expected a fault, got PA 0x${t.pa.toString(16)}`);
  return t.fault;
}

function s2Fault(type: FaultType, level: number, ipa: bigint, s1ptw = false): Partial<Fault> {
  return { type, stage: 2, level, s1ptw, ipa };
}

function startLevelOf(g: GranuleName, sl0: number): number {
  return g === "4K" ? 2 - sl0 : 3 - sl0;
}

/** Stage 2 on (stage 1 off, so VA = IPA) with tables of this shape allocated from 16 MiB. */
function setup(g: GranuleName, sl0: number, t0sz: number, ps = 5, mem?: PhysMemory): { cpu: Cpu; mem: PhysMemory; t: Tables } {
  const m = mem ? { ...machine(), mem } : machine();
  const { cpu } = m;
  const t = new Tables(m.mem, { granule: g, startLevel: startLevelOf(g, sl0), iaBits: 64 - t0sz, alloc: new Allocator(0x100_0000n) });
  enableStage2(cpu, { vtcr: vtcr({ t0sz, sl0, tg0: g, ps }), root: t.root });
  return { cpu, mem: m.mem, t };
}

describe("stage 2: granules, start levels and concatenated start tables", () => {
  // [granule, SL0, T0SZ, concatenated start tables]
  const cases: [GranuleName, number, number, number][] = [
    ["4K", 2, 16, 1], ["4K", 2, 24, 1], ["4K", 1, 25, 1], ["4K", 1, 24, 2], ["4K", 1, 21, 16],
    ["4K", 0, 34, 1], ["4K", 0, 39, 1], ["4K", 0, 33, 2], ["4K", 0, 30, 16],
    ["16K", 2, 17, 1], ["16K", 2, 16, 2], ["16K", 1, 28, 1], ["16K", 1, 24, 16], ["16K", 0, 39, 1], ["16K", 0, 35, 16],
    ["64K", 2, 16, 1], ["64K", 2, 21, 1], ["64K", 1, 22, 1], ["64K", 1, 18, 16], ["64K", 0, 35, 1], ["64K", 0, 31, 16],
  ];
  for (const [g, sl0, t0sz, concat] of cases) {
    it(`${g} SL0=${sl0} (level ${startLevelOf(g, sl0)}) T0SZ=${t0sz}: ${concat} start table(s)`, () => {
      const { cpu, t } = setup(g, sl0, t0sz);
      const level = startLevelOf(g, sl0);
      const page = 1n << BigInt(GRANULE_SHIFT[g]);
      const top = 1n << BigInt(64 - t0sz);
      // The start level resolves this many bits: the root spans `concat` granule-sized tables.
      const n = 64 - t0sz - levelShift(g, level);
      expect(n > GRANULE_SHIFT[g] - 3 ? 1 << (n - GRANULE_SHIFT[g] + 3) : 1).toBe(concat);
      t.map(top - page, 0x7000_0000n, 3, S2_PAGE); // last entry of the last start table
      t.map(0n, 0x7100_0000n, 3, S2_PAGE);
      expect(pa(translate(cpu, top - page + 0x18n, R, false))).toBe(0x7000_0018);
      expect(pa(translate(cpu, 0x20n, W, false))).toBe(0x7100_0020);
      if (concat > 1) {
        // The first entry of the second start table is a distinct descriptor.
        const second = 1n << BigInt(levelShift(g, level) + GRANULE_SHIFT[g] - 3);
        expect(t.descAddr(second, level)).toBe(t.root + BigInt(1 << GRANULE_SHIFT[g]));
        expect(fault(translate(cpu, second, R, false))).toMatchObject(s2Fault(FaultType.Translation, level, second));
      }
      if (top < 1n << 48n) expect(fault(translate(cpu, top, R, false))).toMatchObject(s2Fault(FaultType.Translation, 0, top));
    });
  }

  const invalid: [string, GranuleName, number, number][] = [
    ["too many concatenated tables", "4K", 1, 20],
    ["too few bits for the start level", "4K", 1, 34],
    ["reserved SL0 (4K)", "4K", 3, 34],
    ["reserved SL0 (64K)", "64K", 3, 22],
    ["IPA larger than the PA size", "4K", 2, 15],
    ["T0SZ above 39", "4K", 0, 40],
    ["16K level 1 with too many tables", "16K", 2, 15],
  ];
  for (const [what, g, sl0, t0sz] of invalid) {
    it(`faults at level 0 when VTCR_EL2 is inconsistent: ${what}`, () => {
      const { cpu } = setup(g, 0, 39);
      cpu.sr.VTCR_EL2 = vtcr({ t0sz, sl0, tg0: g });
      expect(fault(translate(cpu, 0x1000n, R, false))).toMatchObject(s2Fault(FaultType.Translation, 0, 0x1000n));
    });
  }
});

describe("stage 2: blocks", () => {
  const blocks: [GranuleName, number, number, number][] = [["4K", 1, 25, 1], ["4K", 1, 25, 2], ["16K", 1, 28, 2], ["64K", 2, 20, 2]];
  for (const [g, sl0, t0sz, level] of blocks) {
    it(`${g} block at level ${level}`, () => {
      const { cpu, t } = setup(g, sl0, t0sz);
      const size = 1n << BigInt(levelShift(g, level));
      t.map(size, 2n * size, level, S2_PAGE);
      expect(pa(translate(cpu, size + size / 2n + 4n, X, false))).toBe(Number(2n * size + size / 2n + 4n));
    });
  }
  const rejected: [GranuleName, number, number, number][] = [["4K", 2, 16, 0], ["16K", 2, 17, 1], ["64K", 2, 16, 1]];
  for (const [g, sl0, t0sz, level] of rejected) {
    it(`${g} block at level ${level} is a translation fault`, () => {
      const { cpu, t } = setup(g, sl0, t0sz);
      const size = 1n << BigInt(levelShift(g, level));
      t.map(size, 0n, level, S2_PAGE);
      expect(fault(translate(cpu, size + 8n, R, false))).toMatchObject(s2Fault(FaultType.Translation, level, size + 8n));
    });
  }
  it("level-3 descriptor with bits[1:0]=01 is a translation fault", () => {
    const { cpu, t } = setup("4K", 1, 25);
    t.set(0x5000n, 3, 0x9000n | S2_PAGE | 1n);
    expect(fault(translate(cpu, 0x5000n, R, false))).toMatchObject(s2Fault(FaultType.Translation, 3, 0x5000n));
  });
});

describe("stage 2: faults", () => {
  it("translation faults at each level carry the IPA", () => {
    const { cpu, t } = setup("4K", 2, 16);
    const ipa = 0x12_3456_7890n;
    expect(fault(translate(cpu, ipa, R, false))).toMatchObject(s2Fault(FaultType.Translation, 0, ipa));
    for (const level of [1, 2, 3]) {
      t.descAddr(ipa, level);
      expect(fault(translate(cpu, ipa, R, false))).toMatchObject(s2Fault(FaultType.Translation, level, ipa));
    }
  });

  it("access flag, permission (S2AP, XN) at the leaf level", () => {
    const { cpu, t } = setup("4K", 1, 25);
    t.map(0x1000n, 0x1000n, 3, S2AP_RW | MEMATTR_NORMAL_WB);
    expect(fault(translate(cpu, 0x1008n, R, false))).toMatchObject(s2Fault(FaultType.AccessFlag, 3, 0x1008n));
    t.map(0x2000n, 0x2000n, 3, AF | S2AP_R | MEMATTR_NORMAL_WB);
    expect(pa(translate(cpu, 0x2000n, R, false))).toBe(0x2000);
    expect(fault(translate(cpu, 0x2010n, W, false))).toMatchObject(s2Fault(FaultType.Permission, 3, 0x2010n));
    t.map(0x3000n, 0x3000n, 3, AF | S2AP_W | MEMATTR_NORMAL_WB);
    expect(fault(translate(cpu, 0x3000n, R, false))).toMatchObject(s2Fault(FaultType.Permission, 3, 0x3000n));
    expect(pa(translate(cpu, 0x3000n, W, false))).toBe(0x3000);
    t.map(0x20_0000n, 0x20_0000n, 2, S2_PAGE | XN);
    expect(pa(translate(cpu, 0x20_0000n, R, false))).toBe(0x20_0000);
    expect(fault(translate(cpu, 0x20_0004n, X, false))).toMatchObject(s2Fault(FaultType.Permission, 2, 0x20_0004n));
    expect(fault(translate(cpu, 0x20_0004n, X, true))).toMatchObject(s2Fault(FaultType.Permission, 2, 0x20_0004n));
  });

  it("address size faults for the output, a table and VTTBR_EL2 above PS", () => {
    const { cpu, t } = setup("4K", 1, 25, 0); // PS = 32 bits
    t.map(0x1000n, 0x1_0000_1000n, 3, S2_PAGE);
    expect(fault(translate(cpu, 0x1000n, R, false))).toMatchObject(s2Fault(FaultType.AddressSize, 3, 0x1000n));
    t.set(0x4000_0000n, 1, 0x8_0000_0000n | 3n);
    expect(fault(translate(cpu, 0x4000_0000n, R, false))).toMatchObject(s2Fault(FaultType.AddressSize, 1, 0x4000_0000n));
    cpu.sr.VTTBR_EL2 = (1n << 48n) | 0x1_0000_0000n;
    expect(fault(translate(cpu, 0x1000n, R, false))).toMatchObject(s2Fault(FaultType.AddressSize, 0, 0x1000n));
  });

  it("an IPA above the input size is a translation fault even when VTTBR_EL2 is above PS (the range is checked first)", () => {
    const { cpu } = setup("4K", 1, 33, 0); // 31-bit IPA, PS = 32 bits
    cpu.sr.VTTBR_EL2 = (1n << 48n) | 0x1_0000_0000n;
    expect(fault(translate(cpu, 0x8000_0000n, R, false))).toMatchObject(s2Fault(FaultType.Translation, 0, 0x8000_0000n));
    expect(fault(translate(cpu, 0x7fff_f000n, R, false))).toMatchObject(s2Fault(FaultType.AddressSize, 0, 0x7fff_f000n));
  });

  it("external abort on the stage-2 walk", () => {
    const { cpu, mem } = machine({ autoAllocate: false });
    mem.addRam(0x100_0000, 0x10_0000);
    const t = new Tables(mem, { granule: "4K", startLevel: 1, iaBits: 39, alloc: new Allocator(0x100_0000n) });
    enableStage2(cpu, { vtcr: vtcr({ t0sz: 25, sl0: 1 }), root: t.root });
    t.set(0x4000_0000n, 1, 0x4000_0000n | 3n);
    expect(fault(translate(cpu, 0x4000_0000n, R, false))).toMatchObject({ type: FaultType.ExternalAbort, stage: 2, level: 2, onWalk: true });
  });
});

describe("stage 2: memory type", () => {
  it("combines stage-1 and stage-2 types (Device wins), and HCR_EL2.DC", () => {
    const { cpu, t } = setup("4K", 1, 25);
    t.map(0x1000n, 0x1000n, 3, S2_PAGE);
    t.map(0x2000n, 0x2000n, 3, AF | S2AP_RW | MEMATTR_DEVICE);
    // Stage 1 off: data Device, fetches Normal; stage-2 Device forces Device.
    expect(translate(cpu, 0x1000n, R, false)).toEqual({ ok: true, pa: 0x1000, device: true });
    expect(translate(cpu, 0x1000n, X, false)).toEqual({ ok: true, pa: 0x1000, device: false });
    expect(translate(cpu, 0x2000n, X, false)).toEqual({ ok: true, pa: 0x2000, device: true });
    // HCR_EL2.DC: stage 1 off with Normal memory, and stage 2 on even with VM = 0.
    cpu.sr.HCR_EL2 = HCR_DC;
    expect(translate(cpu, 0x1000n, R, false)).toEqual({ ok: true, pa: 0x1000, device: false });
    expect(translate(cpu, 0x2000n, R, false)).toEqual({ ok: true, pa: 0x2000, device: true });
    expect(fault(translate(cpu, 0x3000n, R, false))).toMatchObject(s2Fault(FaultType.Translation, 3, 0x3000n));
  });

  it("stage-1 Normal over stage-2 Device is Device; stage-1 Device over stage-2 Normal is Device", () => {
    const { cpu, mem, t } = setup("4K", 1, 25);
    t.map(0x10_0000n, 0x10_0000n, 2, S2_PAGE); // stage-1 tables at IPA 1M..3M, identity
    t.map(0x4000_0000n, 0x8000_0000n, 2, S2_PAGE);
    t.map(0x4020_0000n, 0x8020_0000n, 2, AF | S2AP_RW | MEMATTR_DEVICE);
    const s1 = new Tables(mem, { granule: "4K", startLevel: 1, iaBits: 39, alloc: new Allocator(0x10_0000n) });
    enableStage1(cpu, { tcr: tcr({ t0sz: 25 }), ttbr0: s1.root });
    s1.map(0x1000n, 0x4000_0000n, 3, S1_PAGE); // Normal
    s1.map(0x2000n, 0x4020_0000n, 3, S1_PAGE); // Normal over Device
    s1.map(0x3000n, 0x4000_1000n, 3, AF | attrIndx(1)); // Device over Normal
    expect(translate(cpu, 0x1000n, R, false)).toEqual({ ok: true, pa: 0x8000_0000, device: false });
    expect(translate(cpu, 0x2000n, R, false)).toEqual({ ok: true, pa: 0x8020_0000, device: true });
    expect(translate(cpu, 0x3000n, R, false)).toEqual({ ok: true, pa: 0x8000_1000, device: true });
  });
});

/**
 * Two stages: stage-1 tables live at IPA 16 MiB, which stage 2 maps (2M block) to PA 144 MiB;
 * stage-2 tables at PA 256 MiB. Data IPAs at 1 GiB.
 */
function twoStages(opts: { autoAllocate?: boolean } = {}) {
  const { cpu, mem } = machine(opts);
  if (opts.autoAllocate === false) {
    mem.addRam(0x900_0000, 0x20_0000);
    mem.addRam(0x1000_0000, 0x10_0000);
  }
  const s2 = new Tables(mem, { granule: "4K", startLevel: 1, iaBits: 39, alloc: new Allocator(0x1000_0000n) });
  enableStage2(cpu, { vtcr: vtcr({ t0sz: 25, sl0: 1 }), root: s2.root, vmid: 5 });
  s2.map(0x100_0000n, 0x900_0000n, 2, S2_PAGE);
  const s1 = new Tables(mem, {
    granule: "4K", startLevel: 1, iaBits: 39, alloc: new Allocator(0x100_0000n), toPa: (ipa) => ipa - 0x100_0000n + 0x900_0000n,
  });
  enableStage1(cpu, { tcr: tcr({ t0sz: 25 }), ttbr0: s1.root });
  return { cpu, mem, s1, s2 };
}

describe("two stages and stage-1 walks through stage 2 (S1PTW)", () => {
  it("translates VA → IPA → PA, with different stage-1 and stage-2 leaf sizes", () => {
    const { cpu, s1, s2 } = twoStages();
    s1.map(0x20_0000n, 0x4000_0000n, 2, S1_PAGE); // 2M stage-1 block
    s2.map(0x4000_0000n, 0x7000_0000n, 3, S2_PAGE);
    s2.map(0x4000_1000n, 0x7555_0000n, 3, S2_PAGE);
    expect(pa(translate(cpu, 0x20_0010n, R, false))).toBe(0x7000_0010);
    expect(pa(translate(cpu, 0x20_1ff8n, W, false))).toBe(0x7555_0ff8);
    expect(fault(translate(cpu, 0x20_2000n, R, false))).toMatchObject(s2Fault(FaultType.Translation, 3, 0x4000_2000n));
  });

  it("a stage-2 fault on a stage-1 table access reports S1PTW, the stage-2 level and the descriptor IPA", () => {
    const { cpu, s1, s2 } = twoStages();
    const va = 0x4000_3000n;
    // Level-1 table descriptor points at IPA 0x300_0000: stage 2 has its level-2 table but no entry.
    s1.set(va, 1, 0x300_0000n | 3n);
    const l2desc = 0x300_0000n + ((va >> 21n) & 0x1ffn) * 8n;
    expect(fault(translate(cpu, va, R, false))).toMatchObject(s2Fault(FaultType.Translation, 2, l2desc, true));
    // Mapped, but without read permission: Permission fault at the stage-2 leaf level.
    s2.map(0x300_0000n, 0xa00_0000n, 3, AF | S2AP_W | MEMATTR_NORMAL_WB);
    expect(fault(translate(cpu, va, X, false))).toMatchObject(s2Fault(FaultType.Permission, 3, l2desc, true));
    // Access flag clear.
    s2.map(0x300_0000n, 0xa00_0000n, 3, S2AP_RW | MEMATTR_NORMAL_WB);
    expect(fault(translate(cpu, va, W, false))).toMatchObject(s2Fault(FaultType.AccessFlag, 3, l2desc, true));
    // Output address above PS.
    cpu.sr.VTCR_EL2 = vtcr({ t0sz: 25, sl0: 1, ps: 0 });
    s2.map(0x300_0000n, 0x1_0000_0000n, 3, S2_PAGE);
    expect(fault(translate(cpu, va, R, false))).toMatchObject(s2Fault(FaultType.AddressSize, 3, l2desc, true));
  });

  it("the TTBR base is an IPA too", () => {
    const { cpu } = twoStages();
    cpu.sr.TTBR0_EL1 = 0x7000_0000n;
    expect(fault(translate(cpu, 0x8000_0000n, R, false))).toMatchObject(s2Fault(FaultType.Translation, 1, 0x7000_0010n, true));
  });

  it("HCR_EL2.PTW: a stage-1 table in stage-2 Device memory is a stage-2 permission fault", () => {
    const { cpu, s1, s2 } = twoStages();
    s1.map(0x1000n, 0x4000_0000n, 3, S1_PAGE);
    s2.map(0x4000_0000n, 0x7000_0000n, 3, S2_PAGE);
    s2.map(0x100_0000n, 0x900_0000n, 2, AF | S2AP_RW | MEMATTR_DEVICE);
    expect(pa(translate(cpu, 0x1000n, R, false))).toBe(0x7000_0000);
    cpu.tlb.flushAll();
    cpu.sr.HCR_EL2 |= HCR_PTW;
    expect(fault(translate(cpu, 0x1000n, R, false))).toMatchObject(s2Fault(FaultType.Permission, 2, s1.root, true));
  });

  it("a stage-1 table access with no RAM behind it is an external abort on the stage-1 walk", () => {
    const { cpu, s1, s2 } = twoStages({ autoAllocate: false });
    s1.set(0x4000_0000n, 1, 0x120_0000n | 3n); // IPA 18M
    s2.map(0x120_0000n, 0x2000_0000n, 2, S2_PAGE); // → PA 512M: no RAM
    expect(fault(translate(cpu, 0x4000_0000n, R, false))).toMatchObject({ type: FaultType.ExternalAbort, stage: 1, level: 2, onWalk: true, s1ptw: false });
  });

  it("stage-1 faults take precedence over stage-2 faults of the output IPA", () => {
    const { cpu, s1 } = twoStages();
    s1.map(0x1000n, 0x5000_0000n, 3, S1_PAGE | AP_RO_EL1);
    expect(fault(translate(cpu, 0x1000n, W, false))).toMatchObject({ type: FaultType.Permission, stage: 1, level: 3 });
    expect(fault(translate(cpu, 0x1000n, R, false))).toMatchObject(s2Fault(FaultType.Translation, 1, 0x5000_0000n));
  });
});
