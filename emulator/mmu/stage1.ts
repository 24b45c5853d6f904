// Stage-1 translation of the EL1&0 regime: VA → IPA under TCR_EL1/TTBRn_EL1/MAIR_EL1
// (Arm ARM D8.2). Every table access is an IPA, translated by stage 2 when it is on (S1PTW).

import { AccessKind, type Fault, FaultType } from "../fault.ts";
import type { PhysMemory } from "../memory.ts";
import type { SysRegFile } from "../sysregs.ts";
import { addressField, af, attrIndx, notGlobal, POW2, sh } from "./descriptor.ts";
import { isDeviceMair, mairAttr, s1PermBit, stage1Permissions } from "./attrs.ts";
import { granuleFromTg0, granuleFromTg1, levelShift, outputSizeBits, PA_MAX_BITS, stage1StartLevel, startLevelBits } from "./granule.ts";
import { HCR_DC, HCR_TGE, SCTLR_M, SCTLR_WXN } from "./regs.ts";
import { type Stage2Regime, stage2ForWalk } from "./stage2.ts";
import { makeFault, PhysTables, translationWalk, translationWalker, WalkCtx, type WalkSetup } from "./walk.ts";
const TOP_BYTE = 0xffn << 56n;
const MASK48 = (1n << 48n) - 1n;

/** TxSZ range without FEAT_LVA / FEAT_TTST; other values behave as the nearest bound. */
const MIN_TXSZ = 16;
const MAX_TXSZ = 39;

function tcrBit(tcr: bigint, n: bigint): boolean {
  return ((tcr >> n) & 1n) === 1n;
}

/** SCTLR_EL1.M, unless HCR_EL2.TGE or HCR_EL2.DC turn stage 1 of the EL1&0 regime off. */
export function stage1Enabled(sr: SysRegFile): boolean {
  return (sr.SCTLR_EL1 & SCTLR_M) !== 0n && (sr.HCR_EL2 & (HCR_DC | HCR_TGE)) === 0n;
}

/** HCR_EL2.DC: memory is Normal Write-Back (not Device) while stage 1 is off. */
export function defaultCacheable(sr: SysRegFile): boolean {
  return (sr.HCR_EL2 & HCR_DC) !== 0n;
}

/** The current ASID: from TTBR1_EL1 when TCR_EL1.A1, else TTBR0_EL1; 8 bits unless TCR_EL1.AS. */
export function currentAsid(sr: SysRegFile): number {
  const ttbr = tcrBit(sr.TCR_EL1, 22n) ? sr.TTBR1_EL1 : sr.TTBR0_EL1;
  const asid = Number(ttbr >> 48n);
  return tcrBit(sr.TCR_EL1, 36n) ? asid : asid & 0xff;
}

/**
 * The VA as translation sees it: with top-byte-ignore (TCR_EL1.TBI0/1 by VA bit 55; for fetches
 * not when TBID0/1) bits [63:56] become copies of bit 55.
 */
export function effectiveVa(sr: SysRegFile, va: bigint, fetch: boolean): bigint {
  const upper = tcrBit(va, 55n);
  const tcr = sr.TCR_EL1;
  const tbi = upper ? tcrBit(tcr, 38n) && !(fetch && tcrBit(tcr, 52n)) : tcrBit(tcr, 37n) && !(fetch && tcrBit(tcr, 51n));
  if (!tbi) return va;
  return upper ? va | TOP_BYTE : va & ~TOP_BYTE;
}

/** Stage 1 off: the IPA is the VA, which must fit the PA size (else a level-0 Address size fault). */
export function stage1OffOutput(va: bigint): bigint | Fault {
  if (va >> BigInt(PA_MAX_BITS) !== 0n) return makeFault(FaultType.AddressSize, 1, 0);
  return va;
}

export interface Stage1Regime {
  readonly setup: WalkSetup;
  /** Level-0 fault before any walk: VA outside both TTBR ranges or walks disabled (EPDn), TTBR above IPS. */
  readonly error: FaultType | null;
  readonly mair: bigint;
  readonly wxn: boolean;
}

/** Select TTBR0/TTBR1 for an (effective) VA and decode the walk parameters. */
export function stage1Regime(sr: SysRegFile, va: bigint): Stage1Regime {
  const tcr = sr.TCR_EL1;
  const upper = tcrBit(va, 55n);
  const rawSz = Number(upper ? (tcr >> 16n) & 0x3fn : tcr & 0x3fn);
  const txsz = Math.min(Math.max(rawSz, MIN_TXSZ), MAX_TXSZ);
  const iaBits = 64 - txsz;
  const granule = upper ? granuleFromTg1(Number((tcr >> 30n) & 3n)) : granuleFromTg0(Number((tcr >> 14n) & 3n));
  const startLevel = stage1StartLevel(granule, iaBits);
  const startBits = startLevelBits(granule, iaBits, startLevel);
  const oaBits = outputSizeBits(Number((tcr >> 32n) & 7n));
  const ttbr = upper ? sr.TTBR1_EL1 : sr.TTBR0_EL1;
  // BADDR bits below the start table size are RES0: ignore them.
  const base = Number(ttbr & MASK48 & ~((1n << BigInt(startBits + 3)) - 1n));
  const high = va >> BigInt(iaBits);
  const inRange = upper ? high === (1n << BigInt(64 - iaBits)) - 1n : high === 0n;
  const epd = upper ? tcrBit(tcr, 23n) : tcrBit(tcr, 7n);
  let error: FaultType | null = null;
  if (!inRange || epd) error = FaultType.Translation;
  else if (base >= POW2[oaBits]!) error = FaultType.AddressSize;
  const hpd = upper ? tcrBit(tcr, 42n) : tcrBit(tcr, 41n);
  return {
    setup: { stage: 1, granule, startLevel, startBits, base, oaBits, hierarchical: !hpd },
    error,
    mair: sr.MAIR_EL1,
    wxn: (sr.SCTLR_EL1 & SCTLR_WXN) !== 0n,
  };
}

export interface Stage1Leaf {
  /** IPA of the translated VA. */
  readonly ipa: number;
  /** VA range of the leaf: [vaBase, vaBase + 2^shift). */
  readonly vaBase: bigint;
  readonly shift: number;
  readonly level: number;
  /** S1_* permission bits (both ELs). */
  readonly perm: number;
  readonly global: boolean;
  /** MAIR attribute of the leaf. */
  readonly attr: number;
  readonly device: boolean;
  /** Descriptor SH[1:0]. */
  readonly sh: number;
}

/**
 * Stage-1 tables: at IPAs, read through stage 2 when it is on (S1PTW); the fault of that
 * translation, if any, is kept for the walk's caller.
 */
export class Stage1Tables extends PhysTables {
  s2: Stage2Regime | null = null;

  override locate(ctx: WalkCtx): boolean {
    const addr = ctx.table + ctx.index * 8;
    if (!this.s2) return this.at(ctx, addr);
    const pa = stage2ForWalk(this.mem, this.s2, addr);
    if (typeof pa === "number") return this.at(ctx, pa);
    this.fault = pa;
    return false;
  }
}

/**
 * The index bits of a VA for the tables: the range check passed, so they are below the input
 * size (TTBR1's VAs have ones above it, which index nothing).
 */
export function stage1InputAddress(r: Stage1Regime, va: bigint): number {
  const s = r.setup;
  return Number(va & MASK48) % POW2[levelShift(s.granule, s.startLevel) + s.startBits]!;
}

// Stage-1 walks never nest (their table reads walk stage 2, which has its own), so one walker
// and context serve them all.
const s1Tables = new Stage1Tables();
const s1Walker = translationWalker();
const s1Ctx = new WalkCtx();

/**
 * Stage-1 walk for an effective VA: Translation, Address size, Access flag faults (not
 * permissions). With `s2`, every table address is an IPA translated by stage 2 (S1PTW).
 */
export function stage1Walk(mem: PhysMemory, r: Stage1Regime, va: bigint, s2: Stage2Regime | null): Stage1Leaf | Fault {
  if (r.error !== null) return makeFault(r.error, 1, 0);
  const ia = stage1InputAddress(r, va);
  s1Tables.mem = mem;
  s1Tables.s2 = s2;
  const fault = translationWalk(s1Tables, r.setup, ia, s1Walker, s1Ctx, 0n);
  if (fault) return fault;
  const { lo, hi, level, shift } = s1Ctx;
  if (!af(lo)) return makeFault(FaultType.AccessFlag, 1, level);
  const size = POW2[shift]!;
  const attr = mairAttr(r.mair, attrIndx(lo));
  return {
    ipa: addressField(lo, hi, shift) + (ia % size),
    vaBase: va & ~BigInt(size - 1),
    shift,
    level,
    perm: stage1Permissions(lo, hi, s1Walker.arg.table, r.wxn),
    global: !notGlobal(lo),
    attr,
    device: isDeviceMair(attr),
    sh: sh(lo),
  };
}

/** The stage-1 Permission fault (at the leaf level) for an access the leaf does not permit. */
export function stage1PermissionFault(perm: number, level: number, kind: AccessKind, el0: boolean): Fault | null {
  if (perm & s1PermBit(kind, el0)) return null;
  return makeFault(FaultType.Permission, 1, level);
}
