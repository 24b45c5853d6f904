import { describe, expect, it } from "vitest";
import { AccessKind, FaultType } from "../../emulator/fault.ts";
import { translate } from "../../emulator/mmu/translate.ts";
import { checkInvariants } from "../../lab/check.ts";
import {
  COALESCE_ORDERS, CoalesceOp, type CoalesceOrder, coalesceInFlight, coalescePendingLeaf, mapBlockAsPages,
  PAGES_PER_BLOCK, splitBlock,
} from "../../hypervisor/coalesce.ts";
import { HostError } from "../../hypervisor/errors.ts";
import { coalesceBlocking, kvmFaultInCanonical, kvmUnmapGfnRange } from "../../hypervisor/mmu.ts";
import { KVM_PGTABLE_PROT_R as R, KVM_PGTABLE_PROT_W as W, KVM_PGTABLE_PROT_X as X, SZ_2M, SZ_4K } from "../../hypervisor/pgtable.ts";
import { type Fixture, makeVm, RAM_BASE } from "./stage2_fixture.ts";

/** A 2M-aligned region of L1 RAM, away from its first MiB. */
const REGION = RAM_BASE + 2n * SZ_2M;
const RWX = R | W | X;

function vm(opts: Parameters<typeof makeVm>[0] = {}): Fixture {
  return makeVm({ blocks: true, vcpus: 2, ...opts });
}

/** Point vCPU `i`'s CPU at the canonical stage-2 (EL1, stage 1 off), as L1 runs. */
function onCanonical(f: Fixture, i = 0): Fixture["vcpus"][number]["cpu"] {
  const cpu = f.vcpus[i]!.cpu;
  cpu.resetTo(0x4010_0000n);
  cpu.writeSysReg("VTCR_EL2", f.kvm.mmu.pgt.vtcr);
  cpu.writeSysReg("VTTBR_EL2", f.kvm.mmu.vttbr());
  cpu.writeSysReg("HCR_EL2", 1n); // VM
  cpu.flushFastTlb();
  return cpu;
}

/** Distinct bytes at a few offsets of the region, written through the memslot. */
const PROBES = [0x0n, 0x5008n, 0x10_0000n, SZ_2M - 8n];
function writePattern(f: Fixture): void {
  for (const off of PROBES) f.slot.writeBytes(REGION + off, new Uint8Array([1, 2, 3, Number(off & 0xffn), Number((off >> 12n) & 0xffn), 6, 7, 8]));
}

/** Whether the CPU translates every probe to the block's PA and reads the pattern there. */
function cpuSeesPattern(f: Fixture, blockPa: bigint, i = 0): boolean {
  const cpu = f.vcpus[i]!.cpu;
  for (const off of PROBES) {
    const t = translate(cpu, REGION + off, AccessKind.Read, false);
    if (!t.ok || BigInt(t.pa) !== blockPa + off) return false;
    const got = f.mem.readBytes(t.pa, 8);
    if (got[3] !== Number(off & 0xffn) || got[4] !== Number((off >> 12n) & 0xffn) || got[0] !== 1) return false;
  }
  return true;
}

/** Split REGION (512 page mappings) and return the backing block's PA. */
function splitRegion(f: Fixture): bigint {
  expect(splitBlock(f.kvm, REGION)).toBe(PAGES_PER_BLOCK);
  return f.slot.faultIn(REGION, false).pa;
}

function runToEnd(op: CoalesceOp): number {
  let n = 0;
  while (!op.tick()) n++;
  return n + 1;
}

describe("splitBlock and mapBlockAsPages: the starting state", () => {
  it("splits the canonical 2M block into 512 page mappings of the same host pages", () => {
    const f = vm();
    const used = f.pool.used;
    const blockPa = splitRegion(f);
    const leaves = f.kvm.mmu.pgt.leavesIn(REGION, SZ_2M);
    expect(leaves).toHaveLength(512);
    leaves.forEach((l, i) => {
      expect(l).toMatchObject({ ipa: REGION + BigInt(i) * SZ_4K, size: SZ_4K, pa: blockPa + BigInt(i) * SZ_4K, prot: RWX, level: 3 });
    });
    // The 2M block plus the level-1, level-2 and level-3 tables reaching it.
    expect(f.pool.used - used).toBe(512 + 3);
    expect(f.slot.isBlockBacked(REGION)).toBe(true);
    expect(f.kvm.metrics.get("blockSplits")).toBe(1);
  });

  it("keeps the region page-mapped under dirty logging: a refault maps a 4K page of the block", () => {
    const f = vm();
    const blockPa = splitRegion(f);
    f.kvm.mmu.pgt.unmap(REGION + 0x7000n, SZ_4K);
    const b = kvmFaultInCanonical(f.kvm, f.slot, REGION + 0x7123n);
    expect(b).toEqual({ ipa: REGION + 0x7000n, size: SZ_4K, pa: blockPa + 0x7000n });
    expect(f.kvm.mmu.pgt.leavesIn(REGION, SZ_2M)).toHaveLength(512);
  });

  it("mapBlockAsPages leaves N page mappings of a block-backed region", () => {
    const f = vm();
    expect(mapBlockAsPages(f.kvm, REGION, 16)).toBe(16);
    const blockPa = f.slot.faultIn(REGION, false).pa;
    const leaves = f.kvm.mmu.pgt.leavesIn(REGION, SZ_2M);
    expect(leaves.map((l) => l.pa)).toEqual(Array.from({ length: 16 }, (_, i) => blockPa + BigInt(i) * SZ_4K));
    expect(f.slot.isPageMapped(REGION)).toBe(true);
  });
});

describe("CoalesceOp: both orders reach the same block", () => {
  function coalesced(order: CoalesceOrder): { f: Fixture; blockPa: bigint; freed: number; tables: number } {
    const f = vm();
    writePattern(f);
    const blockPa = splitRegion(f);
    const used = f.pool.used;
    const tables = f.kvm.mmu.pgt.tablePages;
    const op = CoalesceOp.begin(f.kvm, REGION, { order, costPerPage: 2 });
    runToEnd(op);
    return { f, blockPa, freed: used - f.pool.used, tables: tables - f.kvm.mmu.pgt.tablePages };
  }

  it("ends with one 2M leaf of the same PA, the same contents through the CPU's MMU, one table page freed", () => {
    const results = COALESCE_ORDERS.map(coalesced);
    for (const { f, blockPa, freed, tables } of results) {
      expect(f.kvm.mmu.pgt.leavesIn(REGION, SZ_2M)).toEqual([
        expect.objectContaining({ ipa: REGION, size: SZ_2M, pa: blockPa, prot: RWX, level: 2 }),
      ]);
      expect(freed).toBe(1);
      expect(tables).toBe(1);
      onCanonical(f);
      expect(cpuSeesPattern(f, blockPa)).toBe(true);
      expect(checkInvariants(f.kvm)).toBeNull();
      expect(coalesceInFlight(f.kvm)).toEqual([]);
      expect(f.slot.isPageMapped(REGION)).toBe(false);
    }
    const [bbm, first] = results;
    expect(bbm!.f.kvm.mmu.pgt.leafCount).toBe(first!.f.kvm.mmu.pgt.leafCount);
    expect(bbm!.f.pool.used).toBe(first!.f.pool.used);
    expect(bbm!.f.kvm.mmu.pgt.leavesIn(REGION, SZ_2M)[0]!.desc).toBe(first!.f.kvm.mmu.pgt.leavesIn(REGION, SZ_2M)[0]!.desc);
  });

  it("coalesces a partly mapped table: pages never mapped become reachable through the block", () => {
    for (const order of COALESCE_ORDERS) {
      const f = vm();
      writePattern(f);
      mapBlockAsPages(f.kvm, REGION, 16);
      const blockPa = f.slot.faultIn(REGION, false).pa;
      const op = CoalesceOp.begin(f.kvm, REGION, { order, costPerPage: 1 });
      expect(op.pages).toBe(16);
      expect(runToEnd(op)).toBe(16);
      onCanonical(f);
      expect(cpuSeesPattern(f, blockPa)).toBe(true);
    }
  });
});

describe("CoalesceOp: the invalid window, tick by tick", () => {
  it("bbm: the range has no translation from begin until the last tick; the pool keeps the table until then", () => {
    const f = vm();
    writePattern(f);
    const blockPa = splitRegion(f);
    const cpu = onCanonical(f, 1);
    expect(cpuSeesPattern(f, blockPa, 1)).toBe(true); // fills vCPU 1's TLB with page entries
    const used = f.pool.used;
    const op = CoalesceOp.begin(f.kvm, REGION, { order: "bbm", costPerPage: 3 });
    expect(op.totalTicks).toBe(512 * 3);
    for (let t = 0; t < op.totalTicks; t++) {
      expect(op.blocks(REGION + 0x5000n)).toBe(true);
      expect(coalesceBlocking(f.kvm, REGION + SZ_2M - 1n)).toBe(op);
      if (t % 97 === 0) {
        // The break reached every vCPU's TLB: the walk finds the invalid level-2 entry.
        const r = translate(cpu, REGION + 0x5008n, AccessKind.Read, false);
        expect(r.ok ? null : r.fault).toMatchObject({ type: FaultType.Translation, stage: 2, level: 2 });
        expect(f.pool.used).toBe(used);
        expect(checkInvariants(f.kvm)).toBeNull();
      }
      expect(op.stats().pagesFreed).toBe(Math.floor(t / 3));
      expect(op.tick()).toBe(t === op.totalTicks - 1);
    }
    expect(op.done).toBe(true);
    expect(op.blocks(REGION)).toBe(false);
    expect(coalesceBlocking(f.kvm, REGION)).toBeNull();
    expect(f.pool.used).toBe(used - 1);
    expect(cpuSeesPattern(f, blockPa, 1)).toBe(true);
    expect(op.stats()).toMatchObject({ order: "bbm", pages: 512, ticks: 1536, invalidTicks: 1536, pagesFreed: 512, tablePagesFreed: 1, done: true, aborted: false });
  });

  it("install-first: the block translates from begin on, while the old page mappings are freed", () => {
    const f = vm();
    writePattern(f);
    const blockPa = splitRegion(f);
    onCanonical(f);
    expect(cpuSeesPattern(f, blockPa)).toBe(true);
    const used = f.pool.used;
    const op = CoalesceOp.begin(f.kvm, REGION, { order: "install-first", costPerPage: 3 });
    for (let t = 0; t < op.totalTicks; t++) {
      expect(op.blocks(REGION)).toBe(false);
      if (t % 97 === 0) {
        expect(cpuSeesPattern(f, blockPa)).toBe(true);
        expect(f.kvm.mmu.pgt.getLeaf(REGION + 0x5000n)).toMatchObject({ size: SZ_2M, pa: blockPa });
        expect(checkInvariants(f.kvm)).toBeNull();
        expect(f.pool.used).toBe(used);
      }
      op.tick();
    }
    expect(op.done).toBe(true);
    expect(f.pool.used).toBe(used - 1);
    expect(op.stats()).toMatchObject({ order: "install-first", ticks: 1536, invalidTicks: 0, faults: 0, pagesFreed: 512, tablePagesFreed: 1 });
  });

  it("charges costPerPage ticks per page mapping; cost 0 takes one tick", () => {
    const f = vm();
    mapBlockAsPages(f.kvm, REGION, 16);
    const op = CoalesceOp.begin(f.kvm, REGION, { order: "bbm", costPerPage: 5 });
    expect(op.totalTicks).toBe(80);
    const freedAt: number[] = [];
    for (let t = 1; t <= 80; t++) {
      op.tick();
      freedAt.push(op.stats().pagesFreed);
    }
    expect(freedAt[3]).toBe(0);
    expect(freedAt[4]).toBe(1);
    expect(freedAt[79]).toBe(16);
    expect(f.kvm.metrics.get("coalescePagesFreed")).toBe(16);
    expect(f.kvm.metrics.get("coalesceInvalidTicks")).toBe(80);

    const g = vm();
    splitBlock(g.kvm, REGION);
    const free = CoalesceOp.begin(g.kvm, REGION, { order: "bbm", costPerPage: 0 });
    expect(free.totalTicks).toBe(1);
    expect(free.tick()).toBe(true);
    expect(free.stats()).toMatchObject({ pagesFreed: 512, invalidTicks: 1 });
  });

  it("counts the faults other vCPUs take while the range is invalid, per vCPU", () => {
    const f = vm();
    splitBlock(f.kvm, REGION);
    const op = CoalesceOp.begin(f.kvm, REGION, { order: "bbm", costPerPage: 1 });
    op.noteFault(1);
    op.tick();
    op.noteFault(1);
    op.noteFault(0);
    expect(op.stats()).toMatchObject({ faults: 3, faultsByVcpu: [1, 2] });
    expect(f.kvm.metrics.get("coalesceFaults")).toBe(3);
    runToEnd(op);
    expect(f.kvm.metrics.snapshot()["coalesceFaults"]).toBe(3);
    expect(f.kvm.metrics.samples["coalesceFaultsPerOp"]).toEqual([3]);
    expect(f.kvm.metrics.samples["coalesceInvalidTicksPerOp"]).toEqual([512]);
    const coalesceEvents = f.kvm.events.recent().filter((e) => e.kind === "coalesce");
    expect(coalesceEvents.map((e) => e.detail.split(" ")[0])).toEqual(["split", "begin", "vCPU", "vCPU", "vCPU", "done"]);
    expect(coalesceEvents.map((e) => (e.data.kind === "coalesce" ? e.data.phase : null))).toEqual(["split", "begin", "fault", "fault", "fault", "done"]);
  });
});

describe("CoalesceOp: the rest of L0", () => {
  /** A valid shadow MMU whose one leaf maps nested 0x1000 to the region's page at +0x5000. */
  function shadowLeaf(f: Fixture, blockPa: bigint): void {
    // L1's stage-2 off: nested IPA = canonical IPA, as the checker computes it independently.
    const mmu = f.kvm.nestedMmus[0]!;
    mmu.tlbVttbr = 1n << 48n;
    mmu.pgt.map(REGION + 0x5000n, SZ_4K, blockPa + 0x5000n, R | W);
    mmu.shadowOrigin.set(REGION + 0x5000n, REGION + 0x5000n);
  }

  it("leaves shadow leaves untouched: same descriptor, a live host page, the pending block covers their origin", () => {
    for (const order of COALESCE_ORDERS) {
      const f = vm();
      const blockPa = splitRegion(f);
      shadowLeaf(f, blockPa);
      const before = f.kvm.nestedMmus[0]!.pgt.getLeaf(REGION + 0x5000n)!;
      expect(checkInvariants(f.kvm)).toBeNull();
      const op = CoalesceOp.begin(f.kvm, REGION, { order, costPerPage: 1 });
      do {
        expect(f.kvm.nestedMmus[0]!.pgt.getLeaf(REGION + 0x5000n)).toEqual(before);
        expect(f.pool.isAllocated(Number(before.pa))).toBe(true);
        const canon = f.kvm.mmu.pgt.getLeaf(REGION + 0x5000n) ?? coalescePendingLeaf(f.kvm, REGION + 0x5000n);
        expect(canon!.pa + (REGION + 0x5000n - canon!.ipa)).toBe(before.pa);
        if (order === "install-first") expect(checkInvariants(f.kvm)).toBeNull();
      } while (!op.tick());
      expect(coalescePendingLeaf(f.kvm, REGION + 0x5000n)).toBeNull();
      expect(checkInvariants(f.kvm)).toBeNull();
    }
  });

  it("bbm: a canonical fault that is not held back maps the block early; the operation still ends cleanly", () => {
    const f = vm();
    const blockPa = splitRegion(f);
    const op = CoalesceOp.begin(f.kvm, REGION, { order: "bbm", costPerPage: 1 });
    op.tick();
    // Dirty logging ended at begin, so the fault-in path maps the whole block.
    expect(kvmFaultInCanonical(f.kvm, f.slot, REGION + 0x9000n)).toEqual({ ipa: REGION, size: SZ_2M, pa: blockPa });
    runToEnd(op);
    expect(op.stats().aborted).toBe(false);
    expect(f.kvm.mmu.pgt.leavesIn(REGION, SZ_2M)).toEqual([expect.objectContaining({ size: SZ_2M, pa: blockPa })]);
    expect(checkInvariants(f.kvm)).toBeNull();
  });

  it("bbm: a reclaim during the window aborts the install; nothing maps the freed pages", () => {
    const f = vm();
    splitBlock(f.kvm, REGION);
    const used = f.pool.used;
    const op = CoalesceOp.begin(f.kvm, REGION, { order: "bbm", costPerPage: 1 });
    op.tick();
    kvmUnmapGfnRange(f.kvm, REGION + 0x3000n, SZ_4K);
    expect(coalescePendingLeaf(f.kvm, REGION)).toBeNull();
    runToEnd(op);
    expect(op.stats()).toMatchObject({ aborted: true, done: true, tablePagesFreed: 1 });
    expect(f.kvm.mmu.pgt.leavesIn(REGION, SZ_2M)).toEqual([]);
    // The reclaimed host page, the old level-3 table, and the level-2 and level-1 tables the
    // unmap found empty (the broken entry was their only valid one).
    expect(f.pool.used).toBe(used - 4);
    expect(f.kvm.mmu.pgt.tablePages).toBe(1);
    expect(checkInvariants(f.kvm)).toBeNull();
  });
});

describe("CoalesceOp and splitBlock: bad inputs", () => {
  const opts = { order: "bbm" as const, costPerPage: 1 };
  const err = (fn: () => unknown, msg: RegExp): void => {
    expect(fn).toThrow(HostError);
    expect(fn).toThrow(msg);
  };

  it("rejects bad options and addresses", () => {
    const f = vm();
    splitBlock(f.kvm, REGION);
    err(() => CoalesceOp.begin(f.kvm, REGION, { order: "later" as CoalesceOrder, costPerPage: 1 }), /order "later" is not one of bbm, install-first/);
    err(() => CoalesceOp.begin(f.kvm, REGION, { order: "bbm", costPerPage: -1 }), /costPerPage -1 is not a non-negative integer/);
    err(() => CoalesceOp.begin(f.kvm, REGION, { order: "bbm", costPerPage: 1.5 }), /costPerPage 1.5/);
    err(() => CoalesceOp.begin(f.kvm, REGION + SZ_4K, opts), /is not 2M aligned/);
    err(() => CoalesceOp.begin(f.kvm, 0x1000_0000n, opts), /not inside L1 RAM/);
    err(() => splitBlock(f.kvm, RAM_BASE + SZ_4K), new RegExp(`canonical IPA 0x${(RAM_BASE + SZ_4K).toString(16)} is not 2M aligned`));
    err(() => mapBlockAsPages(f.kvm, REGION + SZ_2M, 0), /page count 0 is not 1..512/);
  });

  it("rejects regions that are not a table of page mappings of one backing block", () => {
    const f = vm();
    // Not block-backed: faulted in with 4K pages.
    const g = vm({ blocks: false });
    kvmFaultInCanonical(g.kvm, g.slot, REGION);
    err(() => CoalesceOp.begin(g.kvm, REGION, opts), /not backed by one 2M block/);
    err(() => splitBlock(g.kvm, REGION), /not one 2M block|blocks are disabled/);
    // Already one block.
    kvmFaultInCanonical(f.kvm, f.slot, REGION);
    err(() => CoalesceOp.begin(f.kvm, REGION, opts), /already mapped by a 0x200000 block/);
    err(() => mapBlockAsPages(f.kvm, REGION, 4), /already maps part of the region/);
    // Block-backed, nothing mapped.
    kvmUnmapGfnRange(f.kvm, REGION, SZ_2M);
    const h = vm();
    h.slot.faultIn(REGION, true);
    err(() => CoalesceOp.begin(h.kvm, REGION, opts), /maps nothing in the region/);
    // A page mapping that points elsewhere.
    splitBlock(h.kvm, REGION + SZ_2M);
    h.kvm.mmu.pgt.map(REGION + SZ_2M + 0x4000n, SZ_4K, BigInt(h.pool.alloc()), RWX);
    err(() => CoalesceOp.begin(h.kvm, REGION + SZ_2M, opts), /page mapping 0x40604000 maps PA .*, not the backing block's/);
    expect(coalesceInFlight(h.kvm)).toEqual([]);
    expect(h.kvm.mmu.pgt.leavesIn(REGION + SZ_2M, SZ_2M)).toHaveLength(512); // nothing changed
  });

  it("rejects a second operation on the region, ticks after the end, and misplaced noteFault", () => {
    const f = vm();
    splitBlock(f.kvm, REGION);
    const op = CoalesceOp.begin(f.kvm, REGION, opts);
    err(() => CoalesceOp.begin(f.kvm, REGION, opts), /a bbm coalesce of this region is in progress \(tick 0 of 512\)/);
    err(() => splitBlock(f.kvm, REGION), /in progress/);
    err(() => op.noteFault(2), /noteFault of vCPU 2, the VM has vCPUs 0..1/);
    runToEnd(op);
    err(() => op.tick(), /tick\(\) after the operation finished/);
    err(() => op.noteFault(0), /not blocked \(finished\)/);

    const g = vm();
    splitBlock(g.kvm, REGION);
    const first = CoalesceOp.begin(g.kvm, REGION, { order: "install-first", costPerPage: 1 });
    err(() => first.noteFault(0), /not blocked \(install-first\)/);
  });
});

describe("KvmPgtable: split and detached tables", () => {
  it("split turns a 1G block into 2M blocks and the range's 2M blocks into pages, without holes", () => {
    const f = vm();
    const pgt = f.kvm.mmu.pgt;
    const OUT = 0x20_0000_0000n;
    pgt.map(0x8000_0000n, 1n << 30n, OUT, R | W);
    expect(pgt.split(0x8000_0000n + SZ_2M, SZ_2M)).toBe(2);
    expect(pgt.leavesIn(0x8000_0000n, 1n << 30n)).toHaveLength(511 + 512);
    expect(pgt.getLeaf(0x8000_0000n + SZ_2M + 0x3000n)).toMatchObject({ size: SZ_4K, pa: OUT + SZ_2M + 0x3000n, prot: R | W });
    expect(pgt.getLeaf(0x8000_0000n)).toMatchObject({ size: SZ_2M, pa: OUT });
    expect(pgt.split(0x8000_0000n + SZ_2M, SZ_2M)).toBe(0); // already pages
    expect(() => pgt.split(0x8000_1000n, SZ_2M)).toThrow(/not 2M aligned/);
  });

  it("detachTable unlinks a table of leaves; its entries are cleared and the page freed only on request", () => {
    const f = vm();
    const pgt = f.kvm.mmu.pgt;
    splitBlock(f.kvm, REGION);
    const leaves = pgt.leafCount;
    const pages = pgt.tablePages;
    expect(() => pgt.detachTable(REGION, SZ_4K)).toThrow(/not a 2M or 1G aligned range/);
    expect(() => pgt.detachTable(REGION + SZ_2M, SZ_2M)).toThrow(/is invalid, not a table/);
    expect(() => pgt.detachTable(RAM_BASE, 1n << 30n)).toThrow(/holds next-level tables/);
    const t = pgt.detachTable(REGION, SZ_2M);
    expect(pgt.leafCount).toBe(leaves - 512);
    expect(pgt.tablePages).toBe(pages);
    expect(pgt.getLeaf(REGION)).toBeNull();
    expect(pgt.detachedEntries(t)).toBe(512);
    expect(() => pgt.freeDetached(t)).toThrow(/still holds 512 valid entries/);
    expect(pgt.clearDetached(t, 500)).toBe(500);
    expect(pgt.clearDetached(t, 500)).toBe(12);
    expect(pgt.clearDetached(t, 1)).toBe(0);
    expect(() => pgt.clearDetached(t, -1)).toThrow(/not a non-negative integer/);
    pgt.freeDetached(t);
    expect(pgt.tablePages).toBe(pages - 1);
    expect(f.pool.isAllocated(t)).toBe(false);
    expect(() => pgt.detachedEntries(t)).toThrow(/is not a detached table/);
  });

  it("memslot.setPageMapped needs a block-backed region", () => {
    const f = vm();
    expect(() => f.slot.setPageMapped(REGION, true)).toThrow(/is not block-backed/);
  });
});
