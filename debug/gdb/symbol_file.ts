// The symbol file `nvlab gdbserver --symbol-file` writes: every image's bytes at the addresses its
// code runs at (per debug/symbols.ts: L1 where it is loaded, L2 in its nested IPA window), with
// the assembler's labels as symbols, named as the debugger names them.

import { writeElf, type ElfSection, type ElfSymbol } from "../elf.ts";
import type { DebugSession } from "../session.ts";
import { SymbolTable, l2RunAddress, type ImagePlacement } from "../symbols.ts";

/**
 * The debugger's name for gdb: `file:label` (ambiguous labels) becomes `file.label`, because gdb
 * reads `a:b` in a breakpoint location as a source file and a function.
 */
export function gdbSymbolName(name: string): string {
  return name.replaceAll(":", ".");
}

/** The bytes of `len` bytes of L1 memory at canonical IPA `canonical`, as loaded. */
export type CanonicalReader = (canonical: bigint, len: number) => Uint8Array;

/** One ELF section per image section (canonical range), at its run address. */
export function symbolFileContents(table: SymbolTable, read: CanonicalReader): { sections: ElfSection[]; symbols: ElfSymbol[] } {
  const sections: ElfSection[] = [];
  const imageSections = new Map<(typeof table.images)[number], number[]>();
  for (const im of table.images) {
    const mine: number[] = [];
    im.ranges.forEach((r, k) => {
      const addr = im.level === "L2" ? l2RunAddress(im.loadIpa, r.start) : r.start;
      mine.push(sections.length);
      sections.push({ name: im.ranges.length > 1 ? `${im.name}.${k}` : im.name, addr, bytes: read(r.start, Number(r.end - r.start)) });
    });
    imageSections.set(im, mine);
  }
  const symbols: ElfSymbol[] = [];
  for (const sym of table.all()) {
    const section = imageSections.get(sym.image)!.find((k) => {
      const s = sections[k]!;
      return sym.address >= s.addr && sym.address < s.addr + BigInt(s.bytes.length);
    });
    // A label just past its section's last byte marks no code.
    if (section !== undefined) symbols.push({ name: gdbSymbolName(sym.name), value: sym.address, size: 0n, section });
  }
  sizeSymbols(symbols, sections);
  return { sections, symbols };
}

/** Each symbol extends to the next one in its section, or to the section's end. */
export function sizeSymbols(symbols: ElfSymbol[], sections: readonly ElfSection[]): void {
  const bySection = new Map<number, bigint[]>();
  for (const s of symbols) bySection.set(s.section, [...(bySection.get(s.section) ?? []), s.value]);
  for (const list of bySection.values()) list.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const s of symbols) {
    const sec = sections[s.section]!;
    const next = bySection.get(s.section)!.find((a) => a > s.value) ?? sec.addr + BigInt(sec.bytes.length);
    s.size = next - s.value;
  }
}

/** From assembled images (before any VM exists). */
export function symbolFileFromImages(placements: readonly ImagePlacement[], entry = 0n): Uint8Array {
  const table = new SymbolTable(placements);
  const read: CanonicalReader = (canonical, len) => {
    for (const [i, p] of placements.entries()) {
      const low = p.image.sections.reduce((m, s) => (s.base < m ? s.base : m), p.image.sections[0]!.base);
      const shift = table.images[i]!.loadIpa - low;
      const s = p.image.sections.find((s) => s.base + shift === canonical && s.bytes.length === len);
      if (s) return s.bytes;
    }
    throw new RangeError(`no image section at ${canonical.toString(16)}`);
  };
  const { sections, symbols } = symbolFileContents(table, read);
  return writeElf(sections, symbols, entry);
}

/** From a session that has not run yet: the images are read back from L1's memory as loaded. */
export function symbolFileFromSession(session: DebugSession, entry = 0n): Uint8Array {
  const read: CanonicalReader = (canonical, len) => {
    const out = new Uint8Array(len);
    // readMemory takes at most 1 MiB per call.
    for (let off = 0; off < len; off += 1 << 20) {
      const n = Math.min(1 << 20, len - off);
      out.set(session.readMemory("ipa", canonical + BigInt(off), n), off);
    }
    return out;
  };
  const { sections, symbols } = symbolFileContents(session.symbols, read);
  return writeElf(sections, symbols, entry);
}
