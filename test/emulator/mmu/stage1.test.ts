import { describe, expect, it } from "vitest";
import { AccessKind, FaultType, type Fault } from "../../../emulator/fault.ts";
import { translate, type Translation } from "../../../emulator/mmu/translate.ts";
import {
  AF, Allocator, AP_RO_ALL, AP_RO_EL1, AP_RW_ALL, AP_RW_EL1, AP_TABLE_NO_EL0, AP_TABLE_RO, attrIndx, enableStage1,
  type GranuleName, GRANULE_SHIFT, levelShift, machine, PXN, PXN_TABLE, SCTLR_WXN, Tables, tcr, UXN,
  UXN_TABLE,
} from "./pagetable.ts";

const R = AccessKind.Read;
const W = AccessKind.Write;
const X = AccessKind.Fetch;

function pa(t: Translation): number {
  if (!t.ok) throw new Error(`unexpected fault ${JSON.stringify(t.fault, (_k, v) => (typeof v === "bigint" ? v.toString(16) : v))}`);
  return t.pa;
}

function fault(t: Translation): Fault {
  if (t.ok) throw new Error(`expected a fault, got PA 0x${t.pa.toString(16)}`);
  return t.fault;
}

function s1Fault(type: FaultType, level: number): Partial<Fault> {
  return { type, stage: 1, level, s1ptw: false };
}

/** A machine with stage 1 on, TTBR0 tables of the given shape, tables allocated from 16 MiB. */
function setup(g: GranuleName = "4K", t0sz = 16, extra: Parameters<typeof tcr>[0] = {}) {
  const { cpu, mem } = machine();
  const iaBits = 64 - t0sz;
  const startLevel = 3 - Math.floor((iaBits - 1 - GRANULE_SHIFT[g]) / (GRANULE_SHIFT[g] - 3));
  const t = new Tables(mem, { granule: g, startLevel, iaBits, alloc: new Allocator(0x100_0000n) });
  enableStage1(cpu, { tcr: tcr({ t0sz, tg0: g, ...extra }), ttbr0: t.root });
  return { cpu, mem, t, startLevel };
}

const PAGE = AF | attrIndx(0);

describe("stage 1: granules and start levels", () => {
  const cases: [GranuleName, number, number][] = [
    ["4K", 16, 0], ["4K", 25, 1], ["4K", 34, 2], ["4K", 39, 2],
    ["16K", 16, 0], ["16K", 17, 1], ["16K", 28, 2], ["16K", 39, 3],
    ["64K", 16, 1], ["64K", 22, 2], ["64K", 35, 3],
  ];
  for (const [g, t0sz, level] of cases) {
    it(`${g} T0SZ=${t0sz} starts at level ${level} (TTBR0 and TTBR1)`, () => {
      const { cpu, mem, t, startLevel } = setup(g, t0sz);
      expect(startLevel).toBe(level);
      const page = 1n << BigInt(GRANULE_SHIFT[g]);
      // Highest page of the TTBR0 range: every index is all ones, at every level.
      const va = (1n << BigInt(64 - t0sz)) - page + 0x468n;
      t.map(va & ~(page - 1n), 0x4000_0000n + 5n * page, 3, PAGE);
      expect(pa(translate(cpu, va, R, false))).toBe(0x4000_0000 + 5 * Number(page) + 0x468);
      // Lowest page of the TTBR1 range.
      const t1 = new Tables(mem, { granule: g, startLevel, iaBits: 64 - t0sz, alloc: new Allocator(0x200_0000n) });
      enableStage1(cpu, { tcr: tcr({ t0sz, tg0: g, t1sz: t0sz, tg1: g }), ttbr0: t.root, ttbr1: t1.root });
      const hi = BigInt.asUintN(64, -(1n << BigInt(64 - t0sz))) + 0x10n;
      t1.map(hi & ~(page - 1n), 0x5000_0000n, 3, PAGE);
      expect(pa(translate(cpu, hi, X, false))).toBe(0x5000_0010);
    });
  }
});

describe("stage 1: blocks", () => {
  const blocks: [GranuleName, number, number][] = [["4K", 16, 1], ["4K", 16, 2], ["16K", 17, 2], ["64K", 16, 2]];
  for (const [g, t0sz, level] of blocks) {
    it(`${g} block at level ${level} maps 2^${levelShift(g, level)} bytes`, () => {
      const { cpu, t } = setup(g, t0sz);
      const size = 1n << BigInt(levelShift(g, level));
      const va = 3n * size;
      t.map(va, 7n * size, level, PAGE);
      expect(pa(translate(cpu, va + size - 8n, R, false))).toBe(Number(8n * size - 8n));
      expect(pa(translate(cpu, va + 0x1234n, W, false))).toBe(Number(7n * size + 0x1234n));
      expect(fault(translate(cpu, va + size, R, false))).toMatchObject(s1Fault(FaultType.Translation, level));
    });
  }
  const rejected: [GranuleName, number, number][] = [["4K", 16, 0], ["16K", 16, 0], ["16K", 17, 1], ["64K", 16, 1]];
  for (const [g, t0sz, level] of rejected) {
    it(`${g} block at level ${level} is a translation fault`, () => {
      const { cpu, t } = setup(g, t0sz);
      const size = 1n << BigInt(levelShift(g, level));
      t.map(size, 0n, level, PAGE);
      expect(fault(translate(cpu, size, R, false))).toMatchObject(s1Fault(FaultType.Translation, level));
    });
  }
  for (const g of ["4K", "16K", "64K"] as const) {
    it(`${g} level-3 descriptor with bits[1:0]=01 is a translation fault`, () => {
      const { cpu, t } = setup(g, g === "64K" ? 22 : 28);
      t.set(0x100_0000n, 3, 0x200_0000n | PAGE | 1n);
      expect(fault(translate(cpu, 0x100_0000n, R, false))).toMatchObject(s1Fault(FaultType.Translation, 3));
    });
  }
});

describe("stage 1: faults", () => {
  it("reports a translation fault at the level of the first invalid descriptor", () => {
    const { cpu, t } = setup("4K", 16);
    const va = 0x12_3456_7000n;
    expect(fault(translate(cpu, va, R, false))).toMatchObject(s1Fault(FaultType.Translation, 0));
    for (const level of [1, 2, 3]) {
      t.descAddr(va, level); // creates the tables above `level`, leaving its entry invalid
      expect(fault(translate(cpu, va, R, false))).toMatchObject(s1Fault(FaultType.Translation, level));
    }
  });

  it("reports an access flag fault on a page and on a block", () => {
    const { cpu, t } = setup();
    t.map(0x1000n, 0x8000n, 3, attrIndx(0));
    t.map(0x4000_0000n, 0x4000_0000n, 1, attrIndx(0));
    expect(fault(translate(cpu, 0x1000n, R, false))).toMatchObject(s1Fault(FaultType.AccessFlag, 3));
    expect(fault(translate(cpu, 0x4000_0000n, X, false))).toMatchObject(s1Fault(FaultType.AccessFlag, 1));
  });

  it("reports an address size fault for an output, a table address and the TTBR above IPS", () => {
    const { cpu, t } = setup("4K", 16, { ips: 0 }); // 32-bit IPA
    t.map(0x1000n, 0x1_0000_0000n, 3, PAGE);
    expect(fault(translate(cpu, 0x1000n, R, false))).toMatchObject(s1Fault(FaultType.AddressSize, 3));
    t.map(0x20_0000n, 0x1_0020_0000n, 2, PAGE);
    expect(fault(translate(cpu, 0x20_0000n, R, false))).toMatchObject(s1Fault(FaultType.AddressSize, 2));
    t.map(0x40_0000n, 0xffe0_0000n, 2, PAGE);
    expect(pa(translate(cpu, 0x40_0008n, R, false))).toBe(0xffe0_0008);
    t.set(0x4000_0000n, 1, 0x2_0000_0000n | 3n); // table at level 1 pointing above 4 GiB
    expect(fault(translate(cpu, 0x4000_0000n, R, false))).toMatchObject(s1Fault(FaultType.AddressSize, 1));
    cpu.sr.TTBR0_EL1 = 0x1_0000_0000n;
    expect(fault(translate(cpu, 0x1000n, R, false))).toMatchObject(s1Fault(FaultType.AddressSize, 0));
  });

  it("reports an external abort on the walk when a table is not backed by RAM", () => {
    const { cpu, mem } = machine({ autoAllocate: false });
    mem.addRam(0x10_0000, 0x10_0000);
    const t = new Tables(mem, { granule: "4K", startLevel: 1, iaBits: 39, alloc: new Allocator(0x10_0000n) });
    enableStage1(cpu, { tcr: tcr({ t0sz: 25 }), ttbr0: t.root });
    t.set(0x4000_0000n, 1, 0x800_0000n | 3n); // level-2 table in a hole
    expect(fault(translate(cpu, 0x4000_0000n, R, false))).toMatchObject({ type: FaultType.ExternalAbort, stage: 1, level: 2, onWalk: true });
    cpu.sr.TTBR0_EL1 = 0x900_0000n;
    expect(fault(translate(cpu, 0x4000_0000n, X, false))).toMatchObject({ type: FaultType.ExternalAbort, stage: 1, level: 1, onWalk: true });
  });

  it("faults at level 0 outside both TTBR ranges and when the walk is disabled (EPDn)", () => {
    const { cpu, t } = setup("4K", 25);
    t.map(0x7f_ffff_f000n, 0x1000n, 3, PAGE);
    expect(pa(translate(cpu, 0x7f_ffff_f000n, R, false))).toBe(0x1000);
    expect(fault(translate(cpu, 0x80_0000_0000n, R, false))).toMatchObject(s1Fault(FaultType.Translation, 0));
    expect(fault(translate(cpu, 0x0080_0000_0000_1000n, R, false))).toMatchObject(s1Fault(FaultType.Translation, 0));
    expect(fault(translate(cpu, 0xffff_0000_0000_0000n, R, false))).toMatchObject(s1Fault(FaultType.Translation, 0)); // T1SZ=16 but no TTBR1 tables
    cpu.sr.TCR_EL1 = tcr({ t0sz: 25, epd0: true });
    cpu.tlb.flushAll();
    expect(fault(translate(cpu, 0x7f_ffff_f000n, R, false))).toMatchObject(s1Fault(FaultType.Translation, 0));
    cpu.sr.TCR_EL1 = tcr({ t0sz: 25, t1sz: 25, epd1: true });
    expect(fault(translate(cpu, 0xffff_fff0_0000_0000n, R, false))).toMatchObject(s1Fault(FaultType.Translation, 0));
  });

  it("ignores the top byte with TBI0/TBI1 and faults on a tagged address without it", () => {
    const { cpu, mem, t } = setup("4K", 16, { tbi0: true });
    t.map(0x1234_5000n, 0x9000n, 3, PAGE);
    expect(pa(translate(cpu, 0x5a00_0000_1234_5678n, R, false))).toBe(0x9678);
    cpu.sr.TCR_EL1 = tcr({ t0sz: 16 });
    cpu.tlb.flushAll();
    expect(fault(translate(cpu, 0x5a00_0000_1234_5678n, R, false))).toMatchObject(s1Fault(FaultType.Translation, 0));
    const t1 = new Tables(mem, { granule: "4K", startLevel: 0, iaBits: 48, alloc: new Allocator(0x300_0000n) });
    enableStage1(cpu, { tcr: tcr({ t0sz: 16, tbi1: true }), ttbr0: t.root, ttbr1: t1.root });
    t1.map(0xffff_8000_0000_0000n, 0xa000n, 3, PAGE);
    expect(pa(translate(cpu, 0x3aff_8000_0000_0004n, R, false))).toBe(0xa004);
  });
});

describe("stage 1: permissions", () => {
  function one(desc: bigint, kind: AccessKind, el0: boolean, opts: { sctlr?: bigint; table?: bigint; hpd?: boolean } = {}): Translation {
    const { cpu, t } = setup("4K", 25, { hpd0: opts.hpd });
    t.map(0x40_0000n, 0x80_0000n, 3, desc);
    if (opts.table) t.orTable(0x40_0000n, 2, opts.table);
    if (opts.sctlr) cpu.sr.SCTLR_EL1 |= opts.sctlr;
    return translate(cpu, 0x40_0010n, kind, el0);
  }
  const perm = s1Fault(FaultType.Permission, 3);

  it("applies AP[2:1] for EL1 and EL0", () => {
    expect(pa(one(PAGE | AP_RW_EL1, W, false))).toBe(0x80_0010);
    expect(fault(one(PAGE | AP_RW_EL1, R, true))).toMatchObject(perm);
    expect(pa(one(PAGE | AP_RW_ALL, W, true))).toBe(0x80_0010);
    expect(fault(one(PAGE | AP_RO_EL1, W, false))).toMatchObject(perm);
    expect(fault(one(PAGE | AP_RO_EL1, R, true))).toMatchObject(perm);
    expect(pa(one(PAGE | AP_RO_ALL, R, true))).toBe(0x80_0010);
    expect(fault(one(PAGE | AP_RO_ALL, W, true))).toMatchObject(perm);
  });

  it("applies PXN, UXN and the implicit PXN of EL0-writable memory", () => {
    expect(fault(one(PAGE | PXN, X, false))).toMatchObject(perm);
    expect(pa(one(PAGE | PXN | AP_RO_ALL, X, true))).toBe(0x80_0010);
    expect(fault(one(PAGE | UXN | AP_RO_ALL, X, true))).toMatchObject(perm);
    expect(pa(one(PAGE | UXN, X, false))).toBe(0x80_0010);
    expect(fault(one(PAGE | AP_RW_ALL, X, false))).toMatchObject(perm);
    expect(pa(one(PAGE | AP_RW_ALL, X, true))).toBe(0x80_0010);
    // EL0 execution does not need EL0 read permission.
    expect(pa(one(PAGE | AP_RW_EL1, X, true))).toBe(0x80_0010);
  });

  it("removes execution from writable memory with SCTLR_EL1.WXN", () => {
    expect(fault(one(PAGE | AP_RW_EL1, X, false, { sctlr: SCTLR_WXN }))).toMatchObject(perm);
    expect(pa(one(PAGE | AP_RO_EL1, X, false, { sctlr: SCTLR_WXN }))).toBe(0x80_0010);
    expect(fault(one(PAGE | AP_RW_ALL | PXN, X, true, { sctlr: SCTLR_WXN }))).toMatchObject(perm);
    expect(pa(one(PAGE | AP_RO_ALL, X, true, { sctlr: SCTLR_WXN }))).toBe(0x80_0010);
  });

  it("applies APTable, PXNTable and UXNTable unless TCR_EL1.HPD0", () => {
    expect(fault(one(PAGE | AP_RW_ALL, W, false, { table: AP_TABLE_RO }))).toMatchObject(perm);
    expect(pa(one(PAGE | AP_RW_ALL, R, true, { table: AP_TABLE_RO }))).toBe(0x80_0010);
    expect(fault(one(PAGE | AP_RW_ALL, R, true, { table: AP_TABLE_NO_EL0 }))).toMatchObject(perm);
    expect(pa(one(PAGE | AP_RW_ALL, W, false, { table: AP_TABLE_NO_EL0 }))).toBe(0x80_0010);
    expect(fault(one(PAGE, X, false, { table: PXN_TABLE }))).toMatchObject(perm);
    expect(fault(one(PAGE | AP_RO_ALL, X, true, { table: UXN_TABLE }))).toMatchObject(perm);
    expect(pa(one(PAGE | AP_RO_ALL, X, true, { table: PXN_TABLE }))).toBe(0x80_0010);
    expect(pa(one(PAGE | AP_RW_ALL, W, true, { table: AP_TABLE_RO | AP_TABLE_NO_EL0, hpd: true }))).toBe(0x80_0010);
    expect(pa(one(PAGE, X, false, { table: PXN_TABLE, hpd: true }))).toBe(0x80_0010);
  });

  it("reports permission faults of a block at the block level", () => {
    const { cpu, t } = setup("4K", 25);
    t.map(0x20_0000n, 0x20_0000n, 2, PAGE | AP_RO_EL1);
    expect(fault(translate(cpu, 0x20_0000n, W, false))).toMatchObject(s1Fault(FaultType.Permission, 2));
  });
});

describe("stage 1: memory type", () => {
  it("takes Device vs Normal from MAIR_EL1 via AttrIndx", () => {
    const { cpu, t } = setup("4K", 25);
    t.map(0x1000n, 0x1000n, 3, AF | attrIndx(0));
    t.map(0x2000n, 0x2000n, 3, AF | attrIndx(1));
    t.map(0x3000n, 0x3000n, 3, AF | attrIndx(2));
    expect(translate(cpu, 0x1000n, R, false)).toEqual({ ok: true, pa: 0x1000, device: false });
    expect(translate(cpu, 0x2000n, R, false)).toEqual({ ok: true, pa: 0x2000, device: true });
    expect(translate(cpu, 0x3000n, W, false)).toEqual({ ok: true, pa: 0x3000, device: false });
  });

  it("with stage 1 off: data is Device, fetches Normal, the VA must fit the PA size", () => {
    const { cpu } = machine();
    expect(translate(cpu, 0x8_0000n, R, false)).toEqual({ ok: true, pa: 0x8_0000, device: true });
    expect(translate(cpu, 0x8_0000n, X, false)).toEqual({ ok: true, pa: 0x8_0000, device: false });
    expect(fault(translate(cpu, 1n << 48n, R, false))).toMatchObject(s1Fault(FaultType.AddressSize, 0));
    cpu.sr.TCR_EL1 = tcr({ tbi0: true });
    expect(pa(translate(cpu, 0x7700_0000_0000_1000n, R, false))).toBe(0x1000);
    cpu.sr.SCTLR_EL1 |= 1n;
    cpu.sr.HCR_EL2 = 1n << 27n; // TGE turns stage 1 of the EL1&0 regime off
    expect(translate(cpu, 0x8_0000n, R, false)).toEqual({ ok: true, pa: 0x8_0000, device: true });
  });
});
