// The bits of HCR_EL2 and SCTLR_ELx that decide how the EL1&0 regime translates: the one
// definition the MMU, L0 (which programs and reads them for L1 and L2) and the debugger use.

/** HCR_EL2.VM: stage 2 of the EL1&0 regime is on. */
export const HCR_VM = 1n;
/** HCR_EL2.PTW: stage-1 walks that reach stage-2 Device memory take a Permission fault. */
export const HCR_PTW = 1n << 2n;
/** HCR_EL2.DC: stage 1 off with Normal memory; the PE behaves as if VM were set. */
export const HCR_DC = 1n << 12n;
/** HCR_EL2.TGE: EL1&0 stage 1 off (EL0 runs in the EL2&0 or EL2 regime). */
export const HCR_TGE = 1n << 27n;
/** HCR_EL2.RW: EL1 is AArch64. */
export const HCR_RW = 1n << 31n;

/** SCTLR_ELx.M: stage-1 translation on. */
export const SCTLR_M = 1n;
/** SCTLR_ELx.WXN: writable memory is never executable. */
export const SCTLR_WXN = 1n << 19n;
