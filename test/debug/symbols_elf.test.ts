// The debugger's symbols from ELF images: an L2 linked at its nested IPA and loaded at its window
// has its .symtab labels at both addresses, and the GDB stub's symbol file carries them.

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { assembleFile } from "../../asm/assembler.ts";
import { readElf } from "../../asm/elf_reader.ts";
import { runCommandVm } from "../../cli/run.ts";
import { symbolFileFromSession } from "../../debug/gdb/symbol_file.ts";
import { DebugSession } from "../../debug/session.ts";
import { imageElf } from "../helpers/elf_file.ts";

const dir = mkdtempSync(join(tmpdir(), "nvlab-symbols-elf-"));

describe("debugger symbols from an ELF L2", () => {
  it("resolves its labels at the canonical IPA and the nested IPA it runs at, and writes them to gdb's symbol file", async () => {
    const linked = await assembleFile("guests/l2/hello.S", { base: 0x4000_0000n });
    const elf = join(dir, "l2.elf");
    writeFileSync(elf, imageElf(linked));
    const vm = await runCommandVm({ l1: { file: "guests/l1/hyp.S", ipa: null }, l2: [{ file: elf, ipa: 0x4800_0000n }], memory: 256n << 20n, vcpus: 1, maxSteps: 1000 });
    const session = await DebugSession.open({ vm });
    const puts = linked.symbols.get("l2_puts")!;
    const { symbol } = session.symbols.resolve("l2_puts");
    expect(symbol.address).toBe(puts);
    expect(symbol.canonical).toBe(puts - 0x4000_0000n + 0x4800_0000n);
    expect(symbol.image.name).toBe("l2.elf");
    const gdb = readElf(symbolFileFromSession(session), "sym.elf");
    expect(gdb.symbols.get("l2_puts")).toBe(puts);
  });
});
