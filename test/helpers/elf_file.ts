// ELF64 files built field by field for loader tests: every header value can be set to a wrong one.

import type { Image } from "../../asm/image.ts";
import { writeElf } from "../../debug/elf.ts";

export interface TestSegment {
  type?: number;
  paddr: bigint;
  vaddr?: bigint;
  /** File bytes (p_filesz). */
  bytes: Uint8Array;
  /** p_memsz (default: the bytes' length). */
  memsz?: bigint;
  /** p_offset instead of where the bytes are placed. */
  offset?: bigint;
  /** p_filesz instead of the bytes' length. */
  filesz?: bigint;
  /** p_flags (default 7: PF_R | PF_W | PF_X). */
  flags?: number;
}

export interface TestSymbol {
  name: string;
  value: bigint;
  /** st_info type (default STT_FUNC). */
  type?: number;
  /** st_shndx (default 1: a section). */
  shndx?: number;
}

export interface TestElf {
  class?: number;
  data?: number;
  type?: number;
  machine?: number;
  entry?: bigint;
  segments: TestSegment[];
  symbols?: TestSymbol[];
  /** e_phoff instead of right after the header. */
  phoff?: bigint;
  phentsize?: number;
  shoff?: bigint;
}

const EHDR = 64;
const PHDR = 56;
const SHDR = 64;

/** The file: header, program headers, segment bytes, then (with symbols) .symtab, .strtab and section headers. */
export function buildElf(e: TestElf): Uint8Array {
  const phoff = EHDR;
  let at = phoff + PHDR * e.segments.length;
  const offsets = e.segments.map((s) => {
    const o = at;
    at += s.bytes.length;
    return o;
  });
  const names: number[] = [0];
  const nameOffsets = (e.symbols ?? []).map((s) => {
    const o = names.length;
    names.push(...new TextEncoder().encode(s.name), 0);
    return o;
  });
  const symtabOff = at;
  const nsyms = e.symbols ? e.symbols.length + 1 : 0;
  const strtabOff = symtabOff + 24 * nsyms;
  const shoff = strtabOff + (e.symbols ? names.length : 0);
  const shnum = e.symbols ? 3 : 0;
  const buf = new Uint8Array(shoff + SHDR * shnum);
  const v = new DataView(buf.buffer);
  buf.set([0x7f, 0x45, 0x4c, 0x46, e.class ?? 2, e.data ?? 1, 1]);
  v.setUint16(16, e.type ?? 2, true);
  v.setUint16(18, e.machine ?? 183, true);
  v.setUint32(20, 1, true);
  v.setBigUint64(24, e.entry ?? e.segments[0]?.paddr ?? 0n, true);
  v.setBigUint64(32, e.phoff ?? BigInt(phoff), true);
  v.setBigUint64(40, e.shoff ?? (shnum ? BigInt(shoff) : 0n), true);
  v.setUint16(52, EHDR, true);
  v.setUint16(54, e.phentsize ?? PHDR, true);
  v.setUint16(56, e.segments.length, true);
  v.setUint16(58, SHDR, true);
  v.setUint16(60, shnum, true);
  e.segments.forEach((s, i) => {
    const p = phoff + PHDR * i;
    v.setUint32(p, s.type ?? 1, true);
    v.setUint32(p + 4, s.flags ?? 7, true);
    v.setBigUint64(p + 8, s.offset ?? BigInt(offsets[i]!), true);
    v.setBigUint64(p + 16, s.vaddr ?? s.paddr, true);
    v.setBigUint64(p + 24, s.paddr, true);
    v.setBigUint64(p + 32, s.filesz ?? BigInt(s.bytes.length), true);
    v.setBigUint64(p + 40, s.memsz ?? BigInt(s.bytes.length), true);
    v.setBigUint64(p + 48, 4n, true);
    buf.set(s.bytes, offsets[i]);
  });
  if (e.symbols) {
    e.symbols.forEach((s, i) => {
      const p = symtabOff + 24 * (i + 1);
      v.setUint32(p, nameOffsets[i]!, true);
      v.setUint8(p + 4, (1 << 4) | (s.type ?? 2));
      v.setUint16(p + 6, s.shndx ?? 1, true);
      v.setBigUint64(p + 8, s.value, true);
    });
    buf.set(names, strtabOff);
    // Section 0 is null; 1 is .symtab (sh_link 2), 2 is .strtab.
    const sh = (i: number, type: number, off: number, size: number, link: number): void => {
      const p = shoff + SHDR * i;
      v.setUint32(p + 4, type, true);
      v.setBigUint64(p + 24, BigInt(off), true);
      v.setBigUint64(p + 32, BigInt(size), true);
      v.setUint32(p + 40, link, true);
      v.setBigUint64(p + 56, type === 2 ? 24n : 0n, true);
    };
    sh(1, 2, symtabOff, 24 * nsyms, 2);
    sh(2, 3, strtabOff, names.length, 0);
  }
  return buf;
}

/** An assembled image as the ELF a cross toolchain would link: its sections and labels, its entry. */
export function imageElf(image: Image): Uint8Array {
  const sections = image.sections.map((s) => ({ name: s.name, addr: s.base, bytes: s.bytes }));
  const symbols = [...image.symbols]
    .map(([name, value]) => ({ name, value, size: 0n, section: image.sections.findIndex((s) => value >= s.base && value < s.base + BigInt(s.bytes.length)) }))
    .filter((s) => s.section >= 0);
  return writeElf(sections, symbols, image.entry);
}
