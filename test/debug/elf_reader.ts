// A small ELF64 reader for the tests: headers, sections by name, symbols.

export interface ReadSection { name: string; type: number; flags: bigint; addr: bigint; offset: number; size: number; link: number; info: number; entsize: number }
export interface ReadSymbol { name: string; info: number; shndx: number; value: bigint; size: bigint }

export function readElf(bytes: Uint8Array) {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (o: number) => dv.getUint16(o, true);
  const u32 = (o: number) => dv.getUint32(o, true);
  const u64 = (o: number) => dv.getBigUint64(o, true);
  const ident = [...bytes.slice(0, 16)];
  const header = {
    ident, type: u16(16), machine: u16(18), version: u32(20), entry: u64(24), phoff: Number(u64(32)), shoff: Number(u64(40)),
    ehsize: u16(52), phentsize: u16(54), phnum: u16(56), shentsize: u16(58), shnum: u16(60), shstrndx: u16(62),
  };
  const cstr = (off: number) => {
    let end = off;
    while (bytes[end] !== 0) end++;
    return new TextDecoder().decode(bytes.slice(off, end));
  };
  const raw = Array.from({ length: header.shnum }, (_v, i) => {
    const o = header.shoff + i * header.shentsize;
    return { nameOff: u32(o), type: u32(o + 4), flags: u64(o + 8), addr: u64(o + 16), offset: Number(u64(o + 24)), size: Number(u64(o + 32)), link: u32(o + 40), info: u32(o + 44), entsize: Number(u64(o + 56)) };
  });
  const shstr = raw[header.shstrndx]!;
  const sections: ReadSection[] = raw.map((r) => ({ ...r, name: cstr(shstr.offset + r.nameOff) }));
  const segments = Array.from({ length: header.phnum }, (_v, i) => {
    const o = header.phoff + i * header.phentsize;
    return { type: u32(o), flags: u32(o + 4), offset: Number(u64(o + 8)), vaddr: u64(o + 16), paddr: u64(o + 24), filesz: Number(u64(o + 32)), memsz: Number(u64(o + 40)) };
  });
  const symtab = sections.find((s) => s.name === ".symtab");
  const symbols: ReadSymbol[] = [];
  if (symtab) {
    const strtab = sections[symtab.link]!;
    for (let o = symtab.offset; o < symtab.offset + symtab.size; o += symtab.entsize) {
      symbols.push({ name: cstr(strtab.offset + u32(o)), info: bytes[o + 4]!, shndx: u16(o + 6), value: u64(o + 8), size: u64(o + 16) });
    }
  }
  const contents = (s: ReadSection) => bytes.slice(s.offset, s.offset + s.size);
  return { header, sections, segments, symtab, symbols, contents };
}
