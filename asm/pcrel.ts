// PC-relative instructions. keystone mis-encodes numeric ADR/ADRP targets and silently wraps
// out-of-range offsets, so nvlab assembles these with target `.` (offset 0) and fills the offset
// field itself, with range and alignment checks.

import { hex } from "../emulator/types.ts";

const CONDS = "eq|ne|cs|hs|cc|lo|mi|pl|vs|vc|hi|ls|ge|lt|gt|le|al|nv";
const PCREL_MNEMONICS = new RegExp(`^(?:b|bl|cbz|cbnz|tbz|tbnz|adr|adrp|ldr|ldrsw|prfm|b\\.?(?:${CONDS}))$`);

/** Mnemonics whose last operand may be a PC-relative target (LDR/LDRSW/PRFM only in literal form). */
export function isPcRelMnemonic(mnemonic: string): boolean {
  return PCREL_MNEMONICS.test(mnemonic);
}

interface Field {
  name: string;
  /** Offset granule: 4 for instruction targets, 1 for ADR, 4096 for ADRP. */
  scale: bigint;
  bits: number;
  place(word: number, imm: number): number;
}

const imm19 = (w: number, imm: number) => (w & ~(0x7ffff << 5)) | ((imm & 0x7ffff) << 5);
const adrImm = (w: number, imm: number) => (w & ~((3 << 29) | (0x7ffff << 5))) | ((imm & 3) << 29) | (((imm >> 2) & 0x7ffff) << 5);

function classify(word: number): Field | null {
  const is = (mask: number, value: number) => (word & mask) >>> 0 === value;
  if (is(0x7c000000, 0x14000000)) return { name: "B/BL", scale: 4n, bits: 26, place: (x, i) => (x & ~0x3ffffff) | (i & 0x3ffffff) };
  if (is(0xff000010, 0x54000000)) return { name: "B.cond", scale: 4n, bits: 19, place: imm19 };
  if (is(0x7e000000, 0x34000000)) return { name: "CBZ/CBNZ", scale: 4n, bits: 19, place: imm19 };
  if (is(0x7e000000, 0x36000000))
    return { name: "TBZ/TBNZ", scale: 4n, bits: 14, place: (x, i) => (x & ~(0x3fff << 5)) | ((i & 0x3fff) << 5) };
  if (is(0x3b000000, 0x18000000)) return { name: "LDR (literal)", scale: 4n, bits: 19, place: imm19 };
  if (is(0x9f000000, 0x10000000)) return { name: "ADR", scale: 1n, bits: 21, place: adrImm };
  if (is(0x9f000000, 0x90000000)) return { name: "ADRP", scale: 4096n, bits: 21, place: adrImm };
  return null;
}

function rangeText(scale: bigint, bits: number): string {
  const bytes = scale << BigInt(bits - 1);
  const units: Array<[bigint, string]> = [[1n << 30n, "GiB"], [1n << 20n, "MiB"], [1n << 10n, "KiB"]];
  for (const [u, name] of units) if (bytes >= u && bytes % u === 0n) return `±${bytes / u} ${name}`;
  return `±${bytes} bytes`;
}

export type PatchResult = { ok: true; word: number } | { ok: false; reason: string } | { ok: false; notPcRel: true };

/** Put the offset from `pc` to `target` into the PC-relative instruction `word` (assembled with offset 0). */
export function patchPcRel(word: number, pc: bigint, target: bigint): PatchResult {
  const f = classify(word);
  if (!f) return { ok: false, notPcRel: true };
  const t = BigInt.asUintN(64, target);
  let delta: bigint;
  if (f.name === "ADRP") delta = BigInt.asIntN(64, (t & ~0xfffn) - (pc & ~0xfffn));
  else delta = BigInt.asIntN(64, t - pc);
  if (f.scale === 4n && (delta & 3n) !== 0n) return { ok: false, reason: `target ${hex(t)} of ${f.name} is not 4-byte aligned` };
  const imm = delta / f.scale;
  const limit = 1n << BigInt(f.bits - 1);
  if (imm < -limit || imm >= limit) {
    const sign = delta < 0n ? "-" : "+";
    const mag = delta < 0n ? -delta : delta;
    return { ok: false, reason: `target ${hex(t)} out of range for ${f.name} (offset ${sign}${hex(mag)}, limit ${rangeText(f.scale, f.bits)})` };
  }
  return { ok: true, word: f.place(word, Number(imm)) >>> 0 };
}
