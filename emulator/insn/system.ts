// A64 exception generation, ERET, and the system instruction class (Arm ARM C4.1.x "Branches,
// exception generating and system instructions"): hints, barriers, MSR (immediate), SYS (TLBI,
// AT, DC, IC) and MRS/MSR (register). Everything here is rare on the execute path except NOP and
// barriers, so handlers use bigint freely; registers and operations are resolved in `prepare`.

import { type Encoding, encoding, format, row } from "../decode.ts";
import { type CpuState, exceptionReturn } from "../cpu_state.ts";
import { EC } from "../exception.ts";
import {
  type SysRegDef, checkSysRegAccess, isImpDefEncoding, sysRegByEncoding,
} from "../sysreg_table.ts";
import { type SysOp, sysOpByEncoding } from "../sys_ops.ts";
import { type TlbiOp, executeTlbi, tlbiByEncoding } from "../tlbi.ts";
import { HCR, SCTLR, debugToEl2, exitSys, hcr, nvEnabled, sctlrEl1, trapSys, wfxIss } from "../traps.ts";
import { itemAt } from "../item_at.ts";
import { SEMIHOSTING_HLT_IMM } from "../semihosting.ts";

// Decoded ops hold numbers only; registers/operations are referenced by index into these lists.
const SYSREGS: SysRegDef[] = [];
const SYSOPS: SysOp[] = [];
const TLBIS: TlbiOp[] = [];

function indexOf<T>(list: T[], item: T): number {
  const i = list.indexOf(item);
  return i >= 0 ? i : list.push(item) - 1;
}

// ---------------------------------------------------------------- exception generation

interface ImmFields {
  imm16: number;
}

const EXCEPTION_GEN: Encoding<never>[] = [
  encoding<ImmFields>({
    name: "SVC",
    pattern: "11010100 000 imm16:16 000 01",
    exec(cpu, op) {
      cpu.raiseSync(cpu.routeEl1(), { ec: EC.SVC64, iss: op.imm16, returnNext: true });
    },
  }),
  encoding<ImmFields>({
    name: "HVC",
    pattern: "11010100 000 imm16:16 000 10",
    exec(cpu, op) {
      if (cpu.el === 0 || hcr(cpu, HCR.HCD)) cpu.undefinedInstruction();
      cpu.exitToHost({ ec: EC.HVC64, iss: op.imm16, returnNext: true });
    },
  }),
  encoding<ImmFields>({
    name: "SMC",
    pattern: "11010100 000 imm16:16 000 11",
    exec(cpu, op) {
      // No EL3: SMC only exists as a trap to EL2 (HCR_EL2.TSC); the return address is the SMC.
      if (cpu.el === 1 && hcr(cpu, HCR.TSC)) cpu.exitToHost({ ec: EC.SMC64, iss: op.imm16 });
      else cpu.undefinedInstruction();
    },
  }),
  encoding<ImmFields>({
    name: "BRK",
    pattern: "11010100 001 imm16:16 000 00",
    exec(cpu, op) {
      if (cpu.options.stopOnBrk) cpu.stopRun({ kind: "brk", pc: cpu.getPC(), imm: op.imm16 });
      cpu.raiseSync(debugToEl2(cpu) ? 2 : 1, { ec: EC.BRK64, iss: op.imm16 });
    },
  }),
  encoding<ImmFields>({
    name: "HLT",
    pattern: "11010100 010 imm16:16 000 00",
    exec(cpu, op) {
      // Halting debug is disabled, so HLT is UNDEFINED, except the semihosting call when the user
      // enabled semihosting (as QEMU's -semihosting; EL0 is not served, as QEMU's default).
      const host = cpu.options.semihosting;
      if (host !== null && op.imm16 === SEMIHOSTING_HLT_IMM && cpu.el === 1) host.call(cpu);
      else cpu.undefinedInstruction();
    },
  }),
  // DCPS1..3 (not in Debug state) are UNDEFINED: no rows.
];

const ERET: Encoding<never> = encoding<object>({
  name: "ERET",
  pattern: "1101011 0100 11111 000000 11111 00000",
  exec(cpu) {
    if (cpu.el === 0) cpu.undefinedInstruction();
    // FEAT_NV: the guest hypervisor's ERET is the host's to emulate (EC 0x1A, ISS 0 = plain ERET).
    if (nvEnabled(cpu)) cpu.exitToHost({ ec: EC.ERET, iss: 0 });
    else exceptionReturn(cpu, cpu.sr.SPSR_EL1, cpu.sr.ELR_EL1, 1);
  },
});

// ---------------------------------------------------------------- hints

/** WFI/WFE: EL0 traps to EL1 unless SCTLR_EL1.nTWx, then EL0/EL1 trap to EL2 on HCR_EL2.TWx. */
function waitForX(cpu: CpuState, isWfe: boolean): void {
  if (cpu.el === 0 && !sctlrEl1(cpu, isWfe ? SCTLR.nTWE : SCTLR.nTWI)) {
    cpu.raiseSync(cpu.routeEl1(), { ec: EC.WFX, iss: wfxIss(isWfe) });
  }
  if (hcr(cpu, isWfe ? HCR.TWE : HCR.TWI)) return cpu.exitToHost({ ec: EC.WFX, iss: wfxIss(isWfe) });
  // No interrupts or other agents wake the CPU: WFI can only end a bare run; WFE completes.
  if (!isWfe && cpu.options.stopOnWfi) cpu.stopRun({ kind: "wfi", pc: cpu.getPC() });
}

/** No architectural effect on this model. */
function nothing(): void {}

/** The hint and barrier space (CRn = 0010 / 0011); rows give CRn, CRm and op2. */
const HINT_SPACE = format<object>({ name: "hint", pattern: "1101010100 0 00 011 .... .... ... 11111" });
/** Barriers whose CRm (the domain and access types) the model ignores but decodes. */
const BARRIER = format<{ crm: number }>({ name: "barrier", pattern: "1101010100 0 00 011 .... crm:4 ... 11111" });

const HINTS: Encoding<never>[] = [
  row("WFE", ".......... . .. ... 0010 0000 010 .....", HINT_SPACE, (cpu) => waitForX(cpu, true)),
  row("WFI", ".......... . .. ... 0010 0000 011 .....", HINT_SPACE, (cpu) => waitForX(cpu, false)),
  // NOP, YIELD, SEV, SEVL, ESB, CSDB, PAC/BTI hints and every unallocated hint: no effect here
  // (no event register or other PE to signal; PAC and BTI are not implemented).
  encoding<{ crm: number; op2: number }>({ name: "HINT", pattern: "1101010100 0 00 011 0010 crm:4 op2:3 11111", exec: nothing }),
];

// ---------------------------------------------------------------- barriers

// A single in-order PE with no caches: every barrier completes at once.
const BARRIERS: Encoding<never>[] = [
  row("CLREX", ".......... . .. ... 0011 .... 010 .....", BARRIER, (cpu) => cpu.clearExclusive()),
  row("DSB", ".......... . .. ... 0011 .... 100 .....", BARRIER, nothing),
  row("DSB_nXS", ".......... . .. ... 0011 ..10 001 .....", HINT_SPACE, nothing),
  row("DMB", ".......... . .. ... 0011 .... 101 .....", BARRIER, nothing),
  row("ISB", ".......... . .. ... 0011 .... 110 .....", BARRIER, nothing),
  row("SB", ".......... . .. ... 0011 0000 111 .....", HINT_SPACE, nothing),
];

// ---------------------------------------------------------------- MSR (immediate)

interface PStateFields {
  crm: number;
}

/** EL0 DAIFSet/DAIFClr need SCTLR_EL1.UMA, else an EC 0x18 trap to EL1. */
function daifAccessFromEl0(cpu: CpuState, op2: number, crm: number): void {
  if (cpu.el === 0 && !sctlrEl1(cpu, SCTLR.UMA)) {
    trapSys(cpu, cpu.routeEl1(), { op0: 0, op1: 3, crn: 4, crm, op2 }, 31, false);
  }
}

const MSR_IMM: Encoding<never>[] = [
  encoding<PStateFields>({
    name: "MSR_SPSel",
    pattern: "1101010100 0 00 000 0100 crm:4 101 11111",
    exec(cpu, op) {
      if (cpu.el === 0) cpu.undefinedInstruction();
      cpu.setMode(1, op.crm & 1);
    },
  }),
  encoding<PStateFields>({
    name: "MSR_DAIFSet",
    pattern: "1101010100 0 00 011 0100 crm:4 110 11111",
    exec(cpu, op) {
      daifAccessFromEl0(cpu, 6, op.crm);
      cpu.daif |= op.crm;
    },
  }),
  encoding<PStateFields>({
    name: "MSR_DAIFClr",
    pattern: "1101010100 0 00 011 0100 crm:4 111 11111",
    exec(cpu, op) {
      daifAccessFromEl0(cpu, 7, op.crm);
      cpu.daif &= ~op.crm & 0xf;
    },
  }),
  // PAN, UAO, DIT, SSBS, TCO, ALLINT, SVCR… name features that are not implemented: UNDEFINED.
];

// ---------------------------------------------------------------- SYS (TLBI, AT, DC, IC)

interface SysFields {
  op1: number;
  crn: number;
  crm: number;
  op2: number;
  rt: number;
  /** Index into TLBIS (>= 0) or -1. */
  tlbi: number;
  /** Index into SYSOPS (>= 0) or -1. */
  sysop: number;
}

const SYS: Encoding<never> = encoding<SysFields>({
  name: "SYS",
  pattern: "1101010100 0 01 op1:3 crn:4 crm:4 op2:3 rt:5",
  prepare(f) {
    f.tlbi = -1;
    f.sysop = -1;
    if (f.crn === 8 || f.crn === 9) {
      const t = tlbiByEncoding(f.op1, f.crn, f.crm, f.op2);
      if (!t) return false;
      f.tlbi = indexOf(TLBIS, t);
      return true;
    }
    const s = sysOpByEncoding(f.op1, f.crn, f.crm, f.op2);
    if (!s) return false;
    f.sysop = indexOf(SYSOPS, s);
    return true;
  },
  exec(cpu, op) {
    const xt = cpu.getX(op.rt);
    if (op.tlbi >= 0) return tlbiInsn(cpu, itemAt(TLBIS, op.tlbi, "TLBI operation"), op, xt);
    const s = itemAt(SYSOPS, op.sysop, "system operation");
    s.exec(cpu, s, xt, op.rt);
  },
});

/** TLBI from EL0/EL1: UNDEFINED at EL0; EL2-only forms trap under NV; TTLB traps the rest. */
function tlbiInsn(cpu: CpuState, t: TlbiOp, op: SysFields, xt: bigint): void {
  if (cpu.el === 0) cpu.undefinedInstruction();
  const e = { op0: 1, op1: t.op1, crn: t.crn, crm: t.crm, op2: t.op2 };
  if (t.el2Only) {
    if (nvEnabled(cpu)) return exitSys(cpu, e, op.rt, false);
    cpu.undefinedInstruction();
  }
  if (hcr(cpu, HCR.TTLB)) return exitSys(cpu, e, op.rt, false);
  executeTlbi(cpu, t, xt);
}

// ---------------------------------------------------------------- MRS / MSR (register)

interface SysRegFields {
  o0: number;
  op1: number;
  crn: number;
  crm: number;
  op2: number;
  rt: number;
  /** Index into SYSREGS, or IMPDEF_REG for the IMPLEMENTATION DEFINED space. */
  reg: number;
}

/** Marker for an unallocated register in the IMPLEMENTATION DEFINED space (HCR_EL2.TIDCP). */
const IMPDEF_REG = -1;

function prepareSysReg(f: SysRegFields): boolean {
  const op0 = 2 + f.o0;
  const def = sysRegByEncoding(op0, f.op1, f.crn, f.crm, f.op2);
  if (def) {
    f.reg = indexOf(SYSREGS, def);
    return true;
  }
  if (!isImpDefEncoding(op0, f.crn)) return false;
  f.reg = IMPDEF_REG;
  return true;
}

/** No IMPLEMENTATION DEFINED registers exist: trapped to EL2 from EL1 by TIDCP, else UNDEFINED. */
function impDefAccess(cpu: CpuState, op: SysRegFields, isRead: boolean): never {
  if (cpu.el === 1 && hcr(cpu, HCR.TIDCP)) {
    trapSys(cpu, 2, { op0: 2 + op.o0, op1: op.op1, crn: op.crn, crm: op.crm, op2: op.op2 }, op.rt, isRead);
  }
  cpu.undefinedInstruction();
}

const SYSREG_MOVES: Encoding<never>[] = [
  encoding<SysRegFields>({
    name: "MRS",
    pattern: "1101010100 1 1 o0:1 op1:3 crn:4 crm:4 op2:3 rt:5",
    prepare: prepareSysReg,
    exec(cpu, op) {
      if (op.reg === IMPDEF_REG) impDefAccess(cpu, op, true);
      const def = itemAt(SYSREGS, op.reg, "system register");
      if (checkSysRegAccess(cpu, def, true, op.rt)) cpu.setX(op.rt, def.read(cpu));
    },
  }),
  encoding<SysRegFields>({
    name: "MSR_reg",
    pattern: "1101010100 0 1 o0:1 op1:3 crn:4 crm:4 op2:3 rt:5",
    prepare: prepareSysReg,
    exec(cpu, op) {
      if (op.reg === IMPDEF_REG) impDefAccess(cpu, op, false);
      const def = itemAt(SYSREGS, op.reg, "system register");
      if (checkSysRegAccess(cpu, def, false, op.rt)) def.write(cpu, cpu.getX(op.rt));
    },
  }),
];

export const SYSTEM_TABLE: Encoding<never>[] = [
  ...EXCEPTION_GEN,
  ERET,
  ...HINTS,
  ...BARRIERS,
  ...MSR_IMM,
  SYS,
  ...SYSREG_MOVES,
];
