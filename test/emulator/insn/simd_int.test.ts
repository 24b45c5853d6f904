// Advanced SIMD integer instructions on hand-worked values: saturation and FPSR.QC (set only when
// a lane clamps, and sticky), rounding in the rounding shifts and the doubling high multiplies,
// narrowing with saturation, and the "2" forms that write the upper half.

import { beforeAll, describe, expect, it } from "vitest";
import { ksAssemble, loadKeystoneEngine } from "../../../asm/keystone.ts";
import { Cpu } from "../../../emulator/cpu.ts";
import { PhysMemory } from "../../../emulator/memory.ts";
import { expectUndefined } from "./undefined.ts";

const CODE = 0x80000n;
const QC = 1 << 27;

beforeAll(async () => {
  await loadKeystoneEngine();
});

function word(text: string): number {
  const r = ksAssemble(text, 0n);
  if (!r.ok) throw new Error(`cannot assemble ${text}`);
  return new DataView(r.bytes.buffer, r.bytes.byteOffset).getUint32(0, true);
}

/** Run `lines` from V registers `v` (and FPSR `fpsr`); the final V registers and FPSR. */
function run(lines: string[], v: Record<number, bigint>, fpsr = 0): { v: (n: number) => bigint; fpsr: number } {
  const mem = new PhysMemory({ autoAllocate: true });
  const cpu = new Cpu(mem, { stopOnBrk: true, stopOnUnvectoredEl1: true });
  const words = new Uint32Array([...lines.map(word), 0xd4200000]);
  mem.writeBytes(Number(CODE), new Uint8Array(words.buffer));
  cpu.resetTo(CODE);
  cpu.writeSysReg("CPACR_EL1", 3n << 20n);
  for (const [n, val] of Object.entries(v)) cpu.setV(Number(n), val);
  cpu.fpsr = fpsr;
  const stop = cpu.run(lines.length + 1);
  expect(stop.kind).toBe("brk");
  return { v: (n) => cpu.getV(n), fpsr: cpu.fpsr };
}

describe("saturating arithmetic and FPSR.QC", () => {
  it("SQADD clamps both ways and sets QC only when a lane clamps", () => {
    const r = run(["sqadd v0.16b, v1.16b, v2.16b"], { 1: 0x0380_7fn, 2: 0x01ff_01n });
    expect(r.v(0)).toBe(0x0480_7fn); // 0x7f+1 -> 0x7f, -128 + -1 -> -128, 3+1 = 4
    expect(r.fpsr).toBe(QC);
    expect(run(["sqadd v0.16b, v1.16b, v2.16b"], { 1: 0x03n, 2: 0x01n }).fpsr).toBe(0);
  });

  it("QC is sticky: an instruction that does not clamp leaves it set", () => {
    expect(run(["uqadd v0.8h, v1.8h, v2.8h"], { 1: 1n, 2: 2n }, QC).fpsr).toBe(QC);
  });

  it("UQSUB and scalar UQADD clamp at 0 and at all ones", () => {
    const r = run(["uqsub v0.4s, v1.4s, v2.4s", "uqadd d3, d4, d5"], { 1: 5n, 2: 7n, 4: (1n << 64n) - 2n, 5: 3n });
    expect(r.v(0)).toBe(0n);
    expect(r.v(3)).toBe((1n << 64n) - 1n);
    expect(r.fpsr).toBe(QC);
  });

  it("SQABS and SQNEG saturate the most negative value", () => {
    const r = run(["sqabs v0.8b, v1.8b", "sqneg v2.8b, v1.8b", "abs v3.8b, v1.8b"], { 1: 0x05_80n });
    expect(r.v(0)).toBe(0x05_7fn);
    expect(r.v(2)).toBe(0xfb_7fn);
    expect(r.v(3)).toBe(0x05_80n); // ABS wraps
    expect(r.fpsr).toBe(QC);
  });

  it("SQDMULH saturates only -1 * -1; SQRDMULH rounds the high half", () => {
    const r = run(["sqdmulh v0.4h, v1.4h, v2.4h", "sqrdmulh v3.4h, v1.4h, v2.4h"], { 1: 0x0001_8000n, 2: 0x4000_8000n });
    expect(r.v(0)).toBe(0x0000_7fffn); // 2 * 1 * 0x4000 = 0x8000: high half 0
    expect(r.v(3)).toBe(0x0001_7fffn); // ... + 0x8000 rounds up to 1
    expect(r.fpsr).toBe(QC);
  });

  it("SQDMLAL saturates the doubled product and then the accumulation", () => {
    const min = 0x8000_0000n;
    const r = run(["sqdmlal v0.2d, v1.2s, v2.2s"], { 0: 5n, 1: min, 2: min });
    expect(r.v(0) & ((1n << 64n) - 1n)).toBe((1n << 63n) - 1n);
    expect(r.fpsr).toBe(QC);
  });

  it("SQXTUN clamps negative lanes to 0, SQXTN2 writes the upper half and keeps the lower", () => {
    const r = run(["sqxtun v0.8b, v1.8h", "sqxtn2 v2.16b, v1.8h"], { 1: 0x0100_ffffn, 2: 0x1122n });
    expect(r.v(0)).toBe(0xff_00n);
    expect(r.v(2)).toBe((0x7f_ffn << 64n) | 0x1122n);
    expect(r.fpsr).toBe(QC);
  });
});

describe("rounding and saturating shifts", () => {
  it("SRSHR rounds half up: -1 >> 1 is 0, -3 >> 1 is -1, 3 >> 1 is 2", () => {
    const r = run(["srshr v0.16b, v1.16b, #1", "sshr v2.16b, v1.16b, #1"], { 1: 0xfd_03_01_ffn });
    expect(r.v(0)).toBe(0xff_02_01_00n);
    expect(r.v(2)).toBe(0xfe_01_00_ffn);
    expect(r.fpsr).toBe(0);
  });

  it("URSHL shifts right for a negative count, rounding", () => {
    const r = run(["urshl v0.8b, v1.8b, v2.8b"], { 1: 0xff_03n, 2: 0xff_ffn });
    expect(r.v(0)).toBe(0x80_02n);
  });

  it("SQSHL and UQSHL by register saturate left shifts", () => {
    const r = run(["sqshl v0.8b, v1.8b, v2.8b", "uqshl v3.8b, v4.8b, v2.8b"], { 1: 0x20_40n, 2: 0x01_01n, 4: 0x7f_80n });
    expect(r.v(0)).toBe(0x40_7fn);
    expect(r.v(3)).toBe(0xfe_ffn);
    expect(r.fpsr).toBe(QC);
  });

  it("SQRSHRN rounds before it saturates", () => {
    const r = run(["sqrshrn v0.8b, v1.8h, #4", "sqshrn v2.8b, v1.8h, #4"], { 1: 0x0017_07f8n });
    expect(r.v(0)).toBe(0x01_7fn); // (2040 + 8) >> 4 = 128 clamps; (23 + 8) >> 4 = 1
    expect(r.v(2)).toBe(0x01_7fn); // 2040 >> 4 = 127 fits; 23 >> 4 = 1
    expect(run(["sqshrn v2.8b, v1.8h, #4"], { 1: 0x07f8n }).fpsr).toBe(0);
  });

  it("SQSHLU saturates negative lanes to 0", () => {
    const r = run(["sqshlu v0.8b, v1.8b, #1"], { 1: 0x7f_ff_10n });
    expect(r.v(0)).toBe(0xfe_00_20n);
    expect(r.fpsr).toBe(QC);
  });

  it("USRA accumulates, SRI and SLI keep the destination's other bits", () => {
    const r = run(["usra d0, d1, #4", "sri v2.8b, v3.8b, #4", "sli v4.8b, v3.8b, #4"], { 0: 1n, 1: 0x30n, 3: 0xabn, 2: 0xc0n, 4: 0x0dn });
    expect(r.v(0)).toBe(4n);
    expect(r.v(2)).toBe(0xcan);
    expect(r.v(4)).toBe(0xbdn);
  });
});

describe("permutes", () => {
  it("TBL gives 0 for out-of-range indices, TBX keeps the destination byte", () => {
    const r = run(["tbl v0.8b, {v1.16b, v2.16b}, v3.8b", "tbx v4.8b, {v1.16b}, v3.8b"], {
      1: 0x0f0e0d0c0b0a09080706050403020100n,
      2: 0x1f1e1d1c1b1a19181716151413121110n,
      3: 0x40_1f_10_00n,
      4: 0xaa_bb_cc_ddn,
    });
    expect(r.v(0)).toBe(0x00_1f_10_00n);
    expect(r.v(4)).toBe(0xaa_bb_cc_00n);
  });

  it("ZIP1/UZP2/TRN1 and EXT", () => {
    const r = run(["zip1 v0.8b, v1.8b, v2.8b", "uzp2 v3.8b, v1.8b, v2.8b", "trn1 v4.8b, v1.8b, v2.8b", "ext v5.8b, v1.8b, v2.8b, #3"], {
      1: 0x0706050403020100n,
      2: 0x1716151413121110n,
    });
    expect(r.v(0)).toBe(0x1303120211011000n);
    expect(r.v(3)).toBe(0x1715131107050301n);
    expect(r.v(4)).toBe(0x1606140412021000n);
    expect(r.v(5)).toBe(0x1211100706050403n);
  });
});

describe("long, wide, narrow and by-element forms", () => {
  it("SMULL2 reads the upper halves, UADDW widens only the second operand, ADDHN2 fills the upper half", () => {
    const r = run(["smull2 v0.4s, v1.8h, v2.8h", "uaddw v3.4s, v4.4s, v2.4h", "addhn2 v5.8h, v4.4s, v4.4s"], {
      1: 0xfffen << 64n,
      2: (0x0003n << 64n) | 0xffffn,
      4: 0x0001_8000n,
      5: 0x42n,
    });
    expect(r.v(0)).toBe(0xfffffffan); // -2 * 3
    expect(r.v(3)).toBe(0x0002_7fffn); // 0x18000 + 0xffff
    expect(r.v(5)).toBe((0x3n << 64n) | 0x42n); // (0x18000 * 2) >> 16 = 3
  });

  it("MLA by element uses one lane of Vm for every lane", () => {
    const r = run(["mla v0.4s, v1.4s, v2.s[3]"], { 0: (1n << 32n) | 1n, 1: (3n << 32n) | 2n, 2: 10n << 96n });
    expect(r.v(0)).toBe((31n << 32n) | 21n);
  });
});

describe("unallocated Advanced SIMD integer encodings are UNDEFINED", () => {
  const size = (w: number, s: number): number => ((w & ~(3 << 22)) | (s << 22)) >>> 0;
  const cases: [string, () => number][] = [
    ["MUL with 64-bit lanes", () => size(word("mul v0.4s, v1.4s, v2.4s"), 3)],
    ["PMUL on halfwords", () => size(word("pmul v0.16b, v1.16b, v2.16b"), 1)],
    ["SQDMULH on bytes", () => size(word("sqdmulh v0.8h, v1.8h, v2.8h"), 0)],
    ["CMEQ .1d (64-bit lanes without Q)", () => word("cmeq v0.2d, v1.2d, v2.2d") & ~(1 << 30)],
    ["EXT of 8 bytes from index 8", () => (word("ext v0.8b, v1.8b, v2.8b, #0") | (8 << 11)) >>> 0],
    ["SMULL by element on bytes", () => size(word("smull v0.4s, v1.4h, v2.h[0]"), 0)],
    ["XTN from 128-bit lanes", () => size(word("xtn v0.8b, v1.8h"), 3)],
    ["SHRN from 128-bit lanes", () => (word("shrn v0.8b, v1.8h, #1") | (1 << 22)) >>> 0],
    ["scalar SSRA on a byte", () => ((word("ssra d0, d1, #1") & ~(0x7f << 16)) | (0x0f << 16)) >>> 0],
    ["scalar ABS on a byte", () => size(word("abs d0, d1"), 0)],
    ["REV32 on words", () => size(word("rev32 v0.16b, v1.16b"), 2)],
  ];
  it.each(cases)("%s", async (_name, w) => {
    await expectUndefined(w());
  });
});

describe("unsigned estimates", () => {
  it("URECPE and URSQRTE give 9-bit estimates at the ends of their ranges, all ones below them", () => {
    const r = run(["urecpe v0.4s, v1.4s", "ursqrte v2.4s, v1.4s"], {
      1: (0xffffffffn << 96n) | (0x40000000n << 64n) | (0x80000000n << 32n) | 0x7fffffffn,
    });
    // 1/0.5 ~ 511/256 and 1/(1 - 2^-9) ~ 256/256; 1/sqrt(0.25) ~ 511/256, 1/sqrt(0.5) ~ 361/256 from above the half, 362/256 from below.
    expect(r.v(0)).toBe((0x80000000n << 96n) | (0xffffffffn << 64n) | (0xff800000n << 32n) | 0xffffffffn);
    expect(r.v(2)).toBe((0x80000000n << 96n) | (0xff800000n << 64n) | (0xb4800000n << 32n) | 0xb5000000n);
  });
});
