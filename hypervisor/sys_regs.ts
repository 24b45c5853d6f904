// The virtual EL2 register file of an nVHE guest hypervisor (E2H = 0) and the trapped system
// register accesses (EC 0x18) that reach it (KVM: sys_regs.c, kvm_emulate.h vcpu_read_sys_reg).
//
// L1 runs at hardware EL1 with HCR_EL2.{NV,NV1,TVM,TRVM}. While vEL2 runs, the hardware EL1
// registers hold L1's EL2-regime values (SCTLR_EL2 in SCTLR_EL1, VBAR_EL2 in VBAR_EL1, ELR_EL2 in
// ELR_EL1…, see EL2_TO_EL1), and L2's EL1 values of the same registers wait in `ctxt.el1`. While L2
// runs, the hardware holds L2's EL1 values and the whole vEL2 file is in memory. Every L1 access to
// one of those EL1 registers traps (TVM/TRVM/NV1) and is pointed at L2's saved copy.

import type { SysRegName } from "../emulator/sysregs.ts";
import { EC, esr, issOf, type Exit } from "../emulator/exception.ts";
import { SR, sysRegByEncoding } from "../emulator/sysreg_table.ts";
import { HCR, decodeSysIss, type SysTrap } from "../emulator/traps.ts";
import { tlbiFromIss } from "../emulator/tlbi.ts";
import { HostError } from "./errors.ts";
import { isIdRegSpace, kvmReadVmIdReg } from "./id_regs.ts";
import { kvmHandleSysTlbi } from "./tlbi.ts";
import type { KvmVcpu } from "./vcpu.ts";
import {
  hwPstateToVel2, SCTLR_EL1_RES1, spsrEl2ToHw, translateCptrEl2ToCpacrEl1, translateSctlrEl2ToEl1, translateTcrEl2ToEl1,
  translateTtbr0El2ToEl1,
} from "./el2_translate.ts";

/** Registers of the virtual EL2 file (SP_EL2 has no MRS/MSR encoding at EL2 but is state). */
export const VEL2_REGS = [
  "HCR_EL2", "VTTBR_EL2", "VTCR_EL2", "VBAR_EL2", "ESR_EL2", "FAR_EL2", "HPFAR_EL2", "ELR_EL2", "SPSR_EL2",
  "SCTLR_EL2", "ACTLR_EL2", "HACR_EL2", "AFSR0_EL2", "AFSR1_EL2", "AMAIR_EL2", "TCR_EL2", "TTBR0_EL2",
  "MAIR_EL2", "TPIDR_EL2", "CPTR_EL2", "HSTR_EL2", "MDCR_EL2", "VPIDR_EL2", "VMPIDR_EL2", "CNTHCTL_EL2",
  "CNTVOFF_EL2", "SP_EL2",
] as const;
export type Vel2Reg = (typeof VEL2_REGS)[number];

/** L2's EL1 registers that share hardware with vEL2 state (conflicted), saved while vEL2 runs. */
export const EL1_CTXT_REGS = [
  "SCTLR_EL1", "TTBR0_EL1", "TTBR1_EL1", "TCR_EL1", "ESR_EL1", "FAR_EL1", "AFSR0_EL1", "AFSR1_EL1",
  "MAIR_EL1", "AMAIR_EL1", "CONTEXTIDR_EL1", "VBAR_EL1", "ELR_EL1", "SPSR_EL1", "SP_EL1", "CPACR_EL1",
] as const;
export type El1CtxtReg = (typeof EL1_CTXT_REGS)[number];

// ---------------------------------------------------------------- register file

interface El2Mapping {
  el1: SysRegName;
  /** The memory copy is authoritative (hardware only changes through L0); else hardware is. */
  memory: boolean;
  xlate?: (v: bigint) => bigint;
}

/** vEL2 registers that live in hardware EL1 registers while vEL2 runs (get_el2_to_el1_mapping). */
export const EL2_TO_EL1: Partial<Record<Vel2Reg, El2Mapping>> = {
  SCTLR_EL2: { el1: "SCTLR_EL1", memory: true, xlate: translateSctlrEl2ToEl1 },
  TCR_EL2: { el1: "TCR_EL1", memory: true, xlate: translateTcrEl2ToEl1 },
  TTBR0_EL2: { el1: "TTBR0_EL1", memory: true, xlate: translateTtbr0El2ToEl1 },
  MAIR_EL2: { el1: "MAIR_EL1", memory: true },
  AMAIR_EL2: { el1: "AMAIR_EL1", memory: true },
  VBAR_EL2: { el1: "VBAR_EL1", memory: true },
  AFSR0_EL2: { el1: "AFSR0_EL1", memory: true },
  AFSR1_EL2: { el1: "AFSR1_EL1", memory: true },
  // vEL2's own SIMD&FP trap control (TFP) becomes CPACR_EL1.FPEN, which the hardware checks at EL1.
  CPTR_EL2: { el1: "CPACR_EL1", memory: true, xlate: translateCptrEl2ToCpacrEl1 },
  // Written by exception entry at vEL2 as well as by L1.
  ELR_EL2: { el1: "ELR_EL1", memory: false },
  ESR_EL2: { el1: "ESR_EL1", memory: false },
  FAR_EL2: { el1: "FAR_EL1", memory: false },
  SPSR_EL2: { el1: "SPSR_EL1", memory: true },
  SP_EL2: { el1: "SP_EL1", memory: false },
};

const VEL2_SET: ReadonlySet<string> = new Set(VEL2_REGS);
const EL1_CTXT_SET: ReadonlySet<string> = new Set(EL1_CTXT_REGS);

function isVel2Reg(name: string): name is Vel2Reg {
  return VEL2_SET.has(name);
}

function isEl1CtxtReg(name: string): name is El1CtxtReg {
  return EL1_CTXT_SET.has(name);
}

/** Bits of HCR_EL2 an nVHE guest hypervisor can set (no VHE, no NV2, no MTE/PAuth/RAS here). */
const VHCR_WRITABLE = ~((1n << 34n) | (1n << 45n)) & ((1n << 64n) - 1n);

/** What a write stores in the vEL2 file (RES0 bits cleared). */
function sanitiseVel2(name: Vel2Reg, v: bigint): bigint {
  switch (name) {
    case "VBAR_EL2": return v & ~0x7ffn;
    case "HCR_EL2": return v & VHCR_WRITABLE;
    default: return BigInt.asUintN(64, v);
  }
}

/**
 * The virtual EL2 file and L2's saved EL1 context (KVM: the vcpu's sys_regs array). Every value in
 * it, as in the hardware file, is already 64-bit unsigned (vcpuWriteSysReg and CpuState.writeSysReg
 * make it so), so the world switch copies values as they are, with no conversion per register.
 */
export class VcpuSysRegs {
  readonly el2 = Object.fromEntries(VEL2_REGS.map((r) => [r, 0n])) as Record<Vel2Reg, bigint>;
  readonly el1 = Object.fromEntries(EL1_CTXT_REGS.map((r) => [r, 0n])) as Record<El1CtxtReg, bigint>;
  /** The value L0 last put in hardware SPSR_EL1 for vSPSR_EL2 (to notice exception entries). */
  hwSpsrImage = 0n;

  constructor(midr: bigint, mpidr: bigint) {
    // KVM resets the virtual VPIDR/VMPIDR to what the vCPU itself reads.
    this.el2.VPIDR_EL2 = midr;
    this.el2.VMPIDR_EL2 = mpidr;
    this.el2.SCTLR_EL2 = 0x30c5_0830n; // RES1 bits of SCTLR_EL2 (E2H=0)
    this.el1.SCTLR_EL1 = SCTLR_EL1_RES1;
  }
}

/** Bring vSPSR_EL2 up to date if an exception at vEL2 rewrote the hardware SPSR_EL1. */
export function syncVel2Spsr(vcpu: KvmVcpu): void {
  const hw = vcpu.cpu.sr.SPSR_EL1;
  if (!vcpu.isHypCtxt() || hw === vcpu.ctxt.hwSpsrImage) return;
  vcpu.ctxt.el2.SPSR_EL2 = hwPstateToVel2(hw);
  vcpu.ctxt.hwSpsrImage = hw;
}

function readHw(vcpu: KvmVcpu, name: SysRegName): bigint {
  return name === "SP_EL1" ? vcpu.cpu.readSpEl(1) : vcpu.cpu.sr[name];
}

function writeHw(vcpu: KvmVcpu, name: SysRegName, v: bigint): void {
  if (name === "SP_EL1") vcpu.cpu.writeSpEl(1, BigInt.asUintN(64, v));
  else vcpu.cpu.writeSysReg(name, v);
}

/**
 * What an injection into vEL2 writes: vELR_EL2, vSPSR_EL2 and (a synchronous one) vESR_EL2, as
 * vcpuWriteSysReg would with vEL2 loaded, written out because every nested exit from L2 does it.
 */
export function writeVel2ExceptionRegs(vcpu: KvmVcpu, elr: bigint, spsr: bigint, esr: bigint | null): void {
  if (!vcpu.isHypCtxt()) {
    vcpuWriteSysReg(vcpu, "ELR_EL2", elr);
    vcpuWriteSysReg(vcpu, "SPSR_EL2", spsr);
    if (esr !== null) vcpuWriteSysReg(vcpu, "ESR_EL2", esr);
    return;
  }
  const el2 = vcpu.ctxt.el2;
  const sr = vcpu.cpu.sr;
  sr.ELR_EL1 = el2.ELR_EL2 = elr;
  el2.SPSR_EL2 = spsr;
  sr.SPSR_EL1 = vcpu.ctxt.hwSpsrImage = spsrEl2ToHw(el2.SPSR_EL2);
  if (esr !== null) sr.ESR_EL1 = el2.ESR_EL2 = esr;
}

/** vELR_EL2 and vSPSR_EL2 as an ERET at vEL2 reads them (vcpuReadSysReg of each, written out). */
export function readVel2Elr(vcpu: KvmVcpu): bigint {
  return vcpu.isHypCtxt() ? vcpu.cpu.sr.ELR_EL1 : vcpu.ctxt.el2.ELR_EL2;
}

export function readVel2Spsr(vcpu: KvmVcpu): bigint {
  syncVel2Spsr(vcpu);
  return vcpu.ctxt.el2.SPSR_EL2;
}

/**
 * vcpu_read_sys_reg: a vEL2 register, or an EL1 register as L1 sees it (L2's context), wherever
 * it currently lives. Other EL1 registers are not conflicted and read from the hardware.
 */
export function vcpuReadSysReg(vcpu: KvmVcpu, name: string): bigint {
  const hyp = vcpu.isHypCtxt();
  if (isVel2Reg(name)) {
    const map = EL2_TO_EL1[name];
    if (!hyp || !map) return vcpu.ctxt.el2[name];
    if (name === "SPSR_EL2") syncVel2Spsr(vcpu);
    return map.memory ? vcpu.ctxt.el2[name] : readHw(vcpu, map.el1);
  }
  if (isEl1CtxtReg(name)) return hyp ? vcpu.ctxt.el1[name] : readHw(vcpu, name);
  if (name in vcpu.cpu.sr) return vcpu.cpu.sr[name as SysRegName];
  throw new HostError(`vcpuReadSysReg: no register called ${name}`);
}

/** vcpu_write_sys_reg: the counterpart of vcpuReadSysReg. */
export function vcpuWriteSysReg(vcpu: KvmVcpu, name: string, value: bigint): void {
  const hyp = vcpu.isHypCtxt();
  const v = BigInt.asUintN(64, value);
  if (isVel2Reg(name)) {
    const s = sanitiseVel2(name, v);
    vcpu.ctxt.el2[name] = s;
    const map = EL2_TO_EL1[name];
    if (!hyp || !map) return;
    if (name === "SPSR_EL2") {
      vcpu.ctxt.hwSpsrImage = spsrEl2ToHw(s);
      vcpu.cpu.sr.SPSR_EL1 = vcpu.ctxt.hwSpsrImage;
      return;
    }
    writeHw(vcpu, map.el1, map.xlate ? map.xlate(s) : s);
    return;
  }
  if (isEl1CtxtReg(name)) {
    const s = name === "VBAR_EL1" ? v & ~0x7ffn : v;
    if (hyp) vcpu.ctxt.el1[name] = s;
    else writeHw(vcpu, name, s);
    return;
  }
  if (name in vcpu.cpu.sr) {
    vcpu.cpu.writeSysReg(name as SysRegName, v);
    return;
  }
  throw new HostError(`vcpuWriteSysReg: no register called ${name}`);
}

// ---------------------------------------------------------------- context switch halves

/**
 * Leaving vEL2: copy the hardware-held vEL2 registers (EL2_TO_EL1's `memory: false` ones) into the
 * file (before loading L2). Spelled out, as the EL1 halves below are.
 */
export function saveVel2State(vcpu: KvmVcpu): void {
  syncVel2Spsr(vcpu);
  const el2 = vcpu.ctxt.el2;
  const sr = vcpu.cpu.sr;
  el2.ELR_EL2 = sr.ELR_EL1;
  el2.ESR_EL2 = sr.ESR_EL1;
  el2.FAR_EL2 = sr.FAR_EL1;
  el2.SP_EL2 = vcpu.cpu.readSpEl(1);
}

/**
 * Entering vEL2: put the vEL2 registers into the hardware EL1 registers (after saving L2), each
 * through EL2_TO_EL1's translation, in its order. The caller loads the MMU next
 * (kvmVcpuLoadHwMmu), which flushes the fast TLB.
 */
export function loadVel2State(vcpu: KvmVcpu): void {
  const el2 = vcpu.ctxt.el2;
  const sr = vcpu.cpu.sr;
  sr.SCTLR_EL1 = translateSctlrEl2ToEl1(el2.SCTLR_EL2);
  sr.TCR_EL1 = translateTcrEl2ToEl1(el2.TCR_EL2);
  sr.TTBR0_EL1 = translateTtbr0El2ToEl1(el2.TTBR0_EL2);
  sr.MAIR_EL1 = el2.MAIR_EL2;
  sr.AMAIR_EL1 = el2.AMAIR_EL2;
  sr.VBAR_EL1 = el2.VBAR_EL2;
  sr.AFSR0_EL1 = el2.AFSR0_EL2;
  sr.AFSR1_EL1 = el2.AFSR1_EL2;
  sr.CPACR_EL1 = translateCptrEl2ToCpacrEl1(el2.CPTR_EL2);
  sr.ELR_EL1 = el2.ELR_EL2;
  sr.ESR_EL1 = el2.ESR_EL2;
  sr.FAR_EL1 = el2.FAR_EL2;
  vcpu.ctxt.hwSpsrImage = spsrEl2ToHw(el2.SPSR_EL2);
  sr.SPSR_EL1 = vcpu.ctxt.hwSpsrImage;
  vcpu.cpu.writeSpEl(1, el2.SP_EL2);
}

/**
 * Leaving L2: its EL1 context (EL1_CTXT_REGS) goes to memory. Spelled out register by register:
 * the world switch runs on every exit between L2 and vEL2, and a loop over names makes each copy
 * a lookup by name on both sides.
 */
export function saveEl1State(vcpu: KvmVcpu): void {
  const el1 = vcpu.ctxt.el1;
  const sr = vcpu.cpu.sr;
  el1.SCTLR_EL1 = sr.SCTLR_EL1;
  el1.TTBR0_EL1 = sr.TTBR0_EL1;
  el1.TTBR1_EL1 = sr.TTBR1_EL1;
  el1.TCR_EL1 = sr.TCR_EL1;
  el1.ESR_EL1 = sr.ESR_EL1;
  el1.FAR_EL1 = sr.FAR_EL1;
  el1.AFSR0_EL1 = sr.AFSR0_EL1;
  el1.AFSR1_EL1 = sr.AFSR1_EL1;
  el1.MAIR_EL1 = sr.MAIR_EL1;
  el1.AMAIR_EL1 = sr.AMAIR_EL1;
  el1.CONTEXTIDR_EL1 = sr.CONTEXTIDR_EL1;
  el1.VBAR_EL1 = sr.VBAR_EL1;
  el1.ELR_EL1 = sr.ELR_EL1;
  el1.SPSR_EL1 = sr.SPSR_EL1;
  el1.SP_EL1 = vcpu.cpu.readSpEl(1);
  el1.CPACR_EL1 = sr.CPACR_EL1;
}

/**
 * Entering L2: its EL1 context goes to the hardware (the MMU load that follows flushes the fast
 * TLB). Spelled out as saveEl1State is.
 */
export function loadEl1State(vcpu: KvmVcpu): void {
  const el1 = vcpu.ctxt.el1;
  const sr = vcpu.cpu.sr;
  sr.SCTLR_EL1 = el1.SCTLR_EL1;
  sr.TTBR0_EL1 = el1.TTBR0_EL1;
  sr.TTBR1_EL1 = el1.TTBR1_EL1;
  sr.TCR_EL1 = el1.TCR_EL1;
  sr.ESR_EL1 = el1.ESR_EL1;
  sr.FAR_EL1 = el1.FAR_EL1;
  sr.AFSR0_EL1 = el1.AFSR0_EL1;
  sr.AFSR1_EL1 = el1.AFSR1_EL1;
  sr.MAIR_EL1 = el1.MAIR_EL1;
  sr.AMAIR_EL1 = el1.AMAIR_EL1;
  sr.CONTEXTIDR_EL1 = el1.CONTEXTIDR_EL1;
  sr.VBAR_EL1 = el1.VBAR_EL1;
  sr.ELR_EL1 = el1.ELR_EL1;
  sr.SPSR_EL1 = el1.SPSR_EL1;
  vcpu.cpu.writeSpEl(1, el1.SP_EL1);
  sr.CPACR_EL1 = el1.CPACR_EL1;
}

// ---------------------------------------------------------------- EC 0x18

/** A readable name for a trapped encoding. */
/**
 * kvm_handle_sys_reg: emulate a trapped MSR/MRS/SYS. From L2 every such trap is one L1 asked for
 * through its virtual HCR_EL2 and is forwarded with the hardware syndrome. From vEL2: EL2
 * registers hit the vEL2 file, L1's EL1 registers hit L2's context, TLBIs go to the TLBI emulation;
 * anything else is UNDEFINED for L1.
 */
export function kvmHandleSys64(vcpu: KvmVcpu, exit: Exit): void {
  const iss = issOf(exit.esr);
  const t = decodeSysIss(iss);
  if (isIdRegSpace(t.op0, t.op1, t.crn, t.crm)) {
    accessIdReg(vcpu, exit, t);
    return;
  }
  if (!vcpu.isHypCtxt()) {
    vcpu.injectNestedSync(exit.esr);
    return;
  }
  vcpu.kvm.metrics.countSysregTrap();
  if (t.op0 === 1) {
    const op = tlbiFromIss(iss);
    if (!op) {
      // AT (trapped by HCR_EL2.AT/NV) is not emulated yet; DC/IC never trap here.
      vcpu.injectUndefined();
      return;
    }
    kvmHandleSysTlbi(vcpu, iss, vcpu.cpu.getX(t.rt)); // skips the instruction itself
    return;
  }
  const def = sysRegByEncoding(t.op0, t.op1, t.crn, t.crm, t.op2);
  // *_EL12 only exist with HCR_EL2.E2H = 1, which an nVHE vEL2 never has.
  if (!def || def.flags & SR.EL12 || !emulatedAtVel2(def.name, def.flags)) {
    vcpu.injectUndefined();
    return;
  }
  if (t.isRead) {
    if (def.writeOnly) return vcpu.injectUndefined();
    vcpu.cpu.setX(t.rt, vcpuReadSysReg(vcpu, def.name));
  } else {
    if (def.readOnly) return vcpu.injectUndefined();
    vcpuWriteSysReg(vcpu, def.name, vcpu.cpu.getX(t.rt));
  }
  vcpu.skipInstr();
}

/**
 * access_id_reg: an ID register read trapped by L0's own HCR_EL2.TID3. From L2 it is L1's to handle
 * if L1 set TID3 in its virtual HCR_EL2 (KVM's trap forwarding); otherwise L0 answers with the
 * sanitised value, in either world.
 */
function accessIdReg(vcpu: KvmVcpu, exit: Exit, t: SysTrap): void {
  const hyp = vcpu.isHypCtxt();
  if (!hyp && ((vcpu.ctxt.el2.HCR_EL2 >> BigInt(HCR.TID3)) & 1n) !== 0n) {
    vcpu.injectNestedSync(exit.esr);
    return;
  }
  // The CPU makes an MSR to a read-only ID register UNDEFINED before any trap.
  if (!t.isRead) throw new HostError("an MSR to an ID register trapped: the CPU should have made it UNDEFINED");
  if (hyp) vcpu.kvm.metrics.inc("sysregTraps");
  vcpu.cpu.setX(t.rt, kvmReadVmIdReg(t.op0, t.op1, t.crn, t.crm, t.op2));
  vcpu.skipInstr();
}

/**
 * Registers whose vEL2 accesses L0 emulates: the vEL2 file, SP_EL1, and L2's conflicted EL1
 * registers (trapped by TVM/TRVM, NV1, or for CPACR_EL1 L0's CPTR_EL2.TCPAC at vEL2).
 */
function emulatedAtVel2(name: string, flags: number): boolean {
  if (flags & SR.EL2) return isVel2Reg(name) || name === "SP_EL1";
  return (flags & (SR.TVM | SR.NV1 | SR.TCPAC)) !== 0 && isEl1CtxtReg(name);
}

/** ESR of an UNDEFINED instruction (EC 0x00, IL=1). */
export const ESR_UNDEFINED = esr(EC.UNKNOWN, 0);

