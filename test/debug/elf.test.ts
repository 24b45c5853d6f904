import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { writeElf } from "../../debug/elf.ts";
import { readElf } from "./elf_reader.ts";

const code = Uint8Array.from([0x1f, 0x20, 0x03, 0xd5, 0xc0, 0x03, 0x5f, 0xd6]); // nop; ret
const data = Uint8Array.from([0x68, 0x69, 0x00]);
const sections = [
  { name: ".text", addr: 0x4010_0000n, bytes: code },
  { name: "l2.text", addr: 0x4000_0001n, bytes: data },
];
const symbols = [
  { name: "start", value: 0x4010_0000n, size: 4n, section: 0 },
  { name: "done", value: 0x4010_0004n, size: 4n, section: 0 },
  { name: "hello.S.msg", value: 0x4000_0001n, size: 3n, section: 1 },
];

describe("writeElf", () => {
  const elf = readElf(writeElf(sections, symbols, 0x4010_0000n));

  it("writes an ELF64 little-endian AArch64 executable header", () => {
    expect(elf.header.ident.slice(0, 7)).toEqual([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
    expect(elf.header.type).toBe(2);
    expect(elf.header.machine).toBe(183);
    expect(elf.header.entry).toBe(0x4010_0000n);
    expect(elf.header.ehsize).toBe(64);
    expect(elf.header.shentsize).toBe(64);
    expect(elf.sections[elf.header.shstrndx]!.name).toBe(".shstrtab");
  });

  it("puts each image section's bytes at its run address, allocated and executable", () => {
    const text = elf.sections.find((s) => s.name === ".text")!;
    expect(text).toMatchObject({ type: 1, addr: 0x4010_0000n, size: 8 });
    expect(text.flags & 0x6n).toBe(0x6n);
    expect(elf.contents(text)).toEqual(code);
    const l2 = elf.sections.find((s) => s.name === "l2.text")!;
    expect(l2.addr).toBe(0x4000_0001n);
    expect(elf.contents(l2)).toEqual(data);
    expect(elf.segments.map((p) => [p.type, p.vaddr, p.filesz])).toEqual([[1, 0x4010_0000n, 8], [1, 0x4000_0001n, 3]]);
    expect(bytesAt(elf, elf.segments[0]!.offset, 8)).toEqual(code);
  });

  it("lists the labels as global functions in their sections after the local section symbols", () => {
    const st = elf.symtab!;
    expect(st.entsize).toBe(24);
    expect(elf.sections[st.link]!.name).toBe(".strtab");
    expect(st.info).toBe(3); // null + 2 section symbols are local
    const globals = elf.symbols.slice(st.info);
    expect(globals.map((s) => [s.name, s.value, s.size, elf.sections[s.shndx]!.name, s.info])).toEqual([
      ["start", 0x4010_0000n, 4n, ".text", 0x12],
      ["done", 0x4010_0004n, 4n, ".text", 0x12],
      ["hello.S.msg", 0x4000_0001n, 3n, "l2.text", 0x12],
    ]);
  });

  it("rejects a symbol in a section that does not exist", () => {
    expect(() => writeElf(sections, [{ name: "x", value: 0n, size: 0n, section: 2 }])).toThrow(/no section 2/);
  });

  it("writes a valid file with no sections or symbols at all", () => {
    const empty = readElf(writeElf([], []));
    expect(empty.header.phnum).toBe(0);
    expect(empty.sections.map((s) => s.name)).toEqual(["", ".symtab", ".strtab", ".shstrtab"]);
  });

  it.runIf(hasReadelf())("binutils' readelf reads it without complaint", () => {
    const dir = mkdtempSync(join(tmpdir(), "nvlab-elf-"));
    const file = join(dir, "t.elf");
    writeFileSync(file, writeElf(sections, symbols));
    const out = execFileSync("readelf", ["-W", "-h", "-S", "-s", file], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    expect(out).toMatch(/Machine:\s+AArch64/);
    expect(out).toMatch(/0000000040100004\s+4 FUNC\s+GLOBAL DEFAULT\s+1 done/);
    expect(out).not.toMatch(/warning|error/i);
  });
});

function bytesAt(elf: ReturnType<typeof readElf>, off: number, len: number): Uint8Array {
  const text = elf.sections.find((s) => s.offset === off)!;
  return elf.contents(text).slice(0, len);
}

function hasReadelf(): boolean {
  try {
    execFileSync("readelf", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
