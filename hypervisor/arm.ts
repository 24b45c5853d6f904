// The vCPU run loop (KVM: arch/arm64/kvm/arm.c, kvm_arch_vcpu_ioctl_run's loop): enter the guest,
// turn each CPU exit into a handler call, pause for monitors, and say why it stopped. `nvlab run`
// and the debugger share it; the scheduler (scheduler.ts) decides which vCPU runs it when.

import { EC_NAMES, type Exit } from "../emulator/exception.ts";
import { hex } from "../emulator/types.ts";
import { fillGuestReport } from "./diagnose.ts";
import { GuestError, HostError, type GuestReport } from "./errors.ts";
import { handleExit } from "./handle_exit.ts";
import { MonitorStop, nextPause } from "./monitor.ts";
import { checkNestedVcpuRequests } from "./nested.ts";
import type { KvmVcpu, VcpuRunResult } from "./vcpu.ts";


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

/** An exception class as the exit counters name it. */
function ecName(ec: number): string {
  return EC_NAMES[ec] ?? hex(ec);
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
  kvm.running = vcpu;
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
      // The last store into an L1 table page is done: log it before anything L0 does.
      kvm.pageTrack.flush();
      if (stop.kind === "budget") {
        if (cpu.steps >= end) return { kind: "budget" };
        continue; // paused for a monitor
      }
      if (stop.kind === "breakpoint") return { kind: "breakpoint", pc: stop.pc };
      // A watched access completed (debug/watch.ts): the debugger stops here, as at a hook.
      if (stop.kind === "watchpoint") return { kind: "hook" };
      // Semihosting SYS_EXIT (served by the CPU model, no exit to L0) ends the run as SYSTEM_OFF does.
      if (stop.kind === "semihosting-exit") return (vcpu.exitReason = { kind: "system-off", code: stop.code });
      if (stop.kind !== "exit") throw new HostError(`vCPU ${vcpu.index}: unexpected CPU stop "${stop.kind}"`);
      const exit = stop.exit;
      vcpu.lastExit = exit;
      vcpu.lastExitFromL2 = !vcpu.isHypCtxt();
      kvm.metrics.incExit(exit.ec, ecName);
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
  } finally {
    kvm.running = null;
  }
}

/** Whether the scheduler must pick again: this vCPU cannot go on, or another may now run. */
function mustReschedule(vcpu: KvmVcpu, epoch: number): boolean {
  return vcpu.kvm.schedEpoch !== epoch || vcpu.mpState !== "runnable" || (vcpu.waitingOn !== null && !vcpu.waitingOn.done);
}
