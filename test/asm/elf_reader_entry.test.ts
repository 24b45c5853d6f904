// readElf's entry point (e_entry through the executable segment holding it) and its recognition
// of a segment holding nothing but the ELF headers and notes (gcc's default build-id note).

import { describe, expect, it } from "vitest";
import { readElf } from "../../asm/elf_reader.ts";
import { buildElf, type TestElf } from "../helpers/elf_file.ts";

const code = Uint8Array.from([0x1f, 0x20, 0x03, 0xd5, 0x00, 0x00, 0x20, 0xd4]); // nop; brk #0
const PF_R = 4;
const PF_RX = 5;
const PF_RW = 6;

function read(e: TestElf) {
  return readElf(buildElf(e), "t.elf");
}

describe("readElf entry point", () => {
  it("moves e_entry with an executable segment whose p_vaddr and p_paddr differ, as QEMU's loader does", () => {
    const im = read({ entry: 0xffff_0000_0000_0004n, segments: [{ paddr: 0x4010_0000n, vaddr: 0xffff_0000_0000_0000n, bytes: code, flags: PF_RX }] });
    expect(im.entry).toBe(0x4010_0004n);
    expect(im.entryProblem).toBeUndefined();
  });

  it("keeps an entry outside every executable segment, with the reason a loader that enters it gives", () => {
    const inData = read({ entry: 0x4020_0000n, segments: [{ paddr: 0x4010_0000n, bytes: code, flags: PF_RX }, { paddr: 0x4020_0000n, bytes: code, flags: PF_RW }] });
    expect(inData.entry).toBe(0x4020_0000n);
    expect(inData.entryProblem).toBe(
      "its entry point e_entry 0x40200000 lies in no executable PT_LOAD segment (PF_X, by p_vaddr and p_filesz: " +
        "0x40100000..0x40100008 (X), 0x40200000..0x40200008); check ENTRY() or -e in the link",
    );
    // Past the file bytes of the code (its .bss part) is not code either.
    expect(read({ entry: 0x4010_0008n, segments: [{ paddr: 0x4010_0000n, bytes: code, memsz: 16n, flags: PF_RX }] }).entryProblem).toMatch(/^its entry point e_entry 0x40100008 lies in no/);
  });
});

describe("readElf headers-and-notes segments", () => {
  it("marks a read-only PT_LOAD of the ELF headers and a PT_NOTE (GNU ld's build-id segment), and no other", () => {
    // Segment 0 covers the file from offset 0: header, program headers and the note after them.
    const note = new Uint8Array(0x24);
    const headers = 64 + 56 * 3;
    const e: TestElf = {
      entry: 0x4010_0000n,
      segments: [
        { paddr: 0x40_0000n, bytes: note, offset: 0n, filesz: BigInt(headers + note.length), memsz: BigInt(headers + note.length), flags: PF_R },
        { paddr: 0x4010_0000n, bytes: code, flags: PF_RX },
        { type: 4, paddr: BigInt(0x40_0000 + headers), bytes: note, offset: BigInt(headers), flags: PF_R },
      ],
    };
    const im = read(e);
    expect(im.sections.map((s) => [s.base, s.headersAndNotes ?? false])).toEqual([
      [0x40_0000n, true],
      [0x4010_0000n, false],
    ]);
    // Writable, or with bytes beyond the headers and notes: a segment the program needs.
    const writable = read({ ...e, segments: e.segments.map((s, i) => (i === 0 ? { ...s, flags: PF_RW } : s)) });
    expect(writable.sections[0]!.headersAndNotes).toBeUndefined();
    const longer = read({ ...e, segments: e.segments.map((s, i) => (i === 0 ? { ...s, filesz: s.filesz! + 4n, memsz: s.memsz! + 4n } : s)) });
    expect(longer.sections[0]!.headersAndNotes).toBeUndefined();
  });
});
