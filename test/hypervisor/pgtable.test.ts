import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Cpu } from "../../emulator/cpu.ts";
import { EC, ISS_WNR, ecOf, issOf } from "../../emulator/exception.ts";
import { AccessKind, type Fault, FaultType } from "../../emulator/fault.ts";
import { PhysMemory } from "../../emulator/memory.ts";
import { translate, type Translation } from "../../emulator/mmu/translate.ts";
import { canonicalIpa, type HostPa, hostPa, type NestedIpa, nestedIpa } from "../../hypervisor/addr.ts";
import { HostError } from "../../hypervisor/errors.ts";
import {
  KVM_PGTABLE_PROT_DEVICE as DEV, KVM_PGTABLE_PROT_R as R, KVM_PGTABLE_PROT_W as W, KVM_PGTABLE_PROT_X as X,
  KvmPgtable, type Leaf, SZ_1G, SZ_2M, SZ_4K,
} from "../../hypervisor/pgtable.ts";
import { HostPagePool, POISON } from "../../hypervisor/pool.ts";
import { rawAssemble } from "../helpers/machine.ts";

const POOL_BASE = 0x10_0000_0000;
/** Output addresses that need no RAM: the tables never read what they map. */
const OUT = 0x20_0000_0000n;

function setup(poolPages = 4096): { mem: PhysMemory; pool: HostPagePool; pgt: KvmPgtable } {
  const mem = new PhysMemory();
  const pool = new HostPagePool(mem, POOL_BASE, poolPages);
  return { mem, pool, pgt: new KvmPgtable(mem, pool) };
}

/** A CPU at EL1 with stage 1 off and stage 2 walking `pgt` under `vmid`. */
function cpuOn(mem: PhysMemory, pgt: KvmPgtable, vmid = 1n): Cpu {
  const cpu = new Cpu(mem, { stopOnBrk: true, stopOnUnvectoredEl1: true });
  cpu.resetTo(0x8_0000n);
  cpu.writeSysReg("VTCR_EL2", pgt.vtcr);
  cpu.writeSysReg("VTTBR_EL2", BigInt(pgt.pgdPa) | (vmid << 48n));
  cpu.writeSysReg("HCR_EL2", 1n); // VM
  return cpu;
}

function okPa(t: Translation): number {
  if (!t.ok) throw new Error(`unexpected fault ${JSON.stringify(t.fault, (_, v: unknown) => (typeof v === "bigint" ? v.toString(16) : v))}`);
  return t.pa;
}

function faultOf(t: Translation): Fault {
  if (t.ok) throw new Error(`expected a fault, got PA 0x${t.pa.toString(16)}`);
  return t.fault;
}

/**
 * An independent reading of the tables in memory: every table page reachable from the root, each
 * non-root table holding at least one valid entry. Returns the number of table pages.
 */
function tablePagesInMemory(mem: PhysMemory, pgdPa: number): number {
  const visit = (pa: number, level: number): number => {
    let pages = 1;
    let valid = 0;
    for (let i = 0; i < 512; i++) {
      const d = mem.read(pa + i * 8, 8);
      if ((d & 1n) === 0n) continue;
      valid++;
      if (level < 3 && d & 2n) pages += visit(Number(d & 0xffff_ffff_f000n), level + 1);
    }
    if (level > 0 && valid === 0) expect.fail(`empty level-${level} table at 0x${pa.toString(16)}`);
    return pages;
  };
  return visit(pgdPa, 0);
}

describe("KvmPgtable: descriptors and geometry", () => {
  it("vtcr describes a 4K, 48-bit, level-0-start table with 16-bit VMIDs", () => {
    const { pgt, pool } = setup();
    const v = pgt.vtcr;
    expect(v & 0x3fn).toBe(16n); // T0SZ
    expect((v >> 6n) & 3n).toBe(2n); // SL0: level 0
    expect((v >> 8n) & 3n).toBe(1n); // IRGN0 WB
    expect((v >> 10n) & 3n).toBe(1n); // ORGN0 WB
    expect((v >> 12n) & 3n).toBe(3n); // SH0 inner
    expect((v >> 14n) & 3n).toBe(0n); // TG0 4K
    expect((v >> 16n) & 7n).toBe(5n); // PS 48 bits
    expect((v >> 19n) & 1n).toBe(1n); // VS
    expect(pool.isAllocated(pgt.pgdPa)).toBe(true);
    expect(pool.used).toBe(1);
    expect(pgt.leafCount).toBe(0);
  });

  it("writes KVM's stage-2 page descriptor: S2AP, XN, MemAttr, SH, AF, SW bits", () => {
    const { pgt, mem, pool } = setup();
    const pa = OUT + 0x7000n;
    pgt.map(0x4000_3000n, SZ_4K, pa, R | W, 5);
    const leaf = pgt.getLeaf(0x4000_3abcn)!;
    const expected = pa | 3n | (0xfn << 2n) | (1n << 6n) | (1n << 7n) | (3n << 8n) | (1n << 10n) | (1n << 54n) | (5n << 55n);
    expect(leaf).toEqual({ ipa: 0x4000_3000n, size: SZ_4K, pa, prot: R | W, sw: 5, level: 3, desc: expected });
    // Four table pages: level 0 (the pgd), 1, 2 and 3; the descriptor sits at index 3 of the last.
    expect(pool.used).toBe(4);
    const l0 = mem.read(pgt.pgdPa, 8);
    const l1 = mem.read(Number(l0 & 0xffff_ffff_f000n) + 1 * 8, 8);
    const l2 = mem.read(Number(l1 & 0xffff_ffff_f000n), 8);
    expect(l0 & 3n).toBe(3n);
    expect(mem.read(Number(l2 & 0xffff_ffff_f000n) + 3 * 8, 8)).toBe(expected);
  });

  it("2M and 1G blocks are level-2 and level-1 Block descriptors; Device memory is nGnRE", () => {
    const { pgt } = setup();
    pgt.map(0x4020_0000n, SZ_2M, OUT + SZ_2M * 3n, R | DEV, 15);
    pgt.map(0x1_4000_0000n, SZ_1G, OUT + SZ_1G, R | W | X);
    const b = pgt.getLeaf(0x4021_2345n)!;
    expect(b).toMatchObject({ ipa: 0x4020_0000n, size: SZ_2M, pa: OUT + SZ_2M * 3n, prot: R | DEV, sw: 15, level: 2 });
    expect(b.desc & 3n).toBe(1n); // Block
    expect((b.desc >> 2n) & 0xfn).toBe(1n); // Device-nGnRE
    expect((b.desc >> 54n) & 1n).toBe(1n);
    const g = pgt.getLeaf(0x1_7fff_ffffn)!;
    expect(g).toMatchObject({ ipa: 0x1_4000_0000n, size: SZ_1G, pa: OUT + SZ_1G, prot: R | W | X, sw: 0, level: 1 });
    expect(g.desc & 3n).toBe(1n);
    expect((g.desc >> 54n) & 1n).toBe(0n);
    expect(pgt.leafCount).toBe(2);
    expect(pgt.getLeaf(0x4040_0000n)).toBeNull();
    expect(pgt.getLeaf(1n << 48n)).toBeNull();
  });

  it("maps at the top of the 48-bit IPA space", () => {
    const { pgt } = setup();
    const top = (1n << 48n) - SZ_4K;
    pgt.map(top, SZ_4K, OUT, R);
    pgt.map((1n << 48n) - 2n * SZ_1G, SZ_1G, OUT + SZ_1G, R);
    expect(pgt.getLeaf(top + 0xfffn)).toMatchObject({ ipa: top, pa: OUT, level: 3 });
    expect(pgt.getLeaf(top - 1n)).toBeNull();
    expect(pgt.getLeaf((1n << 48n) - SZ_1G - 1n)).toMatchObject({ level: 1, pa: OUT + SZ_1G });
    expect(pgt.unmap(top, SZ_4K * 4n)).toEqual({ removed: 1, start: top, end: 1n << 48n });
    expect(pgt.tablePages).toBe(2); // L0, and the L1 table holding the 1G block
  });

  it("rejects bad sizes, misaligned addresses, SW bits above 15 and executable Device memory", () => {
    const { pgt, pool } = setup();
    expect(() => pgt.map(0n, 0x2000n, OUT, R)).toThrow(HostError);
    expect(() => pgt.map(0x1000n, SZ_2M, OUT, R)).toThrow(/aligned/);
    expect(() => pgt.map(0n, SZ_2M, OUT + 0x1000n, R)).toThrow(/aligned/);
    expect(() => pgt.map(1n << 48n, SZ_4K, OUT, R)).toThrow(HostError);
    expect(() => pgt.map(0n, SZ_4K, OUT, R, 16)).toThrow(/software bits/);
    expect(() => pgt.map(0n, SZ_4K, OUT, R | X | DEV)).toThrow(/Device/);
    expect(() => pgt.unmap(0x800n, SZ_4K)).toThrow(HostError);
    expect(pgt.leafCount).toBe(0);
    expect(pool.used).toBe(1);
  });
});

describe("KvmPgtable<In>: typed input and output addresses", () => {
  it("a shadow stage-2 takes nested IPAs and host PAs and gives host PAs back", () => {
    const mem = new PhysMemory();
    const pgt = new KvmPgtable<NestedIpa>(mem, new HostPagePool(mem, POOL_BASE, 64));
    const pa = hostPa(OUT);
    expect(pgt.map(nestedIpa(0x4000_0000n), SZ_4K, pa, R)).toBe(false);
    const leaf = pgt.getLeaf(nestedIpa(0x4000_0123n))!;
    const out: HostPa = leaf.pa;
    const at: NestedIpa = leaf.ipa;
    expect([at, out]).toEqual([0x4000_0000n, OUT]);
    // @ts-expect-error a canonical IPA is not a nested IPA
    pgt.getLeaf(canonicalIpa(0x4000_0000n));
    // @ts-expect-error the output is a host PA, not any bigint
    pgt.map(nestedIpa(0x4000_1000n), SZ_4K, OUT, R);
    expect(pgt.leafCount).toBe(2);
  });
});

describe("KvmPgtable: replacing, splitting and freeing", () => {
  it("a 4K map inside a 2M block breaks it (stage2_map_walk_leaf): only the new leaf is left, the rest faults back lazily", () => {
    const { pgt, pool } = setup();
    const block = OUT + 4n * SZ_2M;
    pgt.map(0x4000_0000n, SZ_2M, block, R | W, 3);
    expect(pool.used).toBe(3); // L0, L1, L2
    expect(pgt.map(0x4000_5000n, SZ_4K, OUT + 0x99_9000n, R | X, 1)).toBe(true);
    expect(pool.used).toBe(4);
    expect(pgt.leafCount).toBe(1);
    expect(pgt.getLeaf(0x4000_5000n)).toMatchObject({ pa: OUT + 0x99_9000n, prot: R | X, sw: 1, level: 3 });
    for (const off of [0n, 0x4000n, 0x6000n, SZ_2M - SZ_4K]) expect(pgt.getLeaf(0x4000_0000n + off)).toBeNull();
    // The TLB entries of the whole broken block must go, not only the new page's.
    expect(pgt.mapInvalidation(0x4000_5000n, SZ_4K)).toEqual({ ipa: 0x4000_0000n, size: SZ_2M });
  });

  it("a 2M map inside a 1G block breaks it; a 4K map inside a 2M block of its own then breaks that one", () => {
    const { pgt, pool } = setup();
    pgt.map(0n, SZ_1G, OUT, R);
    expect(pgt.map(SZ_2M * 7n, SZ_2M, OUT + SZ_1G, R | W)).toBe(true);
    expect(pgt.mapInvalidation(SZ_2M * 7n, SZ_2M)).toEqual({ ipa: 0n, size: SZ_1G });
    expect(pgt.leafCount).toBe(1);
    expect(pool.used).toBe(3);
    expect(pgt.getLeaf(SZ_2M * 6n + 5n)).toBeNull();
    expect(pgt.getLeaf(SZ_2M * 7n)).toMatchObject({ pa: OUT + SZ_1G, prot: R | W });
    pgt.map(SZ_2M * 8n, SZ_2M, OUT + SZ_1G + SZ_2M, R);
    expect(pgt.map(SZ_2M * 8n + SZ_4K, SZ_4K, OUT + 0x123_4000n, R)).toBe(true);
    expect(pgt.mapInvalidation(SZ_2M * 8n + SZ_4K, SZ_4K)).toEqual({ ipa: SZ_2M * 8n, size: SZ_2M });
    expect(pgt.leafCount).toBe(2);
    expect(pool.used).toBe(4);
    // A map over nothing, or over a leaf of its own size, invalidates just the leaf.
    expect(pgt.map(SZ_2M * 20n, SZ_2M, OUT, R)).toBe(false);
    expect(pgt.map(SZ_2M * 20n, SZ_2M, OUT, R | W)).toBe(true);
    expect(pgt.mapInvalidation(SZ_2M * 20n, SZ_2M)).toEqual({ ipa: SZ_2M * 20n, size: SZ_2M });
  });

  it("a block over a table frees the tables below it", () => {
    const { pgt, pool, mem } = setup();
    for (let i = 0n; i < 8n; i++) pgt.map(0x4000_0000n + i * SZ_4K, SZ_4K, OUT + i * SZ_4K, R);
    pgt.map(0x4040_0000n, SZ_4K, OUT, R);
    expect(pool.used).toBe(5); // L0, L1, L2, two L3
    pgt.map(0x4000_0000n, SZ_2M, OUT + SZ_2M, R | W);
    expect(pool.used).toBe(4);
    expect(pgt.leafCount).toBe(2);
    pgt.map(0x4000_0000n, SZ_1G, OUT + SZ_1G, R);
    expect(pool.used).toBe(2); // L0, L1
    expect(pgt.leafCount).toBe(1);
    expect(tablePagesInMemory(mem, pgt.pgdPa)).toBe(2);
  });

  it("replacing a leaf of the same size keeps the count", () => {
    const { pgt } = setup();
    pgt.map(0x5000n, SZ_4K, OUT, R);
    pgt.map(0x5000n, SZ_4K, OUT + SZ_4K, R | W, 2);
    expect(pgt.leafCount).toBe(1);
    expect(pgt.getLeaf(0x5000n)).toMatchObject({ pa: OUT + SZ_4K, prot: R | W, sw: 2 });
  });

  it("unmap of 4K inside a 2M block clears the whole block and reports its extent", () => {
    const { pgt, pool } = setup();
    const block = 0x4020_0000n;
    pgt.map(block, SZ_2M, OUT, R | W, 2);
    pgt.map(block + SZ_2M, SZ_4K, OUT + SZ_2M, R);
    expect(pgt.unmap(block + SZ_4K * 9n, SZ_4K)).toEqual({ removed: 1, start: block, end: block + SZ_2M });
    expect(pgt.getLeaf(block)).toBeNull();
    expect(pgt.getLeaf(block + SZ_2M - 1n)).toBeNull();
    expect(pgt.getLeaf(block + SZ_2M)).toMatchObject({ size: SZ_4K });
    expect(pgt.leafCount).toBe(1);
    expect(pool.used).toBe(4); // L0, L1, L2, and the L3 table of the page
  });

  it("a range straddling two blocks clears both; an unmap of nothing reports the range itself", () => {
    const { pgt } = setup();
    pgt.map(SZ_1G, SZ_1G, OUT, R);
    pgt.map(2n * SZ_1G, SZ_2M, OUT + SZ_1G, R);
    pgt.map(2n * SZ_1G + SZ_2M, SZ_2M, OUT + SZ_1G + SZ_2M, R);
    // 8K across the 1G / 2M boundary.
    expect(pgt.unmap(2n * SZ_1G - SZ_4K, 2n * SZ_4K)).toEqual({ removed: 2, start: SZ_1G, end: 2n * SZ_1G + SZ_2M });
    expect(pgt.leafCount).toBe(1);
    expect(pgt.getLeaf(2n * SZ_1G + SZ_2M)).toMatchObject({ size: SZ_2M });
    expect(pgt.unmap(5n * SZ_1G + SZ_4K, SZ_4K)).toEqual({ removed: 0, start: 5n * SZ_1G + SZ_4K, end: 5n * SZ_1G + 2n * SZ_4K });
  });

  it("counts every leaf a range touches once: pages, blocks, and the blocks at both ends", () => {
    const { pgt, pool } = setup();
    const base = 0x8000_0000n;
    for (let i = 0n; i < 4n; i++) pgt.map(base + i * SZ_4K, SZ_4K, OUT + i * SZ_4K, R);
    pgt.map(base + SZ_2M, SZ_2M, OUT + SZ_2M, R);
    pgt.map(base + 2n * SZ_2M, SZ_2M, OUT + 2n * SZ_2M, R);
    pgt.map(base + 3n * SZ_2M, SZ_2M, OUT + 3n * SZ_2M, R);
    // From the third page to the middle of the third block: 2 pages and 3 blocks.
    expect(pgt.unmap(base + 2n * SZ_4K, 3n * SZ_2M)).toEqual({ removed: 5, start: base + 2n * SZ_4K, end: base + 4n * SZ_2M });
    expect(pgt.leafCount).toBe(2);
    expect(pgt.unmap(0n, 1n << 52n).removed).toBe(2);
    expect(pool.used).toBe(1);
    expect(pgt.unmap(0n, 1n << 48n).removed).toBe(0);
  });

  it("with split (stage2UnmapSplit, not KVM) part of a block is split off and the rest kept", () => {
    const { pgt, pool, mem } = setup();
    pgt.map(SZ_1G, SZ_1G, OUT, R | W, 2);
    expect(pgt.unmap(SZ_1G + SZ_2M * 3n + SZ_4K * 9n, SZ_4K, true)).toEqual({ removed: 1, start: SZ_1G + SZ_2M * 3n + SZ_4K * 9n, end: SZ_1G + SZ_2M * 3n + SZ_4K * 10n });
    expect(pgt.leafCount).toBe(511 + 511);
    expect(pool.used).toBe(4);
    expect(pgt.getLeaf(SZ_1G + SZ_2M * 3n + SZ_4K * 9n)).toBeNull();
    expect(pgt.getLeaf(SZ_1G + SZ_2M * 3n + SZ_4K * 10n)).toMatchObject({ pa: OUT + SZ_2M * 3n + SZ_4K * 10n, size: SZ_4K, sw: 2 });
    expect(pgt.getLeaf(SZ_1G + SZ_2M * 100n + 77n)).toMatchObject({ pa: OUT + SZ_2M * 100n, size: SZ_2M, prot: R | W, sw: 2 });
    // Two 2M blocks and the 4K pages of the split one, across a block boundary.
    expect(pgt.unmap(SZ_1G + SZ_2M * 2n, SZ_2M * 3n, true).removed).toBe(1 + 511 + 1);
    expect(pool.used).toBe(3);
    expect(pgt.leafCount).toBe(509);
    expect(tablePagesInMemory(mem, pgt.pgdPa)).toBe(3);
    // Everything else, with a size running past the IPA space.
    expect(pgt.unmap(0n, 1n << 52n, true).removed).toBe(509);
    expect(pgt.leafCount).toBe(0);
    expect(pool.used).toBe(1);
  });

  it("relaxPerms adds permissions, keeps output and SW bits, and reports a missing leaf", () => {
    const { pgt } = setup();
    pgt.map(0x4000_0000n, SZ_2M, OUT, R, 3);
    expect(pgt.relaxPerms(0x4010_0000n, W)).toBe(true);
    expect(pgt.getLeaf(0x4000_0000n)).toMatchObject({ pa: OUT, prot: R | W, sw: 3, size: SZ_2M });
    expect(pgt.relaxPerms(0x4000_0000n, X)).toBe(true);
    expect(pgt.getLeaf(0x4000_0000n)).toMatchObject({ prot: R | W | X, sw: 3 });
    expect(pgt.relaxPerms(0x4000_0000n, R)).toBe(true); // never removes anything
    expect(pgt.getLeaf(0x4000_0000n)!.prot).toBe(R | W | X);
    expect(pgt.relaxPerms(0x5000_0000n, W)).toBe(false);
    expect(() => pgt.relaxPerms(0x4000_0000n, R | DEV)).toThrow(HostError);
    pgt.map(0x8000_0000n, SZ_4K, OUT, R | DEV);
    expect(() => pgt.relaxPerms(0x8000_0000n, X)).toThrow(/Device/);
    expect(pgt.leafCount).toBe(2);
  });

  it("leaves() lists every leaf in IPA order", () => {
    const { pgt } = setup();
    const top = (1n << 48n) - SZ_4K;
    pgt.map(top, SZ_4K, OUT, R);
    pgt.map(SZ_1G * 3n, SZ_1G, OUT, R);
    pgt.map(0x4020_0000n, SZ_2M, OUT, R);
    pgt.map(0x4000_1000n, SZ_4K, OUT, R);
    pgt.map(0x4000_0000n, SZ_4K, OUT, R);
    const ipas = [...pgt.leaves()].map((l: Leaf) => l.ipa);
    expect(ipas).toEqual([0x4000_0000n, 0x4000_1000n, 0x4020_0000n, SZ_1G * 3n, top]);
    expect(pgt.leavesIn(0x4000_1000n, SZ_1G).map((l) => l.ipa)).toEqual([0x4000_1000n, 0x4020_0000n]);
  });

  it("destroy returns every table page to the pool, poisoned", () => {
    const { pgt, pool } = setup();
    pgt.map(0x4000_0000n, SZ_4K, OUT, R);
    pgt.map(0x80_0000_0000n, SZ_2M, OUT, R);
    expect(pool.used).toBe(6); // L0; L1, L2, L3 under entry 0; L1, L2 under entry 1
    const pgd = pgt.pgdPa;
    pgt.destroy();
    expect(pool.used).toBe(0);
    expect(pool.isPoisoned(pgd)).toBe(true);
    for (let i = 0; i < 6; i++) expect(pool.isPoisoned(POOL_BASE + i * 0x1000)).toBe(true);
    expect(pgt.leafCount).toBe(0);
    expect(pgt.getLeaf(0x4000_0000n)).toBeNull();
    expect([...pgt.leaves()]).toEqual([]);
    expect(() => pgt.map(0n, SZ_4K, OUT, R)).toThrow(/after destroy/);
    pgt.destroy();
    expect(pool.used).toBe(0);
  });

  it("a map the pool cannot supply tables for fails before changing anything", () => {
    const { pgt, pool } = setup(3);
    expect(() => pgt.map(0x4000_0000n, SZ_4K, OUT, R)).toThrow(/exhausted/);
    expect(pool.used).toBe(1);
    pgt.map(0x4000_0000n, SZ_2M, OUT, R);
    expect(pool.used).toBe(3);
    expect(() => pgt.map(0x4000_0000n, SZ_4K, OUT, R)).toThrow(HostError);
    expect(pgt.getLeaf(0x4000_0000n)).toMatchObject({ size: SZ_2M });
  });
});

describe("KvmPgtable: the CPU's MMU walks the tables", () => {
  it("translate() follows pages, 2M and 1G blocks, with stage-2 faults at the right level", () => {
    const { mem, pool, pgt } = setup();
    const page = pool.alloc();
    const block = pool.allocBlock(512);
    pgt.map(0x4000_0000n, SZ_4K, BigInt(page), R | W);
    pgt.map(0x4020_0000n, SZ_2M, BigInt(block), R | X);
    pgt.map(0x8000_0000n, SZ_1G, OUT + SZ_1G, R | W | X);
    const cpu = cpuOn(mem, pgt);
    const read = AccessKind.Read;
    const write = AccessKind.Write;
    const fetch = AccessKind.Fetch;
    expect(okPa(translate(cpu, 0x4000_0123n, read, false))).toBe(page + 0x123);
    expect(okPa(translate(cpu, 0x4000_0ff8n, write, false))).toBe(page + 0xff8);
    expect(faultOf(translate(cpu, 0x4000_0010n, fetch, false))).toMatchObject({ type: FaultType.Permission, stage: 2, level: 3 });
    expect(okPa(translate(cpu, 0x4021_2345n, read, false))).toBe(block + 0x1_2345);
    expect(okPa(translate(cpu, 0x403f_fffcn, fetch, false))).toBe(block + 0x1f_fffc);
    expect(faultOf(translate(cpu, 0x4021_2340n, write, false))).toMatchObject({
      type: FaultType.Permission, stage: 2, level: 2, ipa: 0x4021_2340n,
    });
    expect(okPa(translate(cpu, 0xa345_6788n, write, false))).toBe(Number(OUT + SZ_1G + 0x2345_6788n));
    // Holes at each level: the L3 table, the L2 table, the L1 table, the L0 table.
    for (const [ipa, level] of [[0x4000_1000n, 3], [0x4040_0000n, 2], [0x1_0000_0000n, 1], [0x80_0000_0000n, 0]] as const) {
      expect(faultOf(translate(cpu, ipa, read, false))).toMatchObject({ type: FaultType.Translation, stage: 2, level, ipa });
    }
  });

  it("a program loads and stores through the tables; a read-only block and an XN page exit to EL2", async () => {
    const { mem, pool, pgt } = setup();
    const code = pool.alloc();
    const data = pool.alloc();
    const ro = pool.allocBlock(512);
    const xnPage = pool.alloc();
    pgt.map(0x8_0000n, SZ_4K, BigInt(code), R | X);
    pgt.map(0x4000_0000n, SZ_4K, BigInt(data), R | W);
    pgt.map(0x4020_0000n, SZ_2M, BigInt(ro), R, 3);
    pgt.map(0x4000_2000n, SZ_4K, BigInt(xnPage), R | W);
    mem.write(data, 8, 0x1234n);
    mem.write(ro + 0x1_0010, 8, 0xabcdn);
    const src = [
      "ldr x1, [x9]",
      "add x1, x1, #1",
      "str x1, [x9, #8]",
      "ldr x2, [x10]",
      "cbz x3, done",
      "cmp x3, #1",
      "b.ne jump",
      "str x1, [x10]", // x3 = 1: write to the read-only block
      "jump: br x11", // x3 = 2: jump into the XN page
      "done: brk #0",
    ].join("\n");
    mem.writeBytes(code, await rawAssemble(src, 0x8_0000));
    const run = (x3: bigint): { cpu: Cpu; stop: ReturnType<Cpu["run"]> } => {
      const cpu = cpuOn(mem, pgt);
      cpu.setX(9, 0x4000_0000n);
      cpu.setX(10, 0x4021_0010n);
      cpu.setX(11, 0x4000_2000n);
      cpu.setX(3, x3);
      return { cpu, stop: cpu.run(1000) };
    };

    const ok = run(0n);
    expect(ok.stop.kind).toBe("brk");
    expect(ok.cpu.getX(2)).toBe(0xabcdn);
    expect(mem.read(data + 8, 8)).toBe(0x1235n);

    const wr = run(1n);
    if (wr.stop.kind !== "exit") throw new Error(`expected an exit, got ${wr.stop.kind}`);
    expect(ecOf(wr.stop.exit.esr)).toBe(EC.DABT_LOW);
    expect(issOf(wr.stop.exit.esr) & 0x3f).toBe(0x0e); // permission fault, level 2
    expect(issOf(wr.stop.exit.esr) & ISS_WNR).toBe(ISS_WNR);
    expect(wr.stop.exit.hpfar).toBe((0x4021_0010n >> 12n) << 4n);
    expect(mem.read(ro + 0x1_0010, 8)).toBe(0xabcdn);

    const ex = run(2n);
    if (ex.stop.kind !== "exit") throw new Error(`expected an exit, got ${ex.stop.kind}`);
    expect(ecOf(ex.stop.exit.esr)).toBe(EC.IABT_LOW);
    expect(issOf(ex.stop.exit.esr) & 0x3f).toBe(0x0f); // permission fault, level 3
    expect(ex.stop.exit.elr).toBe(0x4000_2000n);
  });

  it("a stale mapping of a freed pool page reads the poison", async () => {
    const { mem, pool, pgt } = setup();
    const code = pool.alloc();
    const data = pool.alloc();
    pgt.map(0x8_0000n, SZ_4K, BigInt(code), R | X);
    pgt.map(0x4000_0000n, SZ_4K, BigInt(data), R | W);
    mem.writeBytes(code, await rawAssemble("ldr x1, [x9, #16]\nbrk #0", 0x8_0000));
    mem.write(data + 16, 8, 42n);
    pool.free(data); // the table still maps it
    const cpu = cpuOn(mem, pgt);
    cpu.setX(9, 0x4000_0000n);
    expect(cpu.run(100).kind).toBe("brk");
    expect(cpu.getX(1)).toBe(POISON);
  });

  it("the walk uses the VMID from VTTBR and the same tables for any VMID", () => {
    const { mem, pool, pgt } = setup();
    const page = pool.alloc();
    pgt.map(0x4000_0000n, SZ_4K, BigInt(page), R);
    for (const vmid of [1n, 2n, 0x1234n]) {
      const cpu = cpuOn(mem, pgt, vmid);
      expect(okPa(translate(cpu, 0x4000_0008n, AccessKind.Read, false))).toBe(page + 8);
    }
  });
});

// ------------------------------------------------------------------ property test

/** Two GiB of IPA from 1 GiB up: room for one 1G block, its neighbours and the boundary. */
const WIN_BASE = SZ_1G;
const WIN_PAGES = 2 * 262144;
const POOL_PAGES = 2048;

type Op =
  | { kind: "map"; size: bigint; slot: number; out: number; prot: number; sw: number }
  | { kind: "unmap"; page: number; pages: number }
  | { kind: "relax"; page: number; prot: number };

const PROTS = [R, R | W, R | X, R | W | X, W, X, 0, R | DEV, R | W | DEV];

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant("map" as const),
      // Mostly small leaves around two 2M regions, so maps, splits and replacements collide.
      size: fc.constantFrom(SZ_4K, SZ_4K, SZ_4K, SZ_2M, SZ_2M, SZ_1G),
      slot: fc.integer({ min: 0, max: 1023 }),
      out: fc.integer({ min: 0, max: 63 }),
      prot: fc.constantFrom(...PROTS),
      sw: fc.integer({ min: 0, max: 15 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("unmap" as const),
      page: fc.oneof(fc.integer({ min: 0, max: WIN_PAGES - 1 }), fc.integer({ min: 262144 - 1024, max: 262144 + 1024 })),
      pages: fc.oneof(fc.integer({ min: 1, max: 600 }), fc.constantFrom(512, 1024, 262144)),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("relax" as const),
      page: fc.integer({ min: 262144 - 1024, max: 262144 + 1024 }),
      prot: fc.constantFrom(R, W, X, R | W),
    }),
  },
);

/** The naive model: per 4K page of the window, mapped or not, PA - IPA, prot, SW bits. */
class PageModel {
  readonly mapped = new Uint8Array(WIN_PAGES);
  readonly delta = new Float64Array(WIN_PAGES);
  readonly prot = new Uint8Array(WIN_PAGES);
  readonly sw = new Uint8Array(WIN_PAGES);

  set(first: number, count: number, delta: number, prot: number, sw: number): void {
    const end = Math.min(first + count, WIN_PAGES);
    this.mapped.fill(1, first, end);
    this.delta.fill(delta, first, end);
    this.prot.fill(prot, first, end);
    this.sw.fill(sw, first, end);
  }

  static fromLeaves(leaves: Iterable<Leaf>): PageModel {
    const m = new PageModel();
    for (const l of leaves) {
      const first = Number((l.ipa - WIN_BASE) / SZ_4K);
      // Plain checks: this runs for every leaf of every property run.
      if (l.ipa % l.size !== 0n || l.pa % l.size !== 0n || first < 0 || first + Number(l.size / SZ_4K) > WIN_PAGES) {
        expect.fail(`leaf ${l.ipa.toString(16)}+${l.size.toString(16)} → ${l.pa.toString(16)} misaligned or outside the window`);
      }
      m.set(first, Number(l.size / SZ_4K), Number(l.pa - l.ipa), l.prot, l.sw);
    }
    return m;
  }
}

function pageIpa(page: number): bigint {
  return WIN_BASE + BigInt(page) * SZ_4K;
}

/** A map op's IPA: slots cluster on the window's two middle 2M regions for small leaves. */
function mapIpa(op: Extract<Op, { kind: "map" }>): bigint {
  if (op.size === SZ_1G) return WIN_BASE + BigInt(op.slot & 1) * SZ_1G;
  if (op.size === SZ_2M) return SZ_1G + SZ_1G - SZ_2M * 2n + BigInt(op.slot % 4) * SZ_2M;
  return SZ_1G + SZ_1G - SZ_2M + BigInt(op.slot) * SZ_4K;
}

function applyOp(pgt: KvmPgtable, model: PageModel, op: Op): void {
  switch (op.kind) {
    case "map": {
      const ipa = mapIpa(op);
      const pa = OUT + BigInt(op.out) * op.size;
      const prot = op.prot & DEV && op.prot & X ? op.prot & ~X : op.prot;
      const first = Number((ipa - WIN_BASE) / SZ_4K);
      const count = Number(op.size / SZ_4K);
      const wasMapped = model.mapped.subarray(first, first + count).includes(1);
      // A larger leaf around the range is broken whole (the rest faults back lazily).
      const around = pgt.leavesIn(ipa, op.size).find((l) => l.size > op.size) ?? null;
      const replaced = pgt.map(ipa, op.size, pa, prot, op.sw);
      // The caller flushes TLBs on this answer: it must be exactly "a leaf overlapped the range".
      check(replaced === wasMapped, () => `map(${ipa.toString(16)}+${op.size.toString(16)}) says replaced ${replaced}, the model ${wasMapped}`);
      if (around) {
        const f = Number((around.ipa - WIN_BASE) / SZ_4K);
        model.mapped.fill(0, f, f + Number(around.size / SZ_4K));
        const inval = pgt.mapInvalidation(ipa, op.size);
        check(inval.ipa === around.ipa && inval.size === around.size, () => `map inside the leaf at ${around.ipa.toString(16)} invalidates ${inval.ipa.toString(16)}+${inval.size.toString(16)}`);
      }
      model.set(first, count, Number(pa - ipa), prot, op.sw);
      return;
    }
    case "unmap": {
      const first = op.page;
      const end = Math.min(first + op.pages, WIN_PAGES);
      // Leaves overlapping the range before: the unmap removes each of them, whole.
      const overlapping = pgt.leavesIn(pageIpa(first), BigInt(end - first) * SZ_4K);
      const before = overlapping.length;
      const any = pgt.hasLeafIn(pageIpa(first), BigInt(end - first) * SZ_4K);
      check(any === before > 0, () => `hasLeafIn says ${any} where leavesIn finds ${before} leaves`);
      const leavesBefore = pgt.leafCount;
      const u = pgt.unmap(pageIpa(first), BigInt(end - first) * SZ_4K);
      let lo = pageIpa(first);
      let hi = pageIpa(end);
      for (const l of overlapping) {
        const f = Number((l.ipa - WIN_BASE) / SZ_4K);
        model.mapped.fill(0, f, f + Number(l.size / SZ_4K));
        if (l.ipa < lo) lo = l.ipa;
        if (l.ipa + l.size > hi) hi = l.ipa + l.size;
      }
      model.mapped.fill(0, first, end);
      check(u.removed === before, () => `unmap removed ${u.removed} leaves where ${before} overlapped`);
      check(u.start === lo && u.end === hi, () => `unmap reports [${u.start.toString(16)}, ${u.end.toString(16)}), the leaves span [${lo.toString(16)}, ${hi.toString(16)})`);
      check(pgt.leafCount === leavesBefore - before, () => `leafCount ${pgt.leafCount} after removing ${before} of ${leavesBefore}`);
      return;
    }
    case "relax": {
      const ipa = pageIpa(op.page);
      const leaf = pgt.getLeaf(ipa);
      const isDevice = leaf !== null && (leaf.prot & DEV) !== 0;
      const prot = isDevice ? op.prot & ~X : op.prot;
      const relaxed = pgt.relaxPerms(ipa, prot);
      check(relaxed === (model.mapped[op.page] === 1), () => `relaxPerms(${ipa.toString(16)}) returned ${relaxed}`);
      if (leaf) {
        // The leaf's extent is the table's business; its contents must match the model's pages.
        const first = Number((leaf.ipa - WIN_BASE) / SZ_4K);
        const count = Number(leaf.size / SZ_4K);
        for (let p = first; p < first + count; p++) {
          check(model.mapped[p] === 1, () => `leaf at ${leaf.ipa.toString(16)} covers unmapped page ${p}`);
          model.prot[p] = model.prot[p]! | prot;
        }
      }
      return;
    }
  }
}

/** A cheap assertion for the property test's inner loops (vitest's expect is slow per call). */
function check(cond: boolean, message: () => string): void {
  if (!cond) expect.fail(message());
}

function expectSameMapping(actual: PageModel, model: PageModel): void {
  for (let p = 0; p < WIN_PAGES; p++) {
    if (actual.mapped[p] !== model.mapped[p]) {
      expect.fail(`page 0x${pageIpa(p).toString(16)}: mapped ${actual.mapped[p]} vs model ${model.mapped[p]}`);
    }
    if (!model.mapped[p]) continue;
    if (actual.delta[p] !== model.delta[p] || actual.prot[p] !== model.prot[p] || actual.sw[p] !== model.sw[p]) {
      expect.fail(
        `page 0x${pageIpa(p).toString(16)}: (delta ${actual.delta[p]}, prot ${actual.prot[p]}, sw ${actual.sw[p]}) vs model ` +
          `(${model.delta[p]}, ${model.prot[p]}, ${model.sw[p]})`,
      );
    }
  }
}

describe("KvmPgtable: property test against a page-granular model", () => {
  it("random map/unmap/relax sequences agree with the model, the CPU walk, and the pool", () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 40 }), fc.array(fc.integer({ min: 0, max: WIN_PAGES - 1 }), { minLength: 16, maxLength: 16 }), (ops, probes) => {
        const { mem, pool, pgt } = setup(POOL_PAGES);
        const model = new PageModel();
        for (const op of ops) {
          applyOp(pgt, model, op);
          check(pool.used === pgt.tablePages, () => `pool.used ${pool.used} vs ${pgt.tablePages} table pages`);
        }
        const leaves = [...pgt.leaves()];
        expect(leaves.length).toBe(pgt.leafCount);
        for (let i = 1; i < leaves.length; i++) check(leaves[i]!.ipa >= leaves[i - 1]!.ipa + leaves[i - 1]!.size, () => `leaves out of order at ${i}`);
        expectSameMapping(PageModel.fromLeaves(leaves), model);
        expect(tablePagesInMemory(mem, pgt.pgdPa)).toBe(pool.used);

        // The CPU's own stage-2 walk agrees with the model on sampled pages (and the op edges).
        const cpu = cpuOn(mem, pgt);
        const pages = [...probes, ...ops.flatMap((o) => (o.kind === "map" ? [Number((mapIpa(o) - WIN_BASE) / SZ_4K)] : o.kind === "unmap" ? [o.page, o.page + o.pages, o.page + o.pages - 1] : [o.page]))];
        for (const p of pages) {
          if (p < 0 || p >= WIN_PAGES) continue;
          const ipa = pageIpa(p) + 8n;
          const t = translate(cpu, ipa, AccessKind.Read, false);
          const where = (): string => `CPU walk of ${ipa.toString(16)}: ${JSON.stringify(t, (_, v: unknown) => (typeof v === "bigint" ? v.toString(16) : v))}`;
          if (!model.mapped[p]) check(!t.ok && t.fault.type === FaultType.Translation, where);
          else if (model.prot[p]! & R) check(t.ok && t.pa === Number(ipa) + model.delta[p]!, where);
          else check(!t.ok && t.fault.type === FaultType.Permission && t.fault.level >= 1, where);
        }

        pgt.destroy();
        expect(pool.used).toBe(0);
      }),
      { numRuns: 300 },
    );
  });
});
