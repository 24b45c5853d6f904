import { describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { assemble, assembleFile } from "../../asm/assembler.ts";
import { loadImage } from "../../asm/image.ts";
import { disassemble, loadDisassembler } from "../../asm/disassembler.ts";
import { Cpu } from "../../emulator/cpu.ts";
import { PhysMemory } from "../../emulator/memory.ts";
import { pa } from "../../emulator/types.ts";
import { itemAt } from "../../emulator/item_at.ts";
import { firstSection, wordAt, words } from "./image_words.ts";

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));


async function text(src: string, base = 0x80000n): Promise<string[]> {
  await loadDisassembler();
  const img = await assemble(src, { base });
  const s = firstSection(img);
  return words(s.bytes).map((w, i) => disassemble(w, s.base + BigInt(i * 4)).text);
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("data directives", () => {
  it("emits little-endian values of each size with expressions", async () => {
    const img = await assemble(
      `
      .equ K, 0x10
      .quad 0x1122334455667788, -1
      .dword K << 4
      .word (K | 3) & ~1, 0xffffffff
      .long -2
      .hword 0x1234
      .short 'A'
      .byte 1, 2, K*2 - 1, 0xff, -128, 7 % 4
    `,
      { base: 0x1000n },
    );
    expect(hex(firstSection(img).bytes)).toBe(
      "8877665544332211" + "ffffffffffffffff" + "0001000000000000" + "12000000" + "ffffffff" + "feffffff" + "3412" + "4100" + "0102" + "1fff8003",
    );
  });

  it("handles .ascii, .asciz and .string with escapes", async () => {
    const img = await assemble(`.ascii "a\\n", "b"\n.asciz "x;//y"\n.string "\\x41\\101\\"\\t"`);
    expect(Array.from(firstSection(img).bytes)).toEqual([0x61, 10, 0x62, 0x78, 0x3b, 0x2f, 0x2f, 0x79, 0, 0x41, 0x41, 0x22, 9, 0]);
  });

  it(".space with and without fill, .inst", async () => {
    const img = await assemble(".space 3\n.space 2, 0xaa\n.byte 1, 2, 3\n.inst 0xd503201f, 0xd65f03c0");
    expect(hex(firstSection(img).bytes)).toBe("000000aaaa0102031f2003d5c0035fd6");
  });

  it("local symbols: `.` and `NAME = expr`", async () => {
    const img = await assemble("msg: .ascii \"hello\"\nlen = . - msg\n.byte len", { base: 0x100n });
    expect(img.constants.get("len")).toBe(5n);
    expect(firstSection(img).bytes[5]).toBe(5);
  });
});

describe("layout directives", () => {
  it(".org pads with zeros to an absolute address within the section", async () => {
    const img = await assemble("nop\n.org 0x80010\nlabel: .byte 9\n.org label + 4, 0xee\n.byte 1", { base: 0x80000n });
    const b = firstSection(img).bytes;
    expect(b.length).toBe(0x15);
    expect(hex(b.subarray(4, 0x10))).toBe("00".repeat(12));
    expect(img.symbols.get("label")).toBe(0x80010n);
    expect(hex(b.subarray(0x10))).toBe("09eeeeee" + "01");
  });

  it(".align takes a power-of-two exponent, .balign a byte count; code is padded with NOPs", async () => {
    const img = await assemble("nop\n.align 4\na: nop\n.balign 8\nb: .byte 1\n.balign 4\nc: .byte 2\n.align 3, 0x55\nd:", { base: 0x80000n });
    expect(img.symbols.get("a")).toBe(0x80010n);
    expect(img.symbols.get("b")).toBe(0x80018n);
    expect(img.symbols.get("c")).toBe(0x8001cn);
    expect(img.symbols.get("d")).toBe(0x80020n);
    const w = words(firstSection(img).bytes);
    expect(w.slice(1, 4)).toEqual([0xd503201f, 0xd503201f, 0xd503201f]);
    expect(w[5]).toBe(0xd503201f); // after `a: nop`, padding up to 0x80018
    // After data in a code section: zero head to the word boundary, then NOPs.
    expect(hex(firstSection(img).bytes.subarray(0x18, 0x1c))).toBe("01000000");
    expect(hex(firstSection(img).bytes.subarray(0x1d, 0x20))).toBe("555555");
  });

  it("pads with zeros in a data-only section", async () => {
    const img = await assemble(".byte 1\n.align 3\n.byte 2");
    expect(hex(firstSection(img).bytes)).toBe("010000000000000002");
  });

  it("sections with load addresses, re-entry, and consecutive placement", async () => {
    const img = await assemble(
      `
      .section boot, 0x40100000
      _start: b main
      .data
      value: .quad 42
      .section boot
      main: ldr x0, value
      .section vectors, 0x40200000
      .align 11
      vbar: b .
      .text
      tail: .byte 1
      .entry main
    `,
      { base: 0n },
    );
    expect(img.sections.map((s) => [s.name, s.base.toString(16), s.bytes.length])).toEqual([
      ["boot", "40100000", 8],
      [".data", "40100010", 8],
      ["vectors", "40200000", 4],
      [".text", "40200010", 1],
    ]);
    // `.data` was placed after boot's first 4 bytes (rounded to 16); boot then grew to 8 — no overlap.
    expect(img.symbols.get("value")).toBe(0x40100010n);
    expect(img.symbols.get("main")).toBe(0x40100004n);
    expect(img.entry).toBe(0x40100004n);
    await loadDisassembler();
    expect(disassemble(wordAt(firstSection(img).bytes, 1), 0x40100004n).text).toBe("ldr x0, #0x40100010");
  });

  it("defaults the entry to the first section and the first section to opts.base", async () => {
    const img = await assemble("nop", { base: 0xffff000000080000n });
    expect(firstSection(img).base).toBe(0xffff000000080000n);
    expect(img.entry).toBe(0xffff000000080000n);
  });

  it("treats ';' as a statement separator and ignores // and /* */ comments", async () => {
    const img = await assemble("nop; nop // b .\n/* b .\n  b . */ nop /* x */ ; a: b a ; .global a");
    expect(words(firstSection(img).bytes)).toEqual([0xd503201f, 0xd503201f, 0xd503201f, 0x14000000]);
    expect(img.symbols.get("a")).toBe(12n);
  });
});

describe("labels and PC-relative instructions", () => {
  it("resolves forward and backward references for every PC-relative form", async () => {
    const t = await text(`
      back:
        b fwd
        bl back
        b.ne fwd
        b.eq back
        cbz x1, fwd
        cbnz w2, back
        tbz x3, #40, fwd
        tbnz w4, #3, back
        adr x5, fwd
        adr x6, back
        adrp x7, far
        ldr x8, fwd
        ldr w9, back
        ldrsw x10, fwd
      fwd: nop
        .org 0x83000
      far: nop
    `);
    expect(t.slice(0, 15)).toEqual([
      "b #0x80038",
      "bl #0x80000",
      "b.ne #0x80038",
      "b.eq #0x80000",
      "cbz x1, #0x80038",
      "cbnz w2, #0x80000",
      "tbz x3, #0x28, #0x80038",
      "tbnz w4, #3, #0x80000",
      "adr x5, #0x80038",
      "adr x6, #0x80000",
      "adrp x7, #0x83000",
      "ldr x8, #0x80038",
      "ldr w9, #0x80000",
      "ldrsw x10, #0x80038",
      "nop",
    ]);
  });

  it("supports numeric local labels with b/f references", async () => {
    const t = await text("1: nop\n b 1f\n b 1b\n1: b 1b\n cbz x0, 2f\n2: b 1b");
    expect(t).toEqual(["nop", "b #0x8000c", "b #0x80000", "b #0x8000c", "cbz x0, #0x80014", "b #0x8000c"]);
    const img = await assemble("1: nop");
    expect(img.symbols.size).toBe(0);
  });

  it("accepts absolute numeric targets and `.`-relative expressions", async () => {
    expect(await text("b #0x80010\nadr x0, #0x80020\nldr x1, 0x80100\nb .+8\nb . - 4")).toEqual([
      "b #0x80010",
      "adr x0, #0x80020",
      "ldr x1, #0x80100",
      "b #0x80014",
      "b #0x8000c",
    ]);
  });

  it("substitutes constants and labels in immediates, memory offsets and :lo12:", async () => {
    const t = await text(`
      .equ OFF, 16
      SHIFT = 2
        add x0, x1, #OFF + 1
        ldr x2, [x3, #OFF*2]
        str x4, [sp, #-OFF]!
        mov x5, #(1 << SHIFT)
        movk x6, #OFF, lsl #16
        adrp x7, data
        add x7, x7, :lo12:data
        ldr x8, [x7, #:lo12:data]
        mov x9, OFF
        mov x10, #'a'
        fmov d0, #1.5
        .org 0x81238
      data: .quad 0
    `);
    expect(t.slice(0, 11)).toEqual([
      "add x0, x1, #0x11",
      "ldr x2, [x3, #0x20]",
      "str x4, [sp, #-0x10]!",
      "mov x5, #4",
      "movk x6, #0x10, lsl #16",
      "adrp x7, #0x81000",
      "add x7, x7, #0x238",
      "ldr x8, [x7, #0x238]",
      "mov x9, #0x10",
      "mov x10, #0x61",
      "fmov d0, #1.50000000",
    ]);
  });

  it("defers .equ definitions that refer to later labels", async () => {
    const img = await assemble(".equ SIZE, end - start\nstart: .quad SIZE\nend:");
    expect(img.constants.get("SIZE")).toBe(8n);
    expect(firstSection(img).bytes[0]).toBe(8);
  });
});

describe("helpers", () => {
  it("mov64 always emits MOVZ + 3 MOVK; movl and mov32 too", async () => {
    const img = await assemble("mov64 x1, 0\nmovl x2, tgt\nmov32 w3, 0xdeadbeef\ntgt: nop");
    expect(words(firstSection(img).bytes)).toEqual([
      0xd2800001, 0xf2a00001, 0xf2c00001, 0xf2e00001, // mov64 x1, 0
      0xd2800502, 0xf2a00002, 0xf2c00002, 0xf2e00002, // movl x2, tgt (0x28)
      0x5297dde3, 0x72bbd5a3, // mov32 w3, 0xdeadbeef
      0xd503201f,
    ]);
  });

  it("mov64 loads arbitrary constants when run", async () => {
    const values = [0n, 1n, 0xffffn, 0x10000n, 0x123456789abcdef0n, 0xffffffffffffffffn, 0x8000000000000000n, 0xffff000000000001n];
    const src = values.map((v, i) => `mov64 x${i}, 0x${v.toString(16)}`).join("\n") + "\nmov64 x20, -2\nbrk #0";
    const img = await assemble(src, { base: 0x80000n });
    expect(firstSection(img).bytes.length).toBe(4 * 4 * (values.length + 1) + 4);
    const mem = new PhysMemory({ autoAllocate: true });
    loadImage(img, (base, s) => mem.writeBytes(pa(base), s.bytes));
    const cpu = new Cpu(mem, { stopOnBrk: true, stopOnUnvectoredEl1: true });
    cpu.resetTo(img.entry);
    const stop = cpu.run(1000);
    expect(stop.kind).toBe("brk");
    values.forEach((v, i) => expect(cpu.getX(i)).toBe(v));
    expect(cpu.getX(20)).toBe(0xfffffffffffffffen);
  });

  it("adrl loads a label's address PC-relatively", async () => {
    expect(await text("adrl x3, tgt\n.org 0x123454\ntgt: nop", 0x80000n).then((t) => t.slice(0, 2))).toEqual(["adrp x3, #0x123000", "add x3, x3, #0x454"]);
  });

  it("loadImage honours an offset", async () => {
    const img = await assemble(".section a, 0x1000\n.byte 1\n.section b, 0x3000\n.byte 2");
    const mem = new PhysMemory({ autoAllocate: true });
    loadImage(img, (base, s) => mem.writeBytes(pa(base), s.bytes), 0x40000000n);
    expect(Array.from(mem.readBytes(0x40001000, 1))).toEqual([1]);
    expect(Array.from(mem.readBytes(0x40003000, 1))).toEqual([2]);
  });
});

describe("system instructions (keystone gaps)", () => {
  it("assembles the EL2 / NV instructions keystone knows", async () => {
    const src = [
      "msr vttbr_el2, x0",
      "tlbi ipas2e1is, x0",
      "tlbi vmalls12e1is",
      "eret",
      "hvc #0",
      "smc #0",
      "at s1e1r, x0",
      "dc zva, x0",
      "mrs x0, currentel",
      "msr daifset, #0xf",
      "msr spsel, #1",
      "msr hcr_el2, x1",
      "mrs x2, esr_el2",
      "mrs x3, hpfar_el2",
      "at s12e1r, x4",
    ];
    expect(await text(src.join("\n"))).toEqual(src.map((s) => s.replace(/#0xf$/, "#0xf")));
  });

  it("encodes range and OS TLBI forms and post-v8.0 system registers itself", async () => {
    const src = [
      "tlbi rvae1is, x0",
      "tlbi ripas2e1is, x1",
      "tlbi ripas2le1os, x2",
      "tlbi vae2os, x3",
      "tlbi alle1",
      "msr vncr_el2, x4",
      "mrs x5, vncr_el2",
      "msr hcrx_el2, x6",
      "msr sctlr_el12, x7",
      "mrs x8, id_aa64mmfr2_el1",
      "msr pan, #1",
      "msr uao, #0",
      "msr dit, #1",
    ];
    // capstone 5 has no name for HCRX_EL2 and prints the generic form.
    expect(await text(src.join("\n"))).toEqual(src.map((s) => s.replace("hcrx_el2", "s3_4_c1_c2_2")));
  });
});

describe(".include", () => {
  it("splices files relative to the including file", async () => {
    const img = await assembleFile(fixture("main.S"), { base: 0x80000n });
    expect(img.file).toBe(fixture("main.S"));
    expect(img.sections.map((s) => [s.name, s.base])).toEqual([
      [".text", 0x80000n],
      ["helpers", 0x90000n],
    ]);
    expect(img.constants.get("HELPER_MAGIC")).toBe(0x2an);
    await loadDisassembler();
    const w = words(firstSection(img).bytes);
    expect(disassemble(itemAt(w, 0, "word"), 0x80000n).text).toBe("bl #0x90000");
    expect(disassemble(itemAt(w, 1, "word"), 0x80004n).text).toBe("mov x1, #0x2a");
  });
});
