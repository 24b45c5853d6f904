import { describe, expect, it } from "vitest";
import { ElfError, isElf, readElf } from "../../asm/elf_reader.ts";
import { assemble } from "../../asm/assembler.ts";
import { writeElf } from "../../debug/elf.ts";
import { buildElf, type TestElf } from "../helpers/elf_file.ts";

const code = Uint8Array.from([0x1f, 0x20, 0x03, 0xd5, 0x00, 0x00, 0x20, 0xd4]); // nop; brk #0
const data = Uint8Array.from([1, 2, 3, 4]);

function read(e: TestElf) {
  return readElf(buildElf(e), "t.elf");
}

describe("readElf", () => {
  it("loads PT_LOAD segments at p_paddr (not p_vaddr) with the entry from e_entry", () => {
    const im = read({
      entry: 0x4010_0004n,
      segments: [
        { paddr: 0x4010_0000n, bytes: code },
        { paddr: 0x4020_0000n, vaddr: 0x8000_0000n, bytes: data },
      ],
    });
    expect(im.format).toBe("elf");
    expect(im.entry).toBe(0x4010_0004n);
    expect(im.sections.map((s) => [s.base, [...s.bytes]])).toEqual([
      [0x4010_0000n, [...code]],
      [0x4020_0000n, [...data]],
    ]);
  });

  it("zeroes the rest of a segment whose p_filesz is below its p_memsz (.bss)", () => {
    const im = read({ segments: [{ paddr: 0x4010_0000n, bytes: data, memsz: 12n }] });
    expect([...im.sections[0]!.bytes]).toEqual([1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it("ignores zero-size segments and segments that are not PT_LOAD", () => {
    const im = read({
      segments: [
        { paddr: 0x4010_0000n, bytes: code },
        { paddr: 0x4010_0000n, bytes: new Uint8Array() },
        { type: 4, paddr: 0x4010_0000n, bytes: data }, // PT_NOTE over the code
      ],
    });
    expect(im.sections.map((s) => s.base)).toEqual([0x4010_0000n]);
  });

  it("takes functions, objects and plain labels from .symtab; SHN_ABS as constants; skips mapping symbols, sections, undefined", () => {
    const im = read({
      segments: [{ paddr: 0x4010_0000n, bytes: code }],
      symbols: [
        { name: "_start", value: 0x4010_0000n },
        { name: "counter", value: 0x4010_0004n, type: 1 },
        { name: "loop", value: 0x4010_0004n, type: 0 },
        { name: "$x", value: 0x4010_0000n, type: 0 },
        { name: "text", value: 0x4010_0000n, type: 3 },
        { name: "extern_fn", value: 0n, shndx: 0 },
        { name: "NUM_L2", value: 2n, type: 0, shndx: 0xfff1 },
      ],
    });
    expect([...im.symbols]).toEqual([
      ["_start", 0x4010_0000n],
      ["counter", 0x4010_0004n],
      ["loop", 0x4010_0004n],
    ]);
    expect([...im.constants]).toEqual([["NUM_L2", 2n]]);
  });

  it("reads back what debug/elf.ts writes: the assembler's sections and labels", async () => {
    const asm = await assemble("start: nop\nb done\n.data\nmsg: .asciz \"hi\"\n.text\ndone: brk #0\n", { base: 0x4010_0000n });
    const sections = asm.sections.map((s) => ({ name: s.name, addr: s.base, bytes: s.bytes }));
    const symbols = [...asm.symbols].map(([name, value]) => ({
      name, value, size: 0n, section: asm.sections.findIndex((s) => value >= s.base && value < s.base + BigInt(s.bytes.length)),
    }));
    const im = readElf(writeElf(sections, symbols, asm.entry), "rt.elf");
    expect(im.entry).toBe(asm.entry);
    expect(im.sections.map((s) => [s.base, [...s.bytes]])).toEqual(asm.sections.map((s) => [s.base, [...s.bytes]]));
    expect(im.symbols).toEqual(asm.symbols);
  });

  it("tells an ELF by its magic", () => {
    expect(isElf(buildElf({ segments: [] }))).toBe(true);
    expect(isElf(new TextEncoder().encode("start: nop\n"))).toBe(false);
    expect(isElf(Uint8Array.from([0x7f, 0x45]))).toBe(false);
  });

  const refusals: [string, TestElf | Uint8Array, RegExp][] = [
    ["ELF32", { class: 1, segments: [] }, /not an ELF64 file/],
    ["big-endian", { data: 2, segments: [] }, /big-endian/],
    ["x86-64", { machine: 62, segments: [] }, /not an AArch64 ELF \(e_machine 62/],
    ["ET_DYN", { type: 3, segments: [{ paddr: 0n, bytes: code }] }, /ET_DYN ELF needs relocation/],
    ["ET_REL", { type: 1, segments: [] }, /ET_REL ELF needs relocation/],
    ["ET_CORE", { type: 4, segments: [] }, /not an executable \(e_type ET_CORE\)/],
    ["short program header entries", { phentsize: 32, segments: [{ paddr: 0n, bytes: code }] }, /program header entries of 32 bytes/],
    ["program headers out of the file", { phoff: 0x10000n, segments: [{ paddr: 0n, bytes: code }] }, /program headers at offset 0x10000 lie outside the file/],
    ["segment bytes out of the file", { segments: [{ paddr: 0x4010_0000n, bytes: code, offset: 0x1000n }] }, /PT_LOAD segment 0 at 0x40100000: its bytes at offset 0x1000\.\.0x1008 lie outside/],
    ["p_filesz over p_memsz", { segments: [{ paddr: 0x4010_0000n, bytes: code, memsz: 4n }] }, /p_filesz 0x8 larger than its p_memsz 0x4/],
    [
      "overlapping segments",
      { segments: [{ paddr: 0x4010_0000n, bytes: code, memsz: 0x100n }, { paddr: 0x4010_00f0n, bytes: data }] },
      /PT_LOAD segments 0 \(0x40100000\.\.0x40100100\) and 1 \(0x401000f0\.\.0x401000f4\) overlap/,
    ],
    ["a segment wrapping the address space", { segments: [{ paddr: 0xffff_ffff_ffff_fffcn, bytes: code }] }, /wraps past the top/],
    ["a huge segment", { segments: [{ paddr: 0x4010_0000n, bytes: code, memsz: 1n << 40n }] }, /more than the 256 MiB/],
    ["nothing to load", { segments: [{ paddr: 0x4010_0000n, bytes: new Uint8Array() }] }, /no PT_LOAD segment has any bytes/],
    ["section headers out of the file", { shoff: 0x10000n, symbols: [], segments: [{ paddr: 0n, bytes: code }] }, /section headers at offset 0x10000 lie outside/],
    ["a truncated header", Uint8Array.from([0x7f, 0x45, 0x4c, 0x46, 2, 1]), /truncated: 6 bytes/],
  ];
  it.each(refusals)("refuses %s, naming the file", (_what, e, message) => {
    const bytes = e instanceof Uint8Array ? e : buildElf(e);
    expect(() => readElf(bytes, "bad.elf")).toThrow(ElfError);
    expect(() => readElf(bytes, "bad.elf")).toThrow(message);
    expect(() => readElf(bytes, "bad.elf")).toThrow(/^bad\.elf: /);
  });
});
