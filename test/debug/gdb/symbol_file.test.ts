import { describe, expect, it } from "vitest";
import { assembleFile } from "../../../asm/assembler.ts";
import { gdbSymbolName, symbolFileFromImages, symbolFileFromSession } from "../../../debug/gdb/symbol_file.ts";
import { DebugSession } from "../../../debug/session.ts";
import type { ImagePlacement } from "../../../debug/symbols.ts";
import { readElf } from "../elf_reader.ts";

async function placements() {
  const l1 = await assembleFile("guests/l1/hyp.S", { base: 0x4010_0000n });
  const hello = await assembleFile("guests/l2/hello.S", { base: 0x4800_0000n });
  const touch = await assembleFile("guests/l2/touch.S", { base: 0x4900_0000n });
  const list: ImagePlacement[] = [
    { level: "L1", image: l1 },
    { level: "L2", image: hello, ipa: 0x4800_0000n },
    { level: "L2", image: touch, ipa: 0x4900_0000n },
  ];
  return { l1, hello, touch, list };
}

describe("symbol file for gdb", () => {
  it("names ambiguous labels file.label (gdb reads file:label as a source location)", () => {
    expect(gdbSymbolName("hello.S:l2_entry")).toBe("hello.S.l2_entry");
    expect(gdbSymbolName("hello.S@0x48000000:l2_puts")).toBe("hello.S@0x48000000.l2_puts");
    expect(gdbSymbolName("run_l2")).toBe("run_l2");
  });

  it("places L1 where it is loaded and each L2 in its nested IPA window, with the image bytes", async () => {
    const { l1, hello, touch, list } = await placements();
    const elf = readElf(symbolFileFromImages(list, l1.entry));
    expect(elf.header.entry).toBe(l1.entry);
    const progbits = elf.sections.filter((s) => s.type === 1);
    expect(progbits.map((s) => [s.name, s.addr])).toEqual([
      ["hyp.S", 0x4010_0000n],
      ["hello.S", 0x4000_0000n],
      ["touch.S", 0x4000_0000n],
    ]);
    expect(elf.contents(progbits[1]!)).toEqual(hello.sections[0]!.bytes);
    const sym = (n: string) => elf.symbols.find((s) => s.name === n);
    expect(sym("run_l2")!.value).toBe(l1.symbols.get("run_l2"));
    // Labels both L2s define are qualified; their addresses are the run addresses.
    expect(sym("l2_puts")).toBeUndefined();
    expect(sym("hello.S.l2_puts")!.value).toBe(hello.symbols.get("l2_puts")! - 0x4800_0000n + 0x4000_0000n);
    expect(sym("touch.S.l2_puts")!.value).toBe(touch.symbols.get("l2_puts")! - 0x4900_0000n + 0x4000_0000n);
    expect(elf.sections[sym("hello.S.l2_entry")!.shndx]!.name).toBe("hello.S");
    expect(elf.sections[sym("touch.S.l2_entry")!.shndx]!.name).toBe("touch.S");
  });

  it("sizes each symbol up to the next one in its section or the section's end", async () => {
    const { list } = await placements();
    const elf = readElf(symbolFileFromImages(list));
    const labels = elf.symbols.slice(elf.symtab!.info);
    for (const s of labels) {
      const sec = elf.sections[s.shndx]!;
      expect(s.size).toBeGreaterThan(0n);
      const next = labels.filter((o) => o.shndx === s.shndx && o.value > s.value).map((o) => o.value);
      const end = next.length > 0 ? next.reduce((a, b) => (a < b ? a : b)) : sec.addr + BigInt(sec.size);
      expect(s.value + s.size).toBe(end);
    }
  });

  it("reads the same file back from a session's memory before it runs", async () => {
    const { l1, list } = await placements();
    const session = await DebugSession.open({ vm: { l1, l2: list.slice(1).map((p) => ({ image: p.image, ipa: p.ipa! })) } });
    expect(symbolFileFromSession(session, l1.entry)).toEqual(symbolFileFromImages(list, l1.entry));
  });
});
