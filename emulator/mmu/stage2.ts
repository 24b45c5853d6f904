// Stage-2 translation of the EL1&0 regime: IPA → PA under VTCR_EL2/VTTBR_EL2 (Arm ARM D8.2.4).

import { AccessKind, type Fault, FaultType } from "../fault.ts";
import type { PhysMemory } from "../memory.ts";
import type { SysRegFile } from "../sysregs.ts";
import { addressField, af, memAttr, POW2, s2ap, s2xn } from "./descriptor.ts";
import { isDeviceS2, S2_R, S2_W, S2_X, s2PermBit } from "./attrs.ts";
import { granuleFromTg0, type Granule, levelShift, outputSizeBits, PA_MAX_BITS } from "./granule.ts";
import { HCR_DC, HCR_PTW, HCR_VM } from "./regs.ts";
import { isFault, makeFault, PhysTables, translationWalk, translationWalker, WalkCtx, type WalkSetup } from "./walk.ts";

/** Smallest IPA space without FEAT_TTST: T0SZ ≤ 39. */
const MAX_T0SZ = 39;

/** Stage 2 is on when HCR_EL2.VM is set; HCR_EL2.DC makes the PE behave as if VM were set. */
export function stage2Enabled(sr: SysRegFile): boolean {
  return (sr.HCR_EL2 & (HCR_VM | HCR_DC)) !== 0n;
}

/** VTTBR_EL2.VMID: 8 bits, or 16 with VTCR_EL2.VS. */
export function currentVmid(sr: SysRegFile): number {
  const vmid = Number((sr.VTTBR_EL2 >> 48n) & 0xffffn);
  return (sr.VTCR_EL2 >> 19n) & 1n ? vmid : vmid & 0xff;
}

export interface Stage2Regime {
  readonly setup: WalkSetup;
  /** IPA size in bits (64 - VTCR_EL2.T0SZ). */
  readonly ipaBits: number;
  /** Level-0 fault that every walk takes because VTCR_EL2/VTTBR_EL2 are unusable. */
  readonly error: FaultType | null;
  /** HCR_EL2.PTW: stage-1 walks that reach stage-2 Device memory take a Permission fault. */
  readonly ptw: boolean;
}

export interface Stage2Leaf {
  /** PA of the translated IPA. */
  readonly pa: number;
  /** IPA range of the leaf: [ipaBase, ipaBase + 2^shift). */
  readonly ipaBase: number;
  readonly shift: number;
  readonly level: number;
  /** S2_R/S2_W/S2_X. */
  readonly perm: number;
  readonly device: boolean;
  readonly memAttr: number;
}

/** SL0 → start level: 4K 00 L2, 01 L1, 10 L0; 16K/64K 00 L3, 01 L2, 10 L1 (11 reserved here). */
function startLevel(g: Granule, sl0: number): number | null {
  if (sl0 === 3) return null;
  return g.shift === 12 ? 2 - sl0 : 3 - sl0;
}

/** Decode VTCR_EL2/VTTBR_EL2, with the consistency checks that make every walk fault at level 0. */
export function stage2Regime(sr: SysRegFile): Stage2Regime {
  const vtcr = sr.VTCR_EL2;
  const t0sz = Number(vtcr & 0x3fn);
  const sl0 = Number((vtcr >> 6n) & 3n);
  const granule = granuleFromTg0(Number((vtcr >> 14n) & 3n));
  const oaBits = outputSizeBits(Number((vtcr >> 16n) & 7n));
  const ipaBits = 64 - t0sz;
  const level = startLevel(granule, sl0);
  // Bits resolved by the start level: 1..stride, or up to 16 concatenated tables (stride + 4).
  const startBits = level === null ? 0 : ipaBits - levelShift(granule, level);
  let error: FaultType | null = null;
  if (level === null || t0sz > MAX_T0SZ || ipaBits > PA_MAX_BITS || startBits < 1 || startBits > granule.stride + 4) {
    error = FaultType.Translation;
  }
  // BADDR bits below the (concatenated) start table size are RES0: ignore them.
  const align = BigInt(Math.max(startBits, 1) + 3);
  const base = Number(sr.VTTBR_EL2 & ((1n << 48n) - 1n) & ~((1n << align) - 1n));
  if (error === null && base >= POW2[oaBits]!) error = FaultType.AddressSize;
  return {
    setup: { stage: 2, granule, startLevel: level ?? 0, startBits, base, oaBits, hierarchical: false },
    ipaBits,
    error,
    ptw: (sr.HCR_EL2 & HCR_PTW) !== 0n,
  };
}

/** Stage-2 walk for `ipa`: Translation, Address size and Access flag faults (not permissions). */
export function stage2Walk(mem: PhysMemory, r: Stage2Regime, ipa: bigint): Stage2Leaf | Fault {
  const early = stage2EarlyFault(r, ipa >> BigInt(r.ipaBits) !== 0n);
  if (early !== null) return makeFault(early, 2, 0, ipa);
  return stage2WalkNum(mem, r, Number(ipa), ipa);
}

/**
 * The level-0 fault a walk takes before reading a descriptor, in the Arm ARM's order
 * (AArch64.S2Translate, then AArch64.S2Walk): an inconsistent VTCR_EL2, then an IPA above the
 * input size (both Translation), and only then a VTTBR_EL2 base above the output size (Address size).
 */
function stage2EarlyFault(r: Stage2Regime, ipaOutOfRange: boolean): FaultType | null {
  if (r.error === FaultType.Translation || ipaOutOfRange) return FaultType.Translation;
  return r.error;
}

// Stage-2 walks never nest (a stage-1 walk starts them from its table reads; nothing inside one
// walks again), so one walker and context serve them all.
const s2Tables = new PhysTables();
const s2Walker = translationWalker();
const s2Ctx = new WalkCtx();

function stage2WalkNum(mem: PhysMemory, r: Stage2Regime, ipa: number, faultIpa: bigint): Stage2Leaf | Fault {
  s2Tables.mem = mem;
  const fault = translationWalk(s2Tables, r.setup, ipa, s2Walker, s2Ctx, faultIpa);
  if (fault) return fault;
  const { lo, hi, level, shift } = s2Ctx;
  if (!af(lo)) return makeFault(FaultType.AccessFlag, 2, level, faultIpa);
  const size = POW2[shift]!;
  const offset = ipa % size;
  const ap = s2ap(lo);
  const attr = memAttr(lo);
  return {
    pa: addressField(lo, hi, shift) + offset,
    ipaBase: ipa - offset,
    shift,
    level,
    perm: (ap & 1 ? S2_R : 0) | (ap & 2 ? S2_W : 0) | (s2xn(hi) ? 0 : S2_X),
    device: isDeviceS2(attr),
    memAttr: attr,
  };
}

/** The stage-2 Permission fault for an access the leaf does not permit (reported at the leaf level). */
export function stage2PermissionFault(leaf: Stage2Leaf, ipa: bigint, kind: AccessKind): Fault | null {
  if (leaf.perm & s2PermBit(kind)) return null;
  return makeFault(FaultType.Permission, 2, leaf.level, ipa);
}

/**
 * Translate the IPA of a stage-1 table access (S1PTW): a read that needs S2AP read permission,
 * and with HCR_EL2.PTW must not land in Device memory. Faults carry s1ptw.
 */
export function stage2ForWalk(mem: PhysMemory, r: Stage2Regime, ipa: number): number | Fault {
  let leaf: Stage2Leaf | Fault;
  const early = stage2EarlyFault(r, ipa >= POW2[r.ipaBits]!);
  if (early !== null) leaf = makeFault(early, 2, 0, BigInt(ipa));
  else leaf = stage2WalkNum(mem, r, ipa, BigInt(ipa));
  if (isFault(leaf)) return { ...leaf, s1ptw: true };
  if (!(leaf.perm & S2_R) || (r.ptw && leaf.device)) {
    return { ...makeFault(FaultType.Permission, 2, leaf.level, BigInt(ipa)), s1ptw: true };
  }
  return leaf.pa;
}
