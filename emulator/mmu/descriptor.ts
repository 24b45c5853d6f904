// Fields of VMSAv8-64 translation table descriptors (Arm ARM D8.3), for both stages: the one
// definition every walker and table builder uses (the CPU's MMU, L0's stage-2 tables, the walk
// of L1's stage-2, the debugger, the benchmarks' L1 stand-in).
//
// Each field is defined once by its bit position; the 64-bit masks (KVM's KVM_PTE_* style, for
// code that builds descriptors as bigints) and the accessors on the two 32-bit halves (lo =
// bits[31:0], hi = bits[63:32], for walks that must not make bigints) are derived from it.
// Addresses below 2^48 are exact JS numbers.

/** 2^k for k in 0..63, exact as doubles. */
export const POW2: readonly number[] = Array.from({ length: 64 }, (_, k) => 2 ** k);

// ---- bit positions ----

/** bit[0]: 1 = valid. */
export const DESC_VALID_BIT = 0;
/** bit[1] of a valid descriptor: Table (levels 0–2) or Page (level 3); 0 = Block. */
export const DESC_TYPE_BIT = 1;
/** Stage 1 AttrIndx[2:0], bits[4:2]; stage 2 MemAttr[3:0], bits[5:2]. */
export const DESC_ATTR_SHIFT = 2;
/** Stage 1 AP[2:1] / stage 2 S2AP[1:0], bits[7:6]. */
export const DESC_AP_SHIFT = 6;
/** SH[1:0], bits[9:8] (both stages). */
export const DESC_SH_SHIFT = 8;
/** AF, bit[10] (both stages). */
export const DESC_AF_BIT = 10;
/** nG, bit[11] (stage 1). */
export const DESC_NG_BIT = 11;
/** Output address / next-level table address: bits[47:granule or block shift]. */
export const DESC_OA_TOP = 48;
/** Contiguous, bit[52]. */
export const DESC_CONT_BIT = 52;
/** PXN, bit[53] (stage 1; stage 2 XN[0], unused without FEAT_XNX). */
export const DESC_PXN_BIT = 53;
/** UXN, bit[54] (stage 1); stage 2 XN[1]: no execution at EL1 or EL0. */
export const DESC_XN_BIT = 54;
/** Software bits [58:55] (ignored by hardware). */
export const DESC_SW_SHIFT = 55;
/** Stage-1 Table: PXNTable, UXNTable, APTable[1:0], bits[62:59]. */
export const DESC_TABLE_ATTR_SHIFT = 59;

// ---- 64-bit masks ----

const bit = (n: number): bigint => 1n << BigInt(n);

export const PTE_VALID = bit(DESC_VALID_BIT);
export const PTE_TYPE = bit(DESC_TYPE_BIT);
/** A Table descriptor's type bits (also a Page's). */
export const PTE_TABLE = PTE_VALID | PTE_TYPE;
export const PTE_AF = bit(DESC_AF_BIT);
export const PTE_NG = bit(DESC_NG_BIT);
export const PTE_CONT = bit(DESC_CONT_BIT);
export const PTE_PXN = bit(DESC_PXN_BIT);
export const PTE_UXN = bit(DESC_XN_BIT);
/** Stage-2 XN (XN[1]). */
export const PTE_S2_XN = PTE_UXN;
export const PTE_S2AP_R = bit(DESC_AP_SHIFT);
export const PTE_S2AP_W = bit(DESC_AP_SHIFT + 1);
export const PTE_SH_INNER = 3n << BigInt(DESC_SH_SHIFT);
export const PTE_SW_SHIFT = BigInt(DESC_SW_SHIFT);
export const PTE_SW = 0xfn << PTE_SW_SHIFT;
/** Stage-2 MemAttr[3:0] (HCR_EL2.FWB = 0): Normal Inner/Outer Write-Back, Device-nGnRE. */
export const S2_MEMATTR_NORMAL = 0xf;
export const S2_MEMATTR_DEVICE_NGNRE = 0x1;

/** Stage-2 MemAttr field of a descriptor. */
export function pteS2MemAttr(memAttr: number): bigint {
  return BigInt(memAttr) << BigInt(DESC_ATTR_SHIFT);
}

/** Address bits [47:shift] of a 64-bit descriptor (shift = granule for tables, block size for leaves). */
export function pteAddrMask(shift: number): bigint {
  return bit(DESC_OA_TOP) - bit(shift);
}

/** The address field of a 64-bit descriptor, for a granule or block of 2^shift bytes. */
export function pteAddress(desc: bigint, shift: number): bigint {
  return desc & pteAddrMask(shift);
}

// ---- accessors on the 32-bit halves ----

export function isValid(lo: number): boolean {
  return ((lo >>> DESC_VALID_BIT) & 1) === 1;
}

/** Table (level < 3) or Page (level 3); 0 = Block. */
export function isTableOrPage(lo: number): boolean {
  return ((lo >>> DESC_TYPE_BIT) & 1) === 1;
}

/** Address bits [47:shift] of a descriptor (next-level table or output address); shift in 12..31. */
export function addressField(lo: number, hi: number, shift: number): number {
  return (hi & 0xffff) * POW2[32]! + ((lo & (-1 << shift)) >>> 0);
}

export function af(lo: number): boolean {
  return ((lo >>> DESC_AF_BIT) & 1) === 1;
}

// ---- stage 1 Block/Page ----

/** AttrIndx[2:0]: index into MAIR_EL1. */
export function attrIndx(lo: number): number {
  return (lo >>> DESC_ATTR_SHIFT) & 7;
}

/** AP[2:1]. */
export function ap(lo: number): number {
  return (lo >>> DESC_AP_SHIFT) & 3;
}

/** SH[1:0] (both stages). */
export function sh(lo: number): number {
  return (lo >>> DESC_SH_SHIFT) & 3;
}

/** nG: the translation is tagged with the ASID. */
export function notGlobal(lo: number): boolean {
  return ((lo >>> DESC_NG_BIT) & 1) === 1;
}

export function contiguous(hi: number): boolean {
  return ((hi >>> (DESC_CONT_BIT - 32)) & 1) === 1;
}

export function pxn(hi: number): boolean {
  return ((hi >>> (DESC_PXN_BIT - 32)) & 1) === 1;
}

/** UXN (stage 2: XN[1]). */
export function uxn(hi: number): boolean {
  return ((hi >>> (DESC_XN_BIT - 32)) & 1) === 1;
}

/** Software bits [58:55] as 0..15. */
export function swBits(hi: number): number {
  return (hi >>> (DESC_SW_SHIFT - 32)) & 0xf;
}

// ---- stage 1 Table: hierarchical attributes ----

export const TABLE_PXN = 1;
export const TABLE_UXN = 2;
/** APTable[0]: no EL0 access below this table. */
export const TABLE_AP_NO_EL0 = 4;
/** APTable[1]: no write access below this table. */
export const TABLE_AP_RO = 8;

/** PXNTable, UXNTable, APTable[1:0] as TABLE_* bits. */
export function tableAttrs(hi: number): number {
  return (hi >>> (DESC_TABLE_ATTR_SHIFT - 32)) & 0xf;
}

// ---- stage 2 Block/Page ----

/** MemAttr[3:0] (HCR_EL2.FWB = 0). */
export function memAttr(lo: number): number {
  return (lo >>> DESC_ATTR_SHIFT) & 0xf;
}

/** S2AP[1:0]: bit 0 read, bit 1 write. */
export function s2ap(lo: number): number {
  return (lo >>> DESC_AP_SHIFT) & 3;
}

/** Stage-2 XN (XN[1]): no execution at EL1 or EL0. */
export function s2xn(hi: number): boolean {
  return uxn(hi);
}

/** The two halves of a 64-bit descriptor, for code that holds it as a bigint. */
export function descLo(desc: bigint): number {
  return Number(desc & 0xffff_ffffn);
}

export function descHi(desc: bigint): number {
  return Number((desc >> 32n) & 0xffff_ffffn);
}
