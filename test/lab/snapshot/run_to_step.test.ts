// runVmThroughStep: a run stopped at an instruction count on the way ends exactly as runVm's does,
// the stop sees the VM at that count, and runFingerprint leaves the output's wiring out.

import { describe, expect, it } from "vitest";
import { runCommandVm, type RunCommandOptions } from "../../../cli/run.ts";
import type { VmMonitor } from "../../../hypervisor/monitor.ts";
import { kvmArchVcpuRun } from "../../../hypervisor/scheduler.ts";
import { prepareVm, runVm, type RunVmOptions } from "../../../lab/run.ts";
import { runFingerprint, runVmThroughStep } from "../../../lab/snapshot/run_to_step.ts";
import { fingerprintVm } from "../../../lab/snapshot/vm_snapshot.ts";

/** Two vCPUs, two L2s, slices of random length, chaos: a run whose interleaving a cut could disturb. */
const SMP: RunCommandOptions = {
  l1: { file: "guests/l1/smp.S", ipa: null },
  l2: [
    { file: "guests/l2/hello.S", ipa: 0x4800_0000n },
    { file: "guests/l2/touch.S", ipa: 0x4900_0000n },
  ],
  memory: 256n << 20n,
  vcpus: 2,
  maxSteps: 5_000_000,
  unmap: "revmap",
  chaos: { seed: 3, rate: 20 },
  schedule: { policy: "random", quantum: 200 },
  seed: 11,
};

const vm = (): Promise<RunVmOptions> => runCommandVm(SMP);

function summary(r: { outcome: unknown; console: string; steps: number; metrics: unknown }) {
  return { outcome: JSON.stringify(r.outcome, (_k, v: unknown) => (typeof v === "bigint" ? v.toString(16) : v)), console: r.console, steps: r.steps, metrics: r.metrics };
}

describe("runVmThroughStep", () => {
  it("stops at exactly the step, and ends as runVm does", async () => {
    const plain = runVm(await vm());
    expect(plain.outcome.kind).toBe("system-off");
    const step = Math.floor(plain.steps / 2) + 1;
    let seen = -1;
    const r = runVmThroughStep(await vm(), { step, onReach: (kvm) => (seen = kvm.steps) });
    expect(seen).toBe(step);
    expect(r.reached).toBe(true);
    expect(summary(r)).toEqual(summary(plain));
  });

  it("cut into small pieces on the way, it reaches the state of one run to the step", async () => {
    const step = 23_457;
    const one = prepareVm(await vm());
    expect(kvmArchVcpuRun(one.vcpu, step).kind).toBe("budget");
    let progress = 0;
    let cut = "";
    runVmThroughStep({ ...(await vm()), maxSteps: step }, { step, chunk: 1000, progress: () => progress++, onReach: (kvm) => (cut = fingerprintVm(kvm)) });
    expect(progress).toBe(Math.ceil(step / 1000));
    expect(cut).toBe(fingerprintVm(one.kvm));
  });

  it("a step the run ends before is not reached: the run's own end is returned", async () => {
    let called = false;
    const r = runVmThroughStep(await vm(), { step: 4_999_999, onReach: () => (called = true) });
    expect(r.reached).toBe(false);
    expect(called).toBe(false);
    expect(r.outcome.kind).toBe("system-off");
    expect(r.steps).toBeLessThan(4_999_999);
  });

  it("a step past the budget ends the run at the budget, unreached", async () => {
    const r = runVmThroughStep({ ...(await vm()), maxSteps: 1000 }, { step: 1001, onReach: () => expect.unreachable() });
    expect(r.reached).toBe(false);
    expect(r.outcome.kind).toBe("budget");
    expect(r.steps).toBe(1000);
  });

  it("step 0 stops before the first instruction", async () => {
    let seen = -1;
    const r = runVmThroughStep(await vm(), { step: 0, onReach: (kvm) => (seen = kvm.steps) });
    expect(seen).toBe(0);
    expect(r.reached).toBe(true);
    expect(r.outcome.kind).toBe("system-off");
  });
});

describe("runFingerprint", () => {
  it("leaves out the console's sink and the watching monitors, not the run's state", async () => {
    const a = prepareVm(await vm());
    const watcher: VmMonitor = { afterExit: () => undefined };
    const base = await vm();
    const b = prepareVm({ ...base, onConsole: () => undefined, monitors: (kvm) => [...(base.monitors?.(kvm) ?? []), watcher] });
    for (const p of [a, b]) kvmArchVcpuRun(p.vcpu, 5000);
    expect(fingerprintVm(b.kvm)).not.toBe(fingerprintVm(a.kvm));
    expect(runFingerprint(b.kvm, new Set([watcher]))).toBe(runFingerprint(a.kvm));
    // Only for the fingerprint: the sink and the watcher are back.
    expect(b.kvm.onConsole).not.toBeNull();
    expect(b.kvm.monitors).toContain(watcher);
    kvmArchVcpuRun(a.vcpu, 1);
    expect(runFingerprint(a.kvm)).not.toBe(runFingerprint(b.kvm, new Set([watcher])));
  });
});
