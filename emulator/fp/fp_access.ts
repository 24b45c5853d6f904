// CheckFPAdvSIMDEnabled64 (AArch64.CheckFPEnabled, then AArch64.CheckFPAdvSIMDTrap): whether the
// current EL may execute SIMD&FP instructions (and access FPCR/FPSR).
//
// 1. CPACR_EL1.FPEN traps EL0/EL1 to EL1 with EC 0x07, unless {E2H, TGE} = {1, 1} (EL0 then runs in
//    the EL2&0 regime, which CPACR_EL1 does not govern). A trap that would go to EL1 from EL0 while
//    HCR_EL2.TGE is set goes to EL2 as an uncategorized exception (EC 0x00) instead.
// 2. CPTR_EL2 traps EL0/EL1/EL2 to EL2 with EC 0x07. Its layout depends on HCR_EL2.E2H: with E2H = 0
//    it is TFP (bit 10, set = trap); with E2H = 1 it is FPEN (bits 21:20, CPACR-like: x0 traps every
//    EL, 01 traps only EL0 while TGE is set, 11 traps nothing).
//
// The syndrome of a trapped AArch64 instruction carries CV = 1, COND = 0b1110 (ISS bits 24, 23:20;
// the rest RES0 without SME) and IL = 1. No EL3 is modelled, so CPTR_EL3 never traps.

import type { CpuState } from "../cpu_state.ts";
import { EC } from "../exception.ts";
import { CPTR, HCR, hcr } from "../traps.ts";

/** CPACR_EL1.FPEN and (E2H = 1) CPTR_EL2.FPEN, bits [21:20]. */
const FPEN_SHIFT = 20n;
/** ISS of EC 0x07 from AArch64: CV = 1, COND = 0b1110. */
export const FP_ACCESS_ISS = (1 << 24) | (0xe << 20);

/** CPACR_EL1.FPEN permits the access at EL0/EL1 (00/10 trap both, 01 traps EL0, 11 neither). */
export function fpEnabledAtEl1(cpu: CpuState): boolean {
  const fpen = Number((cpu.sr.CPACR_EL1 >> FPEN_SHIFT) & 3n);
  return cpu.el === 0 ? fpen === 3 : (fpen & 1) === 1;
}

const E2H = 1n << BigInt(HCR.E2H);
const TGE = 1n << BigInt(HCR.TGE);
const TFP = 1n << BigInt(CPTR.TFP);

/** Whether CPTR_EL2 (in the layout HCR_EL2.E2H selects) traps a SIMD&FP access from the current EL. */
export function cptrEl2TrapsFp(cpu: CpuState): boolean {
  return cptrTraps(cpu, (cpu.sr.HCR_EL2 & E2H) !== 0n);
}

function cptrTraps(cpu: CpuState, e2h: boolean): boolean {
  const cptr = cpu.sr.CPTR_EL2;
  if (!e2h) return (cptr & TFP) !== 0n;
  const fpen = Number((cptr >> FPEN_SHIFT) & 3n);
  if ((fpen & 1) === 0) return true;
  return fpen === 1 && cpu.el === 0 && (cpu.sr.HCR_EL2 & TGE) !== 0n;
}

/**
 * Raise the trap a disabled SIMD&FP access takes; return when the access may proceed. Runs before
 * every SIMD&FP instruction, so the common case (E2H = 0, nothing trapped) costs three BigInt tests.
 */
export function checkFPAdvSIMDEnabled(cpu: CpuState): void {
  const e2h = (cpu.sr.HCR_EL2 & E2H) !== 0n;
  if (cpu.el < 2 && !(e2h && hcr(cpu, HCR.TGE)) && !fpEnabledAtEl1(cpu)) {
    if (cpu.el === 0 && hcr(cpu, HCR.TGE)) cpu.raiseSync(2, { ec: EC.UNKNOWN, iss: 0 });
    cpu.raiseSync(1, { ec: EC.FP_ACCESS, iss: FP_ACCESS_ISS });
  }
  if (cptrTraps(cpu, e2h)) cpu.raiseSync(2, { ec: EC.FP_ACCESS, iss: FP_ACCESS_ISS });
}
