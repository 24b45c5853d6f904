// `nvlab run --snapshot-at STEP --save FILE` and `nvlab run --restore FILE`: a run stopped at an
// instruction count to write a snapshot file (snapshot_file.ts), and a run rebuilt from one: the
// same images (checked by SHA-256) and options, replayed to the step, its state checked against
// the file's fingerprint, then run on to the end with the console and trace from that step on.

import { readFile } from "node:fs/promises";
import { isAbsolute } from "node:path";
import { AsmError, InputFileError } from "../asm/errors.ts";
import { ImageFileError } from "../asm/image.ts";
import { defaultEngine, type Engine } from "../emulator/engine.ts";
import type { VmMonitor } from "../hypervisor/monitor.ts";
import type { Kvm } from "../hypervisor/vm.ts";
import { runVm, type RunVmOptions, type RunVmResult } from "../lab/run.ts";
import { judgeScenario, prepareParsedScenario, runScenario, type ScenarioOverrides, type ScenarioResult } from "../lab/scenario/run.ts";
import { parseScenario } from "../lab/scenario/schema.ts";
import { runFingerprint, runVmThroughStep, type SteppedRunResult, type StepStop } from "../lab/snapshot/run_to_step.ts";
import { UsageError } from "./errors.ts";
import { type RunCommandOptions, runCommandVm } from "./run.ts";
import { outcomeText } from "./scenario.ts";
import { nvlabVersion, readRunFile, sha256, SNAPSHOT_FORMAT, SNAPSHOT_VERSION, type SnapshotDoc, type SnapshotRun, writeSnapshotFile } from "./snapshot_file.ts";
import type { RestorePlan, SavePlan, SnapshotPlan } from "./snapshot_plan.ts";
import { checkHash, checkImages, imageHashes, imagesRunSpec, tuningOverrides, tuningSpec } from "./snapshot_recipe.ts";

/**
 * A run's result, the step it was restored at (null: it ran from the start), and the console
 * output printed as it ran (a restore's from its step on).
 */
export type PlannedRunResult = RunVmResult & { restoredAt: number | null; liveConsole: string };

/** What a restore printed: the console after the snapshot's. */
function planned<T extends { console: string }>(r: T, plan: SnapshotPlan | null): T & { restoredAt: number | null; liveConsole: string } {
  const restored = plan?.kind === "restore" ? plan.doc : null;
  return { ...r, restoredAt: restored?.step ?? null, liveConsole: restored ? r.console.slice(restored.console.length) : r.console };
}

/** Monitors the command line attaches only to watch (trace recorders): not part of the run's state. */
function watched(monitors: ((kvm: Kvm) => VmMonitor[]) | undefined): { monitors: (kvm: Kvm) => VmMonitor[]; set: Set<VmMonitor> } {
  const set = new Set<VmMonitor>();
  return {
    set,
    monitors: (kvm) => {
      const ms = monitors?.(kvm) ?? [];
      for (const m of ms) set.add(m);
      return ms;
    },
  };
}

/** Building the VM of a restore: an image that cannot be loaded any more is the file's problem. */
async function loadingImages<T>(plan: RestorePlan, build: () => Promise<T>): Promise<T> {
  try {
    return await build();
  } catch (e) {
    const prefix = `snapshot ${plan.file}`;
    if (e instanceof InputFileError) {
      const hint = isAbsolute(e.file) ? "" : " (its paths are relative to the directory it was taken in)";
      throw new UsageError(`${prefix}: cannot load an image it was taken with: ${e.message}${hint}`);
    }
    if (e instanceof AsmError) throw new UsageError(`${prefix}: an image it was taken with no longer assembles:\n${e.format()}`);
    if (e instanceof ImageFileError) throw new UsageError(`${prefix}: an image it was taken with no longer loads: ${e.message}`);
    throw e;
  }
}

/** The version note of a refused replay: another nvlab may well run differently. */
function versionNote(doc: SnapshotDoc): string {
  const mine = nvlabVersion();
  return doc.nvlab === mine
    ? "the images and options are the same, so this nvlab runs them differently from the one that took it"
    : `it was taken by nvlab ${doc.nvlab}, this is nvlab ${mine}`;
}

/** Progress of a long replay on stderr: a line kept up to date on a terminal, one every 10 s otherwise. */
function replayProgress(file: string, step: number): { progress: (kvm: Kvm) => void; end: () => void } {
  const tty = process.stderr.isTTY === true;
  // Wall-clock time only paces these lines; the run never sees it.
  const t0 = Date.now();
  let last = t0;
  let shown = false;
  return {
    progress: (kvm) => {
      const now = Date.now();
      if (now - t0 < 1000 || now - last < (tty ? 200 : 10_000)) return;
      last = now;
      shown = true;
      const line = `replaying ${file}: step ${kvm.steps} of ${step} (${Math.floor((100 * kvm.steps) / step)}%)`;
      process.stderr.write(tty ? `\r\x1b[K${line}` : `${line}\n`);
    },
    end: () => {
      if (tty && shown) process.stderr.write("\r\x1b[K");
    },
  };
}

/**
 * The stop of a run that writes a snapshot: the file holds `run` (the options), the images' hashes,
 * and the state's fingerprint and console at the step.
 */
function saveStop(plan: SavePlan, run: SnapshotRun, vm: RunVmOptions, watchers: ReadonlySet<VmMonitor>): StepStop {
  const images = imageHashes(vm);
  return {
    step: plan.step,
    onReach: (kvm) => {
      const open = kvm.vcpus[0]?.cpu.options.semihosting?.openFiles ?? 0;
      if (open > 0) {
        throw new UsageError(`--snapshot-at ${plan.step}: the guest has ${open} host file(s) open through semihosting there, which a replay cannot prove the same; take the snapshot where none is open`);
      }
      writeSnapshotFile(plan.file, {
        format: SNAPSHOT_FORMAT,
        version: SNAPSHOT_VERSION,
        nvlab: nvlabVersion(),
        run,
        images,
        step: kvm.steps,
        fingerprint: runFingerprint(kvm, watchers),
        console: kvm.console,
      });
      process.stderr.write(`nvlab: saved ${plan.file} at step ${kvm.steps}\n`);
    },
  };
}

/**
 * The stop of a restore: the state at the step must be the file's; then the console and the trace
 * (held back while replaying) go on from there.
 */
function restoreStop(plan: RestorePlan, watchers: ReadonlySet<VmMonitor>, live: (kvm: Kvm) => void): StepStop & { end: () => void } {
  const doc = plan.doc;
  const p = replayProgress(plan.file, doc.step);
  return {
    step: doc.step,
    progress: p.progress,
    end: p.end,
    onReach: (kvm) => {
      p.end();
      const now = runFingerprint(kvm, watchers);
      if (now !== doc.fingerprint) {
        throw new UsageError(`snapshot ${plan.file}: the state at step ${doc.step} differs from the snapshot's (fingerprint ${now}, the snapshot's ${doc.fingerprint}): ${versionNote(doc)}`);
      }
      live(kvm);
      process.stderr.write(`nvlab: restored ${plan.file} at step ${doc.step}\n`);
    },
  };
}

/**
 * Run `vm` as the plan says. `record`: the run as the file records it; `budget`: where the step
 * budget comes from, for the message when STEP is past it.
 */
function runPlanned(vm: RunVmOptions, plan: SnapshotPlan, record: () => SnapshotRun, watchers: ReadonlySet<VmMonitor>, budget: string): PlannedRunResult {
  if (plan.kind === "save") {
    const max = vm.maxSteps;
    if (max !== undefined && plan.step > max) throw new UsageError(`--snapshot-at ${plan.step}: past the run's step budget of ${max} instructions (${budget})`);
    const r = runVmThroughStep(vm, saveStop(plan, record(), vm, watchers));
    if (!r.reached && !(r.outcome.kind === "guest-error" && r.outcome.stage === "load")) {
      throw new UsageError(`--snapshot-at ${plan.step}: the run ended before that step: ${outcomeText(r.outcome, r.steps)}; nothing saved`);
    }
    return planned(r, plan);
  }
  // Held back until the step: the console and trace up to it are the ones the snapshot was taken after.
  const sink = vm.onConsole;
  const onEvent = vm.onEvent;
  let live = false;
  const replay: RunVmOptions = { ...vm, onConsole: undefined, onEvent: onEvent === undefined ? undefined : (l) => live && onEvent(l) };
  const stop = restoreStop(plan, watchers, (kvm) => {
    live = true;
    kvm.onConsole = sink ?? null;
  });
  let r: SteppedRunResult;
  try {
    r = runVmThroughStep(replay, stop);
  } finally {
    stop.end();
  }
  if (!r.reached) {
    throw new UsageError(
      `snapshot ${plan.file}: the replay ended before the snapshot's step ${plan.doc.step}: ${outcomeText(r.outcome, r.steps)}; ${versionNote(plan.doc)}`,
    );
  }
  return planned(r, plan);
}

/** The engine a run will use, named: the file must not leave it to the environment of the replay. */
function pinnedEngine(given: Engine | undefined): Engine {
  return given ?? defaultEngine();
}

/**
 * `nvlab run --l1 …` with a snapshot plan (null: a plain run). `stdin` is the --semihosting-stdin
 * path, which the file records beside the input's hash.
 */
export async function runCommandPlanned(o: RunCommandOptions, plan: SnapshotPlan | null, stdin?: string): Promise<PlannedRunResult> {
  if (plan === null) return planned(runVm(await runCommandVm(o)), null);
  const w = watched(o.monitors);
  const pinned = { ...o, engine: pinnedEngine(o.engine), monitors: w.monitors };
  const vm = plan.kind === "restore" ? await loadingImages(plan, () => runCommandVm(pinned)) : await runCommandVm(pinned);
  if (plan.kind === "restore") checkImages(plan, vm);
  return runPlanned(vm, plan, () => imagesRunSpec(pinned, stdin), w.set, "--max-steps");
}

/** The scenario's bytes; a restore's must be the ones the snapshot was taken with. */
async function scenarioBytes(file: string, plan: SnapshotPlan): Promise<Uint8Array> {
  if (plan.kind === "save") {
    try {
      return new Uint8Array(await readFile(file));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (typeof code === "string") throw new InputFileError(file, code);
      throw e;
    }
  }
  const bytes = readRunFile(file, plan.file, "the scenario it runs");
  if (plan.doc.run.kind === "scenario") checkHash(plan.file, file, plan.doc.run.scenario.sha256, sha256(bytes), "changed");
  return bytes;
}

/** `nvlab run SCENARIO.yaml` with a snapshot plan (null: a plain scenario run), judged as runScenario judges it. */
export async function runScenarioPlanned(
  file: string,
  overrides: ScenarioOverrides,
  plan: SnapshotPlan | null,
): Promise<ScenarioResult & { restoredAt: number | null; liveConsole: string }> {
  if (plan === null) return planned(await runScenario(file, overrides), null);
  const bytes = await scenarioBytes(file, plan);
  const s = parseScenario(new TextDecoder().decode(bytes), file);
  const w = watched(overrides.monitors);
  const recorded = plan.kind === "restore" && plan.doc.run.kind === "scenario" ? plan.doc.run.overrides : null;
  const base: ScenarioOverrides = recorded ? { ...tuningOverrides(recorded), onConsole: overrides.onConsole, onEvent: overrides.onEvent } : overrides;
  const pinned = { ...base, engine: pinnedEngine(base.engine ?? s.vm?.engine), monitors: w.monitors };
  const p = plan.kind === "restore" ? await loadingImages(plan, () => prepareParsedScenario(s, file, pinned)) : await prepareParsedScenario(s, file, pinned);
  if (plan.kind === "restore") checkImages(plan, p.vm);
  const record = (): SnapshotRun => ({ kind: "scenario", scenario: { file, sha256: sha256(bytes) }, overrides: tuningSpec(pinned) });
  const r = runPlanned(p.vm, plan, record, w.set, "the scenario's maxSteps");
  return planned(judgeScenario(p, r), plan);
}
