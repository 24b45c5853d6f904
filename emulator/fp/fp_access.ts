// CheckFPAdvSIMDEnabled64: whether EL0/EL1 may execute SIMD&FP instructions (and access FPCR/FPSR).
// CPACR_EL1.FPEN traps to EL1 with EC 0x07 (to EL2 as an uncategorized exception when HCR_EL2.TGE
// routes EL0's exceptions there); then CPTR_EL2.TFP traps to EL2 with EC 0x07. The syndrome of an
// AArch64 trap carries CV = 1, COND = 0b1110.

import type { CpuState } from "../cpu_state.ts";
import { EC } from "../exception.ts";
import { CPTR, HCR, hcr } from "../traps.ts";

/** CPACR_EL1.FPEN, bits [21:20]. */
const FPEN_SHIFT = 20n;
/** ISS of EC 0x07 from AArch64: CV = 1, COND = 0b1110. */
export const FP_ACCESS_ISS = (1 << 24) | (0xe << 20);

export function fpEnabledAtEl1(cpu: CpuState): boolean {
  const fpen = Number((cpu.sr.CPACR_EL1 >> FPEN_SHIFT) & 3n);
  return cpu.el === 0 ? fpen === 3 : (fpen & 1) === 1;
}

/** Raise the trap a disabled SIMD&FP access takes; return when the access may proceed. */
export function checkFPAdvSIMDEnabled(cpu: CpuState): void {
  if (!fpEnabledAtEl1(cpu)) {
    if (cpu.el === 0 && hcr(cpu, HCR.TGE)) cpu.raiseSync(2, { ec: EC.UNKNOWN, iss: 0 });
    cpu.raiseSync(1, { ec: EC.FP_ACCESS, iss: FP_ACCESS_ISS });
  }
  if ((cpu.sr.CPTR_EL2 >> BigInt(CPTR.TFP)) & 1n) cpu.raiseSync(2, { ec: EC.FP_ACCESS, iss: FP_ACCESS_ISS });
}
