// System instructions keystone 0.9 lacks or gets wrong, encoded here from the Arm ARM tables:
// every TLBI operation (including OS, range and nXS forms), system registers added after ARMv8.0
// (by name → generic S<op0>_<op1>_C<n>_C<m>_<op2>), and MSR (immediate) PSTATE fields.

/** TLBI <op>{, Xt}: op1, CRm, op2 (CRn is 8, or 9 for the nXS variant) and whether Xt is taken. */
export interface TlbiOp {
  op1: number;
  crm: number;
  op2: number;
  takesReg: boolean;
}

// Per the Arm ARM, the scope suffix selects CRm and the operation selects op2.
const TLBI_GROUPS: Array<{ op1: number; crm: Record<string, number>; ops: Record<string, [op2: number, reg: boolean]> }> = [
  // EL1&0 regime
  { op1: 0, crm: { "": 7, is: 3, os: 1 }, ops: { vmalle1: [0, false], vae1: [1, true], aside1: [2, true], vaae1: [3, true], vale1: [5, true], vaale1: [7, true] } },
  { op1: 0, crm: { "": 6, is: 2, os: 5 }, ops: { rvae1: [1, true], rvaae1: [3, true], rvale1: [5, true], rvaale1: [7, true] } },
  // EL2 and EL2-only operations on the EL1&0 regime
  { op1: 4, crm: { "": 7, is: 3, os: 1 }, ops: { alle2: [0, false], vae2: [1, true], alle1: [4, false], vale2: [5, true], vmalls12e1: [6, false] } },
  { op1: 4, crm: { "": 6, is: 2, os: 5 }, ops: { rvae2: [1, true], rvale2: [5, true] } },
  { op1: 4, crm: { "": 4, is: 0 }, ops: { ipas2e1: [1, true], ripas2e1: [2, true], ipas2le1: [5, true], ripas2le1: [6, true] } },
  // EL3
  { op1: 6, crm: { "": 7, is: 3, os: 1 }, ops: { alle3: [0, false], vae3: [1, true], vale3: [5, true] } },
  { op1: 6, crm: { "": 6, is: 2, os: 5 }, ops: { rvae3: [1, true], rvale3: [5, true] } },
];

// Outer Shareable IPA operations do not follow the CRm-by-suffix pattern.
const TLBI_IPA_OS: Record<string, number> = { ipas2e1os: 0, ripas2e1os: 3, ipas2le1os: 4, ripas2le1os: 7 };

export const TLBI_OPS: ReadonlyMap<string, TlbiOp & { crn: number }> = (() => {
  const m = new Map<string, TlbiOp & { crn: number }>();
  const add = (name: string, op: TlbiOp) => {
    m.set(name, { ...op, crn: 8 });
    m.set(name + "nxs", { ...op, crn: 9 });
  };
  for (const g of TLBI_GROUPS)
    for (const [base, [op2, takesReg]] of Object.entries(g.ops))
      for (const [suffix, crm] of Object.entries(g.crm)) add(base + suffix, { op1: g.op1, crm, op2, takesReg });
  for (const [name, op2] of Object.entries(TLBI_IPA_OS)) add(name, { op1: 4, crm: 4, op2, takesReg: true });
  return m;
})();

/** SYS encoding: 0xD5080000 | op1<<16 | CRn<<12 | CRm<<8 | op2<<5 | Rt. */
export function tlbiWord(op: TlbiOp & { crn: number }, rt: number): number {
  return (0xd5080000 | (op.op1 << 16) | (op.crn << 12) | (op.crm << 8) | (op.op2 << 5) | rt) >>> 0;
}

/** System registers by name → [op0, op1, CRn, CRm, op2], for names keystone 0.9 does not know. */
export const SYSREG_FALLBACK: ReadonlyMap<string, readonly [number, number, number, number, number]> = new Map([
  // FEAT_NV2, FEAT_HCX, FEAT_VHE, Secure stage 2, fine-grained traps
  ["vncr_el2", [3, 4, 2, 2, 0]],
  ["hcrx_el2", [3, 4, 1, 2, 2]],
  ["ttbr1_el2", [3, 4, 2, 0, 1]],
  ["contextidr_el2", [3, 4, 13, 0, 1]],
  ["vsttbr_el2", [3, 4, 2, 6, 0]],
  ["vstcr_el2", [3, 4, 2, 6, 2]],
  ["hfgrtr_el2", [3, 4, 1, 1, 4]],
  ["hfgwtr_el2", [3, 4, 1, 1, 5]],
  ["hfgitr_el2", [3, 4, 1, 1, 6]],
  ["hdfgrtr_el2", [3, 4, 3, 1, 4]],
  ["hdfgwtr_el2", [3, 4, 3, 1, 5]],
  ["cnthv_tval_el2", [3, 4, 14, 3, 0]],
  ["cnthv_ctl_el2", [3, 4, 14, 3, 1]],
  ["cnthv_cval_el2", [3, 4, 14, 3, 2]],
  // ID registers added after ARMv8.0
  ["id_aa64mmfr2_el1", [3, 0, 0, 7, 2]],
  ["id_aa64mmfr3_el1", [3, 0, 0, 7, 3]],
  ["id_aa64isar2_el1", [3, 0, 0, 6, 2]],
  ["id_aa64pfr1_el1", [3, 0, 0, 4, 1]],
  // PSTATE fields readable as registers
  ["pan", [3, 0, 4, 2, 3]],
  ["uao", [3, 0, 4, 2, 4]],
  ["dit", [3, 3, 4, 2, 5]],
  ["ssbs", [3, 3, 4, 2, 6]],
  // *_EL12 / *_EL02 aliases (op1 = 5), used by a VHE host to reach EL1/EL0 registers
  ["sctlr_el12", [3, 5, 1, 0, 0]],
  ["cpacr_el12", [3, 5, 1, 0, 2]],
  ["ttbr0_el12", [3, 5, 2, 0, 0]],
  ["ttbr1_el12", [3, 5, 2, 0, 1]],
  ["tcr_el12", [3, 5, 2, 0, 2]],
  ["spsr_el12", [3, 5, 4, 0, 0]],
  ["elr_el12", [3, 5, 4, 0, 1]],
  ["afsr0_el12", [3, 5, 5, 1, 0]],
  ["afsr1_el12", [3, 5, 5, 1, 1]],
  ["esr_el12", [3, 5, 5, 2, 0]],
  ["far_el12", [3, 5, 6, 0, 0]],
  ["mair_el12", [3, 5, 10, 2, 0]],
  ["amair_el12", [3, 5, 10, 3, 0]],
  ["vbar_el12", [3, 5, 12, 0, 0]],
  ["contextidr_el12", [3, 5, 13, 0, 1]],
  ["cntkctl_el12", [3, 5, 14, 1, 0]],
  ["cntp_tval_el02", [3, 5, 14, 2, 0]],
  ["cntp_ctl_el02", [3, 5, 14, 2, 1]],
  ["cntp_cval_el02", [3, 5, 14, 2, 2]],
  ["cntv_tval_el02", [3, 5, 14, 3, 0]],
  ["cntv_ctl_el02", [3, 5, 14, 3, 1]],
  ["cntv_cval_el02", [3, 5, 14, 3, 2]],
]);

export function genericSysregName([op0, op1, crn, crm, op2]: readonly number[]): string {
  return `s${op0}_${op1}_c${crn}_c${crm}_${op2}`;
}

/** MSR (immediate) PSTATE fields keystone lacks: name → [op1, op2]. */
export const PSTATE_FIELDS: ReadonlyMap<string, readonly [number, number]> = new Map([
  ["pan", [0, 4]],
  ["uao", [0, 3]],
  ["dit", [3, 2]],
  ["ssbs", [3, 1]],
]);

/** MSR (immediate): 0xD500401F | op1<<16 | CRm<<8 | op2<<5. */
export function msrImmWord(op1: number, op2: number, crm: number): number {
  return (0xd500401f | (op1 << 16) | (crm << 8) | (op2 << 5)) >>> 0;
}
