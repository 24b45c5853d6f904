// The nVHE EL2 → EL1 translations L0 applies while vEL2 runs on hardware EL1 (KVM: kvm_nested.h
// translate_*_el2_to_*_el1) and the PSTATE mode fix-ups between vEL2 and the EL1 modes the
// hardware runs it in. Register values only: no vCPU state, so the register file (sys_regs.ts),
// nested ERET and injection (emulate_nested.ts), error reports and the debugger all share them.

import { lo32 } from "../emulator/types.ts";

export const SCTLR_EL1_RES1 = 0x30d0_0800n; // bits 29, 28, 23, 22, 20, 11

/**
 * A one-entry memo of a pure translation: the world switch translates the same vEL2 values on every
 * entry to vEL2, and each BigInt operation allocates.
 */
function memo(): (v: bigint, f: (v: bigint) => bigint) => bigint {
  let last = -1n;
  let out = 0n;
  return (v, f) => {
    if (v !== last) {
      out = f(v);
      last = v;
    }
    return out;
  };
}
const sctlrMemo = memo();
const tcrMemo = memo();
const cptrMemo = memo();
/** SCTLR_ELx bits with the same meaning in SCTLR_EL2 (E2H=0) and SCTLR_EL1: M A C SA I WXN IESB EE. */
const SCTLR_SHARED = 0b1n | 0b10n | 0b100n | 0b1000n | (1n << 12n) | (1n << 19n) | (1n << 21n) | (1n << 25n);

/** translate_sctlr_el2_to_sctlr_el1: keep the bits both formats share; EL1 RES1 set. */
export function translateSctlrEl2ToEl1(v: bigint): bigint {
  return sctlrMemo(v, (x) => (x & SCTLR_SHARED) | SCTLR_EL1_RES1);
}

/** translate_tcr_el2_to_tcr_el1: TTBR1 walks disabled, PS → IPS, TBI → TBI0, TTBR0 fields kept. */
export function translateTcrEl2ToEl1(v: bigint): bigint {
  return tcrMemo(v, tcrEl2ToEl1);
}

function tcrEl2ToEl1(v: bigint): bigint {
  const epd1 = 1n << 23n;
  const tbi0 = (v >> 20n) & 1n ? 1n << 37n : 0n;
  const ips = ((v >> 16n) & 7n) << 32n;
  return epd1 | tbi0 | ips | (v & 0xff3fn); // T0SZ, IRGN0, ORGN0, SH0, TG0
}

/** translate_ttbr0_el2_to_ttbr0_el1: the EL2 regime has no ASID. */
export function translateTtbr0El2ToEl1(v: bigint): bigint {
  return v & 0x0000_ffff_ffff_ffffn;
}

/**
 * translate_cptr_el2_to_cpacr_el1: the nVHE CPTR_EL2 trap bits in CPACR_EL1's layout. TFP clear →
 * FPEN = 0b11 (no trap), TFP set → FPEN = 0b00 (EL1, where vEL2 runs, traps); TTA moves from bit 20
 * to bit 28. No SVE/SME/AMU here, so TZ, TSM and TAM have nothing to become.
 */
export function translateCptrEl2ToCpacrEl1(v: bigint): bigint {
  return cptrMemo(v, cptrEl2ToCpacrEl1);
}

function cptrEl2ToCpacrEl1(v: bigint): bigint {
  const tfp = (v >> 10n) & 1n;
  const tta = (v >> 20n) & 1n;
  return (tfp ? 0n : 3n << 20n) | (tta << 28n);
}

const PSR_MODE_MASK = 0x1fn;
const PSR_MODE_EL1T = 0x4n;
const PSR_MODE_EL1H = 0x5n;
export const PSR_MODE_EL2T = 0x8n;
export const PSR_MODE_EL2H = 0x9n;
/** M[1]: never produced by an exception entry (see spsrEl2ToHw). */
const PSR_M1 = 0x2n;

/** A hardware PSTATE/SPSR taken while vEL2 ran (EL1h/EL1t) as L1 sees it (EL2h/EL2t). */
export function hwPstateToVel2(v: bigint): bigint {
  const m = spsrMode(v);
  if (m === M_EL1H) return (v & ~PSR_MODE_MASK) | PSR_MODE_EL2H;
  if (m === M_EL1T) return (v & ~PSR_MODE_MASK) | PSR_MODE_EL2T;
  return v;
}

/** SPSR.M[4:0] as a number, read from the low half without a BigInt operation (every exit asks). */
export function spsrMode(v: bigint): number {
  return lo32(v) & 0x1f;
}
const M_EL1T = Number(PSR_MODE_EL1T);
const M_EL1H = Number(PSR_MODE_EL1H);
const M_EL2T = Number(PSR_MODE_EL2T);
const M_EL2H = Number(PSR_MODE_EL2H);

/** Whether an SPSR targets EL2 (EL2h or EL2t). */
export function isEl2Mode(v: bigint): boolean {
  const m = spsrMode(v);
  return m === M_EL2H || m === M_EL2T;
}

/** A vEL2 PSTATE (EL2h/EL2t) as the hardware runs it (EL1h/EL1t). */
export function vel2PstateToHw(v: bigint): bigint {
  const m = spsrMode(v);
  if (m === M_EL2H) return (v & ~PSR_MODE_MASK) | PSR_MODE_EL1H;
  if (m === M_EL2T) return (v & ~PSR_MODE_MASK) | PSR_MODE_EL1T;
  return v;
}

/**
 * The hardware SPSR_EL1 image of virtual SPSR_EL2 while vEL2 runs. Hardware never uses it (ERET
 * traps), but an exception L1 takes at its own level overwrites it. An EL2 target is stored as
 * the EL1 mode the hardware itself would record; any other target is tagged with M[1], which no
 * exception entry writes, so a later exception is always told apart from L1's own value.
 */
export function spsrEl2ToHw(v: bigint): bigint {
  return isEl2Mode(v) ? vel2PstateToHw(v) : v | PSR_M1;
}
