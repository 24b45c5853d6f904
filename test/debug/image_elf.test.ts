import { describe, expect, it } from "vitest";
import { assemble } from "../../asm/assembler.ts";
import { imageElf } from "../../debug/image_elf.ts";
import { readElf } from "./elf_reader.ts";

describe("imageElf", () => {
  it("one PT_LOAD per section, e_entry, each label sized to the next one in its section; a label past the end is left out", async () => {
    const image = await assemble("_start: nop\nsecond: nop\n  brk #0\n.data\nword: .word 7\nend:\n", { base: 0x4030_0000n });
    const elf = readElf(imageElf(image));
    expect(elf.header.entry).toBe(0x4030_0000n);
    expect(elf.segments.map((s) => [s.vaddr, s.filesz])).toEqual(image.sections.map((s) => [s.base, s.bytes.length]));
    const sym = (n: string) => elf.symbols.find((s) => s.name === n);
    expect(sym("_start")).toMatchObject({ value: 0x4030_0000n, size: 4n, shndx: 1 });
    expect(sym("second")).toMatchObject({ value: 0x4030_0004n, size: 8n, shndx: 1 });
    expect(sym("word")).toMatchObject({ size: 4n, shndx: 2 });
    expect(sym("end")).toBeUndefined();
  });
});
