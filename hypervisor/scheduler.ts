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

/** One turn of a vCPU: it runs until its step count reaches `end`. */
export interface Slice {
  readonly vcpu: KvmVcpu;
  readonly end: number;
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
  /**
   * The slice in progress: a run that stops inside it (its budget, a debugger stop) goes on with
   * it, so cutting a run into pieces never changes the interleaving.
   */
  slice: Slice | null = null;
  /** Slices run out of turn (a debugger stepping a vCPU): where a run left the scheduler's course. */
  forced = 0;
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

  /**
   * The next slice: the vCPU and the step count it runs to. A single vCPU without host tasks runs
   * in one unbounded slice (the scheduler adds nothing to the common case).
   */
  beginSlice(): Slice | null {
    const vcpu = this.pick();
    if (vcpu === null) return null;
    return this.startSlice(vcpu);
  }

  /** A slice for `vcpu` out of turn (a debugger stepping it); the slice in progress stays. */
  forcedSlice(vcpu: KvmVcpu): Slice {
    this.forced++;
    const saved = this.slice;
    const s = this.startSlice(vcpu);
    this.slice = saved;
    return s;
  }

  private startSlice(vcpu: KvmVcpu): Slice {
    const solo = this.kvm.vcpus.length === 1 && this.kvm.hostTasks.length === 0;
    const slice = { vcpu, end: solo ? Infinity : vcpu.cpu.steps + this.sliceLength() };
    if (!solo) this.checkExclusiveMonitor(vcpu);
    this.slice = slice;
    return slice;
  }

  /** The slice ended (its length ran out, the vCPU yielded or the run stopped): one scheduler tick. */
  endSlice(s: Slice): void {
    if (s.end !== Infinity) this.snapshotExclusiveMonitor(s.vcpu);
    if (this.slice === s) this.slice = null;
    this.slices++;
    this.tickHostTasks();
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
  let last = prefer ?? sched.slice?.vcpu ?? kvm.vcpus[0]!;
  // A debugger stepping one vCPU asks for it first (when it can run).
  let first = prefer !== null && VcpuScheduler.runnable(prefer) ? prefer : null;
  for (;;) {
    const left = end - kvm.steps;
    if (left <= 0) return { result: { kind: "budget" }, vcpu: last };
    // A slice kept from an earlier call whose vCPU can no longer run (the user changed it) is over.
    if (sched.slice !== null && !VcpuScheduler.runnable(sched.slice.vcpu)) sched.endSlice(sched.slice);
    let slice = sched.slice ?? sched.beginSlice();
    // The preferred vCPU runs now; when it is not the scheduler's turn, in a slice of its own.
    const forced = first !== null && slice?.vcpu !== first;
    if (forced) slice = sched.forcedSlice(first!);
    first = null;
    if (slice === null) {
      if (kvm.hostTasks.length > 0) {
        // Everyone waits for L0: time passes in L0 alone.
        sched.slices++;
        sched.tickHostTasks();
        continue;
      }
      return { result: allStopped(kvm, last), vcpu: last };
    }
    const vcpu = slice.vcpu;
    last = vcpu;
    const r = kvmVcpuRunLoop(vcpu, Math.min(slice.end, vcpu.cpu.steps + left), hooks);
    // Stopped inside the slice by the caller's budget or a debugger stop: the next call goes on with it.
    const cut = (r.kind === "budget" && vcpu.cpu.steps < slice.end) || r.kind === "breakpoint" || r.kind === "hook";
    if (cut && !forced && VcpuScheduler.runnable(vcpu)) return { result: r, vcpu };
    sched.endSlice(slice);
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
