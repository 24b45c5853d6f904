// Advanced SIMD structure loads and stores: interleaving, register wrap-around, lanes, replicate,
// the three addressing forms, reserved encodings, faults part-way (no base writeback) and
// assembler/disassembler agreement on a sample of every row.

import { beforeAll, describe, expect, it } from "vitest";
import { assemble } from "../../../asm/assembler.ts";
import { disassemble, loadDisassembler } from "../../../asm/disassembler.ts";
import type { Cpu } from "../../../emulator/cpu.ts";
import { EC, ecOf } from "../../../emulator/exception.ts";
import type { PhysMemory } from "../../../emulator/memory.ts";
import { SIMD_LDST_TABLE } from "../../../emulator/insn/simd_ldst.ts";
import { rawAssemble, runAsm } from "../../helpers/machine.ts";
import { expectUndefined } from "./undefined.ts";

const DATA = 0x10000n;
const bytes = (n: number, from = 0): number[] => Array.from({ length: n }, (_, i) => (from + i) & 0xff);

/** FP enabled, X1 = DATA, memory at DATA = 0, 1, 2, ... */
function setup(extra?: (cpu: Cpu, mem: PhysMemory) => void) {
  return (cpu: Cpu, mem: PhysMemory): void => {
    cpu.writeSysReg("CPACR_EL1", 3n << 20n);
    cpu.setX(1, DATA);
    mem.writeBytes(Number(DATA), new Uint8Array(bytes(256)));
    extra?.(cpu, mem);
  };
}

/** A 128-bit value from its bytes, least significant first. */
const vOf = (b: number[]): bigint => b.reduceRight((acc, x) => (acc << 8n) | BigInt(x), 0n);

describe("multiple structures", () => {
  it("LD4 .16b de-interleaves 64 bytes and ST4 interleaves them back, post-indexed by 64", async () => {
    const { cpu, mem, stop } = await runAsm(`ld4 {v0.16b-v3.16b}, [x1], #64\n st4 {v0.16b-v3.16b}, [x1]\n brk #0`, { setup: setup() });
    expect(stop.kind).toBe("brk");
    for (let r = 0; r < 4; r++) expect(cpu.getV(r)).toBe(vOf(Array.from({ length: 16 }, (_, e) => 4 * e + r)));
    expect(cpu.getX(1)).toBe(DATA + 64n);
    expect([...mem.readBytes(Number(DATA) + 64, 64)]).toEqual(bytes(64));
  });

  it("LD3 .4h clears the upper halves; LD2 .2d pairs doublewords", async () => {
    const { cpu } = await runAsm(`ld3 {v4.4h, v5.4h, v6.4h}, [x1]\n ld2 {v7.2d, v8.2d}, [x1]\n brk #0`, {
      setup: setup((c) => [4, 5, 6].forEach((n) => c.setV(n, (1n << 128n) - 1n))),
    });
    // Halfword k of the buffer is (2k+1)<<8 | 2k; v4 gets halfwords 0, 3, 6, 9.
    const h = (k: number): number[] => [2 * k, 2 * k + 1];
    expect(cpu.getV(4)).toBe(vOf([0, 3, 6, 9].flatMap(h)));
    expect(cpu.getV(6)).toBe(vOf([2, 5, 8, 11].flatMap(h)));
    expect(cpu.getV(7)).toBe(vOf([...bytes(8), ...bytes(8, 16)]));
    expect(cpu.getV(8)).toBe(vOf([...bytes(8, 8), ...bytes(8, 24)]));
  });

  it("LD1 with four registers wraps from V31 to V0 and post-indexes by X2", async () => {
    const { cpu } = await runAsm(`ld1 {v30.2d, v31.2d, v0.2d, v1.2d}, [x1], x2\n brk #0`, { setup: setup((c) => c.setX(2, -0x30n)) });
    expect(cpu.getV(30)).toBe(vOf(bytes(16)));
    expect(cpu.getV(31)).toBe(vOf(bytes(16, 16)));
    expect(cpu.getV(0)).toBe(vOf(bytes(16, 32)));
    expect(cpu.getV(1)).toBe(vOf(bytes(16, 48)));
    expect(cpu.getX(1)).toBe(DATA - 0x30n);
  });

  it("ST1 .1d with three registers stores three doublewords", async () => {
    const { mem, cpu } = await runAsm(`st1 {v2.1d, v3.1d, v4.1d}, [x1], #24\n brk #0`, {
      setup: setup((c) => [2, 3, 4].forEach((n) => c.setV(n, vOf(bytes(16, 0x80 + 16 * n))))),
    });
    expect([...mem.readBytes(Number(DATA), 24)]).toEqual([...bytes(8, 0xa0), ...bytes(8, 0xb0), ...bytes(8, 0xc0)]);
    expect(cpu.getX(1)).toBe(DATA + 24n);
  });

  it("LD2/LD3/LD4 of .1d are reserved (UNDEFINED)", async () => {
    await expectUndefined(0x0c408c20); // ld2 {v0.1d, v1.1d}, [x1]
    await expectUndefined(0x0c404c20); // ld3 .1d
    await expectUndefined(0x0c000c20); // st4 .1d
  });
});

describe("single structures", () => {
  it("LD1 to lane 15 of .b keeps every other byte, also above bit 63", async () => {
    const { cpu } = await runAsm(`ld1 {v0.b}[15], [x1]\n brk #0`, { setup: setup((c, m) => (c.setV(0, (1n << 128n) - 1n), m.writeBytes(Number(DATA), new Uint8Array([0x5a])))) });
    expect(cpu.getV(0)).toBe((1n << 128n) - 1n - (0xa5n << 120n));
  });

  it("LD4 to lane 1 of .s, post-indexed by 16; ST3 from lane 3 of .h", async () => {
    const { cpu, mem } = await runAsm(`ld4 {v31.s, v0.s, v1.s, v2.s}[1], [x1], #16\n st3 {v3.h, v4.h, v5.h}[3], [x1]\n brk #0`, {
      setup: setup((c) => [3, 4, 5].forEach((n) => c.setV(n, BigInt(0x1111 * n) << 48n))),
    });
    expect(cpu.getV(31)).toBe(vOf([0, 0, 0, 0, ...bytes(4)]));
    expect(cpu.getV(2)).toBe(vOf([0, 0, 0, 0, ...bytes(4, 12)]));
    expect(cpu.getX(1)).toBe(DATA + 16n);
    expect([...mem.readBytes(Number(DATA) + 16, 6)]).toEqual([0x33, 0x33, 0x44, 0x44, 0x55, 0x55]);
  });

  it("LD2 to lane 1 of .d reads two doublewords into the upper halves", async () => {
    const { cpu } = await runAsm(`ld2 {v6.d, v7.d}[1], [x1]\n brk #0`, { setup: setup() });
    expect(cpu.getV(6) >> 64n).toBe(vOf(bytes(8)));
    expect(cpu.getV(7) >> 64n).toBe(vOf(bytes(8, 8)));
  });
});

describe("replicate", () => {
  it("LD1R .4h fills the low half and clears the upper; LD3R .2d fills both halves", async () => {
    const { cpu } = await runAsm(`ld1r {v0.4h}, [x1]\n ld3r {v1.2d, v2.2d, v3.2d}, [x1], x2\n brk #0`, {
      setup: setup((c) => (c.setV(0, (1n << 128n) - 1n), c.setX(2, 8n))),
    });
    expect(cpu.getV(0)).toBe(0x0100010001000100n);
    const d = (k: number): bigint => vOf(bytes(8, 8 * k));
    expect(cpu.getV(1)).toBe((d(0) << 64n) | d(0));
    expect(cpu.getV(3)).toBe((d(2) << 64n) | d(2));
    expect(cpu.getX(1)).toBe(DATA + 8n);
  });

  it("LD4R .16b, post-indexed by 4", async () => {
    const { cpu } = await runAsm(`ld4r {v0.16b-v3.16b}, [x1], #4\n brk #0`, { setup: setup() });
    for (let r = 0; r < 4; r++) expect(cpu.getV(r)).toBe(vOf(Array<number>(16).fill(r)));
    expect(cpu.getX(1)).toBe(DATA + 4n);
  });
});

describe("faults", () => {
  it("an element misaligned in Device memory (MMU off) takes an alignment fault, without writeback", async () => {
    const { cpu, stop } = await runAsm(`ld1 {v0.4s}, [x1], #16\n brk #0`, { setup: setup((c) => c.setX(1, DATA + 2n)) });
    expect(stop.kind).toBe("el1-exception");
    if (stop.kind !== "el1-exception") return;
    expect(ecOf(stop.esr)).toBe(EC.DABT_CUR);
    expect(Number(stop.esr & 0x3fn)).toBe(0x21);
    expect(cpu.getX(1)).toBe(DATA + 2n);
  });

  it("byte elements need no alignment: LD1 .16b at an odd address", async () => {
    const { cpu, stop } = await runAsm(`ld1 {v0.16b}, [x1]\n brk #0`, { setup: setup((c) => c.setX(1, DATA + 3n)) });
    expect(stop.kind).toBe("brk");
    expect(cpu.getV(0)).toBe(vOf(bytes(16, 3)));
  });

  it("alignment is per element: LD1 .4s at a 4- (not 16-) byte aligned address in Device memory", async () => {
    const { cpu, stop } = await runAsm(`ld1 {v0.4s, v1.4s}, [x1]\n brk #0`, { setup: setup((c) => c.setX(1, DATA + 4n)) });
    expect(stop.kind).toBe("brk");
    expect(cpu.getV(1)).toBe(vOf(bytes(16, 20)));
  });

  it("SP as a misaligned base with SCTLR_EL1.SA takes an SP alignment fault", async () => {
    const { stop } = await runAsm(`mov sp, x1\n ld1r {v0.8b}, [sp]\n brk #0`, {
      setup: setup((c) => {
        c.setX(1, DATA + 8n);
        c.sr.SCTLR_EL1 |= 8n;
      }),
    });
    expect(stop.kind).toBe("el1-exception");
    if (stop.kind === "el1-exception") expect(ecOf(stop.esr)).toBe(EC.SP_ALIGN);
  });

  it("a fault on the second register's elements leaves the base register unwritten", async () => {
    const top = (1n << 48n) - 16n; // beyond the last element the PA range ends: an address size fault
    const { cpu, stop } = await runAsm(`ld1 {v0.16b, v1.16b}, [x1], #32\n brk #0`, { setup: setup((c) => c.setX(1, top)) });
    expect(stop.kind).toBe("el1-exception");
    if (stop.kind !== "el1-exception") return;
    expect(ecOf(stop.esr)).toBe(EC.DABT_CUR);
    expect(stop.far).toBe(1n << 48n);
    expect(cpu.getX(1)).toBe(top);
  });

  it("a stage-2 fault on the second register: no valid ISV, FAR of the faulting element, no writeback", async () => {
    const S2_ROOT = 0x20_0000;
    const unmapped = 0x4000_0000n; // IPA [0, 1 GiB) mapped by one level-1 block, the next GiB not
    const { cpu, stop, mem } = await runAsm(`st1 {v0.16b, v1.16b}, [x9], #32\n brk #0`, {
      setup: setup((c, m) => {
        m.write(S2_ROOT, 8, 1n | (0xfn << 2n) | (3n << 6n) | (3n << 8n) | (1n << 10n));
        c.writeSysReg("VTCR_EL2", 25n | (1n << 6n) | (2n << 16n));
        c.writeSysReg("VTTBR_EL2", BigInt(S2_ROOT));
        c.writeSysReg("HCR_EL2", c.sr.HCR_EL2 | 1n);
        c.setX(9, unmapped - 16n);
        c.setV(0, vOf(bytes(16, 0x40)));
      }),
    });
    expect(stop.kind).toBe("exit");
    if (stop.kind !== "exit") return;
    expect(ecOf(stop.exit.esr)).toBe(EC.DABT_LOW);
    expect(Number(stop.exit.esr & 0x1ffffffn)).toBe((1 << 6) | 0x05); // WnR, translation fault level 1; ISV = 0
    expect(stop.exit.far).toBe(unmapped);
    expect(cpu.getX(9)).toBe(unmapped - 16n);
    // The first register's elements were stored before the fault (the Arm ARM allows either).
    expect([...mem.readBytes(Number(unmapped) - 16, 16)]).toEqual(bytes(16, 0x40));
  });

  it("FPEN = 00 traps before any access", async () => {
    const { stop } = await runAsm(`st1 {v0.16b}, [x1]\n brk #0`, { setup: (c) => c.setX(1, DATA) });
    expect(stop.kind).toBe("el1-exception");
    if (stop.kind === "el1-exception") expect(ecOf(stop.esr)).toBe(EC.FP_ACCESS);
  });
});

describe("assembler and disassembler", () => {
  beforeAll(loadDisassembler);

  const samples = [
    "ld1 {v0.8b}, [x1]", "ld1 {v0.16b, v1.16b}, [x1], #32", "ld1 {v2.4h, v3.4h, v4.4h}, [sp]", "ld1 {v28.2s, v29.2s, v30.2s, v31.2s}, [x2], x3",
    "st1 {v0.1d}, [x1], #8", "st1 {v0.8h, v1.8h}, [x1]", "st1 {v5.4s, v6.4s, v7.4s}, [x4], x5", "st1 {v0.2d, v1.2d, v2.2d, v3.2d}, [x1], #64",
    "ld2 {v0.8h, v1.8h}, [x1], #32", "st2 {v0.2s, v1.2s}, [x1]", "ld3 {v0.16b, v1.16b, v2.16b}, [x1]", "st3 {v0.2d, v1.2d, v2.2d}, [x1], x9",
    "ld4 {v0.4s, v1.4s, v2.4s, v3.4s}, [x1], #64", "st4 {v0.8b, v1.8b, v2.8b, v3.8b}, [x1]",
    "ld1 {v0.b}[15], [x1]", "ld2 {v0.h, v1.h}[7], [x1], #4", "ld3 {v0.s, v1.s, v2.s}[3], [x1], x2", "ld4 {v0.d, v1.d, v2.d, v3.d}[1], [x1]",
    "st1 {v0.d}[0], [x1], #8", "st2 {v0.b, v1.b}[9], [x1]", "st3 {v0.h, v1.h, v2.h}[2], [x1], #6", "st4 {v0.s, v1.s, v2.s, v3.s}[0], [x1], x7",
    "ld1r {v0.8b}, [x1]", "ld2r {v0.4h, v1.4h}, [x1], #4", "ld3r {v0.1d, v1.1d, v2.1d}, [x1], x3", "ld4r {v0.4s, v1.4s, v2.4s, v3.4s}, [x1], #16",
  ];

  it("a sample of every kind of row assembles and disassembles to the same text", async () => {
    for (const text of samples) {
      const b = await rawAssemble(text);
      const word = new DataView(b.buffer, b.byteOffset).getUint32(0, true);
      expect(disassemble(word, 0n).text.replace(/0x([0-9a-f]+)/g, (_m, h: string) => String(parseInt(h, 16)))).toBe(text);
    }
  });

  it("nvlab's assembler (braces, ranges, lanes, post-index) gives keystone's words", async () => {
    const img = await assemble(samples.join("\n"));
    const b = img.sections[0]!.bytes;
    for (const [i, text] of samples.entries()) {
      const raw = await rawAssemble(text);
      expect(new DataView(b.buffer, b.byteOffset).getUint32(4 * i, true), text).toBe(new DataView(raw.buffer, raw.byteOffset).getUint32(0, true));
    }
  });

  it("the table has one row per form and addressing, with distinct names", () => {
    const names = SIMD_LDST_TABLE.map((r) => r.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names.length).toBe(2 * 7 * 2 + 2 * 4 * 4 * 2 + 4 * 2);
  });
});
