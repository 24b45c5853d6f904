// One run of a campaign, end to end: the case derived from (seed, index), its reference run, the
// run under chaos with the checker on, and for a failure the replay of its injections as a timeline,
// the shrinking and the two scenario files (shrunk and whole).

import { dirname, join } from "node:path";
import { SCENARIO_MAX_STEPS } from "../scenario/run.ts";
import { type CaseChoices, type FuzzCase, fuzzCase, type FuzzVm } from "./case.ts";
import { type Execution, executeScenario } from "./execute.ts";
import { exactConsoleRegex, type FuzzExpect, scenarioText } from "./scenario_text.ts";
import { shrinkTimeline, type Timeline } from "./shrink.ts";
import { endText, type FuzzFailure, judge } from "./verdict.ts";

/** Default bound on the runs shrinking one failure may make. */
export const DEFAULT_SHRINK_RUNS = 150;

export interface RunCaseOptions extends CaseChoices {
  seed: number;
  /** The folder the scenario files go to (absolute): image paths in them are relative to it. */
  outDir: string;
  shrinkRuns?: number;
}

/** A failure, shrunk, with its two scenario files' names and texts. */
export interface FoundFailure extends FuzzFailure {
  /** Injections the chaos run made, and the timeline entries left after shrinking. */
  injections: number;
  entries: number;
  shrinkRuns: number;
  /** Whether the whole timeline replayed the failure (else the whole file keeps the chaos schedule). */
  replayed: boolean;
  /** Whether the shrunk file fails the same way (checked by running it as written). */
  shrunkReproduces: boolean;
  /**
   * Whether the shrunk timeline also fails the same way under `full`: then the defect is not the
   * strategy's (the injections reach a flaw of L0 or of the guests that every strategy shares).
   */
  alsoUnderFull: boolean;
  files: { shrunk: { name: string; text: string }; whole: { name: string; text: string } };
  /**
   * Set when the reference run itself failed (no strategy under test, no injection): the finding is
   * the reference's, and every run sharing its guests and VM has it; the key says which.
   */
  reference?: string;
}

export interface CaseResult {
  index: number;
  guests: string;
  strategy: FuzzVm["unmap"];
  vm: FuzzVm;
  chaos: { seed: number; rate: number };
  /** Chaos injections the run made. */
  injections: number;
  /** How the run ended. */
  end: string;
  failure: FoundFailure | null;
  ms: number;
}

/** The budget of a fuzz run: the reference's steps, doubled, plus slack for retried instructions. */
function budget(reference: Execution): number {
  return Math.min(SCENARIO_MAX_STEPS, 2 * reference.steps + 100_000);
}

const references = new Map<string, Promise<Execution>>();

/** The case's VM without the strategy's options: what the reference run shares with it. */
function referenceVm(vm: FuzzVm): FuzzVm {
  const { unmap: _u, directMap: _d, revmapTlbi: _r, ...rest } = vm;
  return { ...rest, unmap: "full" };
}

/** What identifies a reference run: the guests (their files, not only their name) and the VM. */
function referenceKey(guests: FuzzCase["guests"], vm: FuzzVm): string {
  return JSON.stringify([guests, vm], (_k, v) => (typeof v === "bigint" ? `0x${v.toString(16)}` : v));
}

/** The reference run of a case's guests and VM (under `full`, no injection), once per process. */
function referenceRun(c: FuzzCase, dir: string): Promise<Execution> {
  const vm = referenceVm(c.vm);
  const key = referenceKey(c.guests, vm);
  let r = references.get(key);
  if (!r) {
    const text = scenarioText({
      name: "reference", description: "", header: [], fuzzCase: { ...c, vm }, dir, maxSteps: SCENARIO_MAX_STEPS, timeline: [], expect: {},
    });
    references.set(key, (r = executeScenario(text, join(dir, "reference.yaml"))));
  }
  return r;
}

/** File names of run `index` of campaign `seed`. */
export function caseFileName(seed: number, index: number): string {
  return `fuzz-s${seed}-r${index}`;
}

function expectOf(f: FuzzFailure, run: Execution): FuzzExpect {
  if (f.kind === "invariant") return { invariants: f.invariant! };
  if (f.kind === "exit" || f.kind === "console") {
    return { ...(run.outcome.kind === "system-off" ? { exitCode: run.outcome.code } : {}), console: exactConsoleRegex(run.console) };
  }
  return {};
}

/** Run `index` of the campaign. */
export async function runCase(index: number, o: RunCaseOptions): Promise<CaseResult> {
  const t0 = Date.now();
  const c = fuzzCase(o.seed, index, o);
  const reference = await referenceRun(c, o.outDir);
  const base = caseFileName(o.seed, index);
  const refFailure = judgeReference(reference);
  if (refFailure) {
    return {
      index, guests: c.guests.name, strategy: c.vm.unmap, vm: c.vm, chaos: c.chaos, injections: 0, end: `reference ${endText(reference.outcome)}`,
      failure: referenceFailure(refFailure, c, o, base), ms: Date.now() - t0,
    };
  }
  const maxSteps = budget(reference);
  const file = (suffix: string) => join(o.outDir, `${base}${suffix}.yaml`);
  const text = (timeline: Timeline | undefined, expect: FuzzExpect, header: string[], description: string) =>
    scenarioText({
      name: base, description, header, fuzzCase: c, dir: o.outDir, maxSteps, expect,
      ...(timeline === undefined ? { chaos: c.chaos } : { timeline }),
    });
  const run = await executeScenario(text(undefined, {}, [], ""), file(".chaos"));
  const result: CaseResult = {
    index, guests: c.guests.name, strategy: c.vm.unmap, vm: c.vm, chaos: c.chaos, injections: run.chaosLog.length, end: endText(run.outcome), failure: null, ms: 0,
  };
  const failure = judge(run, reference);
  if (failure) result.failure = await shrinkFailure(failure, run, reference, o, { c, base, file, text });
  result.ms = Date.now() - t0;
  return result;
}

/** The reference's own failure (the checker stopped it, or L0 failed): a finding without any injection. */
function judgeReference(reference: Execution): FuzzFailure | null {
  const o = reference.outcome;
  if (o.kind !== "monitor-stop" && o.kind !== "host-error" && o.kind !== "internal-error") return null;
  const f = judge(reference, reference);
  return f && { ...f, signature: `reference: ${f.signature}` };
}

function referenceFailure(f: FuzzFailure, c: FuzzCase, o: RunCaseOptions, base: string): FoundFailure {
  const vm = referenceVm(c.vm);
  const header = [
    `Found by nvlab fuzz: campaign seed ${o.seed}, run ${c.index}: guests ${c.guests.name}.`,
    `The reference run (the same guests and VM under unmap full, no injection) fails by itself: ${f.summary}`,
    "Every run with these guests and this VM has it, whatever the strategy and the chaos schedule, so no run of them could be judged.",
    f.kind === "invariant" ? "`nvlab run` on this file exits 0 while the defect is there, 2 once it is fixed." : "`nvlab run` on this file ends with a host error (exit status 70).",
  ];
  const text = scenarioText({
    name: base, description: f.signature, header, fuzzCase: { ...c, vm }, dir: o.outDir, maxSteps: SCENARIO_MAX_STEPS, timeline: [],
    expect: f.kind === "invariant" ? { invariants: f.invariant! } : {},
  });
  const file = { name: `${base}.yaml`, text };
  return {
    ...f, injections: 0, entries: 0, shrinkRuns: 0, replayed: true, shrunkReproduces: true, alsoUnderFull: true, files: { shrunk: file, whole: file },
    reference: referenceKey(c.guests, vm),
  };
}

interface CaseFiles {
  c: FuzzCase;
  base: string;
  file: (suffix: string) => string;
  text: (timeline: Timeline | undefined, expect: FuzzExpect, header: string[], description: string) => string;
}

/** Whether `timeline` fails the same way with the case's VM under `full` (no strategy options). */
async function failsUnderFull(timeline: Timeline, failure: FuzzFailure, reference: Execution, f: CaseFiles): Promise<boolean> {
  const c = { ...f.c, vm: referenceVm(f.c.vm) };
  const text = scenarioText({ name: f.base, description: "", header: [], fuzzCase: c, dir: dirname(f.file("")), maxSteps: budget(reference), timeline, expect: {} });
  return judge(await executeScenario(text, f.file("")), reference)?.signature === failure.signature;
}

async function shrinkFailure(failure: FuzzFailure, run: Execution, reference: Execution, o: RunCaseOptions, f: CaseFiles): Promise<FoundFailure> {
  const sameFailure = async (t: Timeline): Promise<boolean> => {
    const r = await executeScenario(f.text(t, {}, [], ""), f.file(""));
    return judge(r, reference)?.signature === failure.signature;
  };
  const whole = run.chaosLog;
  const replayed = await sameFailure(whole);
  const shrunk = replayed ? await shrinkTimeline(whole, sameFailure, o.shrinkRuns ?? DEFAULT_SHRINK_RUNS) : { timeline: whole, runs: 0, exhausted: false };
  const expect = expectOf(failure, run);
  const c = f.c;
  const origin = [
    `Found by nvlab fuzz: campaign seed ${o.seed}, run ${c.index}: guests ${c.guests.name}, strategy ${c.vm.unmap}.`,
    `The run injected ${whole.length} chaos actions (chaos seed ${c.chaos.seed}, rate ${c.chaos.rate}) with the checker on.`,
    `Found: ${failure.summary}`,
    `Reference (the same guests and VM under unmap full, no injection): ${endText(reference.outcome)}.`,
  ];
  const replayNote = failure.kind === "host-error" || failure.kind === "internal-error"
    ? "`nvlab run` on this file ends with a host error (exit status 70) while the defect is there."
    : "`nvlab run` on this file exits 0 while the defect is there (its expectations state the failure), 2 once it is fixed.";
  if (!replayed) {
    // Not shrinkable: both files keep the chaos schedule, which is the run itself.
    const text = f.text(undefined, expect, [...origin, "Its injections did not replay the failure as a timeline: this file keeps the chaos schedule.", replayNote], `${failure.signature} (chaos schedule)`);
    return {
      ...failure, injections: whole.length, entries: whole.length, shrinkRuns: 0, replayed, shrunkReproduces: true, alsoUnderFull: false,
      files: { shrunk: { name: `${f.base}.yaml`, text }, whole: { name: `${f.base}.full.yaml`, text } },
    };
  }
  // The shrunk run's own exit and console (a divergence expects them exactly).
  let shrunkRun = run;
  if (shrunk.timeline !== whole) shrunkRun = await executeScenario(f.text(shrunk.timeline, {}, [], ""), f.file(""));
  const shrunkFailure = judge(shrunkRun, reference);
  const alsoUnderFull = c.vm.unmap === "full" || (await failsUnderFull(shrunk.timeline, failure, reference, f));
  const shrunkText = f.text(
    shrunk.timeline,
    expectOf(shrunkFailure ?? failure, shrunkRun),
    [
      ...origin,
      `Shrunk to ${shrunk.timeline.length} timeline entr${shrunk.timeline.length === 1 ? "y" : "ies"} in ${shrunk.runs} runs${shrunk.exhausted ? " (the shrink budget ran out)" : ""}; the whole timeline is in ${f.base}.full.yaml.`,
      ...(alsoUnderFull && c.vm.unmap !== "full" ? [`It fails the same way under unmap full: the defect is not ${c.vm.unmap}'s (every strategy shares it).`] : []),
      replayNote,
    ],
    failure.summary.slice(0, 200),
  );
  const wholeText = f.text(whole, expect, [...origin, `Every injection of the run, replayed as a timeline; ${f.base}.yaml is the shrunk form.`, replayNote], `${failure.signature} (whole timeline)`);
  return {
    ...failure,
    injections: whole.length,
    entries: shrunk.timeline.length,
    shrinkRuns: shrunk.runs,
    replayed,
    shrunkReproduces: shrunkFailure?.signature === failure.signature,
    alsoUnderFull,
    files: { shrunk: { name: `${f.base}.yaml`, text: shrunkText }, whole: { name: `${f.base}.full.yaml`, text: wholeText } },
  };
}
