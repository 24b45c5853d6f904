// An assembled image as an ELF64 executable (`nvlab build -o X.elf`): its sections as PT_LOAD
// segments at the addresses they were assembled for, e_entry its entry point, its labels in
// .symtab, so QEMU's loaders, gdb and objdump take the same guest nvlab runs.

import { sectionAt, type Image } from "../asm/image.ts";
import { writeElf, type ElfSection, type ElfSymbol } from "./elf.ts";
import { sizeSymbols } from "./gdb/symbol_file.ts";

export function imageElf(image: Image): Uint8Array {
  const sections: ElfSection[] = image.sections.map((s) => ({ name: s.name, addr: s.base, bytes: s.bytes }));
  const symbols: ElfSymbol[] = [];
  for (const [name, value] of image.symbols) {
    const s = sectionAt(image, value);
    // A label just past its section's last byte marks no code.
    if (s !== undefined) symbols.push({ name, value, size: 0n, section: image.sections.indexOf(s) });
  }
  sizeSymbols(symbols, sections);
  return writeElf(sections, symbols, image.entry);
}
