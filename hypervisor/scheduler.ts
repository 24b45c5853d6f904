// The vCPU scheduler: nvlab runs every vCPU on one host thread, so "concurrency" is a deterministic
// interleaving. Runnable vCPUs take turns in index order (round-robin); each turn (a slice) runs
// one vCPU for a quantum of instructions: a fixed one, or one drawn from the VM's seed. L0 work
// that takes time while the guests go on (host tasks: a stage-2 coalescing in progress) advances
// one tick per slice. The same configuration and seed always give the same interleaving.

import { SplitMix32 } from "./splitmix32.ts";
import { GuestError, HostError } from "./errors.ts";
import { kvmVcpuRunLoop, type VcpuLoopHooks, type VcpuLoopResult } from "./arm.ts";
import { fillGuestReport } from "./diagnose.ts";
import type { KvmVcpu, VcpuRunResult } from "./vcpu.ts";
import type { Kvm } from "./vm.ts";

export type SchedulePolicy = "round-robin" | "random";

export interface ScheduleConfig {
  policy: SchedulePolicy;
  /** Instructions per slice (round-robin), or the mean slice length (random: uniform in 1..2q-1). */
  quantum: number;
}

export const DEFAULT_SCHEDULE: Readonly<ScheduleConfig> = { policy: "round-robin", quantum: 1000 };

/** L0 work that spans scheduler ticks (one tick per slice), e.g. a coalescing in progress. */
export interface HostTask {
  /** Advance one tick; true once finished. */
  tick(): boolean;
  readonly done: boolean;
}

/** Why a whole-VM run stopped, and on which vCPU. */
export interface VmRunStop {
  result: VcpuLoopResult;
  vcpu: KvmVcpu;
}

export class VcpuScheduler {
  private nextIndex = 0;
  private readonly rng: SplitMix32;
  /** Slices run so far (= scheduler ticks). */
  slices = 0;
  /** Per vCPU: turns it missed, powered on, because it was waiting for L0 (a coalescing). */
  readonly waitedTurns: number[];
  /** Per vCPU with an open exclusive reservation: the monitored bytes when its slice ended. */
  private readonly monitored = new Map<number, string>();

  constructor(
    private readonly kvm: Kvm,
    readonly config: ScheduleConfig,
  ) {
    if (!Number.isInteger(config.quantum) || config.quantum < 1) throw new HostError(`scheduler quantum must be a positive integer (got ${config.quantum})`);
    // Its own stream: the interleaving does not shift when chaos or other seeded users draw.
    this.rng = new SplitMix32((kvm.config.seed ^ 0x5c4ed) >>> 0);
    this.waitedTurns = new Array<number>(kvm.config.vcpus).fill(0);
  }

  /** Whether `v` can run now. */
  static runnable(v: KvmVcpu): boolean {
    if (v.mpState !== "runnable") return false;
    if (v.waitingOn && !v.waitingOn.done) return false;
    v.waitingOn = null;
    return true;
  }

  /** The next runnable vCPU in round-robin order after the last one picked, or null. */
  pick(): KvmVcpu | null {
    const vcpus = this.kvm.vcpus;
    for (let i = 0; i < vcpus.length; i++) {
      const v = vcpus[(this.nextIndex + i) % vcpus.length]!;
      if (v.mpState === "runnable" && v.waitingOn && !v.waitingOn.done) this.waitedTurns[v.index]!++;
      if (VcpuScheduler.runnable(v)) {
        this.nextIndex = (v.index + 1) % vcpus.length;
        return v;
      }
    }
    return null;
  }

  /** Length of the next slice in instructions. */
  sliceLength(): number {
    const q = this.config.quantum;
    return this.config.policy === "round-robin" ? q : 1 + this.rng.below(2 * q - 1);
  }

  /**
   * The global exclusive monitor, approximated at slice boundaries: a vCPU's open LDXR reservation
   * is dropped when the monitored bytes changed while other vCPUs ran. (A store of the same value
   * by another vCPU goes unnoticed, where hardware would clear the monitor.)
   */
  checkExclusiveMonitor(v: KvmVcpu): void {
    const cpu = v.cpu;
    const seen = this.monitored.get(v.index);
    if (!cpu.exclusiveValid || seen === undefined) return;
    if (this.monitoredBytes(v) !== seen) cpu.clearExclusive();
  }

  snapshotExclusiveMonitor(v: KvmVcpu): void {
    const cpu = v.cpu;
    if (cpu.exclusiveValid && this.kvm.mem.isRam(cpu.exclusivePa)) this.monitored.set(v.index, this.monitoredBytes(v));
    else this.monitored.delete(v.index);
  }

  private monitoredBytes(v: KvmVcpu): string {
    return this.kvm.mem.readBytes(v.cpu.exclusivePa, v.cpu.exclusiveSize).join(",");
  }

  /** One tick of every host task; finished ones are dropped. */
  tickHostTasks(): void {
    const tasks = this.kvm.hostTasks;
    if (tasks.length === 0) return;
    for (const t of tasks) if (!t.done) t.tick();
    this.kvm.hostTasks = tasks.filter((t) => !t.done);
  }
}

/**
 * Run the VM's vCPUs until SYSTEM_OFF, a guest error, a monitor stop, a debugger stop, or until
 * `maxSteps` more instructions (all vCPUs together) have retired ("budget", reported on the vCPU
 * that ran last). A single-vCPU VM without host tasks runs in one slice: the scheduler adds
 * nothing to the common case.
 */
export function kvmRunVcpus(kvm: Kvm, maxSteps: number, hooks: VcpuLoopHooks | null = null, prefer: KvmVcpu | null = null): VmRunStop {
  const sched = kvm.scheduler;
  const end = kvm.steps + maxSteps;
  let last = prefer ?? kvm.vcpus[0]!;
  // A debugger stepping one vCPU asks for it first (when it can run).
  let first = prefer !== null && VcpuScheduler.runnable(prefer) ? prefer : null;
  for (;;) {
    const left = end - kvm.steps;
    if (left <= 0) return { result: { kind: "budget" }, vcpu: last };
    const vcpu = first ?? sched.pick();
    first = null;
    if (!vcpu) {
      if (kvm.hostTasks.length > 0) {
        // Everyone waits for L0: time passes in L0 alone.
        sched.slices++;
        sched.tickHostTasks();
        continue;
      }
      return { result: allStopped(kvm, last), vcpu: last };
    }
    last = vcpu;
    const solo = kvm.vcpus.length === 1 && kvm.hostTasks.length === 0;
    const slice = solo ? left : Math.min(left, sched.sliceLength());
    if (!solo) sched.checkExclusiveMonitor(vcpu);
    const r = kvmVcpuRunLoop(vcpu, vcpu.cpu.steps + slice, hooks);
    if (!solo) sched.snapshotExclusiveMonitor(vcpu);
    sched.slices++;
    sched.tickHostTasks();
    if (r.kind === "budget" || r.kind === "yield") continue;
    return { result: r, vcpu };
  }
}

/** No vCPU can ever run again: every one is off (CPU_OFF) and nothing will start one. */
function allStopped(kvm: Kvm, last: KvmVcpu): VcpuLoopResult {
  const error = new GuestError({ reason: `every vCPU is off (PSCI CPU_OFF) and none can be started again (${kvm.vcpus.length} vCPUs)`, level: "L1" });
  fillGuestReport(last, error.report);
  return { kind: "guest-error", error, report: error.report };
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
