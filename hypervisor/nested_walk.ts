// Software walk of L1's stage-2 tables (KVM: kvm_walk_nested_s2 in nested.c).
//
// L1 programs a virtual VTTBR_EL2/VTCR_EL2 and builds its stage-2 in its own memory. On a shadow
// stage-2 fault L0 walks those tables to learn what L1 wants for the faulting nested IPA: either
// a translation to a canonical IPA (plus permissions and L1's leaf size) or the fault L1 itself
// must see. The walker is pure: descriptors come through `read64` at canonical (L1) IPAs, so it
// can be driven from a plain map in tests.

import { DESC_AF_BIT, DESC_AP_SHIFT, DESC_OA_TOP, POW2 } from "../emulator/mmu/descriptor.ts";

/** Fault status code bases (ESR_ELx.DFSC/IFSC) used by the walker; the level goes in [1:0]. */
export const ESR_ELx_FSC_ADDRSZ = 0x00;
export const ESR_ELx_FSC_FAULT = 0x04;
export const ESR_ELx_FSC_ACCESS = 0x08;
export const ESR_ELx_FSC_PERM = 0x0c;

/** KVM's get_kvm_ipa_limit(): the host stage-2 covers 48-bit IPAs. */
export const KVM_IPA_LIMIT = 48;

/** The result of a successful walk (KVM: struct kvm_s2_trans). */
export interface KvmS2Trans {
  /** Canonical IPA that the walked nested IPA translates to. */
  output: bigint;
  /** Size of L1's leaf (page or block); the contiguous bit does not enlarge it. */
  blockSize: bigint;
  /** L1's walk level of the leaf. */
  level: number;
  readable: boolean;
  writable: boolean;
  executable: boolean;
  /** The raw leaf descriptor. */
  desc: bigint;
}

export type WalkResult =
  | { ok: true; trans: KvmS2Trans }
  /** A fault for L1: `fsc` carries the level; `desc` is the descriptor at fault, if one was read. */
  | { ok: false; fsc: number; level: number; desc?: bigint }
  /** KVM's negative return: VTCR that KVM refuses to walk, or a table outside L1 memory. */
  | { ok: false; walkerError: string; address?: bigint };

/** The walk parameters derived from the virtual VTCR_EL2/VTTBR_EL2 (KVM: struct s2_walk_info). */
export interface S2WalkInfo {
  /** VTTBR_EL2 as L1 wrote it; only BADDR is used. */
  baddr: bigint;
  /** Output size in bits: min(PS, host IPA limit). */
  maxOaBits: number;
  /** log2 of the granule: 12, 14 or 16. */
  pgshift: number;
  /** VTCR_EL2.SL0. */
  sl: number;
  /** VTCR_EL2.T0SZ. */
  t0sz: number;
  /** Descriptors are big-endian (virtual SCTLR_EL2.EE). */
  be: boolean;
}

/** FSC for a fault of kind `fsc` at walk level `level` (KVM: compute_fsc). */
export function computeFsc(level: number, fsc: number): number {
  return fsc | (level & 3);
}

/** VTCR_EL2.PS → output address size in bits; 52-bit is not supported, so 5 and above give 48. */
export function psToOutputSize(ps: number): number {
  const sizes = [32, 36, 40, 42, 44];
  return ps < sizes.length ? sizes[ps]! : 48;
}

/** TG0 → granule shift; the IMPDEF encoding 0b11 is treated as 64K, as KVM does. */
export function vtcrGranuleShift(vtcr: bigint): number {
  switch (Number((vtcr >> 14n) & 3n)) {
    case 0:
      return 12;
    case 2:
      return 14;
    default:
      return 16;
  }
}

export function vtcrToWalkInfo(vtcr: bigint, vttbr: bigint, be = false): S2WalkInfo {
  return {
    baddr: vttbr,
    maxOaBits: Math.min(KVM_IPA_LIMIT, psToOutputSize(Number((vtcr >> 16n) & 7n))),
    pgshift: vtcrGranuleShift(vtcr),
    sl: Number((vtcr >> 6n) & 3n),
    t0sz: Number(vtcr & 0x3fn),
    be,
  };
}

/** The top bit of output and table addresses in a descriptor (bit 47). */
const OA_TOP_BIT = DESC_OA_TOP - 1;

/** BigInt(n) for shift counts 0..64, made once. */
const SHIFT: readonly bigint[] = Array.from({ length: 65 }, (_, n) => BigInt(n));
/** 2^n as a bigint, for leaf sizes. */
const SIZE: readonly bigint[] = Array.from({ length: 65 }, (_, n) => 1n << BigInt(n));

/** Address bits 47:0 of a register or descriptor. */
const OA_MASK = (1n << BigInt(OA_TOP_BIT + 1)) - 1n;

/**
 * A descriptor reader that also answers on numbers, without a bigint per read: the descriptor at
 * canonical IPA `l1Ipa` (below 2^48) as its two 32-bit halves, little-endian as `read64` returns
 * it. False when that IPA is not L1 memory. L0's own reader (mmu.ts) has it; a reader without it
 * is called as `read64` and its value split.
 */
export type Read64Halves = (l1Ipa: number, out: Uint32Array) => boolean;
export type DescriptorReader = ((l1Ipa: bigint) => bigint | null) & { readonly halves?: Read64Halves };

/** The descriptor being walked: [0] bits 31:0, [1] bits 63:32. */
const DESC = new Uint32Array(2);

function readDescriptor(read64: DescriptorReader, addr: number): boolean {
  if (read64.halves !== undefined) return read64.halves(addr, DESC);
  const v = read64(BigInt(addr));
  if (v === null) return false;
  DESC[0] = Number(v & 0xffff_ffffn);
  DESC[1] = Number((v >> 32n) & 0xffff_ffffn);
  return true;
}

function bswap32(v: number): number {
  return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;
}

/** The 64-bit descriptor from its halves. */
function descOf(lo: number, hi: number): bigint {
  return (BigInt(hi) << 32n) | BigInt(lo);
}

/** A descriptor's bits 47:0 (output and table addresses) as a number. */
function oaBits(lo: number, hi: number): number {
  return (hi & 0xffff) * 0x1_0000_0000 + lo;
}

/** Descriptor bit 52 (contiguous) and 54 (stage-2 XN[1]) in the high half. */
const HI_CONT = 1 << (52 - 32);
const HI_S2_XN = 1 << (54 - 32);

/** Why KVM refuses this start level for this input size, or null if it accepts it (check_base_s2_limits). */
function checkBaseS2Limits(wi: S2WalkInfo, level: number, ia: number, stride: number): string | null {
  switch (wi.pgshift) {
    case 16:
      if (level === 0 || (level === 1 && ia <= 42)) return `start level ${level} with a 64K granule and a ${ia}-bit IPA`;
      break;
    case 14:
      if (level === 0 || (level === 1 && ia <= 40)) return `start level ${level} with a 16K granule and a ${ia}-bit IPA`;
      break;
    default:
      if (level < 0 || (level === 0 && ia <= 42)) return `start level ${level} with a 4K granule and a ${ia}-bit IPA`;
  }
  // The start table resolves 1..stride+4 bits: at most 16 concatenated tables.
  const startBits = ia - ((3 - level) * stride + wi.pgshift);
  if (startBits < 1 || startBits > stride + 4) {
    return `start level ${level} resolves ${startBits} bits (1..${stride + 4} allowed) for a ${ia}-bit IPA`;
  }
  return null;
}

/** Address bits 47:0 (a number) set above the output size? (check_output_size) */
function outputTooLarge(wi: S2WalkInfo, addr47: number): boolean {
  return wi.maxOaBits !== 48 && addr47 >= POW2[wi.maxOaBits]!;
}

/** Extra output alignment the contiguous bit imposes (KVM: contiguous_bit_shift, after StageOA()). */
function contiguousBitShift(hi: number, pgshift: number, level: number): number {
  if ((hi & HI_CONT) === 0) return 0;
  if (pgshift === 12) return 4;
  if (pgshift === 14) return level === 2 ? 5 : 7;
  return 5;
}

/**
 * Told of each descriptor a walk reads (L0 write-tracks those pages: page_track.ts): its canonical
 * IPA, its lookup level, the nested IPA walked and log2 of the nested range one descriptor of that
 * level translates (all below 2^48, as numbers).
 */
export interface S2WalkVisitor {
  descriptorRead(descAddr: number, level: number, ipa: number, bottom: number): void;
}

function fault(level: number, fsc: number, desc?: bigint): WalkResult {
  return desc === undefined
    ? { ok: false, fsc: computeFsc(level, fsc), level }
    : { ok: false, fsc: computeFsc(level, fsc), level, desc };
}

/**
 * The walk proper (KVM: walk_nested_s2_pgd), for parameters already derived from VTCR. Every
 * shadow fault walks, so addresses (below 2^48) and descriptors (two 32-bit halves) are numbers;
 * bigints are made only for the result. `visit` is told of every descriptor read.
 */
export function walkNestedS2Pgd(read64: DescriptorReader, wi: S2WalkInfo, ipa: bigint, visit: S2WalkVisitor | null = null): WalkResult {
  const ia = 64 - wi.t0sz;
  if (ia > 48 || ia < 25) {
    return { ok: false, walkerError: `VTCR_EL2.T0SZ=${wi.t0sz}: input size ${ia} bits outside 25..48` };
  }

  const stride = wi.pgshift - 3;
  const firstBlockLevel = wi.pgshift === 12 ? 1 : 2;
  let level = (wi.pgshift === 12 ? 2 : 3) - wi.sl;
  const bad = checkBaseS2Limits(wi, level, ia, stride);
  if (bad !== null) return { ok: false, walkerError: `VTCR_EL2.SL0=${wi.sl}: ${bad}` };

  // KVM leaves the IPA's bits above the input size out of the index (so they alias); the
  // architecture (AArch64.IPAIsOutOfRange) makes such an IPA a level 0 Translation fault.
  ipa = BigInt.asUintN(64, ipa);
  if (ipa >> SHIFT[ia]! !== 0n) return fault(0, ESR_ELx_FSC_FAULT);
  const ipaN = Number(ipa);

  // The start table (possibly concatenated tables) is aligned to its own size; VMID and CnP
  // fall outside the mask.
  const startBits = ia - ((3 - level) * stride + wi.pgshift);
  const baddr = Number(wi.baddr & OA_MASK);
  let base = baddr - (baddr % POW2[3 + startBits]!);
  if (outputTooLarge(wi, base)) return fault(level, ESR_ELx_FSC_ADDRSZ);

  let top = ia - 1;
  let bottom: number;
  let lo: number;
  let hi: number;
  for (;;) {
    bottom = (3 - level) * stride + wi.pgshift;
    // base | (ipa[top:bottom] << 3): the index bits lie below the table's alignment.
    const descAddr = base + Math.floor((ipaN % POW2[top + 1]!) / POW2[bottom]!) * 8;
    if (!readDescriptor(read64, descAddr)) return { ok: false, walkerError: "descriptor outside L1 memory", address: BigInt(descAddr) };
    if (visit !== null) visit.descriptorRead(descAddr, level, ipaN, bottom);
    lo = DESC[0]!;
    hi = DESC[1]!;
    if (wi.be) {
      const swappedLo = bswap32(hi);
      hi = bswap32(lo);
      lo = swappedLo;
    }

    const isTable = (lo & 2) !== 0;
    if ((lo & 1) === 0 || (!isTable && level === 3)) return fault(level, ESR_ELx_FSC_FAULT, descOf(lo, hi));
    if (!isTable || level === 3) break;

    if (outputTooLarge(wi, oaBits(lo, hi))) return fault(level, ESR_ELx_FSC_ADDRSZ, descOf(lo, hi));
    base = oaBits(lo - (lo % POW2[wi.pgshift]!), hi);
    level += 1;
    top = bottom - 1;
  }

  const desc = descOf(lo, hi);
  if (level < firstBlockLevel) return fault(level, ESR_ELx_FSC_FAULT, desc);
  const oa = oaBits(lo, hi);
  if (outputTooLarge(wi, oa)) return fault(level, ESR_ELx_FSC_ADDRSZ, desc);
  // Hardware AF update (VTCR_EL2.HA) is never emulated: L1 always takes the Access flag fault.
  if ((lo & (1 << DESC_AF_BIT)) === 0) return fault(level, ESR_ELx_FSC_ACCESS, desc);

  const oaBottom = bottom + contiguousBitShift(hi, wi.pgshift, level);
  const unit = POW2[oaBottom]!;
  return {
    ok: true,
    trans: {
      output: BigInt(oa - (oa % unit) + (ipaN % unit)),
      blockSize: SIZE[bottom]!,
      level,
      readable: (lo & (1 << DESC_AP_SHIFT)) !== 0,
      writable: (lo & (1 << (DESC_AP_SHIFT + 1))) !== 0,
      // Without FEAT_XNX only XN[1] (bit 54) counts, as kvm_s2_trans_executable() in 6.17.
      executable: (hi & HI_S2_XN) === 0,
      desc,
    },
  };
}

/**
 * Walk L1's stage-2 for nested IPA `ipa` with L1's virtual VTCR_EL2 and VTTBR_EL2 (KVM:
 * kvm_walk_nested_s2). `read64` reads a 64-bit descriptor at a canonical IPA, null when that IPA
 * is not L1 memory. `bigEndian` = virtual SCTLR_EL2.EE: `read64` returns little-endian values
 * and the walker swaps them.
 */
export function kvmWalkNestedS2(
  read64: DescriptorReader,
  vtcr: bigint,
  vttbr: bigint,
  ipa: bigint,
  bigEndian = false,
): WalkResult {
  return walkNestedS2Pgd(read64, vtcrToWalkInfo(vtcr, vttbr, bigEndian), ipa);
}
