// Software walk of L1's stage-2 tables (KVM: kvm_walk_nested_s2 in nested.c).
//
// L1 programs a virtual VTTBR_EL2/VTCR_EL2 and builds its stage-2 in its own memory. On a shadow
// stage-2 fault L0 walks those tables to learn what L1 wants for the faulting nested IPA: either
// a translation to a canonical IPA (plus permissions and L1's leaf size) or the fault L1 itself
// must see. The walker is pure: descriptors come through `read64` at canonical (L1) IPAs, so it
// can be driven from a plain map in tests.

import { DESC_OA_TOP, PTE_AF, PTE_CONT, PTE_S2_XN, PTE_S2AP_R, PTE_S2AP_W, PTE_TYPE, PTE_VALID } from "../emulator/mmu/descriptor.ts";

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

/** BigInt(n) for shift counts 0..64, made once: the walk shifts by them at every level. */
const SHIFT: readonly bigint[] = Array.from({ length: 65 }, (_, n) => BigInt(n));

const GENMASKS: bigint[] = [];

/** Bits [hi:lo] set (0 ≤ lo ≤ hi < 64), as the kernel's GENMASK_ULL; memoised: every shadow fault walks. */
function genmask(hi: number, lo: number): bigint {
  const key = hi * 64 + lo;
  let m = GENMASKS[key];
  if (m === undefined) m = GENMASKS[key] = ((1n << BigInt(hi + 1)) - 1n) ^ ((1n << BigInt(lo)) - 1n);
  return m;
}

function byteswap64(v: bigint): bigint {
  let r = 0n;
  for (let i = 0; i < 8; i++) {
    r = (r << 8n) | (v & 0xffn);
    v >>= 8n;
  }
  return r;
}

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

/** Output (or table) address bits above the output size set? (check_output_size) */
function outputTooLarge(wi: S2WalkInfo, addr: bigint): boolean {
  return wi.maxOaBits !== 48 && (addr & genmask(OA_TOP_BIT, wi.maxOaBits)) !== 0n;
}

/** Extra output alignment the contiguous bit imposes (KVM: contiguous_bit_shift, after StageOA()). */
function contiguousBitShift(desc: bigint, pgshift: number, level: number): number {
  if ((desc & PTE_CONT) === 0n) return 0;
  if (pgshift === 12) return 4;
  if (pgshift === 14) return level === 2 ? 5 : 7;
  return 5;
}

function fault(level: number, fsc: number, desc?: bigint): WalkResult {
  return desc === undefined
    ? { ok: false, fsc: computeFsc(level, fsc), level }
    : { ok: false, fsc: computeFsc(level, fsc), level, desc };
}

/** The walk proper (KVM: walk_nested_s2_pgd), for parameters already derived from VTCR. */
export function walkNestedS2Pgd(read64: (l1Ipa: bigint) => bigint | null, wi: S2WalkInfo, ipa: bigint): WalkResult {
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

  // The start table (possibly concatenated tables) is aligned to its own size; VMID and CnP
  // fall outside the mask.
  const startBits = ia - ((3 - level) * stride + wi.pgshift);
  let base = wi.baddr & genmask(OA_TOP_BIT, 3 + startBits);
  if (outputTooLarge(wi, base)) return fault(level, ESR_ELx_FSC_ADDRSZ);

  let top = ia - 1;
  let bottom: number;
  let desc: bigint;
  for (;;) {
    bottom = (3 - level) * stride + wi.pgshift;
    const descAddr = base | ((ipa & genmask(top, bottom)) >> SHIFT[bottom - 3]!);
    const raw = read64(descAddr);
    if (raw === null) return { ok: false, walkerError: "descriptor outside L1 memory", address: descAddr };
    desc = wi.be ? byteswap64(raw) : raw;

    const isTable = (desc & PTE_TYPE) !== 0n;
    if ((desc & PTE_VALID) === 0n || (!isTable && level === 3)) return fault(level, ESR_ELx_FSC_FAULT, desc);
    if (!isTable || level === 3) break;

    if (outputTooLarge(wi, desc)) return fault(level, ESR_ELx_FSC_ADDRSZ, desc);
    base = desc & genmask(OA_TOP_BIT, wi.pgshift);
    level += 1;
    top = bottom - 1;
  }

  if (level < firstBlockLevel) return fault(level, ESR_ELx_FSC_FAULT, desc);
  if (outputTooLarge(wi, desc)) return fault(level, ESR_ELx_FSC_ADDRSZ, desc);
  // Hardware AF update (VTCR_EL2.HA) is never emulated: L1 always takes the Access flag fault.
  if ((desc & PTE_AF) === 0n) return fault(level, ESR_ELx_FSC_ACCESS, desc);

  const blockSize = 1n << SHIFT[bottom]!;
  const oaBottom = bottom + contiguousBitShift(desc, wi.pgshift, level);
  return {
    ok: true,
    trans: {
      output: (desc & genmask(OA_TOP_BIT, oaBottom)) | (ipa & genmask(oaBottom - 1, 0)),
      blockSize,
      level,
      readable: (desc & PTE_S2AP_R) !== 0n,
      writable: (desc & PTE_S2AP_W) !== 0n,
      // Without FEAT_XNX only XN[1] (bit 54) counts, as kvm_s2_trans_executable() in 6.17.
      executable: (desc & PTE_S2_XN) === 0n,
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
  read64: (l1Ipa: bigint) => bigint | null,
  vtcr: bigint,
  vttbr: bigint,
  ipa: bigint,
  bigEndian = false,
): WalkResult {
  return walkNestedS2Pgd(read64, vtcrToWalkInfo(vtcr, vttbr, bigEndian), ipa);
}
