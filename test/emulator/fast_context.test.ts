import { describe, expect, it } from "vitest";
import { FastContexts, FastKind, FILL_LOG, type FastCaches } from "../../emulator/fast_context.ts";
import { Page, PhysMemory } from "../../emulator/memory.ts";
import { SysRegFile } from "../../emulator/sysregs.ts";
import { AF, Allocator, attrIndx, enableStage1, machine, NG, Tables, tcr } from "./mmu/pagetable.ts";

function caches(): FastCaches {
  const n = 256;
  const tags = (): Float64Array => new Float64Array(n).fill(-1);
  const pages = (): (Page | null)[] => new Array<Page | null>(n).fill(null);
  return { tags: [tags(), tags(), tags()], pages: [pages(), pages(), pages()], offs: [new Int32Array(n), new Int32Array(n)] };
}

/** Fast caches and their contexts, known empty (a flush), and a register file for the keys. */
function emptyContexts(): { c: FastCaches; f: FastContexts; sr: SysRegFile } {
  const c = caches();
  const f = new FastContexts(c);
  f.flush(false);
  return { c, f, sr: new SysRegFile() };
}

/** Fill entry `i` of cache `kind` as CpuState does, then log it. */
function fill(f: FastContexts, c: FastCaches, kind: FastKind, i: number, tag: number, page: Page, el: number, sr: SysRegFile): void {
  c.tags[kind][i] = tag;
  c.pages[kind][i] = page;
  if (kind !== FastKind.Fetch) c.offs[kind][i] = page.off;
  f.noteFill(kind, i, el, sr);
}

describe("FastContexts: fast-cache fills kept across a world switch", () => {
  const mem = new PhysMemory({ autoAllocate: true });
  const pageA = mem.page(0x1000)!;
  const pageB = mem.page(0x2000)!;

  it("puts a context's fills back only for exactly its key, and only once per switch", () => {
    const { c, f, sr } = emptyContexts();
    sr.TTBR0_EL1 = 0x8000n;
    fill(f, c, FastKind.Read, 3, 30, pageA, 1, sr);
    fill(f, c, FastKind.Fetch, 5, 50, pageB, 1, sr);
    f.flush(true);
    expect([c.tags[FastKind.Read][3], c.tags[FastKind.Fetch][5]]).toEqual([-1, -1]);
    expect(f.restorePending).toBe(true);

    // Another context (one register differs, or the EL): nothing comes back.
    sr.TTBR0_EL1 = 0x9000n;
    expect(f.restore(1, sr)).toBe(false);
    expect(f.restorePending).toBe(false);
    sr.TTBR0_EL1 = 0x8000n;
    f.flush(true);
    expect(f.restore(0, sr)).toBe(false);

    // The same context again: every fill is back, with its page and host offset.
    f.flush(true);
    expect(f.restore(1, sr)).toBe(true);
    expect(c.tags[FastKind.Read][3]).toBe(30);
    expect(c.pages[FastKind.Read][3]).toBe(pageA);
    expect(c.offs[FastKind.Read][3]).toBe(pageA.off);
    expect(c.tags[FastKind.Fetch][5]).toBe(50);
    expect(c.pages[FastKind.Fetch][5]).toBe(pageB);
    // A restored context is the current one: a second restore finds nothing to do.
    expect(f.restore(1, sr)).toBe(false);
  });

  it("keeps fills made after a restore, and drops every kept context on a flush", () => {
    const { c, f, sr } = emptyContexts();
    fill(f, c, FastKind.Write, 1, 10, pageA, 1, sr);
    f.flush(true);
    expect(f.restore(1, sr)).toBe(true);
    fill(f, c, FastKind.Write, 2, 20, pageB, 1, sr);
    f.flush(true);
    expect(Array.from(c.tags[FastKind.Write]).filter((t) => t !== -1)).toEqual([]);
    expect(f.restore(1, sr)).toBe(true);
    expect([c.tags[FastKind.Write][1], c.tags[FastKind.Write][2]]).toEqual([10, 20]);

    f.flush(false); // a TLBI, a host stage-2 change, a removed page
    expect(Array.from(c.tags[FastKind.Write]).filter((t) => t !== -1)).toEqual([]);
    expect(f.restorePending).toBe(false);
    expect(f.restore(1, sr)).toBe(false);
  });

  it("does not keep a context with more fills than it logs, and empties the caches whole", () => {
    const { c, f, sr } = emptyContexts();
    for (let i = 0; i <= FILL_LOG; i++) fill(f, c, FastKind.Read, i, 100 + i, pageA, 1, sr);
    f.flush(true);
    expect(c.tags[FastKind.Read].every((t) => t === -1)).toBe(true);
    expect(f.restore(1, sr)).toBe(false);
  });

  it("keeps the four most recent contexts", () => {
    const { c, f, sr } = emptyContexts();
    for (let k = 0; k < 5; k++) {
      sr.VTTBR_EL2 = BigInt(k) << 48n;
      fill(f, c, FastKind.Read, k, k, pageA, 1, sr);
      f.flush(true);
    }
    sr.VTTBR_EL2 = 0n;
    expect(f.restore(1, sr)).toBe(false);
    for (let k = 4; k >= 1; k--) {
      f.flush(true);
      sr.VTTBR_EL2 = BigInt(k) << 48n;
      expect(f.restore(1, sr)).toBe(true);
      expect(c.tags[FastKind.Read][k]).toBe(k);
    }
  });
});

describe("CpuState: world switches keep translations exact", () => {
  const S1 = AF | attrIndx(0) | NG;
  const VA = 0x40_0000n;
  const asid = (n: number): bigint => BigInt(n) << 48n;

  function rig() {
    const { cpu, mem } = machine();
    const alloc = new Allocator(0x10_0000n);
    const t1 = new Tables(mem, { granule: "4K", startLevel: 0, iaBits: 48, alloc });
    const t2 = new Tables(mem, { granule: "4K", startLevel: 0, iaBits: 48, alloc });
    t1.map(VA, 0x20_0000n, 3, S1);
    t2.map(VA, 0x30_0000n, 3, S1);
    for (const [pa, v] of [[0x20_0000, 0xaaaan], [0x30_0000, 0xbbbbn], [0x50_0000, 0xccccn]] as const) mem.write(pa, 8, v);
    enableStage1(cpu, { tcr: tcr({ t0sz: 16, epd1: true }), ttbr0: asid(1) | t1.root });
    const read = (): bigint => {
      cpu.load64(Number(VA & 0xffffffffn), Number(VA >> 32n), 0);
      return (BigInt(cpu.tHi) << 32n) | BigInt(cpu.tLo);
    };
    const switchTo = (ttbr0: bigint): void => {
      cpu.sr.TTBR0_EL1 = ttbr0;
      cpu.switchFastContext();
    };
    return { cpu, t1, t2, read, switchTo };
  }

  it("a context comes back with its own translations, never another's", () => {
    const { t1, t2, read, switchTo } = rig();
    expect(read()).toBe(0xaaaan);
    switchTo(asid(2) | t2.root);
    expect(read()).toBe(0xbbbbn);
    switchTo(asid(1) | t1.root);
    expect(read()).toBe(0xaaaan);
    switchTo(asid(2) | t2.root);
    expect(read()).toBe(0xbbbbn);
  });

  it("a TLBI between two switches reaches the kept context", () => {
    const { cpu, t1, t2, read, switchTo } = rig();
    expect(read()).toBe(0xaaaan);
    switchTo(asid(2) | t2.root);
    expect(read()).toBe(0xbbbbn);
    t1.map(VA, 0x50_0000n, 3, S1); // remapped while another context runs...
    cpu.tlb.flushAll(); // ...then invalidated, as a TLBI would
    cpu.flushFastTlb();
    switchTo(asid(1) | t1.root);
    expect(read()).toBe(0xccccn);
  });
});
