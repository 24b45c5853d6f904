// An ELF64 AArch64 executable read as an Image: its PT_LOAD segments at their physical addresses
// (p_paddr, where a loader with the MMU off puts them, as QEMU's ELF loader does), the rest of each
// segment past p_filesz zeroed (.bss), the entry point from e_entry (checked to lie in an executable
// segment) and the labels from .symtab.
// Only what a bare-metal loader can place as it stands is accepted: an executable (ET_EXEC), not
// a shared object or an object file, which would need relocation first.

import { hex } from "../emulator/types.ts";
import { type Image, ImageFileError, type Section } from "./image.ts";

/** An ELF file that cannot be loaded; the message names the file and the reason. */
export class ElfError extends ImageFileError {
  constructor(file: string, reason: string) {
    super(file, reason);
    this.name = "ElfError";
  }
}

const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46];
const ELFCLASS64 = 2;
const ELFDATA2LSB = 1;
const ET_REL = 1;
const ET_EXEC = 2;
const ET_DYN = 3;
const EM_AARCH64 = 183;
const PT_LOAD = 1;
const PT_NOTE = 4;
const PF_X = 1;
const PF_W = 2;
const SHT_SYMTAB = 2;
const SHN_UNDEF = 0;
const SHN_ABS = 0xfff1;
const SHN_LORESERVE = 0xff00;
const STT_NOTYPE = 0;
const STT_OBJECT = 1;
const STT_FUNC = 2;

const EHDR_SIZE = 64;
const PHDR_SIZE = 56;
const SHDR_SIZE = 64;
const SYM_SIZE = 24;

/** Largest segment loaded: a p_memsz beyond it is a mistake, not a guest (it would be allocated). */
export const ELF_SEGMENT_MAX_BYTES = 256 << 20;

/** True when `bytes` start with the ELF magic: the format is told by content, not by file name. */
export function isElf(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && ELF_MAGIC.every((b, i) => bytes[i] === b);
}

interface ElfHeader {
  class: number;
  data: number;
  type: number;
  machine: number;
  entry: bigint;
  phoff: bigint;
  shoff: bigint;
  phentsize: number;
  phnum: number;
  shentsize: number;
  shnum: number;
}

const TYPE_NAMES: Record<number, string> = { 0: "ET_NONE", 1: "ET_REL", 2: "ET_EXEC", 3: "ET_DYN", 4: "ET_CORE" };

/** The header checks, in order: the first that fails names what is wrong with the file. */
const HEADER_CHECKS: { ok: (h: ElfHeader) => boolean; reason: (h: ElfHeader) => string }[] = [
  { ok: (h) => h.class === ELFCLASS64, reason: (h) => `not an ELF64 file (EI_CLASS ${h.class}; 32-bit ELF is not AArch64 code)` },
  { ok: (h) => h.data === ELFDATA2LSB, reason: () => "a big-endian ELF (EI_DATA ELFDATA2MSB); nvlab runs little-endian AArch64 only" },
  { ok: (h) => h.machine === EM_AARCH64, reason: (h) => `not an AArch64 ELF (e_machine ${h.machine}, AArch64 is ${EM_AARCH64})` },
  {
    ok: (h) => h.type !== ET_DYN && h.type !== ET_REL,
    reason: (h) =>
      `a ${TYPE_NAMES[h.type]} ELF needs relocation, which nvlab does not do; link a static executable ` +
      "(ET_EXEC: -static, -no-pie, -Ttext=ADDR)",
  },
  { ok: (h) => h.type === ET_EXEC, reason: (h) => `not an executable (e_type ${TYPE_NAMES[h.type] ?? h.type})` },
  { ok: (h) => h.phnum === 0 || h.phentsize >= PHDR_SIZE, reason: (h) => `program header entries of ${h.phentsize} bytes, fewer than ELF64's ${PHDR_SIZE}` },
  { ok: (h) => h.shnum === 0 || h.shentsize >= SHDR_SIZE, reason: (h) => `section header entries of ${h.shentsize} bytes, fewer than ELF64's ${SHDR_SIZE}` },
];

function readHeader(v: DataView): ElfHeader {
  return {
    class: v.getUint8(4),
    data: v.getUint8(5),
    type: v.getUint16(16, true),
    machine: v.getUint16(18, true),
    entry: v.getBigUint64(24, true),
    phoff: v.getBigUint64(32, true),
    shoff: v.getBigUint64(40, true),
    phentsize: v.getUint16(54, true),
    phnum: v.getUint16(56, true),
    shentsize: v.getUint16(58, true),
    shnum: v.getUint16(60, true),
  };
}

interface Segment {
  index: number;
  flags: number;
  offset: bigint;
  vaddr: bigint;
  paddr: bigint;
  filesz: bigint;
  memsz: bigint;
  /** Nothing but the ELF header, program headers and notes (see headersAndNotesOnly). */
  headersAndNotes: boolean;
  /** How many of its first bytes are the ELF header and program headers (GNU ld maps them with the code). */
  headerBytes: bigint;
}

/** A file range [from, to). */
type Range = [bigint, bigint];

/** True when [offset, offset + size) lies inside a file of `length` bytes. */
function inFile(offset: bigint, size: bigint, length: number): boolean {
  return offset <= BigInt(length) && size <= BigInt(length) - offset;
}

function loadSegments(file: string, v: DataView, h: ElfHeader): Segment[] {
  const size = BigInt(h.phnum) * BigInt(h.phentsize);
  if (!inFile(h.phoff, size, v.byteLength)) {
    throw new ElfError(file, `its ${h.phnum} program headers at offset ${hex(h.phoff)} lie outside the file (${v.byteLength} bytes)`);
  }
  const phdr = (i: number): number => Number(h.phoff) + i * h.phentsize;
  // The headers and the notes: what a PT_LOAD made of nothing else holds.
  const meta: Range[] = [[0n, h.phoff + size]];
  for (let i = 0; i < h.phnum; i++) {
    if (v.getUint32(phdr(i), true) !== PT_NOTE) continue;
    const offset = v.getBigUint64(phdr(i) + 8, true);
    meta.push([offset, offset + v.getBigUint64(phdr(i) + 32, true)]);
  }
  const segments: Segment[] = [];
  for (let i = 0; i < h.phnum; i++) {
    const at = phdr(i);
    if (v.getUint32(at, true) !== PT_LOAD) continue;
    const s: Segment = {
      index: i,
      flags: v.getUint32(at + 4, true),
      offset: v.getBigUint64(at + 8, true),
      vaddr: v.getBigUint64(at + 16, true),
      paddr: v.getBigUint64(at + 24, true),
      filesz: v.getBigUint64(at + 32, true),
      memsz: v.getBigUint64(at + 40, true),
      headersAndNotes: false,
      headerBytes: 0n,
    };
    // A zero-size segment loads nothing (linkers emit them for empty output sections).
    if (s.memsz === 0n && s.filesz === 0n) continue;
    checkSegment(file, v.byteLength, s);
    s.headersAndNotes = headersAndNotesOnly(s, meta);
    const headersEnd = meta[0]![1];
    if (s.offset === 0n) s.headerBytes = s.filesz < headersEnd ? s.filesz : headersEnd;
    segments.push(s);
  }
  checkOverlaps(file, segments);
  return segments;
}

/**
 * A read-only, non-executable PT_LOAD whose bytes are all ELF headers or notes: what GNU ld makes
 * of gcc's default .note.gnu.build-id when no linker script places it (a segment of its own at
 * the default text address 0x400000, far from the code).
 */
function headersAndNotesOnly(s: Segment, meta: readonly Range[]): boolean {
  if ((s.flags & (PF_X | PF_W)) !== 0 || s.filesz !== s.memsz) return false;
  let at = s.offset;
  const end = s.offset + s.filesz;
  // Walk the segment's bytes through the ranges that cover them, in any order.
  for (let moved = true; at < end && moved; ) {
    moved = false;
    for (const [from, to] of meta) {
      if (from <= at && at < to) {
        at = to;
        moved = true;
      }
    }
  }
  return at >= end;
}

function checkSegment(file: string, length: number, s: Segment): void {
  const what = `PT_LOAD segment ${s.index} at ${hex(s.paddr)}`;
  if (s.filesz > s.memsz) throw new ElfError(file, `${what} has p_filesz ${hex(s.filesz)} larger than its p_memsz ${hex(s.memsz)}`);
  if (!inFile(s.offset, s.filesz, length)) {
    throw new ElfError(file, `${what}: its bytes at offset ${hex(s.offset)}..${hex(s.offset + s.filesz)} lie outside the file (${length} bytes)`);
  }
  if (s.memsz > BigInt(ELF_SEGMENT_MAX_BYTES)) throw new ElfError(file, `${what} is ${hex(s.memsz)} bytes, more than the ${ELF_SEGMENT_MAX_BYTES >> 20} MiB nvlab loads`);
  if (s.paddr + s.memsz > 1n << 64n) throw new ElfError(file, `${what} (${hex(s.memsz)} bytes) wraps past the top of the 64-bit address space`);
}

/** Two segments sharing bytes: which one's bytes win would depend on the load order. */
function checkOverlaps(file: string, segments: readonly Segment[]): void {
  const sorted = [...segments].sort((a, b) => (a.paddr < b.paddr ? -1 : a.paddr > b.paddr ? 1 : 0));
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1]!;
    const b = sorted[i]!;
    if (b.paddr < a.paddr + a.memsz) {
      throw new ElfError(
        file,
        `PT_LOAD segments ${a.index} (${hex(a.paddr)}..${hex(a.paddr + a.memsz)}) and ${b.index} (${hex(b.paddr)}..${hex(b.paddr + b.memsz)}) overlap`,
      );
    }
  }
}

function segmentSection(bytes: Uint8Array, s: Segment): Section {
  // p_memsz bytes, zero past p_filesz: the .bss the program expects to find cleared.
  const out = new Uint8Array(Number(s.memsz));
  out.set(bytes.subarray(Number(s.offset), Number(s.offset + s.filesz)));
  return {
    name: `PT_LOAD[${s.index}]`,
    base: s.paddr,
    bytes: out,
    ...(s.headersAndNotes ? { headersAndNotes: true } : {}),
    ...(s.headerBytes > 0n ? { headerBytes: Number(s.headerBytes) } : {}),
  };
}

/**
 * Where the CPU starts: e_entry is a virtual address; inside an executable segment whose p_vaddr
 * and p_paddr differ it is moved as the segment is (QEMU's ELF loader does the same), since the
 * MMU is off at entry. An entry in no executable segment is kept, with the reason a loader that
 * enters the image refuses it (an L2's entry is its L1's business; a gdb symbol file has none).
 */
function entryPoint(entry: bigint, segments: readonly Segment[]): { entry: bigint; entryProblem?: string } {
  const text = segments.find((s) => (s.flags & PF_X) !== 0 && entry >= s.vaddr && entry < s.vaddr + s.filesz);
  if (text !== undefined) return { entry: entry - text.vaddr + text.paddr };
  const where = segments.map((s) => `${hex(s.vaddr)}..${hex(s.vaddr + s.filesz)}${(s.flags & PF_X) !== 0 ? " (X)" : ""}`).join(", ");
  return {
    entry,
    entryProblem: `its entry point e_entry ${hex(entry)} lies in no executable PT_LOAD segment (PF_X, by p_vaddr and p_filesz: ${where}); check ENTRY() or -e in the link`,
  };
}

/** The NUL-terminated name at `offset` of a string table, or null when it leaves the table. */
function cString(bytes: Uint8Array, start: number, end: number, offset: number): string | null {
  const from = start + offset;
  if (offset < 0 || from >= end) return null;
  const nul = bytes.subarray(from, end).indexOf(0);
  if (nul < 0) return null;
  return new TextDecoder().decode(bytes.subarray(from, from + nul));
}

/**
 * Labels (functions, objects, plain labels defined in a section) and constants (SHN_ABS) from
 * .symtab. A file without one (stripped) has none; a malformed table is refused rather than half read.
 */
function readSymbols(file: string, bytes: Uint8Array, v: DataView, h: ElfHeader): { symbols: Map<string, bigint>; constants: Map<string, bigint> } {
  const symbols = new Map<string, bigint>();
  const constants = new Map<string, bigint>();
  if (h.shnum === 0 || h.shoff === 0n) return { symbols, constants };
  if (!inFile(h.shoff, BigInt(h.shnum) * BigInt(h.shentsize), bytes.length)) {
    throw new ElfError(file, `its ${h.shnum} section headers at offset ${hex(h.shoff)} lie outside the file (${bytes.length} bytes)`);
  }
  const shdr = (i: number): number => Number(h.shoff) + i * h.shentsize;
  for (let i = 0; i < h.shnum; i++) {
    if (v.getUint32(shdr(i) + 4, true) !== SHT_SYMTAB) continue;
    const offset = v.getBigUint64(shdr(i) + 24, true);
    const size = v.getBigUint64(shdr(i) + 32, true);
    const link = v.getUint32(shdr(i) + 40, true);
    if (!inFile(offset, size, bytes.length) || link >= h.shnum) throw new ElfError(file, `its .symtab (section ${i}) lies outside the file`);
    const strOff = v.getBigUint64(shdr(link) + 24, true);
    const strSize = v.getBigUint64(shdr(link) + 32, true);
    if (!inFile(strOff, strSize, bytes.length)) throw new ElfError(file, `the string table of its .symtab (section ${link}) lies outside the file`);
    const strStart = Number(strOff);
    const strEnd = strStart + Number(strSize);
    for (let at = Number(offset); at + SYM_SIZE <= Number(offset + size); at += SYM_SIZE) {
      const type = v.getUint8(at + 4) & 0xf;
      if (type !== STT_NOTYPE && type !== STT_OBJECT && type !== STT_FUNC) continue;
      const shndx = v.getUint16(at + 6, true);
      if (shndx === SHN_UNDEF || (shndx >= SHN_LORESERVE && shndx !== SHN_ABS)) continue;
      const name = cString(bytes, strStart, strEnd, v.getUint32(at, true));
      // $x/$d mark code and data for disassemblers; they are not labels anyone wrote.
      if (!name || name.startsWith("$")) continue;
      const table = shndx === SHN_ABS ? constants : symbols;
      // A static name in several objects: the first keeps it, as the assembler's first label does.
      if (!table.has(name)) table.set(name, v.getBigUint64(at + 8, true));
    }
  }
  return { symbols, constants };
}

/** The ELF file's bytes as an Image at its physical addresses; throws an ElfError naming `file`. */
export function readElf(bytes: Uint8Array, file: string): Image {
  if (!isElf(bytes)) throw new ElfError(file, "not an ELF file (no \\x7fELF magic)");
  if (bytes.length < EHDR_SIZE) throw new ElfError(file, `truncated: ${bytes.length} bytes, less than an ELF64 header`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const h = readHeader(v);
  const failed = HEADER_CHECKS.find((c) => !c.ok(h));
  if (failed) throw new ElfError(file, failed.reason(h));
  const segments = loadSegments(file, v, h);
  if (segments.length === 0) throw new ElfError(file, "no PT_LOAD segment has any bytes: nothing to load");
  const { symbols, constants } = readSymbols(file, bytes, v, h);
  return { file, sections: segments.map((s) => segmentSection(bytes, s)), symbols, constants, ...entryPoint(h.entry, segments), format: "elf" };
}
