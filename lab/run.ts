// One complete run of a VM: build it, load L1 and the L2 images into L1's RAM, boot vCPU 0 at L1's
// entry in vEL2, and run to SYSTEM_OFF, the step budget, or a guest error. `nvlab run` calls this.

import type { Image } from "../asm/image.ts";
import { budgetReport, fillGuestReport, guestPc } from "../hypervisor/diagnose.ts";
import { GuestError, HostError, type GuestReport } from "../hypervisor/errors.ts";
import { formatEvent } from "../hypervisor/events.ts";
import type { MetricsSnapshot } from "../hypervisor/metrics.ts";
import type { VmMonitor } from "../hypervisor/monitor.ts";
import { kvmArchVcpuRun } from "../hypervisor/scheduler.ts";
import { kvmResetVcpu, type KvmVcpu, type VcpuRunResult } from "../hypervisor/vcpu.ts";
import { Kvm, loadGuestImage, type VmConfig } from "../hypervisor/vm.ts";
import { InvariantChecker } from "./check.ts";
import { Semihosting } from "../emulator/semihosting.ts";
import { kvmConsoleByte } from "../hypervisor/mmio.ts";
import { checkImageLayout } from "./image_layout.ts";

export const DEFAULT_MAX_STEPS = 100_000_000;

export interface RunVmOptions {
  l1: Image;
  /** Where L1's lowest section goes (default: the addresses it was assembled at). */
  l1Ipa?: bigint;
  l2?: { image: Image; ipa: bigint }[];
  config?: Partial<VmConfig>;
  maxSteps?: number;
  /** Each UART byte as L1 or L2 writes it. */
  onConsole?: (byte: number) => void;
  /** Each L0 event as one `--trace` line. */
  onEvent?: (line: string) => void;
  /** Attach the invariant checker (check.ts): it runs after every L0 action, before other monitors. */
  check?: boolean;
  /** Monitors to attach once the VM exists (scenario timeline, chaos, trace recorders). */
  monitors?: (kvm: Kvm) => VmMonitor[];
  /** Serve Arm semihosting at L1's and L2's EL1 (every vCPU shares one handle table). */
  semihosting?: { root: string | null; cmdline: string; input?: Uint8Array };
}

/**
 * HEAPINFO under `run` answers zeros, the specification's "unknown": the guest's heap lies in memory
 * its own hypervisor (L1) lays out, which L0 cannot know.
 */
const UNKNOWN_HEAP = { heapBase: 0n, heapLimit: 0n, stackBase: 0n, stackLimit: 0n };

/**
 * The CPU model serves the calls itself, at whichever EL1 runs (L1's or L2's), as QEMU's TCG does:
 * neither L0 nor L1 takes an exit for them. Output joins the UART's console.
 */
function attachSemihosting(kvm: Kvm, o: NonNullable<RunVmOptions["semihosting"]>): Semihosting {
  const host = new Semihosting({
    root: o.root,
    cmdline: o.cmdline,
    heap: UNKNOWN_HEAP,
    console: (b) => kvmConsoleByte(kvm, b),
    ...(o.input === undefined ? {} : { input: o.input }),
  });
  for (const v of kvm.vcpus) v.cpu.options.semihosting = host;
  return host;
}

export type RunOutcome =
  | { kind: "system-off"; code: number }
  /** `level` and `pc`: where the vCPU was when the budget ran out; `report` adds registers and events. */
  | { kind: "budget"; level: "L1" | "L2"; pc: bigint; report: GuestReport }
  /** `stage` "load": an image did not fit in L1's RAM, overlapped another or missed its L2 window; nothing ran. */
  | { kind: "guest-error"; report: GuestReport; message: string; stage: "load" | "run" }
  /** A monitor ended the run: an invariant violation, a failed scenario expectation. */
  | { kind: "monitor-stop"; verdict: string; message: string; details: Record<string, unknown>; report: GuestReport };

export interface RunVmResult {
  outcome: RunOutcome;
  console: string;
  metrics: MetricsSnapshot;
  steps: number;
  kvm: Kvm;
}

/** A VM built and loaded, vCPU 0 reset at L1's entry, ready to run (or the load error). */
export interface PreparedVm {
  kvm: Kvm;
  vcpu: KvmVcpu;
  /** An image that did not fit: nothing can run. */
  loadError: RunOutcome | null;
}

/** Build the VM of `opts`, attach its monitors, load the images and reset vCPU 0 (runVm's first half). */
export function prepareVm(opts: RunVmOptions): PreparedVm {
  const kvm = new Kvm(opts.config ?? {});
  kvm.onConsole = opts.onConsole ?? null;
  const onEvent = opts.onEvent;
  if (onEvent) kvm.events.subscribe((e) => onEvent(formatEvent(e)));
  const vcpu = kvm.vcpus[0]!;
  if (opts.check) kvm.monitors.push(new InvariantChecker(kvm));
  if (opts.monitors) kvm.monitors.push(...opts.monitors(kvm));
  if (opts.semihosting) attachSemihosting(kvm, opts.semihosting);
  let entry: bigint;
  try {
    checkImageLayout({ image: opts.l1, ipa: opts.l1Ipa ?? null }, opts.l2 ?? [], kvm.config.vcpus);
    entry = loadGuestImage(kvm, opts.l1, opts.l1Ipa);
    for (const l2 of opts.l2 ?? []) loadGuestImage(kvm, l2.image, l2.ipa);
  } catch (e) {
    if (!(e instanceof GuestError)) throw e;
    return { kvm, vcpu, loadError: { kind: "guest-error", report: e.report, message: e.message, stage: "load" } };
  }
  withHostReport(vcpu, () => kvmResetVcpu(vcpu, entry));
  return { kvm, vcpu, loadError: null };
}

/** Run `fn`; an L0 failure (out of pool pages, or a bug) still says where the guest was. */
export function withHostReport<T>(vcpu: KvmVcpu, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof HostError) {
      e.report = { reason: e.message };
      fillGuestReport(vcpu, e.report);
    }
    throw e;
  }
}

/** The outcome of a finished vCPU run, as `nvlab run` reports it. */
export function runOutcome(vcpu: KvmVcpu, r: VcpuRunResult): RunOutcome {
  if (r.kind === "monitor-stop") {
    return { kind: "monitor-stop", verdict: r.stop.verdict, message: r.stop.message, details: r.stop.details, report: r.report };
  }
  if (r.kind === "guest-error") return { kind: "guest-error", report: r.report, message: r.error.message, stage: "run" };
  if (r.kind === "budget") {
    const report = budgetReport(vcpu);
    return { kind: "budget", level: report.level!, pc: guestPc(vcpu).pc, report };
  }
  return r;
}

export function runVm(opts: RunVmOptions): RunVmResult {
  const { kvm, vcpu, loadError } = prepareVm(opts);
  const done = (outcome: RunOutcome): RunVmResult => ({
    outcome,
    console: kvm.console,
    metrics: kvm.metrics.snapshot(),
    steps: kvm.steps,
    kvm,
  });
  if (loadError) return done(loadError);
  try {
    const r = withHostReport(vcpu, () => kvmArchVcpuRun(vcpu, opts.maxSteps ?? DEFAULT_MAX_STEPS));
    return done(runOutcome(vcpu, r));
  } finally {
    vcpu.cpu.options.semihosting?.closeAll();
  }
}
