// The vCPU's SIMD&FP state and who owns the registers (KVM: fpsimd.c kvm_arch_vcpu_load_fp /
// kvm_arch_vcpu_put_fp, hyp/include/hyp/switch.h kvm_hyp_handle_fpsimd and __activate_cptr_traps,
// kvm_emulate.h guest_hyp_fpsimd_traps_enabled, handle_exit.c kvm_handle_fpasimd).
//
// One context per vCPU, not one for L1 and one for L2: the architecture does not bank V0-V31, FPCR
// and FPSR by exception level, so a guest hypervisor that wants its guest to have registers of its
// own saves and restores them itself (as it must on hardware), and L0 only switches between its
// own use of the registers and the vCPU's.
//
// The switch is lazy, as in KVM. Every put (the vcpu_put/vcpu_load KVM does around a nested ERET to
// L2 and an injection from L2 into vEL2) writes a guest-owned register file back to the vCPU and
// hands the registers to the host; L0 then runs the vCPU with CPTR_EL2.TFP set, and the first
// SIMD&FP instruction after the switch exits with EC 0x07. L0 loads the vCPU's state, clears TFP and
// re-executes the instruction (`fpsimd.switches`), unless L1's own CPTR_EL2 asks for the trap: then
// L1 receives it (forwarding). L0 never uses the registers itself, so what the hardware holds while
// the host owns them is the vCPU's last state, and debuggers may read them at any time.

import { CPTR, HCR } from "../emulator/traps.ts";
import { hi32, lo32 } from "../emulator/types.ts";
import type { KvmVcpu } from "./vcpu.ts";

/** KVM's fp_owner. */
export type FpOwner = "host" | "guest";

/** The vCPU's saved SIMD&FP registers (vcpu->arch.ctxt.fp_regs) and the owner of the hardware's. */
export class VcpuFpState {
  /** V0-V31 in CpuState.vregs' layout. */
  readonly vregs = new Uint32Array(128);
  fpcr = 0;
  fpsr = 0;
  owner: FpOwner = "host";

  /** kvm_reset_vcpu: zeroed registers, owned by the host until the first trap. */
  reset(): void {
    this.vregs.fill(0);
    this.fpcr = 0;
    this.fpsr = 0;
    this.owner = "host";
  }
}

const bit = (n: number): bigint => 1n << BigInt(n);
const TFP = bit(CPTR.TFP);

/**
 * guest_hyp_fpsimd_traps_enabled: L1's virtual CPTR_EL2 asks for the trap. nVHE (E2H = 0): TFP,
 * which covers EL0, EL1 and EL2. VHE (E2H = 1): FPEN x0 traps, 01 only EL0 under TGE, 11 nothing.
 */
export function guestHypFpsimdTrapsEnabled(vcpu: KvmVcpu): boolean {
  // Every bit read sits in one 32-bit half (E2H is HCR_EL2[34]): no BigInt operation on a world switch.
  const el2 = vcpu.ctxt.el2;
  const cptr = lo32(el2.CPTR_EL2);
  if (((hi32(el2.HCR_EL2) >>> (HCR.E2H - 32)) & 1) === 0) return ((cptr >>> CPTR.TFP) & 1) !== 0;
  const fpen = (cptr >>> 20) & 3;
  if ((fpen & 1) === 0) return true;
  return fpen === 1 && ((lo32(el2.HCR_EL2) >>> HCR.TGE) & 1) !== 0 && !vcpu.isHypCtxt();
}

/**
 * The FP part of __activate_cptr_traps: trap every SIMD&FP access while the host owns the registers,
 * and, while L2 runs, whatever L1's virtual CPTR_EL2 traps (layered on top, so L2's access reaches
 * L0, which forwards it). vEL2's own trap control is its CPTR_EL2 translated into the hardware
 * CPACR_EL1 (sys_regs.ts), checked by the CPU before this one.
 */
export function fpsimdCptrTraps(vcpu: KvmVcpu): bigint {
  if (vcpu.fp.owner !== "guest") return TFP;
  return !vcpu.isHypCtxt() && guestHypFpsimdTrapsEnabled(vcpu) ? TFP : 0n;
}

/** Rewrite hardware CPTR_EL2.TFP for the current owner and context. */
export function kvmActivateFpsimdTraps(vcpu: KvmVcpu): void {
  const cpu = vcpu.cpu;
  cpu.sr.CPTR_EL2 = (cpu.sr.CPTR_EL2 & ~TFP) | fpsimdCptrTraps(vcpu);
}

/** kvm_arch_vcpu_load_fp: the host owns the registers until the vCPU's first SIMD&FP access traps. */
export function kvmArchVcpuLoadFp(vcpu: KvmVcpu): void {
  vcpu.fp.owner = "host";
}

/** kvm_arch_vcpu_put_fp: a guest-owned register file goes back to the vCPU. */
export function kvmArchVcpuPutFp(vcpu: KvmVcpu): void {
  const fp = vcpu.fp;
  if (fp.owner !== "guest") return;
  const cpu = vcpu.cpu;
  fp.vregs.set(cpu.vregs);
  fp.fpcr = cpu.fpcr;
  fp.fpsr = cpu.fpsr;
  fp.owner = "host";
  vcpu.kvm.metrics.inc("fpsimd.saves");
}

/**
 * A debugger or L0 tool wrote the hardware SIMD&FP registers between runs (KVM's KVM_SET_ONE_REG
 * writes the vCPU's saved copy): while the host owns the registers, the saved copy is what the next
 * trap loads, so it must take the new values too.
 */
export function kvmFpsimdRegsWritten(vcpu: KvmVcpu): void {
  const fp = vcpu.fp;
  if (fp.owner === "guest") return;
  const cpu = vcpu.cpu;
  fp.vregs.set(cpu.vregs);
  fp.fpcr = cpu.fpcr;
  fp.fpsr = cpu.fpsr;
}

/**
 * kvm_hyp_handle_fpsimd (EC 0x07): unless L1 traps the access itself, load the vCPU's registers,
 * clear the trap and resume at the same instruction (the preferred return of EC 0x07). Returns
 * false when the trap is L1's to take.
 */
export function kvmHypHandleFpsimd(vcpu: KvmVcpu): boolean {
  if (guestHypFpsimdTrapsEnabled(vcpu)) return false;
  const fp = vcpu.fp;
  const cpu = vcpu.cpu;
  cpu.vregs.set(fp.vregs);
  cpu.fpcr = fp.fpcr;
  cpu.fpsr = fp.fpsr;
  fp.owner = "guest";
  kvmActivateFpsimdTraps(vcpu);
  vcpu.kvm.metrics.inc("fpsimd.switches");
  return true;
}
