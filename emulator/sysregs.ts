// System register storage. Values are the architectural 64-bit contents. The encoding table, access
// rules, traps and write side effects live in sysreg_table.ts; this file is only the register file.

export class SysRegFile {
  // EL1 (and EL0-accessible) registers
  SCTLR_EL1 = 0x30d00800n; // RES1 bits as on reset (EOS, TSCXT, EIS, SPAN, nTLSMD/LSMAOE left 0)
  ACTLR_EL1 = 0n;
  CPACR_EL1 = 0n;
  TTBR0_EL1 = 0n;
  TTBR1_EL1 = 0n;
  TCR_EL1 = 0n;
  SPSR_EL1 = 0n;
  ELR_EL1 = 0n;
  SP_EL0 = 0n;
  SP_EL1 = 0n;
  AFSR0_EL1 = 0n;
  AFSR1_EL1 = 0n;
  ESR_EL1 = 0n;
  FAR_EL1 = 0n;
  PAR_EL1 = 0n;
  MAIR_EL1 = 0n;
  AMAIR_EL1 = 0n;
  VBAR_EL1 = 0n;
  CONTEXTIDR_EL1 = 0n;
  TPIDR_EL1 = 0n;
  TPIDR_EL0 = 0n;
  TPIDRRO_EL0 = 0n;
  CNTKCTL_EL1 = 0n;
  MDSCR_EL1 = 0n;
  DBGBVR0_EL1 = 0n;
  DBGBCR0_EL1 = 0n;
  DBGBVR1_EL1 = 0n;
  DBGBCR1_EL1 = 0n;
  DBGWVR0_EL1 = 0n;
  DBGWCR0_EL1 = 0n;
  DBGWVR1_EL1 = 0n;
  DBGWCR1_EL1 = 0n;
  CSSELR_EL1 = 0n;

  // EL2 registers: owned by the host (L0). The CPU reads them for routing and translation and
  // writes the syndrome registers on every exit.
  HCR_EL2 = 0n;
  VTTBR_EL2 = 0n;
  VTCR_EL2 = 0n;
  VBAR_EL2 = 0n;
  ESR_EL2 = 0n;
  FAR_EL2 = 0n;
  HPFAR_EL2 = 0n;
  ELR_EL2 = 0n;
  SPSR_EL2 = 0n;
  SCTLR_EL2 = 0n;
  ACTLR_EL2 = 0n;
  HACR_EL2 = 0n;
  AFSR0_EL2 = 0n;
  AFSR1_EL2 = 0n;
  AMAIR_EL2 = 0n;
  TCR_EL2 = 0n;
  TTBR0_EL2 = 0n;
  MAIR_EL2 = 0n;
  TPIDR_EL2 = 0n;
  CPTR_EL2 = 0n;
  HSTR_EL2 = 0n;
  MDCR_EL2 = 0n;
  VPIDR_EL2 = 0x410fd4f0n;
  VMPIDR_EL2 = 0x80000000n;
  CNTHCTL_EL2 = 0n;
  CNTVOFF_EL2 = 0n;
}

export type SysRegName = keyof SysRegFile;
