// Scenarios: scripted fault-injection runs (`nvlab run SCENARIO.yaml`). A scenario names the
// guests, the VM configuration, a timeline of injections (unmap a canonical range, fail revmap
// stores, recycle a shadow MMU, TLBI on L1's behalf) and what must hold at the end. The invariant
// checker is always attached, so a scenario can expect the invariants to hold or a named one to
// be violated. The format is described in scenarios/README.md; the schema is schema.ts.

import { workingDirectory } from "../../asm/host_files.ts";
import { dirname, resolve } from "../../asm/source_path.ts";
import { type ImageFormat, loadImageFile } from "../image_file.ts";
import type { Image } from "../../asm/image.ts";
import type { Engine } from "../../emulator/engine.ts";
import { hex } from "../../emulator/types.ts";
import type { CoalesceOrder } from "../../hypervisor/coalesce.ts";
import type { MetricsSnapshot } from "../../hypervisor/metrics.ts";
import type { VmMonitor } from "../../hypervisor/monitor.ts";
import { DEFAULT_SCHEDULE, type ScheduleConfig } from "../../hypervisor/scheduler.ts";
import type { RevmapTlbi } from "../../hypervisor/unmap/strategy.ts";
import { DEFAULT_VM_CONFIG, L1_DEFAULT_LOAD_IPA, type Kvm, type VmConfig } from "../../hypervisor/vm.ts";
import { type ChaosReport, chaosMonitor, chaosOf } from "../chaos.ts";
import { runVm, type RunOutcome, type RunVmOptions, type RunVmResult } from "../run.ts";
import { checkExpectations, type ExpectationCheck, firingText } from "./expect.ts";
import { loadScenario, ScenarioError, type Scenario, type StrategyName } from "./schema.ts";
import { type EntryFirings, TimelineMonitor } from "./timeline.ts";

/** Step budget of a scenario that gives no maxSteps. */
export const SCENARIO_MAX_STEPS = 50_000_000;

export interface ScenarioOverrides {
  unmap?: StrategyName;
  directMap?: boolean;
  revmapTlbi?: RevmapTlbi;
  nestedMmus?: number;
  /** VmConfig.stage2UnmapSplit over the scenario's vm.stage2UnmapSplit (not KVM: the old split-and-keep unmap). */
  stage2UnmapSplit?: boolean;
  /** Coalescing order for the timeline's coalesce actions that do not name one. */
  coalesce?: CoalesceOrder;
  coalesceCost?: number;
  /** Scheduler and seed over the scenario's own vm.schedule / vm.seed. */
  schedule?: Partial<ScheduleConfig>;
  seed?: number;
  /** Chaos injection on top of the timeline. */
  chaos?: { seed: number; rate?: number };
  onConsole?: (byte: number) => void;
  onEvent?: (line: string) => void;
  /** More monitors for the run (a trace recorder), attached after the timeline and chaos. */
  monitors?: (kvm: Kvm) => VmMonitor[];
  /** The engine over the scenario's vm.engine (default: NVLAB_ENGINE, else the translator). */
  engine?: Engine;
}

export interface ScenarioResult {
  ok: boolean;
  name: string;
  file: string;
  description: string;
  strategy: StrategyName;
  directMap: boolean;
  /** The revmapTlbi option when the run set it (otherwise the default its directMap implies). */
  revmapTlbi: RevmapTlbi | null;
  nestedMmus: number;
  checks: ExpectationCheck[];
  /** The failed checks, one line each. */
  failures: string[];
  outcome: RunOutcome;
  console: string;
  metrics: MetricsSnapshot;
  steps: number;
  /** Timeline injections done, in order: "step N: what". */
  injections: string[];
  /** How often each timeline entry fired, against its `repeat.times` (1 without repeat). */
  timeline: EntryFirings[];
  /**
   * What the run did not do that the file asked for, without failing it: timeline entries that
   * never fired (a trigger never reached is most often a mistake in the file), or fired fewer
   * times than their repeat asks. `expect.timeline` turns these into expectations.
   */
  warnings: string[];
  /** With --chaos: what chaos injected, and how many of its unmaps hit a live shadow mapping. */
  chaos?: ChaosReport;
  /** The engine the vCPUs ran on. */
  engine: Engine;
}

/** Memslots split L1's RAM into equal parts of whole 2M regions (set_memory_region.ts); say so before L0 refuses. */
function checkRamSlots(file: string, memory: bigint, slots: number): void {
  if (slots === 1) return;
  const n = BigInt(slots);
  if (memory % n === 0n && (memory / n) % (2n << 20n) === 0n) return;
  throw new ScenarioError(file, [`${file}: vm.ramSlots: ${slots} memslots cannot split ${hex(memory)} of RAM into equal parts of whole 2M regions`]);
}

/** Image paths are relative to the scenario file's directory (made absolute where the host has a working directory). */
function imagePath(scenarioFile: string, file: string): string {
  return resolve(workingDirectory(), dirname(scenarioFile), file);
}

/** A scenario loaded and assembled, ready to run (by runVm, or in the debugger). */
export interface PreparedScenario {
  file: string;
  scenario: Scenario;
  /** Images, configuration, budget and monitors (timeline, chaos, the overrides' own). */
  vm: RunVmOptions;
  /** The timeline monitor, once the VM exists. */
  timeline(): TimelineMonitor | null;
}

/** Load a scenario and assemble its images: everything up to running it. */
export async function prepareScenario(file: string, overrides: ScenarioOverrides = {}): Promise<PreparedScenario> {
  return prepareParsedScenario(await loadScenario(file), file, overrides);
}

/**
 * Reads one image (a path, resolved) placed at `base`; with `ownAddresses` (an L1 given no ipa)
 * an ELF stays at its own physical addresses instead.
 */
export type ScenarioAssembler = (path: string, base: bigint, ownAddresses?: boolean, format?: ImageFormat, entered?: boolean) => Promise<Image>;

/**
 * A scenario already parsed (`file` names it and anchors its image paths), prepared as
 * prepareScenario does; `assemble` lets a caller that runs many scenarios over the same images
 * (the fuzzer's shrinking) assemble each once.
 */
export async function prepareParsedScenario(
  s: Scenario,
  file: string,
  overrides: ScenarioOverrides = {},
  assemble: ScenarioAssembler = (path, base, ownAddresses, format, entered) =>
    loadImageFile(path, { ...(ownAddresses ? {} : { at: base }), ...(format === undefined ? {} : { format }), defaultBase: base, ...(entered === undefined ? {} : { entered }) }),
): Promise<PreparedScenario> {
  const l1 = await assemble(imagePath(file, s.images.l1.file), s.images.l1.ipa ?? L1_DEFAULT_LOAD_IPA, s.images.l1.ipa === undefined, s.images.l1.format);
  const l1Ipa = s.images.l1.ipa ?? (l1.format === "elf" ? undefined : L1_DEFAULT_LOAD_IPA);
  const l2 = [];
  for (const spec of s.images.l2 ?? []) l2.push({ image: await assemble(imagePath(file, spec.file), spec.ipa, false, spec.format, false), ipa: spec.ipa });
  const vm = s.vm ?? {};
  const config: Partial<VmConfig> = {
    ...(vm.memory !== undefined ? { memory: vm.memory } : {}),
    ...(vm.vcpus !== undefined ? { vcpus: vm.vcpus } : {}),
    ...(vm.poolPages !== undefined ? { poolPages: vm.poolPages } : {}),
    ...(vm.blocks !== undefined ? { blocks: vm.blocks } : {}),
    ...(vm.ramSlots !== undefined ? { ramSlots: vm.ramSlots } : {}),
    ...(vm.nestedS2WpFlush !== undefined ? { nestedS2WpFlush: vm.nestedS2WpFlush } : {}),
    ...((overrides.stage2UnmapSplit ?? vm.stage2UnmapSplit) !== undefined ? { stage2UnmapSplit: overrides.stage2UnmapSplit ?? vm.stage2UnmapSplit } : {}),
    ...((overrides.seed ?? vm.seed) !== undefined ? { seed: overrides.seed ?? vm.seed } : {}),
    ...((overrides.engine ?? vm.engine) !== undefined ? { engine: overrides.engine ?? vm.engine } : {}),
    ...(vm.schedule !== undefined || overrides.schedule !== undefined ? { schedule: { ...DEFAULT_SCHEDULE, ...vm.schedule, ...overrides.schedule } } : {}),
    ...(vm.coalesce !== undefined || overrides.coalesce !== undefined || overrides.coalesceCost !== undefined
      ? {
          coalesce: {
            ...DEFAULT_VM_CONFIG.coalesce,
            ...vm.coalesce,
            ...(overrides.coalesce !== undefined ? { order: overrides.coalesce } : {}),
            ...(overrides.coalesceCost !== undefined ? { costPerPage: overrides.coalesceCost } : {}),
          },
        }
      : {}),
    unmap: overrides.unmap ?? vm.unmap ?? "full",
    directMap: overrides.directMap ?? vm.directMap ?? false,
    ...((overrides.revmapTlbi ?? vm.revmapTlbi) !== undefined ? { revmapTlbi: overrides.revmapTlbi ?? vm.revmapTlbi } : {}),
  };
  const nestedMmus = overrides.nestedMmus ?? vm.nestedMmus;
  if (nestedMmus !== undefined) {
    if (nestedMmus < (vm.vcpus ?? 1)) throw new ScenarioError(file, [`${file}: vm.nestedMmus: ${nestedMmus} is fewer than the ${vm.vcpus ?? 1} vCPUs`]);
    config.nestedMmus = nestedMmus;
  }
  checkRamSlots(file, vm.memory ?? DEFAULT_VM_CONFIG.memory, vm.ramSlots ?? 1);
  let timeline: TimelineMonitor | null = null;
  return {
    file,
    scenario: s,
    vm: {
      l1,
      l1Ipa,
      l2,
      config,
      maxSteps: s.maxSteps ?? SCENARIO_MAX_STEPS,
      check: true,
      onConsole: overrides.onConsole,
      onEvent: overrides.onEvent,
      monitors: (kvm) => {
        timeline = new TimelineMonitor(kvm, s.timeline ?? [], file);
        const ms: VmMonitor[] = [timeline];
        // --chaos on the command line replaces the scenario's own.
        const chaos = overrides.chaos ?? s.chaos;
        if (chaos) ms.push(chaosMonitor(kvm, chaos));
        if (overrides.monitors) ms.push(...overrides.monitors(kvm));
        return ms;
      },
    },
    timeline: () => timeline,
  };
}

/** Check a finished run of a prepared scenario against its expectations. */
export function judgeScenario(p: PreparedScenario, r: RunVmResult): ScenarioResult {
  const s = p.scenario;
  const firings = p.timeline()?.firings() ?? [];
  const checks = checkExpectations(s, r.outcome, r.console, r.metrics, firings);
  const failures = checks.filter((c) => !c.ok).map((c) => `${c.what}: expected ${c.expected}, got ${c.actual}`);
  if (r.outcome.kind === "guest-error" && r.outcome.stage === "load") failures.unshift(`images: ${r.outcome.message}`);
  return {
    ok: failures.length === 0,
    name: s.name,
    file: p.file,
    description: s.description ?? "",
    strategy: r.kvm.config.unmap,
    directMap: r.kvm.config.directMap,
    revmapTlbi: r.kvm.config.revmapTlbi ?? null,
    nestedMmus: r.kvm.nestedMmus.length,
    checks,
    failures,
    outcome: r.outcome,
    console: r.console,
    metrics: r.metrics,
    steps: r.steps,
    injections: p.timeline()?.injections ?? [],
    timeline: firings,
    warnings: timelineWarnings(firings, r),
    ...chaosField(r.kvm),
    engine: r.kvm.vcpus[0]!.cpu.engine,
  };
}

/** A warning for each entry that fired less than asked, with where the run ended. */
function timelineWarnings(firings: readonly EntryFirings[], r: RunVmResult): string[] {
  const exits = Object.values(r.metrics.exits).reduce((a, b) => a + b, 0);
  const end = r.outcome.kind === "monitor-stop" ? `the run was stopped by ${r.outcome.verdict}` : "the run ended";
  return firings
    .filter((f) => f.fired < f.times)
    .map((f) =>
      f.fired === 0
        ? `${firingText(f)}: its trigger ${f.trigger} was not reached before ${end} (${r.steps} instructions, ${exits} exits)`
        : `${firingText(f)} (trigger ${f.trigger}) before ${end} (${r.steps} instructions, ${exits} exits)`,
    );
}

function chaosField(kvm: RunVmResult["kvm"]): { chaos?: ChaosReport } {
  const c = chaosOf(kvm);
  return c ? { chaos: c.report() } : {};
}

/** Load, run and judge a scenario. */
export async function runScenario(file: string, overrides: ScenarioOverrides = {}): Promise<ScenarioResult> {
  const p = await prepareScenario(file, overrides);
  return judgeScenario(p, runVm(p.vm));
}
