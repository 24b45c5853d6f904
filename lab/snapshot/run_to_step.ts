// runVm with a stop on the way: the run goes to exactly instruction STEP (all vCPUs together), the
// caller looks at the VM there (fingerprints it, saves it, checks it against a file), and the run
// goes on to its end. Cutting a run never changes it (the scheduler keeps the slice in progress),
// so the result is the one runVm gives for the same options.

import type { VmMonitor } from "../../hypervisor/monitor.ts";
import { kvmArchVcpuRun } from "../../hypervisor/scheduler.ts";
import type { Kvm } from "../../hypervisor/vm.ts";
import { DEFAULT_MAX_STEPS, prepareVm, type RunOutcome, runOutcome, type RunVmOptions, type RunVmResult, withHostReport } from "../run.ts";
import { fingerprintVm } from "./vm_snapshot.ts";

/** Instructions run between two progress reports on the way to the step. */
export const STEP_CHUNK = 1_000_000;

export interface StepStop {
  /** Instructions retired by all vCPUs at which the run stops (at most the run's budget). */
  step: number;
  /** The VM at exactly `step`, before it goes on; what it throws ends the run. */
  onReach(kvm: Kvm): void;
  /** Called every `chunk` instructions on the way to `step` (a progress line). */
  progress?(kvm: Kvm): void;
  /** Instructions between progress reports (default STEP_CHUNK). */
  chunk?: number;
}

export interface SteppedRunResult extends RunVmResult {
  /** The run got to `step`; false when it ended before (system off, guest error, checker stop). */
  reached: boolean;
}

/** runVm, stopping at `stop.step` on the way. */
export function runVmThroughStep(opts: RunVmOptions, stop: StepStop): SteppedRunResult {
  const { kvm, vcpu, loadError } = prepareVm(opts);
  const done = (outcome: RunOutcome, reached: boolean): SteppedRunResult => ({
    outcome,
    console: kvm.console,
    metrics: kvm.metrics.snapshot(),
    steps: kvm.steps,
    kvm,
    reached,
  });
  if (loadError) return done(loadError, false);
  const budget = opts.maxSteps ?? DEFAULT_MAX_STEPS;
  const chunk = stop.chunk ?? STEP_CHUNK;
  try {
    return withHostReport(vcpu, () => {
      const target = Math.min(stop.step, budget);
      while (kvm.steps < target) {
        const r = kvmArchVcpuRun(vcpu, Math.min(chunk, target - kvm.steps));
        if (r.kind !== "budget") return done(runOutcome(vcpu, r), false);
        stop.progress?.(kvm);
      }
      if (stop.step > budget) return done(runOutcome(vcpu, { kind: "budget" }), false);
      stop.onReach(kvm);
      return done(runOutcome(vcpu, kvmArchVcpuRun(vcpu, budget - kvm.steps)), true);
    });
  } finally {
    vcpu.cpu.options.semihosting?.closeAll();
  }
}

/**
 * fingerprintVm of the run's own state: without the monitors that only watch (trace recorders an
 * output option attached), which two runs of the same file may differ in. (The console's sink is
 * not state: fingerprintVm leaves it out.)
 */
export function runFingerprint(kvm: Kvm, watchers: ReadonlySet<VmMonitor> = new Set()): string {
  const all = kvm.monitors.slice();
  kvm.monitors.splice(0, all.length, ...all.filter((m) => !watchers.has(m)));
  try {
    return fingerprintVm(kvm);
  } finally {
    kvm.monitors.splice(0, kvm.monitors.length, ...all);
  }
}
