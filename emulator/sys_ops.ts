// System instructions other than TLBI (SYS op0=1): address translation (AT, Arm ARM C5.4) and
// cache maintenance (DC, IC, C5.3). Caches are not modelled, so maintenance has no effect on data,
// but it keeps its architectural traps and its faults: a DC/IC by VA translates its address and
// takes a Data Abort (CM=1) when the address is not mapped, which a hypervisor has to handle.

import type { CpuState } from "./cpu_state.ts";
import { ACC_CM } from "./access_flags.ts";
import { AccessKind } from "./fault.ts";
import { addressTranslate } from "./mmu/translate.ts";
import { HCR, SCTLR, type SysEncoding, hcr, nvEnabled, sctlrEl1, exitSys, trapSys } from "./traps.ts";
import { split64 } from "./types.ts";

export interface SysOp extends SysEncoding {
  /** `AT S1E1R`, `DC ZVA`, `IC IALLU`… */
  readonly name: string;
  exec(cpu: CpuState, op: SysOp, xt: bigint, rt: number): void;
}

/** DC ZVA block size in bytes (DCZID_EL0.BS = 4 words log2). */
export const ZVA_BYTES = 64;

// ---------------------------------------------------------------- AT

function at(name: string, op1: number, crm: number, op2: number, mode: { el2Only: boolean; el0: boolean; write: boolean }): SysOp {
  return {
    name: `AT ${name}`,
    op0: 1,
    op1,
    crn: 7,
    crm,
    op2,
    exec(cpu, e, xt, rt) {
      if (cpu.el === 0) cpu.undefinedInstruction();
      if (mode.el2Only) {
        if (nvEnabled(cpu)) return exitSys(cpu, e, rt, false);
        cpu.undefinedInstruction();
      }
      if (hcr(cpu, HCR.AT)) return exitSys(cpu, e, rt, false);
      cpu.writeSysReg("PAR_EL1", addressTranslate(cpu, xt, mode.write, mode.el0));
    },
  };
}

const E1 = { el2Only: false, el0: false };
const E0 = { el2Only: false, el0: true };
const E2 = { el2Only: true, el0: false };

/** The read and write forms of one AT operation: `<name>R<suffix>` at op2, `<name>W<suffix>` at op2 + 1. */
function atReadWrite(name: string, op1: number, crm: number, op2: number, regime: typeof E1, suffix = ""): SysOp[] {
  return [
    at(`${name}R${suffix}`, op1, crm, op2, { ...regime, write: false }),
    at(`${name}W${suffix}`, op1, crm, op2 + 1, { ...regime, write: true }),
  ];
}

const AT_OPS: SysOp[] = [
  ...atReadWrite("S1E1", 0, 8, 0, E1),
  ...atReadWrite("S1E0", 0, 8, 2, E0),
  // The PAN-checking forms: PSTATE.PAN is never set here, so they translate like S1E1R/W.
  ...atReadWrite("S1E1", 0, 9, 0, E1, "P"),
  ...atReadWrite("S1E2", 4, 8, 0, E2),
  ...atReadWrite("S12E1", 4, 8, 4, E2),
  ...atReadWrite("S12E0", 4, 8, 6, E2),
];

// ---------------------------------------------------------------- DC / IC

interface CmoRules {
  /** EL0 use: UNDEFINED, or allowed when SCTLR_EL1.UCI (else an EC 0x18 trap to EL1). */
  el0: "undef" | "uci";
  /** HCR_EL2 bit that traps it to EL2 from EL0/EL1. */
  hcrTrap: number;
  /** By-VA forms translate Xt (permission as a read, or a write for DC IVAC). */
  byVa: AccessKind | null;
}

function cmo(name: string, op1: number, crm: number, op2: number, r: CmoRules): SysOp {
  return {
    name,
    op0: 1,
    op1,
    crn: 7,
    crm,
    op2,
    exec(cpu, e, xt, rt) {
      if (cpu.el === 0) {
        if (r.el0 === "undef") cpu.undefinedInstruction();
        if (!sctlrEl1(cpu, SCTLR.UCI)) trapSys(cpu, cpu.routeEl1(), e, rt, false);
      }
      if (hcr(cpu, r.hcrTrap)) return exitSys(cpu, e, rt, false);
      if (r.byVa !== null) cpu.translateData(BigInt.asUintN(64, xt), r.byVa, 0, ACC_CM);
    },
  };
}

/** DC ZVA: zero the naturally aligned 64-byte block (a store for faults: CM=0, ISV=0). */
const DC_ZVA: SysOp = {
  name: "DC ZVA",
  op0: 1,
  op1: 3,
  crn: 7,
  crm: 4,
  op2: 1,
  exec(cpu, e, xt, rt) {
    if (cpu.el === 0 && !sctlrEl1(cpu, SCTLR.DZE)) trapSys(cpu, cpu.routeEl1(), e, rt, false);
    if (hcr(cpu, HCR.TDZ)) return exitSys(cpu, e, rt, false);
    const [lo, hi] = split64(xt & ~BigInt(ZVA_BYTES - 1));
    // The block never crosses a page, so the first store faults before anything is written.
    for (let off = 0; off < ZVA_BYTES; off += 8) cpu.store64(lo + off, hi, 0, 0, 0);
  },
};

const R = AccessKind.Read;
const CMO_OPS: SysOp[] = [
  cmo("IC IALLUIS", 0, 1, 0, { el0: "undef", hcrTrap: HCR.TPU, byVa: null }),
  cmo("IC IALLU", 0, 5, 0, { el0: "undef", hcrTrap: HCR.TPU, byVa: null }),
  cmo("IC IVAU", 3, 5, 1, { el0: "uci", hcrTrap: HCR.TPU, byVa: R }),
  cmo("DC IVAC", 0, 6, 1, { el0: "undef", hcrTrap: HCR.TPCP, byVa: AccessKind.Write }),
  cmo("DC ISW", 0, 6, 2, { el0: "undef", hcrTrap: HCR.TSW, byVa: null }),
  cmo("DC CSW", 0, 10, 2, { el0: "undef", hcrTrap: HCR.TSW, byVa: null }),
  cmo("DC CISW", 0, 14, 2, { el0: "undef", hcrTrap: HCR.TSW, byVa: null }),
  cmo("DC CVAC", 3, 10, 1, { el0: "uci", hcrTrap: HCR.TPCP, byVa: R }),
  cmo("DC CVAU", 3, 11, 1, { el0: "uci", hcrTrap: HCR.TPU, byVa: R }),
  cmo("DC CIVAC", 3, 14, 1, { el0: "uci", hcrTrap: HCR.TPCP, byVa: R }),
  DC_ZVA,
];

/** AT, DC and IC operations (SYS, op0=1, CRn=7). */
export const SYS_OPS: readonly SysOp[] = [...AT_OPS, ...CMO_OPS];

const key = (op1: number, crn: number, crm: number, op2: number): number => (op1 << 11) | (crn << 7) | (crm << 3) | op2;
const BY_KEY = new Map<number, SysOp>(SYS_OPS.map((o) => [key(o.op1, o.crn, o.crm, o.op2), o]));

/** The AT/DC/IC operation at a SYS encoding, or undefined (then the instruction is UNDEFINED). */
export function sysOpByEncoding(op1: number, crn: number, crm: number, op2: number): SysOp | undefined {
  return BY_KEY.get(key(op1, crn, crm, op2));
}
