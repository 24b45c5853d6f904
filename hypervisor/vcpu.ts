// The vCPU (KVM: struct kvm_vcpu): one Cpu running L1 at virtual EL2 or L2 beneath it, the vEL2
// register file and the hardware MMU in use; kvm_reset_vcpu. The run loop is in arm.ts.

import { Cpu } from "../emulator/cpu.ts";
import type { Exit } from "../emulator/exception.ts";
import { PHYS_MIDR, physicalMpidr } from "../emulator/sysreg_table.ts";
import { hi32, lo32, plus4 } from "../emulator/types.ts";
import { kvmInjectNestedSync, kvmLoadHwTraps } from "./emulate_nested.ts";
import type { GuestError, GuestReport } from "./errors.ts";
import { VcpuFpState } from "./fpsimd.ts";
import { type KvmS2Mmu, kvmVcpuLoadHwMmu } from "./nested.ts";
import {
  ESR_UNDEFINED, VcpuSysRegs, loadVel2State, vcpuReadSysReg, vcpuWriteSysReg,
} from "./sys_regs.ts";
import type { MonitorStop } from "./monitor.ts";
import type { Kvm } from "./vm.ts";

/** Why a run ended by the guest's own request. */
export type VcpuExitReason = { kind: "system-off"; code: number };

export type VcpuRunResult =
  | VcpuExitReason
  | { kind: "budget" }
  | { kind: "guest-error"; error: GuestError; report: GuestReport }
  | { kind: "monitor-stop"; stop: MonitorStop; report: GuestReport };

export class KvmVcpu {
  readonly cpu: Cpu;
  /** What the hardware VTTBR_EL2 currently points at (null between put and load). */
  hwMmu: KvmS2Mmu | null = null;
  readonly ctxt: VcpuSysRegs;
  /** The SIMD&FP registers while the host owns the hardware's, and the owner (fpsimd.ts). */
  readonly fp = new VcpuFpState();
  /** The exit being (or last) handled, and whether L2 was running when it happened. */
  lastExit: Exit | null = null;
  lastExitFromL2 = false;
  /** Set by a handler that ends the run (PSCI SYSTEM_OFF). */
  exitReason: VcpuExitReason | null = null;
  /**
   * KVM's mp_state: "stopped" until PSCI CPU_ON starts a secondary (vCPU 0 is started by the run),
   * and again after CPU_OFF. The scheduler runs only runnable vCPUs.
   */
  mpState: "runnable" | "stopped" = "stopped";
  /**
   * Set by CPU_ON: the vCPU has not run since L0 put it at its entry, so a debugger's breakpoint
   * there must be checked before its first instruction (as after any other L0 action).
   */
  freshEntry = false;
  /** Set while the vCPU waits for an L0 operation (a coalescing in progress on the range it faulted on). */
  waitingOn: { readonly done: boolean } | null = null;
  private hypCtxt = true;

  constructor(
    readonly kvm: Kvm,
    readonly index: number,
  ) {
    this.cpu = new Cpu(kvm.mem, { index, engine: kvm.config.engine });
    this.ctxt = new VcpuSysRegs(PHYS_MIDR, physicalMpidr(this.cpu));
  }

  /** is_hyp_ctxt: running vEL2 (L1) rather than L2. */
  isHypCtxt(): boolean {
    return this.hypCtxt;
  }

  /** Only the world switch changes the context. */
  setHypCtxt(hyp: boolean): void {
    this.hypCtxt = hyp;
  }

  vcpuReadSysReg(name: string): bigint {
    return vcpuReadSysReg(this, name);
  }

  vcpuWriteSysReg(name: string, v: bigint): void {
    vcpuWriteSysReg(this, name, v);
  }

  /** kvm_inject_nested_sync (+ FAR/HPFAR for kvm_inject_s2_fault). */
  injectNestedSync(esr: bigint, far?: bigint, hpfar?: bigint): void {
    kvmInjectNestedSync(this, esr, far, hpfar);
  }

  /** kvm_inject_undefined while vEL2 runs: an UNDEFINED exception taken at vEL2. */
  injectUndefined(): void {
    kvmInjectNestedSync(this, ESR_UNDEFINED);
  }

  /** kvm_incr_pc: resume after the trapped instruction. */
  skipInstr(): void {
    const elr = this.cpu.sr.ELR_EL2;
    this.cpu.sr.ELR_EL2 = plus4(lo32(elr), hi32(elr));
  }

  /** Which guest the CPU is running (or was running when it exited). */
  get level(): "L1" | "L2" {
    return this.isHypCtxt() ? "L1" : "L2";
  }
}

/**
 * kvm_reset_vcpu for the guest ABI: L1 starts at vEL2h (hardware EL1h), MMU off, D/A/I/F masked,
 * PC = entry, on the canonical MMU.
 */
export function kvmResetVcpu(vcpu: KvmVcpu, entry: bigint): void {
  vcpu.cpu.resetTo(entry, 1);
  vcpu.setHypCtxt(true);
  vcpu.exitReason = null;
  vcpu.mpState = "runnable";
  vcpu.waitingOn = null;
  vcpu.fp.reset();
  loadVel2State(vcpu);
  kvmLoadHwTraps(vcpu);
  kvmVcpuLoadHwMmu(vcpu);
}
