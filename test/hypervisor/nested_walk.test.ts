import { describe, expect, it } from "vitest";
import {
  computeFsc,
  type DescriptorReader,
  kvmWalkNestedS2,
  psToOutputSize,
  type WalkResult,
} from "../../hypervisor/nested_walk.ts";
import {
  PTE_AF as S2_DESC_AF, PTE_CONT as S2_DESC_CONT, PTE_S2_XN as S2_DESC_XN, PTE_S2AP_R as S2_DESC_S2AP_R,
  PTE_S2AP_W as S2_DESC_S2AP_W,
} from "../../emulator/mmu/descriptor.ts";

// L1 memory: canonical IPAs [0x4000_0000, 0x5000_0000); unwritten words read as 0 (invalid).
const L1_RAM = 0x4000_0000n;
const L1_END = 0x5000_0000n;

class L1Memory {
  readonly words = new Map<bigint, bigint>();
  reads: bigint[] = [];
  set(ipa: bigint, desc: bigint): this {
    expect(ipa % 8n).toBe(0n);
    this.words.set(ipa, desc);
    return this;
  }
  readonly read64 = (ipa: bigint): bigint | null => {
    this.reads.push(ipa);
    if (ipa < L1_RAM || ipa >= L1_END) return null;
    return this.words.get(ipa) ?? 0n;
  };
}

const TG_4K = 0n;
const TG_64K = 1n;
const TG_16K = 2n;
const TG_IMPDEF = 3n;

function vtcr(t0sz: number, sl0: number, tg0: bigint, ps = 5): bigint {
  return BigInt(t0sz) | (BigInt(sl0) << 6n) | (tg0 << 14n) | (BigInt(ps) << 16n);
}

const RW = S2_DESC_S2AP_R | S2_DESC_S2AP_W;
const table = (pa: bigint): bigint => pa | 3n;
const page = (pa: bigint, attrs = RW | S2_DESC_AF): bigint => pa | 3n | attrs;
const block = (pa: bigint, attrs = RW | S2_DESC_AF): bigint => pa | 1n | attrs;

/** The same memory as a reader with the number form L0's own reader has (DescriptorReader.halves). */
function halvesReader(mem: L1Memory): DescriptorReader {
  const halves = (a: number, out: Uint32Array): boolean => {
    const v = mem.read64(BigInt(a));
    if (v === null) return false;
    out[0] = Number(v & 0xffff_ffffn);
    out[1] = Number(v >> 32n);
    return true;
  };
  return Object.assign((a: bigint) => mem.read64(a), { halves });
}

/** Every walk runs twice, through the bigint reader and its number form: same result, same reads. */
function walk(mem: L1Memory, vtcrValue: bigint, vttbr: bigint, ipa: bigint, be = false): WalkResult {
  const before = mem.reads.length;
  const r = kvmWalkNestedS2(mem.read64, vtcrValue, vttbr, ipa, be);
  const reads = mem.reads;
  mem.reads = [];
  expect(kvmWalkNestedS2(halvesReader(mem), vtcrValue, vttbr, ipa, be)).toEqual(r);
  expect(mem.reads).toEqual(reads.slice(before));
  mem.reads = reads;
  return r;
}

function expectTrans(r: WalkResult) {
  if (!r.ok) throw new Error(`walk failed: ${JSON.stringify(r, (_k, v) => (typeof v === "bigint" ? `0x${v.toString(16)}` : v))}`);
  return r.trans;
}

function expectFault(r: WalkResult, fsc: number, level: number): void {
  expect(r.ok).toBe(false);
  expect(r).toMatchObject({ fsc, level });
}

function expectWalkerError(r: WalkResult, match: RegExp): void {
  expect(r.ok).toBe(false);
  if (r.ok || !("walkerError" in r)) throw new Error("expected a walker error");
  expect(r.walkerError).toMatch(match);
}

// 4K granule, 48-bit input, start level 0: one table per level at fixed L1 IPAs.
const ROOT = 0x4000_0000n;
const L1T = 0x4000_1000n;
const L2T = 0x4000_2000n;
const L3T = 0x4000_3000n;
const VTCR_4K_48 = vtcr(16, 2, TG_4K);
const ipa4k = (l0: bigint, l1: bigint, l2: bigint, l3: bigint, off: bigint): bigint =>
  (l0 << 39n) | (l1 << 30n) | (l2 << 21n) | (l3 << 12n) | off;

function fourLevel4k(leaf: bigint): L1Memory {
  return new L1Memory()
    .set(ROOT + 1n * 8n, table(L1T))
    .set(L1T + 2n * 8n, table(L2T))
    .set(L2T + 3n * 8n, table(L3T))
    .set(L3T + 4n * 8n, leaf);
}
const IPA_4K = ipa4k(1n, 2n, 3n, 4n, 0xabcn);

describe("compute_fsc and PS decode", () => {
  it("ORs the level into the FSC base", () => {
    expect(computeFsc(3, 0x04)).toBe(0x07);
    expect(computeFsc(1, 0x08)).toBe(0x09);
    expect(computeFsc(2, 0x00)).toBe(0x02);
    expect(computeFsc(0, 0x0c)).toBe(0x0c);
  });
  it("maps PS to output sizes, capping at 48 bits", () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7].map(psToOutputSize)).toEqual([32, 36, 40, 42, 44, 48, 48, 48]);
  });
});

describe("kvmWalkNestedS2: 4K granule", () => {
  it("walks four levels from start level 0 to a page", () => {
    const mem = fourLevel4k(page(0x4800_5000n));
    const t = expectTrans(walk(mem, VTCR_4K_48, ROOT, IPA_4K));
    expect(t.output).toBe(0x4800_5abcn);
    expect(t.blockSize).toBe(0x1000n);
    expect(t.level).toBe(3);
    expect(t.desc).toBe(page(0x4800_5000n));
    expect(mem.reads).toEqual([ROOT + 8n, L1T + 16n, L2T + 24n, L3T + 32n]);
  });

  it("ignores VMID and CnP in VTTBR_EL2", () => {
    const mem = fourLevel4k(page(0x4800_5000n));
    const vttbr = (0x1234n << 48n) | ROOT | 1n;
    expect(expectTrans(walk(mem, VTCR_4K_48, vttbr, IPA_4K)).output).toBe(0x4800_5abcn);
  });

  it("ignores table-descriptor attribute bits when following the next-level address", () => {
    const attrs = 0xf8n << 56n; // NSTable, APTable, XNTable, PXNTable, bit 59
    const mem = new L1Memory()
      .set(ROOT + 8n, table(L1T) | attrs)
      .set(L1T + 16n, table(L2T) | attrs)
      .set(L2T + 24n, table(L3T))
      .set(L3T + 32n, page(0x4800_5000n));
    expect(expectTrans(walk(mem, VTCR_4K_48, ROOT, IPA_4K)).output).toBe(0x4800_5abcn);
  });

  it("translates a 1G block at level 1 (start level 1, 39-bit input)", () => {
    const mem = new L1Memory().set(ROOT + 3n * 8n, block(0x4000_0000n));
    const ipa = (3n << 30n) | 0x1234_5678n;
    const t = expectTrans(walk(mem, vtcr(25, 1, TG_4K), ROOT, ipa));
    expect(t.output).toBe(0x5234_5678n);
    expect(t.blockSize).toBe(1n << 30n);
    expect(t.level).toBe(1);
  });

  it("translates a 2M block at level 2", () => {
    const mem = new L1Memory()
      .set(ROOT + 8n, table(L1T))
      .set(L1T + 16n, table(L2T))
      .set(L2T + 24n, block(0x4860_0000n));
    const t = expectTrans(walk(mem, VTCR_4K_48, ROOT, IPA_4K));
    expect(t.output).toBe(0x4860_0000n | (IPA_4K & 0x1f_ffffn));
    expect(t.blockSize).toBe(0x20_0000n);
    expect(t.level).toBe(2);
  });

  it("indexes two concatenated level-1 tables (T0SZ=24, SL0=1)", () => {
    // ia = 40, start level 1 resolves 10 bits: 1024 entries in two 4K tables, 8K-aligned base.
    const root = 0x4000_6000n;
    const mem = new L1Memory()
      .set(root + 513n * 8n, table(0x4000_5000n)) // entry 1 of the second table
      .set(0x4000_5000n + 5n * 8n, block(0x4820_0000n));
    const ipa = (513n << 30n) | (5n << 21n) | 0x1234n;
    const t = expectTrans(walk(mem, vtcr(24, 1, TG_4K), root, ipa));
    expect(mem.reads[0]).toBe(0x4000_7008n);
    expect(t.output).toBe(0x4820_1234n);
    expect(t.level).toBe(2);
    // VTTBR bits below the concatenated table's alignment are ignored.
    mem.reads = [];
    expect(expectTrans(walk(mem, vtcr(24, 1, TG_4K), root | 0x1000n, ipa)).output).toBe(0x4820_1234n);
    expect(mem.reads[0]).toBe(0x4000_7008n);
  });

  it("masks VTTBR below the start table's own alignment, not the granule's", () => {
    // Two concatenated tables: BADDR[12] is ignored, so entry 1 is at root + 8.
    const mem = new L1Memory().set(0x4000_6008n, block(0x4000_0000n));
    expect(expectTrans(walk(mem, vtcr(24, 1, TG_4K), 0x4000_7000n, (1n << 30n) | 0x10n)).output).toBe(0x4000_0010n);
    expect(mem.reads).toEqual([0x4000_6008n]);
    // A 4-entry level-1 table (32-bit input from level 1) is only 32-byte aligned: BADDR[11:5] count.
    const small = new L1Memory().set(0x4000_0038n, block(0x4000_0000n));
    expect(expectTrans(walk(small, vtcr(32, 1, TG_4K), 0x4000_0020n, 0xc000_0042n)).output).toBe(0x4000_0042n);
    expect(small.reads).toEqual([0x4000_0038n]);
  });

  it("indexes four concatenated level-2 tables (T0SZ=32, SL0=0)", () => {
    const root = 0x4000_8000n; // 16K-aligned: 2048 entries
    const mem = new L1Memory()
      .set(root + 0x601n * 8n, table(L3T))
      .set(L3T + 3n * 8n, page(0x4811_1000n));
    const t = expectTrans(walk(mem, vtcr(32, 0, TG_4K), root, 0xc020_3456n));
    expect(mem.reads).toEqual([0x4000_b008n, L3T + 24n]);
    expect(t.output).toBe(0x4811_1456n);
  });

  it("rejects a block at level 0 with a level 0 translation fault", () => {
    const mem = new L1Memory().set(ROOT + 8n, block(0x0n));
    expectFault(walk(mem, VTCR_4K_48, ROOT, IPA_4K), 0x04, 0);
  });

  it("reports translation faults for invalid descriptors at the level they are found", () => {
    expectFault(walk(new L1Memory(), VTCR_4K_48, ROOT, IPA_4K), 0x04, 0);
    const mem = new L1Memory().set(ROOT + 8n, table(L1T)).set(L1T + 16n, table(L2T)).set(L2T + 24n, 0x4860_0000n | S2_DESC_AF);
    const r = walk(mem, VTCR_4K_48, ROOT, IPA_4K);
    expectFault(r, 0x06, 2);
    expect(r).toMatchObject({ desc: 0x4860_0000n | S2_DESC_AF });
    expectFault(walk(new L1Memory(), vtcr(25, 1, TG_4K), ROOT, 0x1000n), 0x05, 1);
  });

  it("treats a block encoding (bits[1:0] = 01) at level 3 as a translation fault", () => {
    const mem = fourLevel4k(block(0x4800_5000n));
    expectFault(walk(mem, VTCR_4K_48, ROOT, IPA_4K), 0x07, 3);
  });

  it("gives an access flag fault for AF = 0 (hardware AF update is never emulated)", () => {
    expectFault(walk(fourLevel4k(page(0x4800_5000n, RW)), VTCR_4K_48 | (1n << 21n), ROOT, IPA_4K), 0x0b, 3);
    const mem = new L1Memory().set(ROOT + 8n, table(L1T)).set(L1T + 16n, table(L2T)).set(L2T + 24n, block(0x4860_0000n, RW));
    expectFault(walk(mem, VTCR_4K_48, ROOT, IPA_4K), 0x0a, 2);
  });

  it("checks a misplaced block before the access flag", () => {
    const mem = new L1Memory().set(ROOT + 8n, block(0x0n, RW));
    expectFault(walk(mem, VTCR_4K_48, ROOT, IPA_4K), 0x04, 0);
  });

  it("aligns the output of a contiguous page to 16 pages without growing the block size", () => {
    const mem = fourLevel4k(page(0x4801_3000n) | S2_DESC_CONT);
    const ipa = ipa4k(1n, 2n, 3n, 4n, 0x345n); // IPA[15:0] = 0x4345: page 4 of its 16-page run
    const t = expectTrans(walk(mem, VTCR_4K_48, ROOT, ipa));
    expect(t.output).toBe(0x4801_4345n);
    expect(t.blockSize).toBe(0x1000n);
    // Without the contiguous bit the descriptor's own page address is used.
    const t2 = expectTrans(walk(fourLevel4k(page(0x4801_3000n)), VTCR_4K_48, ROOT, IPA_4K));
    expect(t2.output).toBe(0x4801_3abcn);
  });

  it("aligns the output of a contiguous 2M block to 32M", () => {
    const mem = new L1Memory()
      .set(ROOT + 8n, table(L1T))
      .set(L1T + 16n, table(L2T))
      .set(L2T + 24n, block(0x4860_0000n) | S2_DESC_CONT);
    const t = expectTrans(walk(mem, VTCR_4K_48, ROOT, IPA_4K));
    expect(t.output).toBe(0x4800_0000n | (IPA_4K & 0x1ff_ffffn));
    expect(t.blockSize).toBe(0x20_0000n);
  });

  it("decodes S2AP and XN into permissions", () => {
    const cases: [bigint, boolean, boolean, boolean][] = [
      [S2_DESC_AF, false, false, true],
      [S2_DESC_AF | S2_DESC_S2AP_R, true, false, true],
      [S2_DESC_AF | S2_DESC_S2AP_W, false, true, true],
      [S2_DESC_AF | RW | S2_DESC_XN, true, true, false],
      [S2_DESC_AF | S2_DESC_S2AP_R | (1n << 53n), true, false, true], // XN[0] alone: no FEAT_XNX
    ];
    for (const [attrs, r, w, x] of cases) {
      const t = expectTrans(walk(fourLevel4k(page(0x4800_5000n, attrs)), VTCR_4K_48, ROOT, IPA_4K));
      expect([t.readable, t.writable, t.executable]).toEqual([r, w, x]);
    }
  });

  it("byte-swaps descriptors when L1's stage-2 tables are big-endian", () => {
    const swap = (v: bigint): bigint => {
      let r = 0n;
      for (let i = 0; i < 8; i++) r = (r << 8n) | ((v >> BigInt(8 * i)) & 0xffn);
      return r;
    };
    const mem = new L1Memory()
      .set(ROOT + 8n, swap(table(L1T)))
      .set(L1T + 16n, swap(table(L2T)))
      .set(L2T + 24n, swap(table(L3T)))
      .set(L3T + 32n, swap(page(0x4800_5000n)));
    const t = expectTrans(walk(mem, VTCR_4K_48, ROOT, IPA_4K, true));
    expect(t.output).toBe(0x4800_5abcn);
    expect(t.desc).toBe(page(0x4800_5000n));
  });

  it("faults an IPA above the input size at level 0 without reading L1 memory", () => {
    const mem = new L1Memory().set(ROOT, block(0x4000_0000n));
    const r = walk(mem, vtcr(25, 1, TG_4K), ROOT, 1n << 39n);
    expectFault(r, 0x04, 0);
    expect(mem.reads).toEqual([]);
    expectFault(walk(mem, VTCR_4K_48, ROOT, 1n << 48n), 0x04, 0);
  });
});

describe("kvmWalkNestedS2: output size (VTCR_EL2.PS)", () => {
  it("faults a page above a 32-bit output size at level 3", () => {
    const mem = fourLevel4k(page(0x1_0000_0000n));
    expectFault(walk(mem, vtcr(16, 2, TG_4K, 0), ROOT, IPA_4K), 0x03, 3);
    expect(expectTrans(walk(mem, vtcr(16, 2, TG_4K, 1), ROOT, IPA_4K)).output).toBe(0x1_0000_0abcn);
  });

  it("faults a block above a 36-bit output size at its level, before the access flag", () => {
    const mem = new L1Memory()
      .set(ROOT + 8n, table(L1T))
      .set(L1T + 16n, table(L2T))
      .set(L2T + 24n, block(0x10_0000_0000n, RW));
    expectFault(walk(mem, vtcr(16, 2, TG_4K, 1), ROOT, IPA_4K), 0x02, 2);
    // With 40 bits the output fits and the missing AF is what faults.
    expectFault(walk(mem, vtcr(16, 2, TG_4K, 2), ROOT, IPA_4K), 0x0a, 2);
  });

  it("faults a next-level table above the output size at the table descriptor's level", () => {
    const mem = new L1Memory().set(ROOT + 8n, table(L1T)).set(L1T + 16n, table(0x1_0000_0000n));
    expectFault(walk(mem, vtcr(16, 2, TG_4K, 0), ROOT, IPA_4K), 0x01, 1);
  });

  it("faults a start table base above the output size at the start level, before any read", () => {
    const mem = new L1Memory();
    expectFault(walk(mem, vtcr(25, 1, TG_4K, 0), 0x1_0000_0000n, 0x1000n), 0x01, 1);
    expect(mem.reads).toEqual([]);
  });

  it("treats PS = 5, 6 and 7 as 48 bits and ignores upper attribute bits", () => {
    const leaf = page(0xffff_ffff_f000n) | (0xfn << 55n) | S2_DESC_XN;
    const mem = new L1Memory().set(ROOT + 8n, table(L1T)).set(L1T + 16n, table(L2T)).set(L2T + 24n, table(L3T)).set(L3T + 32n, leaf);
    for (const ps of [5, 6, 7]) {
      expect(expectTrans(walk(mem, vtcr(16, 2, TG_4K, ps), ROOT, IPA_4K)).output).toBe(0xffff_ffff_fabcn);
    }
    const low = new L1Memory().set(ROOT + 8n, table(L1T)).set(L1T + 16n, table(L2T)).set(L2T + 24n, table(L3T));
    low.set(L3T + 32n, page(0x4800_5000n) | (0xfn << 55n) | S2_DESC_XN);
    expect(expectTrans(walk(low, vtcr(16, 2, TG_4K, 0), ROOT, IPA_4K)).output).toBe(0x4800_5abcn);
  });
});

describe("kvmWalkNestedS2: 16K granule", () => {
  const ipa16k = (l1: bigint, l2: bigint, l3: bigint, off: bigint): bigint => (l1 << 36n) | (l2 << 25n) | (l3 << 14n) | off;

  it("walks from start level 2 (36-bit input) to a 16K page", () => {
    const mem = new L1Memory().set(ROOT + 7n * 8n, table(0x4000_4000n)).set(0x4000_4000n + 9n * 8n, page(0x4800_c000n));
    const t = expectTrans(walk(mem, vtcr(28, 1, TG_16K), ROOT, ipa16k(0n, 7n, 9n, 0x3abcn)));
    expect(t.output).toBe(0x4800_fabcn);
    expect(t.blockSize).toBe(0x4000n);
    expect(t.level).toBe(3);
  });

  it("translates a 32M block at level 2", () => {
    const mem = new L1Memory().set(ROOT + 7n * 8n, block(0x4a00_0000n));
    const t = expectTrans(walk(mem, vtcr(28, 1, TG_16K), ROOT, ipa16k(0n, 7n, 9n, 0x3abcn)));
    expect(t.output).toBe(0x4a00_0000n | (9n << 14n) | 0x3abcn);
    expect(t.blockSize).toBe(1n << 25n);
    expect(t.level).toBe(2);
  });

  it("starts at level 1 with two concatenated tables for a 48-bit input, and rejects level-1 blocks", () => {
    const root = 0x4000_8000n; // 4096 entries: 32K
    const ipa = ipa16k(0x801n, 2n, 3n, 0x10n);
    const mem = new L1Memory()
      .set(root + 0x801n * 8n, table(0x4001_0000n))
      .set(0x4001_0000n + 2n * 8n, table(0x4001_4000n))
      .set(0x4001_4000n + 3n * 8n, page(0x4802_0000n));
    const t = expectTrans(walk(mem, vtcr(16, 2, TG_16K), root, ipa));
    expect(mem.reads[0]).toBe(0x4000_c008n);
    expect(t.output).toBe(0x4802_0010n);
    mem.set(root + 0x801n * 8n, block(0x0n));
    expectFault(walk(mem, vtcr(16, 2, TG_16K), root, ipa), 0x05, 1);
  });

  it("aligns contiguous outputs to 2M at level 3 and 1G at level 2", () => {
    const ipa = ipa16k(0n, 7n, 9n, 0x3abcn);
    const mem = new L1Memory().set(ROOT + 7n * 8n, table(0x4000_4000n)).set(0x4000_4000n + 9n * 8n, page(0x4812_4000n) | S2_DESC_CONT);
    const t = expectTrans(walk(mem, vtcr(28, 1, TG_16K), ROOT, ipa));
    expect(t.output).toBe(0x4800_0000n | (ipa & 0x1f_ffffn));
    expect(t.blockSize).toBe(0x4000n);
    mem.set(ROOT + 7n * 8n, block(0x4a00_0000n) | S2_DESC_CONT);
    const b = expectTrans(walk(mem, vtcr(28, 1, TG_16K), ROOT, ipa));
    expect(b.output).toBe(0x4000_0000n | (ipa & 0x3fff_ffffn));
    expect(b.blockSize).toBe(1n << 25n);
  });

  it("refuses start level 0, and level 1 with an input of 40 bits or less", () => {
    expectWalkerError(walk(new L1Memory(), vtcr(16, 3, TG_16K), ROOT, 0n), /SL0=3/);
    expectWalkerError(walk(new L1Memory(), vtcr(24, 2, TG_16K), ROOT, 0n), /start level 1/);
  });
});

describe("kvmWalkNestedS2: 64K granule", () => {
  const ipa64k = (l2: bigint, l3: bigint, off: bigint): bigint => (l2 << 29n) | (l3 << 16n) | off;
  const root = 0x4001_0000n;

  for (const [name, tg] of [["TG0=01", TG_64K], ["IMPDEF TG0=11", TG_IMPDEF]] as const) {
    it(`walks from start level 2 (42-bit input) to a 64K page (${name})`, () => {
      const mem = new L1Memory().set(root + 0x1001n * 8n, table(0x4002_0000n)).set(0x4002_0000n + 5n * 8n, page(0x4805_0000n));
      const t = expectTrans(walk(mem, vtcr(22, 1, tg), root, ipa64k(0x1001n, 5n, 0xbeefn)));
      expect(t.output).toBe(0x4805_beefn);
      expect(t.blockSize).toBe(0x1_0000n);
      expect(t.level).toBe(3);
    });
  }

  it("translates a 512M block at level 2 and aligns a contiguous page to 2M", () => {
    const ipa = ipa64k(0x1001n, 5n, 0xbeefn);
    const mem = new L1Memory().set(root + 0x1001n * 8n, block(0x2000_0000n));
    const t = expectTrans(walk(mem, vtcr(22, 1, TG_64K), root, ipa));
    expect(t.output).toBe(0x2000_0000n | (5n << 16n) | 0xbeefn);
    expect(t.blockSize).toBe(1n << 29n);
    mem.set(root + 0x1001n * 8n, table(0x4002_0000n)).set(0x4002_0000n + 5n * 8n, page(0x4805_0000n) | S2_DESC_CONT);
    const c = expectTrans(walk(mem, vtcr(22, 1, TG_64K), root, ipa));
    expect(c.output).toBe(0x4800_0000n | (5n << 16n) | 0xbeefn);
    expect(c.blockSize).toBe(0x1_0000n);
  });

  it("starts at level 1 for a 48-bit input and rejects level-1 blocks", () => {
    const ipa = (3n << 42n) | ipa64k(1n, 2n, 0x42n);
    const mem = new L1Memory()
      .set(root + 3n * 8n, table(0x4002_0000n))
      .set(0x4002_0000n + 8n, table(0x4003_0000n))
      .set(0x4003_0000n + 16n, page(0x4806_0000n));
    expect(expectTrans(walk(mem, vtcr(16, 2, TG_64K), root, ipa)).output).toBe(0x4806_0042n);
    mem.set(root + 3n * 8n, block(0x0n));
    expectFault(walk(mem, vtcr(16, 2, TG_64K), root, ipa), 0x05, 1);
  });

  it("starts at level 3 for a 25-bit input", () => {
    const mem = new L1Memory().set(root + 0x1an * 8n, page(0x4807_0000n));
    const t = expectTrans(walk(mem, vtcr(39, 0, TG_64K), root, (0x1an << 16n) | 0x1234n));
    expect(t.output).toBe(0x4807_1234n);
    expect(t.level).toBe(3);
    expect(mem.reads).toEqual([root + 0x1an * 8n]);
  });

  it("refuses start level 0, and level 1 with an input of 42 bits or less", () => {
    expectWalkerError(walk(new L1Memory(), vtcr(16, 3, TG_64K), root, 0n), /start level 0/);
    expectWalkerError(walk(new L1Memory(), vtcr(22, 2, TG_64K), root, 0n), /start level 1/);
  });
});

describe("kvmWalkNestedS2: walker errors", () => {
  it("refuses T0SZ outside 25..48 bits of input", () => {
    expectWalkerError(walk(new L1Memory(), vtcr(15, 2, TG_4K), ROOT, 0n), /T0SZ=15/);
    expectWalkerError(walk(new L1Memory(), vtcr(40, 0, TG_4K), ROOT, 0n), /T0SZ=40/);
    // The limits themselves are accepted: T0SZ=39 (25 bits) and T0SZ=16 (48 bits) walk normally.
    expectFault(walk(new L1Memory(), vtcr(39, 0, TG_64K), 0x4001_0000n, 0n), 0x07, 3);
    expectFault(walk(new L1Memory(), vtcr(16, 2, TG_4K), ROOT, 0n), 0x04, 0);
  });

  it("refuses invalid 4K start levels", () => {
    expectWalkerError(walk(new L1Memory(), vtcr(16, 3, TG_4K), ROOT, 0n), /start level -1/); // 2 - SL0 < 0
    expectWalkerError(walk(new L1Memory(), vtcr(22, 2, TG_4K), ROOT, 0n), /start level 0/); // level 0, ia = 42
    expectWalkerError(walk(new L1Memory(), vtcr(16, 1, TG_4K), ROOT, 0n), /resolves 18 bits/); // 17 tables
    expectWalkerError(walk(new L1Memory(), vtcr(34, 1, TG_4K), ROOT, 0n), /resolves 0 bits/); // ia 30 at level 1
  });

  it("accepts up to 16 concatenated start tables", () => {
    // 4K, ia = 43 from level 1: 13 bits = 16 tables.
    const root = 0x4001_0000n;
    const mem = new L1Memory().set(root + 0x1fffn * 8n, block(0x4000_0000n));
    const t = expectTrans(walk(mem, vtcr(21, 1, TG_4K), root, (0x1fffn << 30n) | 0x55n));
    expect(t.output).toBe(0x4000_0055n);
    expect(mem.reads).toEqual([0x4001_fff8n]);
  });

  it("reports a descriptor read outside L1 memory", () => {
    const r = walk(new L1Memory(), VTCR_4K_48, 0x3000_0000n, IPA_4K);
    expectWalkerError(r, /^descriptor outside L1 memory$/);
    expect(r).toMatchObject({ address: 0x3000_0008n });
    const mem = new L1Memory().set(ROOT + 8n, table(L1T)).set(L1T + 16n, table(0x6000_0000n));
    expect(walk(mem, VTCR_4K_48, ROOT, IPA_4K)).toMatchObject({ walkerError: "descriptor outside L1 memory", address: 0x6000_0018n });
  });
});
