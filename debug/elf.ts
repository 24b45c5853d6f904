// A minimal ELF64 little-endian AArch64 executable that carries code and symbols only: one
// PROGBITS section per image section, at the address the code runs at, plus .symtab/.strtab, so
// `gdb-multiarch -ex 'symbol-file f.elf'` can break at and print guest labels. No debug info.

export interface ElfSection {
  name: string;
  /** Address the bytes run at (a VA of the level that runs them). */
  addr: bigint;
  bytes: Uint8Array;
}

export interface ElfSymbol {
  name: string;
  value: bigint;
  /** Bytes up to the next symbol (gdb uses it for `<sym+off>` and `disassemble`). */
  size: bigint;
  /** Index into the sections given to `writeElf`. */
  section: number;
}

const EM_AARCH64 = 183;
const ET_EXEC = 2;
const SHT_PROGBITS = 1;
const SHT_SYMTAB = 2;
const SHT_STRTAB = 3;
const SHF_WRITE = 0x1;
const SHF_ALLOC = 0x2;
const SHF_EXECINSTR = 0x4;
const PT_LOAD = 1;
const PF_RWX = 7;
const STB_GLOBAL = 1;
const STT_FUNC = 2;
const STT_SECTION = 3;

const EHDR_SIZE = 64;
const PHDR_SIZE = 56;
const SHDR_SIZE = 64;
const SYM_SIZE = 24;

/** A string table: NUL-separated names, offset 0 is the empty name. */
class StringTable {
  private bytes: number[] = [0];
  private readonly offsets = new Map<string, number>();

  add(name: string): number {
    const known = this.offsets.get(name);
    if (known !== undefined) return known;
    const off = this.bytes.length;
    this.bytes.push(...new TextEncoder().encode(name), 0);
    this.offsets.set(name, off);
    return off;
  }

  data(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

/** Little-endian field writer over a growable buffer. */
class Writer {
  private buf = new Uint8Array(4096);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const bigger = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    bigger.set(this.buf);
    this.buf = bigger;
    this.view = new DataView(bigger.buffer);
  }

  u8(v: number): void { this.ensure(1); this.view.setUint8(this.length, v); this.length += 1; }
  u16(v: number): void { this.ensure(2); this.view.setUint16(this.length, v, true); this.length += 2; }
  u32(v: number): void { this.ensure(4); this.view.setUint32(this.length, v, true); this.length += 4; }
  u64(v: bigint | number): void { this.ensure(8); this.view.setBigUint64(this.length, BigInt.asUintN(64, BigInt(v)), true); this.length += 8; }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  align(n: number): void {
    while (this.length % n !== 0) this.u8(0);
  }

  result(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

interface SectionHeader {
  name: number; type: number; flags: bigint; addr: bigint; offset: number; size: number;
  link: number; info: number; align: number; entsize: number;
}

/**
 * The file: ELF header, one PT_LOAD per section (so tools that look at segments see the code
 * where it runs), the section contents, .symtab, .strtab, .shstrtab, then the section headers.
 */
export function writeElf(sections: readonly ElfSection[], symbols: readonly ElfSymbol[], entry = 0n): Uint8Array {
  const shstr = new StringTable();
  const str = new StringTable();
  const w = new Writer();
  const phoff = EHDR_SIZE;
  w.length = phoff + PHDR_SIZE * sections.length; // headers are written last, into this gap
  const headers: SectionHeader[] = [{ name: 0, type: 0, flags: 0n, addr: 0n, offset: 0, size: 0, link: 0, info: 0, align: 0, entsize: 0 }];
  const fileOffsets: number[] = [];
  for (const s of sections) {
    w.align(16);
    fileOffsets.push(w.length);
    headers.push({
      name: shstr.add(s.name), type: SHT_PROGBITS, flags: BigInt(SHF_ALLOC | SHF_EXECINSTR | SHF_WRITE), addr: s.addr,
      offset: w.length, size: s.bytes.length, link: 0, info: 0, align: 4, entsize: 0,
    });
    w.bytes(s.bytes);
  }
  // Local section symbols first (st_info binding LOCAL), then the labels as global functions.
  const symtab = new Writer();
  symtab.bytes(new Uint8Array(SYM_SIZE));
  sections.forEach((s, i) => writeSym(symtab, 0, STT_SECTION, i + 1, s.addr, 0n));
  const firstGlobal = sections.length + 1;
  for (const sym of symbols) {
    if (sym.section < 0 || sym.section >= sections.length) throw new RangeError(`symbol ${sym.name}: no section ${sym.section}`);
    writeSym(symtab, str.add(sym.name), (STB_GLOBAL << 4) | STT_FUNC, sym.section + 1, sym.value, sym.size);
  }
  const strIndex = headers.length + 1;
  w.align(8);
  headers.push({
    name: shstr.add(".symtab"), type: SHT_SYMTAB, flags: 0n, addr: 0n, offset: w.length, size: symtab.length,
    link: strIndex, info: firstGlobal, align: 8, entsize: SYM_SIZE,
  });
  w.bytes(symtab.result());
  const strData = str.data();
  headers.push({ name: shstr.add(".strtab"), type: SHT_STRTAB, flags: 0n, addr: 0n, offset: w.length, size: strData.length, link: 0, info: 0, align: 1, entsize: 0 });
  w.bytes(strData);
  const shstrName = shstr.add(".shstrtab");
  const shstrData = shstr.data();
  headers.push({ name: shstrName, type: SHT_STRTAB, flags: 0n, addr: 0n, offset: w.length, size: shstrData.length, link: 0, info: 0, align: 1, entsize: 0 });
  w.bytes(shstrData);
  w.align(8);
  const shoff = w.length;
  for (const h of headers) writeShdr(w, h);
  const end = w.length;

  w.length = 0;
  writeEhdr(w, { entry, phoff, phnum: sections.length, shoff, shnum: headers.length, shstrndx: headers.length - 1 });
  sections.forEach((s, i) => writePhdr(w, fileOffsets[i]!, s.addr, s.bytes.length));
  w.length = end;
  return w.result();
}

function writeEhdr(w: Writer, h: { entry: bigint; phoff: number; phnum: number; shoff: number; shnum: number; shstrndx: number }): void {
  // e_ident: magic, ELFCLASS64, ELFDATA2LSB, EV_CURRENT, ELFOSABI_NONE, padding.
  w.bytes(Uint8Array.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
  w.u16(ET_EXEC);
  w.u16(EM_AARCH64);
  w.u32(1);
  w.u64(h.entry);
  w.u64(h.phnum > 0 ? h.phoff : 0);
  w.u64(h.shoff);
  w.u32(0);
  w.u16(EHDR_SIZE);
  w.u16(PHDR_SIZE);
  w.u16(h.phnum);
  w.u16(SHDR_SIZE);
  w.u16(h.shnum);
  w.u16(h.shstrndx);
}

function writePhdr(w: Writer, offset: number, addr: bigint, size: number): void {
  w.u32(PT_LOAD);
  w.u32(PF_RWX);
  w.u64(offset);
  w.u64(addr);
  w.u64(addr);
  w.u64(size);
  w.u64(size);
  // Byte alignment: data sections may start anywhere and offset/address must agree modulo p_align.
  w.u64(1);
}

function writeShdr(w: Writer, h: SectionHeader): void {
  w.u32(h.name);
  w.u32(h.type);
  w.u64(h.flags);
  w.u64(h.addr);
  w.u64(h.offset);
  w.u64(h.size);
  w.u32(h.link);
  w.u32(h.info);
  w.u64(h.align);
  w.u64(h.entsize);
}

function writeSym(w: Writer, name: number, info: number, shndx: number, value: bigint, size: bigint): void {
  w.u32(name);
  w.u8(info);
  w.u8(0);
  w.u16(shndx);
  w.u64(value);
  w.u64(size);
}
