// The vCPU (KVM: struct kvm_vcpu + kvm_arch_vcpu_ioctl_run): one Cpu running L1 at virtual EL2 or
// L2 beneath it, the vEL2 register file, the hardware MMU in use, and the run loop that turns CPU
// exits into handler calls.

import { Cpu } from "../emulator/cpu.ts";
import { EC_NAMES, type Exit } from "../emulator/exception.ts";
import { PHYS_MIDR, physicalMpidr } from "../emulator/sysreg_table.ts";
import { hex } from "../emulator/types.ts";
import { kvmInjectNestedSync, kvmLoadHwTraps } from "./emulate_nested.ts";
import { GuestError, HostError, type GuestReport } from "./errors.ts";
import { formatEvent } from "./events.ts";
import { handleExit } from "./handle_exit.ts";
import { checkNestedVcpuRequests, type KvmS2Mmu, kvmVcpuLoadHwMmu } from "./nested.ts";
import {
  ESR_UNDEFINED, VcpuSysRegs, hwPstateToVel2, loadVel2State, vcpuReadSysReg, vcpuWriteSysReg,
} from "./sys_regs.ts";
import { MonitorStop, nextPause } from "./monitor.ts";
import { kvmRunVcpus } from "./scheduler.ts";
import type { Kvm } from "./vm.ts";

/** Why a run ended by the guest's own request. */
export type VcpuExitReason = { kind: "system-off"; code: number };

export type VcpuRunResult =
  | VcpuExitReason
  | { kind: "budget" }
  | { kind: "guest-error"; error: GuestError; report: GuestReport }
  | { kind: "monitor-stop"; stop: MonitorStop; report: GuestReport };

/** How many events a GuestError report carries. */
const REPORT_EVENTS = 20;

export class KvmVcpu {
  readonly cpu: Cpu;
  /** What the hardware VTTBR_EL2 currently points at (null between put and load). */
  hwMmu: KvmS2Mmu | null = null;
  readonly ctxt: VcpuSysRegs;
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
    this.cpu = new Cpu(kvm.mem, { index });
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
    this.cpu.sr.ELR_EL2 = BigInt.asUintN(64, this.cpu.sr.ELR_EL2 + 4n);
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
  loadVel2State(vcpu);
  kvmLoadHwTraps(vcpu);
  kvmVcpuLoadHwMmu(vcpu);
}

/** Why the shared run loop returned: a run result, or a stop only a debugger asks for. */
export type VcpuLoopResult =
  | VcpuRunResult
  /** The CPU reached an address in `cpu.breakpoints` (not yet executed). */
  | { kind: "breakpoint"; pc: bigint }
  /** `hooks.stopAtReentry` asked to stop. */
  | { kind: "hook" }
  /**
   * Who may run changed (this vCPU stopped or waits for L0, another was started, a host task
   * began): the scheduler picks again. The CPU may still be at EL2, as on "budget".
   */
  | { kind: "yield" };

/** What a debugger adds to the run loop (`nvlab run` passes none). */
export interface VcpuLoopHooks {
  /**
   * Called when the guest is about to resume after an L0 action (a handled exit, `exit`, or a
   * monitor pause, `exit` null), with the CPU back at guest level: return true to stop there.
   */
  stopAtReentry(vcpu: KvmVcpu, exit: Exit | null): boolean;
}

/**
 * kvm_arch_vcpu_ioctl_run: run until SYSTEM_OFF, the step budget, or guest misbehaviour (a
 * GuestError, returned with its report). HostErrors propagate: they are L0 bugs.
 */
export function kvmArchVcpuRun(vcpu: KvmVcpu, maxSteps: number): VcpuRunResult {
  // Every vCPU of the VM runs, interleaved by the scheduler (one slice for a single vCPU).
  const r = kvmRunVcpus(vcpu.kvm, maxSteps).result;
  if (r.kind === "breakpoint" || r.kind === "hook" || r.kind === "yield") throw new HostError(`vCPU ${vcpu.index}: debugger stop "${r.kind}" without a debugger`);
  return r;
}

/**
 * The exit loop shared by `nvlab run` and the debugger: run the guest until its instruction count
 * reaches `end`, handling exits and pausing for monitors exactly as a plain run does. Returns with
 * the CPU possibly still at EL2 (just after a handled exit) on "budget"; on "breakpoint" and
 * "hook" it is at guest level.
 */
export function kvmVcpuRunLoop(vcpu: KvmVcpu, end: number, hooks: VcpuLoopHooks | null): VcpuLoopResult {
  const cpu = vcpu.cpu;
  const kvm = vcpu.kvm;
  const monitors = kvm.monitors;
  // Monitors count instructions over all vCPUs; the others do not run while this one does.
  const others = kvm.steps - cpu.steps;
  const epoch = kvm.schedEpoch;
  // The L0 action since the guest last ran: a handled exit, or a monitor pause or CPU_ON (null).
  let action: Exit | null | undefined = vcpu.freshEntry ? null : undefined;
  vcpu.freshEntry = false;
  try {
    for (;;) {
      let remaining = end - cpu.steps;
      if (remaining <= 0) return { kind: "budget" };
      if (monitors.length > 0) {
        const pause = nextPause(monitors);
        if (pause <= others + cpu.steps) {
          for (const m of monitors) m.onPause?.(vcpu);
          if (nextPause(monitors) <= others + cpu.steps) throw new HostError("a monitor keeps asking for a pause at the current step");
          if (mustReschedule(vcpu, epoch)) return { kind: "yield" };
          action ??= null;
          continue;
        }
        remaining = Math.min(remaining, pause - (others + cpu.steps));
      }
      checkNestedVcpuRequests(vcpu);
      if (cpu.el === 2) cpu.eretFromEl2();
      if (hooks !== null && action !== undefined && hooks.stopAtReentry(vcpu, action)) return { kind: "hook" };
      action = undefined;
      const stop = cpu.run(remaining);
      if (stop.kind === "budget") {
        if (cpu.steps >= end) return { kind: "budget" };
        continue; // paused for a monitor
      }
      if (stop.kind === "breakpoint") return { kind: "breakpoint", pc: stop.pc };
      if (stop.kind !== "exit") throw new HostError(`vCPU ${vcpu.index}: unexpected CPU stop "${stop.kind}"`);
      const exit = stop.exit;
      vcpu.lastExit = exit;
      vcpu.lastExitFromL2 = !vcpu.isHypCtxt();
      const name = EC_NAMES[exit.ec] ?? hex(exit.ec);
      kvm.metrics.inc(`exits.${name}`);
      const level = vcpu.level;
      const abort = exit.ec === 0x20 || exit.ec === 0x24;
      kvm.events.add({ kind: "exit", ec: exit.ec, level, esr: exit.esr, elr: exit.elr, far: abort ? exit.far : undefined, hpfar: abort ? exit.hpfar : undefined });
      const more = handleExit(vcpu, exit);
      for (const m of monitors) m.afterExit?.(vcpu, exit);
      if (more === 0) return vcpu.exitReason ?? { kind: "budget" };
      if (mustReschedule(vcpu, epoch)) return { kind: "yield" };
      action = exit;
    }
  } catch (e) {
    if (e instanceof MonitorStop) {
      const report: GuestReport = { reason: e.message };
      fillGuestReport(vcpu, report);
      return { kind: "monitor-stop", stop: e, report };
    }
    if (!(e instanceof GuestError)) throw e;
    fillGuestReport(vcpu, e.report);
    return { kind: "guest-error", error: e, report: e.report };
  }
}

/** Whether the scheduler must pick again: this vCPU cannot go on, or another may now run. */
function mustReschedule(vcpu: KvmVcpu, epoch: number): boolean {
  return vcpu.kvm.schedEpoch !== epoch || vcpu.mpState !== "runnable" || (vcpu.waitingOn !== null && !vcpu.waitingOn.done);
}

/** Complete a GuestError report with what the user needs: registers, the exit, recent events. */
export function fillGuestReport(vcpu: KvmVcpu, report: GuestReport): void {
  const cpu = vcpu.cpu;
  const exit = vcpu.lastExit;
  const fromL2 = exit ? vcpu.lastExitFromL2 : !vcpu.isHypCtxt();
  report.level ??= fromL2 ? "L2" : "L1";
  if (!report.regs) {
    const regs: Record<string, string> = {};
    for (let i = 0; i < 31; i++) regs[`x${i}`] = hex(cpu.getX(i), 16);
    regs.sp = hex(cpu.getSP(), 16);
    // At an exit the CPU's PC is stale: the interrupted context is in ELR_EL2/SPSR_EL2.
    const atExit = cpu.el === 2 && exit !== null;
    regs.pc = hex(atExit ? exit.elr : cpu.getPC(), 16);
    const pstate = atExit ? exit.spsr : cpu.pstate();
    regs.pstate = hex(fromL2 ? pstate : hwPstateToVel2(pstate), 8);
    report.regs = regs;
  }
  if (!report.exit && exit) {
    report.exit = {
      ec: `${hex(exit.ec)} (${EC_NAMES[exit.ec] ?? "reserved"})`,
      esr: hex(exit.esr),
      far: hex(exit.far),
      hpfar: hex(exit.hpfar),
      elr: hex(exit.elr),
    };
  }
  report.events ??= vcpu.kvm.events.recent(REPORT_EVENTS).map(formatEvent);
}
