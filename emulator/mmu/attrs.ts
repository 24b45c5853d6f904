// Access permissions and memory attributes of a translation, in the compact forms the TLB keeps.

import { AccessKind } from "../fault.ts";
import { ap, pxn, uxn, TABLE_AP_NO_EL0, TABLE_AP_RO, TABLE_PXN, TABLE_UXN } from "./descriptor.ts";

// Stage-1 permission bits: one per (exception level, access kind).
export const S1_EL1_R = 1;
export const S1_EL1_W = 2;
export const S1_EL1_X = 4;
export const S1_EL0_R = 8;
export const S1_EL0_W = 16;
export const S1_EL0_X = 32;
/** Stage 1 disabled: every access is permitted. */
export const S1_ALL = 63;

// Stage-2 permission bits (same for EL1 and EL0 without FEAT_XNX).
export const S2_R = 1;
export const S2_W = 2;
export const S2_X = 4;
/** Stage 2 disabled. */
export const S2_ALL = 7;

/** The stage-1 permission bit an access needs (AccessKind is 0 read, 1 write, 2 fetch). */
export function s1PermBit(kind: AccessKind, el0: boolean): number {
  return 1 << (kind + (el0 ? 3 : 0));
}

export function s2PermBit(kind: AccessKind): number {
  return 1 << kind;
}

/**
 * Stage-1 permissions of a Block/Page descriptor for the EL1&0 regime (Arm ARM D8.4): AP[2:1],
 * the hierarchical table limits (`table`, TABLE_* bits, already 0 when HPD is set), PXN/UXN,
 * implicit PXN on EL0-writable memory, and SCTLR_EL1.WXN.
 */
export function stage1Permissions(lo: number, hi: number, table: number, wxn: boolean): number {
  const a = ap(lo);
  let pw = (a & 2) === 0;
  let ur = (a & 1) === 1;
  let uw = a === 1;
  if (table & TABLE_AP_NO_EL0) ur = uw = false;
  if (table & TABLE_AP_RO) pw = uw = false;
  let px = !(pxn(hi) || table & TABLE_PXN || uw);
  let ux = !(uxn(hi) || table & TABLE_UXN);
  if (wxn) {
    if (pw) px = false;
    if (uw) ux = false;
  }
  return S1_EL1_R | (pw ? S1_EL1_W : 0) | (px ? S1_EL1_X : 0) | (ur ? S1_EL0_R : 0) | (uw ? S1_EL0_W : 0) | (ux ? S1_EL0_X : 0);
}

/** Attr<n> of MAIR_EL1 (n = AttrIndx). */
export function mairAttr(mair: bigint, index: number): number {
  return Number((mair >> BigInt(8 * index)) & 0xffn);
}

/** MAIR encoding 0b0000xxxx is Device memory; anything else is Normal. */
export function isDeviceMair(attr: number): boolean {
  return (attr & 0xf0) === 0;
}

/** Stage-2 MemAttr[3:2] = 00 is Device memory. */
export function isDeviceS2(memAttr: number): boolean {
  return (memAttr & 0xc) === 0;
}

/** MAIR attributes reported when stage 1 is off: Device-nGnRnE, or Normal WB with HCR_EL2.DC. */
export const MAIR_DEVICE_NGNRNE = 0x00;
export const MAIR_NORMAL_WB = 0xff;

/**
 * Shareability as PAR_EL1.SH reports it: Device and Normal Non-cacheable memory are Outer
 * Shareable (0b10) whatever the descriptor says.
 */
export function effectiveShareability(attr: number, sh: number): number {
  if (isDeviceMair(attr) || attr === 0x44) return 2;
  return sh;
}
