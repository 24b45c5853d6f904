// Nested ERET and exception injection into virtual EL2 (KVM: emulate-nested.c
// kvm_emulate_nested_eret / kvm_inject_nested, hyp/exception.c enter_exception64), and the world
// switch between vEL2 (L1) and L2 that both imply: EL1 register contexts, the hardware HCR_EL2,
// and a put/load of the hardware MMU (canonical for vEL2, a shadow MMU from get_s2_mmu_nested
// for L2).

import { PHYS_MIDR, physicalMpidr } from "../emulator/sysreg_table.ts";
import { CPTR, HCR, MDCR } from "../emulator/traps.ts";
import { VECTOR } from "../emulator/exception.ts";
import { lo32 } from "../emulator/types.ts";
import { fpsimdCptrTraps, kvmArchVcpuLoadFp, kvmArchVcpuPutFp } from "./fpsimd.ts";
import { kvmVcpuLoadHwMmu, kvmVcpuPutHwMmu } from "./nested.ts";
import { PSR_MODE_EL2H, hwPstateToVel2, isEl2Mode, spsrMode, vel2PstateToHw } from "./el2_translate.ts";
import {
  loadEl1State, loadVel2State, readVel2Elr, readVel2Spsr, saveEl1State, saveVel2State, vcpuWriteSysReg, writeVel2ExceptionRegs,
} from "./sys_regs.ts";
import type { KvmVcpu } from "./vcpu.ts";

const bit = (n: number): bigint => 1n << BigInt(n);
/** The 16 vector addresses of the last vVBAR_EL2 seen, by offset / 0x80 (remade when it changes). */
let vectorsOf = -1n;
const vectors: bigint[] = new Array<bigint>(16).fill(0n);

/** vVBAR_EL2 + offset. VBAR_EL2[10:0] are RES0, so the offset cannot carry out of 64 bits. */
function vectorAddress(vbar: bigint, offset: number): bigint {
  if (vbar !== vectorsOf) {
    const base = vbar & ~0x7ffn;
    for (let i = 0; i < 16; i++) vectors[i] = base + BigInt(i * 0x80);
    vectorsOf = vbar;
  }
  return vectors[offset >> 7]!;
}

/**
 * Hardware HCR_EL2 while vEL2 runs: stage 2 on the canonical MMU, AArch64 EL1, FEAT_NV with NV1
 * (nVHE guest hypervisor: EL2 registers, ERET, EL2 TLBI/AT, SP_EL1 and VBAR/ELR/SPSR_EL1 trap),
 * TVM/TRVM (L1's EL1 register accesses go to L2's saved context), TSC (PSCI), AT (AT S1E* from vEL2
 * must use L2's EL1 regime), TTLB (L1's EL1 TLBIs target L2's VMID, not the canonical one) and TID3
 * (L1 reads the ID registers L0 sanitised for it, id_regs.ts, not the hardware's).
 */
export const HCR_VEL2 =
  bit(HCR.VM) | bit(HCR.RW) | bit(HCR.NV) | bit(HCR.NV1) | bit(HCR.TVM) | bit(HCR.TRVM) | bit(HCR.TSC) |
  bit(HCR.AT) | bit(HCR.TTLB) | bit(HCR.TID3);

/** Trap controls of the virtual HCR_EL2 that L0 passes through to the hardware while L2 runs. */
export const HCR_L2_PASSTHROUGH =
  bit(HCR.TWI) | bit(HCR.TWE) | bit(15) /* TID0 */ | bit(HCR.TID1) | bit(HCR.TID2) | bit(HCR.TID3) |
  bit(HCR.TSC) | bit(HCR.TIDCP) | bit(HCR.TACR) | bit(HCR.TSW) | bit(HCR.TPCP) | bit(HCR.TPU) |
  bit(HCR.TTLB) | bit(HCR.TVM) | bit(HCR.TDZ) | bit(HCR.HCD) | bit(HCR.TRVM) | bit(HCR.AT) | bit(HCR.FB);

/**
 * The hardware HCR_EL2 for running L2 under a virtual HCR_EL2: nothing NV, L1's traps on top, and
 * L0's own TID3 (L2 reads the sanitised ID registers too, unless L1 traps them itself).
 */
export function hcrForL2(vhcr: bigint): bigint {
  if (vhcr !== hcrForL2Of) {
    hcrForL2Value = HCR_L2_OWN | (vhcr & HCR_L2_PASSTHROUGH);
    hcrForL2Of = vhcr;
  }
  return hcrForL2Value;
}
// One-entry memo (by value): every entry to L2 computes it from the same virtual HCR_EL2.
let hcrForL2Of = -1n;
let hcrForL2Value = 0n;

const HCR_L2_OWN = bit(HCR.VM) | bit(HCR.RW) | bit(HCR.TID3);
const CPTR_TCPAC = bit(CPTR.TCPAC);
const CPTR_TFP = bit(CPTR.TFP);
/** The four hardware CPTR_EL2 values kvmLoadHwTraps chooses from (no BigInt operation per switch). */
const CPTR_VALUES = [0n, CPTR_TFP, CPTR_TCPAC, CPTR_TCPAC | CPTR_TFP];
function cptrOf(tcpac: boolean, fpTraps: bigint): bigint {
  return CPTR_VALUES[(tcpac ? 2 : 0) | (fpTraps === 0n ? 0 : 1)]!;
}
/** MDCR_EL2 debug traps of L1's that L0 passes through while L2 runs. */
const MDCR_L2_PASSTHROUGH = bit(MDCR.TDE) | bit(MDCR.TDA) | bit(MDCR.TDOSA);

/**
 * Program the hardware EL2 controls for the context the vCPU is about to run (the caller loads the
 * MMU next, kvmVcpuLoadHwMmu, which flushes the fast TLB for the new HCR_EL2). CPTR_EL2: TFP while
 * the host owns the SIMD&FP registers or (L2) L1 traps them (fpsimd.ts); at vEL2 also TCPAC, so
 * L1's CPACR_EL1 accesses reach L2's saved copy (the hardware CPACR_EL1 then holds vEL2's own
 * trap control, its CPTR_EL2 translated); for L2, L1's TCPAC.
 */
export function kvmLoadHwTraps(vcpu: KvmVcpu): void {
  const cpu = vcpu.cpu;
  const el2 = vcpu.ctxt.el2;
  if (vcpu.isHypCtxt()) {
    cpu.sr.HCR_EL2 = HCR_VEL2;
    cpu.sr.VPIDR_EL2 = PHYS_MIDR;
    cpu.sr.VMPIDR_EL2 = physicalMpidr(cpu);
    cpu.sr.CPTR_EL2 = cptrOf(true, fpsimdCptrTraps(vcpu));
    cpu.sr.MDCR_EL2 = 0n;
  } else {
    cpu.sr.HCR_EL2 = hcrForL2(el2.HCR_EL2);
    cpu.sr.VPIDR_EL2 = el2.VPIDR_EL2;
    cpu.sr.VMPIDR_EL2 = el2.VMPIDR_EL2;
    cpu.sr.CPTR_EL2 = cptrOf(lo32(el2.CPTR_EL2) >>> CPTR.TCPAC === 1, fpsimdCptrTraps(vcpu));
    const mdcr = el2.MDCR_EL2;
    cpu.sr.MDCR_EL2 = mdcr === 0n ? 0n : mdcr & MDCR_L2_PASSTHROUGH;
  }
}

/**
 * vEL2 → L2 (the put/load around an ERET that leaves vEL2). The put also takes the SIMD&FP
 * registers back from the vCPU (lazy: fpsimd.ts).
 */
export function kvmSwitchToL2(vcpu: KvmVcpu): void {
  saveVel2State(vcpu);
  kvmArchVcpuPutFp(vcpu);
  kvmVcpuPutHwMmu(vcpu);
  vcpu.setHypCtxt(false);
  loadEl1State(vcpu);
  kvmArchVcpuLoadFp(vcpu);
  kvmLoadHwTraps(vcpu);
  kvmVcpuLoadHwMmu(vcpu); // flushes the fast TLB: EL1 context, HCR_EL2 and VTTBR_EL2 all changed
}

/** L2 → vEL2 (the put/load around an injection from L2), SIMD&FP registers included. */
export function kvmSwitchToVel2(vcpu: KvmVcpu): void {
  saveEl1State(vcpu);
  kvmArchVcpuPutFp(vcpu);
  kvmVcpuPutHwMmu(vcpu);
  vcpu.setHypCtxt(true);
  loadVel2State(vcpu);
  kvmArchVcpuLoadFp(vcpu);
  kvmLoadHwTraps(vcpu);
  kvmVcpuLoadHwMmu(vcpu); // flushes the fast TLB: EL1 context, HCR_EL2 and VTTBR_EL2 all changed
}

// ---------------------------------------------------------------- ERET

const PSR_IL = 1n << 20n;
const PSR_NZCV = 0xfn << 28n;
const PSR_DAIF = 0xfn << 6n;
const PSR_DIT = 1n << 24n;
const PSR_NZCV_DIT_LO = Number(PSR_NZCV | PSR_DIT);
const PSR_ENTRY_LO = Number(PSR_DAIF | vel2PstateToHw(PSR_MODE_EL2H));

/**
 * kvm_check_illegal_exception_return: an illegal target (AArch32, M[1] set, EL0 with SP_EL1, EL3,
 * EL1 under virtual TGE) keeps the current mode, NZCV and DAIF and sets PSTATE.IL, so the next
 * instruction at vEL2 takes an Illegal Execution state exception.
 */
export function kvmCheckIllegalExceptionReturn(vcpu: KvmVcpu, spsr: bigint): bigint {
  const m = lo32(spsr) & 0x1f;
  const target = (m >> 2) & 3;
  const illegal = (m & 0x10) !== 0 || (m & 0x2) !== 0 || m === 0x1 || target === 3 || (target === 1 && ((lo32(vcpu.ctxt.el2.HCR_EL2) >>> HCR.TGE) & 1) !== 0);
  if (!illegal) return spsr;
  const cur = hwPstateToVel2(vcpu.cpu.sr.SPSR_EL2);
  return (cur & (PSR_NZCV | PSR_DAIF | 0x1fn)) | PSR_IL;
}

/**
 * kvm_emulate_nested_eret (EC 0x1A from vEL2): an ERET to EL2h/EL2t stays in vEL2; anything else
 * switches to L2 with PC = vELR_EL2 and PSTATE = vSPSR_EL2. The CPU resumes from the hardware
 * ELR_EL2/SPSR_EL2 set here.
 */
export function kvmEmulateNestedEret(vcpu: KvmVcpu): void {
  const cpu = vcpu.cpu;
  const elr = readVel2Elr(vcpu);
  const spsr = kvmCheckIllegalExceptionReturn(vcpu, readVel2Spsr(vcpu));
  vcpu.kvm.metrics.countNestedEret();
  if (isEl2Mode(spsr)) {
    cpu.sr.ELR_EL2 = elr;
    cpu.sr.SPSR_EL2 = vel2PstateToHw(spsr);
    vcpu.kvm.events.add({ kind: "eret", to: "vEL2", mode: lo32(spsr) & 0x1f, illegal: (spsr & PSR_IL) !== 0n, pc: elr });
    return;
  }
  kvmSwitchToL2(vcpu);
  cpu.sr.ELR_EL2 = elr;
  cpu.sr.SPSR_EL2 = spsr;
  const mmu = vcpu.hwMmu;
  vcpu.kvm.events.add({
    kind: "eret", to: "L2", mode: lo32(spsr) & 0x1f, pc: elr, vttbr: vcpu.ctxt.el2.VTTBR_EL2, mmu: mmu ? mmu.index : null, vmid: mmu ? mmu.hwVmid : null,
  });
}

// ---------------------------------------------------------------- injection

/**
 * kvm_inject_nested: take an exception to vEL2 from the context that just exited (its PSTATE and
 * preferred return are the hardware SPSR_EL2/ELR_EL2 of the exit). From L2 the vCPU first switches
 * to vEL2; ELR/SPSR/ESR (and FAR/HPFAR when given) land in the vEL2 file and the vCPU resumes at
 * vVBAR_EL2 + group + type with D, A, I, F set (enter_exception64).
 */
export function kvmInjectNested(vcpu: KvmVcpu, esr: bigint, far?: bigint, hpfar?: bigint, type: number = VECTOR.SYNC): void {
  const cpu = vcpu.cpu;
  const elr = cpu.sr.ELR_EL2;
  let spsr = cpu.sr.SPSR_EL2;
  let group: number;
  const fromL2 = !vcpu.isHypCtxt();
  if (fromL2) {
    kvmSwitchToVel2(vcpu);
    group = VECTOR.LOWER_A64;
  } else {
    spsr = hwPstateToVel2(spsr);
    group = spsrMode(spsr) === Number(PSR_MODE_EL2H) ? VECTOR.CUR_SPX : VECTOR.CUR_SP0;
  }
  writeVel2ExceptionRegs(vcpu, elr, spsr, type === VECTOR.SYNC ? esr : null);
  if (far !== undefined) vcpuWriteSysReg(vcpu, "FAR_EL2", far);
  if (hpfar !== undefined) vcpuWriteSysReg(vcpu, "HPFAR_EL2", hpfar);
  const vector = vectorAddress(vcpu.ctxt.el2.VBAR_EL2, group + type);
  cpu.sr.ELR_EL2 = vector;
  // NZCV and DIT kept, DAIF masked, EL2h as the hardware runs it (EL1h): all in SPSR[31:0].
  cpu.sr.SPSR_EL2 = BigInt(((lo32(spsr) & PSR_NZCV_DIT_LO) | PSR_ENTRY_LO) >>> 0);
  vcpu.kvm.metrics.countInjectionToL1();
  const from = fromL2 ? "L2" : "vEL2";
  const mode = spsrMode(spsr);
  // The common injection (an HVC, a trapped access) has neither address: no spread objects for it.
  vcpu.kvm.events.add(far === undefined && hpfar === undefined
    ? { kind: "inject", into: "vel2", esr, from, mode, elr, vector }
    : { kind: "inject", into: "vel2", esr, from, mode, elr, ...(far !== undefined ? { far } : {}), ...(hpfar !== undefined ? { hpfar } : {}), vector });
}

/** kvm_inject_nested_sync. */
export function kvmInjectNestedSync(vcpu: KvmVcpu, esr: bigint, far?: bigint, hpfar?: bigint): void {
  kvmInjectNested(vcpu, esr, far, hpfar, VECTOR.SYNC);
}

/**
 * Inject a synchronous exception into L2's own EL1 (e.g. UNDEFINED for an SMC L1 did not ask to
 * trap): the EL1 exception entry the hardware would have made.
 */
export function kvmInjectEl1Sync(vcpu: KvmVcpu, esr: bigint): void {
  const cpu = vcpu.cpu;
  const spsr = cpu.sr.SPSR_EL2;
  const m = spsr & 0x1fn;
  const group = m === 0x5n ? VECTOR.CUR_SPX : m === 0x4n ? VECTOR.CUR_SP0 : VECTOR.LOWER_A64;
  cpu.writeSysReg("ELR_EL1", cpu.sr.ELR_EL2);
  cpu.writeSysReg("SPSR_EL1", spsr);
  cpu.writeSysReg("ESR_EL1", esr);
  const vector = BigInt.asUintN(64, (cpu.sr.VBAR_EL1 & ~0x7ffn) + BigInt(group));
  cpu.sr.ELR_EL2 = vector;
  cpu.sr.SPSR_EL2 = (spsr & (PSR_NZCV | PSR_DIT)) | PSR_DAIF | 0x5n;
  vcpu.kvm.events.add({ kind: "inject", into: "l2-el1", esr, vector });
}
