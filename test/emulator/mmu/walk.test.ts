// The walk core itself: which entries it visits and in what order, what visitors can do to the
// tables as it goes (reload), the faults every walk reports (reserved encodings, address sizes,
// unreadable descriptors), and the debugger's walk leaving TLBs and access flags alone.

import { describe, expect, it } from "vitest";
import { AccessKind } from "../../../emulator/fault.ts";
import { PhysMemory } from "../../../emulator/memory.ts";
import { PTE_TABLE } from "../../../emulator/mmu/descriptor.ts";
import { GRANULE_4K } from "../../../emulator/mmu/granule.ts";
import { translate } from "../../../emulator/mmu/translate.ts";
import {
  kvmPgtableWalk, PhysTables, WALK_ADDRESS_SIZE, WALK_CONTINUE, WALK_INVALID, WALK_LEAF, WALK_RELOAD, WALK_STOP,
  WALK_TABLE_POST, WALK_TABLE_PRE, WALK_TRANSLATION, WALK_UNREADABLE, WalkCtx, walker, type WalkSetup,
} from "../../../emulator/mmu/walk.ts";
import { newWalk, stage2TracedWalk } from "../../../debug/walk.ts";
import { AF, Allocator, enableStage2, machine, MEMATTR_NORMAL_WB, S2AP_RW, Tables, vtcr } from "./pagetable.ts";

const ROOT = 0x1_0000;
const L2T = 0x2_0000;
const L3T = 0x3_0000;
const PAGE_ATTRS = AF | S2AP_RW | MEMATTR_NORMAL_WB;

/** 4K granule, 39-bit input, start level 1: tables at ROOT (level 1), L2T (level 2), L3T (level 3). */
function setup(oaBits = 48): WalkSetup {
  return { stage: 2, granule: GRANULE_4K, startLevel: 1, startBits: 9, base: ROOT, oaBits, hierarchical: false };
}

/**
 * ROOT[0] → L2T; L2T[0] → L3T, L2T[1] a 2M block; L3T[0] and L3T[2] pages (L3T[1] invalid).
 * RAM only where the tables are.
 */
function tree(): PhysMemory {
  const mem = new PhysMemory();
  for (const t of [ROOT, L2T, L3T]) mem.addRam(t, 0x1000);
  mem.write(ROOT, 8, BigInt(L2T) | PTE_TABLE);
  mem.write(L2T, 8, BigInt(L3T) | PTE_TABLE);
  mem.write(L2T + 8, 8, 0x4000_0000n | PAGE_ATTRS | 1n);
  mem.write(L3T, 8, 0x5000_0000n | PAGE_ATTRS | 3n);
  mem.write(L3T + 16, 8, 0x5000_2000n | PAGE_ATTRS | 3n);
  return mem;
}

const NAMES: Record<number, string> = { [WALK_LEAF]: "leaf", [WALK_TABLE_PRE]: "pre", [WALK_TABLE_POST]: "post" };

/** Walk [start, end) with `flags`, recording each visit as "kind Llevel[index]". */
function visits(mem: PhysMemory, flags: number, start: number, end: number, s = setup()): { seen: string[]; r: number } {
  const seen: string[] = [];
  const w = walker((ctx, visit, out: string[]) => {
    out.push(`${NAMES[visit]} L${ctx.level}[${ctx.index}]${(ctx.lo & 1) === 0 ? " invalid" : ""}`);
    return WALK_CONTINUE;
  }, seen, flags);
  const r = kvmPgtableWalk(new PhysTables(mem), s, start, end, w, new WalkCtx());
  return { seen, r };
}

describe("walk core: visits", () => {
  it.each([
    ["leaves only", WALK_LEAF, ["leaf L3[0]", "leaf L3[2]", "leaf L2[1]"]],
    ["leaves and invalid entries", WALK_LEAF | WALK_INVALID, ["leaf L3[0]", "leaf L3[1] invalid", "leaf L3[2]", "leaf L2[1]"]],
    ["tables before", WALK_LEAF | WALK_TABLE_PRE, ["pre L1[0]", "pre L2[0]", "leaf L3[0]", "leaf L3[2]", "leaf L2[1]"]],
    ["tables after", WALK_LEAF | WALK_TABLE_POST, ["leaf L3[0]", "leaf L3[2]", "post L2[0]", "leaf L2[1]", "post L1[0]"]],
    ["tables only", WALK_TABLE_PRE | WALK_TABLE_POST, ["pre L1[0]", "pre L2[0]", "post L2[0]", "post L1[0]"]],
  ])("%s, in input-address order", (_name, flags, expected) => {
    // [0, 4M): L3T's three first pages and the 2M block.
    expect(visits(tree(), flags, 0, 0x40_0000).seen.filter((v) => !/L3\[([3-9]|\d\d+)\]/.test(v))).toEqual(expected);
  });

  it.each([
    ["one page", 0x2000, 0x2001, ["leaf L3[2]"]],
    ["a range inside one table", 0x1000, 0x3000, ["leaf L3[1] invalid", "leaf L3[2]"]],
    ["a range across tables", 0x1f_f000, 0x20_1000, ["leaf L3[511] invalid", "leaf L2[1]"]],
    ["nothing", 0x3000, 0x3000, []],
    ["beyond the start table", 2 ** 39, 2 ** 39 + 1, []],
  ])("only the entries that overlap the range: %s", (_name, start, end, expected) => {
    expect(visits(tree(), WALK_LEAF | WALK_INVALID, start, end).seen).toEqual(expected);
  });

  it("a visitor's stop code ends the walk and is returned", () => {
    const w = walker((ctx) => (ctx.level === 3 ? 7 : WALK_CONTINUE), null, WALK_LEAF);
    const ctx = new WalkCtx();
    expect(kvmPgtableWalk(new PhysTables(tree()), setup(), 0, 0x40_0000, w, ctx)).toBe(7);
    expect([ctx.level, ctx.index, ctx.base]).toEqual([3, 0, 0]);
  });

  it("after a reload the walk descends into the table a visitor installed", () => {
    const mem = tree();
    mem.addRam(0x4_0000, 0x1000);
    mem.write(0x4_0000 + 8, 8, 0x6000_1000n | PAGE_ATTRS | 3n);
    const seen: string[] = [];
    const w = walker((ctx, visit, out: string[]) => {
      out.push(`${NAMES[visit]} L${ctx.level}[${ctx.index}]`);
      if (ctx.level === 2 && ctx.index === 2 && (ctx.lo & 1) === 0) {
        ctx.view.setBigUint64(ctx.off, 0x4_0000n | PTE_TABLE, true);
        return WALK_RELOAD;
      }
      return WALK_CONTINUE;
    }, seen, WALK_LEAF | WALK_INVALID);
    kvmPgtableWalk(new PhysTables(mem), setup(), 0x40_1000, 0x40_2000, w, new WalkCtx());
    expect(seen).toEqual(["leaf L2[2]", "leaf L3[1]"]);
  });
});

describe("walk core: faults every walk reports", () => {
  it.each([
    ["a table above the output size", 36, ROOT, BigInt(0x10_0000_0000) | PTE_TABLE, WALK_ADDRESS_SIZE, 1],
    ["an output above the output size", 36, L3T, 0x10_0000_0000n | PAGE_ATTRS | 3n, WALK_ADDRESS_SIZE, 3],
    ["a block encoding at level 3", 48, L3T, 0x5000_0000n | PAGE_ATTRS | 1n, WALK_TRANSLATION, 3],
  ])("%s", (_name, oaBits, at, desc, status, level) => {
    const mem = tree();
    mem.write(at, 8, desc);
    const ctx = new WalkCtx();
    const w = walker(() => WALK_STOP, null, WALK_LEAF);
    expect(kvmPgtableWalk(new PhysTables(mem), setup(oaBits), 0, 1, w, ctx)).toBe(status);
    expect(ctx.level).toBe(level);
  });

  it("a descriptor with no RAM behind it cannot be read; a debug read never backs a page", () => {
    const mem = new PhysMemory({ autoAllocate: true });
    const w = walker(() => WALK_STOP, null, WALK_LEAF);
    expect(kvmPgtableWalk(new PhysTables(mem, true), setup(), 0, 1, w, new WalkCtx())).toBe(WALK_UNREADABLE);
    expect(mem.existingPage(ROOT)).toBeNull();
  });

  it("the CPU and the debugger see the same address size fault", () => {
    const { cpu, mem } = machine();
    const t = new Tables(mem, { granule: "4K", startLevel: 1, iaBits: 39, alloc: new Allocator(0x100_0000n) });
    enableStage2(cpu, { vtcr: vtcr({ t0sz: 25, sl0: 1, ps: 1 }), root: t.root });
    t.set(0x1000n, 2, 0x10_0000_0000n | PTE_TABLE); // a level-3 table above 36 bits
    const f = translate(cpu, 0x1000n, AccessKind.Read, false);
    expect(f).toMatchObject({ ok: false, fault: { type: 0, stage: 2, level: 2 } });
    const w = stage2TracedWalk(newWalk("s2", "IPA", "PA", "PA", 0x1000n), cpu.sr.VTCR_EL2, cpu.sr.VTTBR_EL2, 0x1000n, (a) => mem.read(Number(a), 8));
    expect(w.stopped).toBe("level 2: table address 0x1000000000 is above the 36-bit output size (address size fault)");
    expect(w.steps.map((s) => s.level)).toEqual([1, 2]);
  });
});

describe("walk core: the debugger's walk changes nothing", () => {
  it("no TLB fill, no access flag, no descriptor written", () => {
    const { cpu, mem } = machine();
    const t = new Tables(mem, { granule: "4K", startLevel: 1, iaBits: 39, alloc: new Allocator(0x100_0000n) });
    enableStage2(cpu, { vtcr: vtcr({ t0sz: 25, sl0: 1 }), root: t.root });
    const withAf = t.map(0x1000n, 0x8000n, 3, PAGE_ATTRS);
    const noAf = t.map(0x2000n, 0x9000n, 3, PAGE_ATTRS & ~AF);
    const before = [mem.read(Number(withAf), 8), mem.read(Number(noAf), 8)];
    const read = (a: bigint) => mem.read(Number(a), 8);
    const ok = stage2TracedWalk(newWalk("s2", "IPA", "PA", "PA", 0x1000n), cpu.sr.VTCR_EL2, cpu.sr.VTTBR_EL2, 0x1234n, read);
    const af = stage2TracedWalk(newWalk("s2", "IPA", "PA", "PA", 0x2000n), cpu.sr.VTCR_EL2, cpu.sr.VTTBR_EL2, 0x2000n, read);
    expect(ok.output).toBe(0x8234n);
    expect(af.stopped).toBe("level 3: access flag clear (access flag fault)");
    expect([mem.read(Number(withAf), 8), mem.read(Number(noAf), 8)]).toEqual(before);
    expect(cpu.tlb.size).toBe(0);
    expect([cpu.tlb.hits, cpu.tlb.misses]).toEqual([0, 0]);
    // The CPU's walk of the same address fills the TLB (and still sets no access flag).
    expect(translate(cpu, 0x1234n, AccessKind.Read, false)).toMatchObject({ ok: true, pa: 0x8234 });
    expect(translate(cpu, 0x2000n, AccessKind.Read, false)).toMatchObject({ ok: false, fault: { type: 2, level: 3 } });
    expect(cpu.tlb.size).toBe(1);
    expect(mem.read(Number(noAf), 8)).toBe(before[1]);
  });
});
