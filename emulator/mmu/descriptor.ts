// Fields of VMSAv8-64 translation table descriptors (Arm ARM D8.3), as used by both stages.
// A descriptor is read as two unsigned 32-bit halves (lo = bits[31:0], hi = bits[63:32]) so the
// walk needs no bigint arithmetic; addresses below 2^48 are exact JS numbers.

/** 2^k for k in 0..63, exact as doubles. */
export const POW2: readonly number[] = Array.from({ length: 64 }, (_, k) => 2 ** k);

/** bit[0]: 1 = valid. */
export function isValid(lo: number): boolean {
  return (lo & 1) === 1;
}

/** bit[1] of a valid descriptor: Table (level < 3) or Page (level 3); 0 = Block. */
export function isTableOrPage(lo: number): boolean {
  return (lo & 2) === 2;
}

/** Address bits [47:shift] of a descriptor (next-level table or output address); shift in 12..31. */
export function addressField(lo: number, hi: number, shift: number): number {
  return (hi & 0xffff) * POW2[32]! + ((lo & (-1 << shift)) >>> 0);
}

/** Access flag, bit[10] (both stages). */
export function af(lo: number): boolean {
  return ((lo >>> 10) & 1) === 1;
}

// ---- stage 1 Block/Page ----

/** AttrIndx[2:0], bits[4:2]: index into MAIR_EL1. */
export function attrIndx(lo: number): number {
  return (lo >>> 2) & 7;
}

/** AP[2:1], bits[7:6]. */
export function ap(lo: number): number {
  return (lo >>> 6) & 3;
}

/** SH[1:0], bits[9:8] (both stages). */
export function sh(lo: number): number {
  return (lo >>> 8) & 3;
}

/** nG, bit[11]: the translation is tagged with the ASID. */
export function notGlobal(lo: number): boolean {
  return ((lo >>> 11) & 1) === 1;
}

/** PXN, bit[53]. */
export function pxn(hi: number): boolean {
  return ((hi >>> 21) & 1) === 1;
}

/** UXN, bit[54] (stage 2: XN[1]). */
export function uxn(hi: number): boolean {
  return ((hi >>> 22) & 1) === 1;
}

// ---- stage 1 Table: hierarchical attributes, bits[62:59] ----

export const TABLE_PXN = 1;
export const TABLE_UXN = 2;
/** APTable[0]: no EL0 access below this table. */
export const TABLE_AP_NO_EL0 = 4;
/** APTable[1]: no write access below this table. */
export const TABLE_AP_RO = 8;

/** PXNTable, UXNTable, APTable[1:0] as TABLE_* bits. */
export function tableAttrs(hi: number): number {
  return (hi >>> 27) & 0xf;
}

// ---- stage 2 Block/Page ----

/** MemAttr[3:0], bits[5:2] (HCR_EL2.FWB = 0). */
export function memAttr(lo: number): number {
  return (lo >>> 2) & 0xf;
}

/** S2AP[1:0], bits[7:6]: bit 0 read, bit 1 write. */
export function s2ap(lo: number): number {
  return (lo >>> 6) & 3;
}

/** Stage-2 XN (XN[1]), bit[54]: no execution at EL1 or EL0. */
export function s2xn(hi: number): boolean {
  return uxn(hi);
}
