// Scenarios: scripted fault-injection runs (`nvlab run SCENARIO.yaml`). A scenario names the
// guests, the VM configuration, a timeline of injections (unmap a canonical range, fail revmap
// stores, recycle a shadow MMU, TLBI on L1's behalf) and what must hold at the end. The invariant
// checker is always attached, so a scenario can expect the invariants to hold or a named one to
// be violated. The format is described in scenarios/README.md; the schema is scenario_schema.ts.

import { dirname, resolve } from "node:path";
import { assembleFile } from "../asm/assembler.ts";
import { ChaosMonitor } from "../hypervisor/chaos.ts";
import { assertInvariants } from "../hypervisor/check.ts";
import { matchesFields } from "../hypervisor/event_fields.ts";
import type { KvmEvent } from "../hypervisor/events.ts";
import type { CoalesceOrder } from "../hypervisor/coalesce.ts";
import { HostError } from "../hypervisor/errors.ts";
import { coalesceCanonical, failRevmapStores, forceRecycle, splitCanonical, tlbiOnBehalfOfL1, unmapCanonical } from "../hypervisor/inject.ts";
import type { MetricsSnapshot } from "../hypervisor/metrics.ts";
import { MonitorStop, type VmMonitor } from "../hypervisor/monitor.ts";
import { runVm, type RunOutcome, type RunVmOptions, type RunVmResult } from "../hypervisor/run.ts";
import { DEFAULT_SCHEDULE, type ScheduleConfig } from "../hypervisor/scheduler.ts";
import type { KvmVcpu } from "../hypervisor/vcpu.ts";
import { DEFAULT_VM_CONFIG, L1_DEFAULT_LOAD_IPA, type Kvm, type VmConfig } from "../hypervisor/vm.ts";
import { hex } from "../emulator/types.ts";
import { loadScenario, ScenarioError, type Scenario, type StrategyName, type TimelineEntry } from "./scenario_schema.ts";

export { loadScenario, parseScenario, ScenarioError } from "./scenario_schema.ts";

/** Step budget of a scenario that gives no maxSteps. */
export const SCENARIO_MAX_STEPS = 50_000_000;

export interface ScenarioOverrides {
  unmap?: StrategyName;
  directMap?: boolean;
  nestedMmus?: number;
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
}

/** One expectation, checked. */
export interface ExpectationCheck {
  what: string;
  ok: boolean;
  expected: string;
  actual: string;
}

export interface ScenarioResult {
  ok: boolean;
  name: string;
  file: string;
  description: string;
  strategy: StrategyName;
  directMap: boolean;
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
}

// ------------------------------------------------------------------ timeline

/** Trigger state of one timeline entry. */
interface Armed {
  entry: TimelineEntry;
  index: number;
  /** Threshold of the next firing in the trigger's unit (steps, exits, shadow faults, matching events). */
  next: number;
  fired: number;
  times: number;
  /** Matching events so far (event triggers). */
  seen: number;
  /** Set by the event listener; the action waits for the end of the current L0 action. */
  due: boolean;
  match: RegExp | null;
}

/**
 * The scenario's timeline as a run monitor: step triggers pause the vCPU at that instruction count;
 * exit, shadow-fault and event triggers act after the exit that reached them (between L0 actions,
 * never inside one). Each action is followed by an invariant check when the checker is on.
 */
export class TimelineMonitor implements VmMonitor {
  private readonly armed: Armed[];
  private exits = 0;
  readonly injections: string[] = [];

  constructor(
    private readonly kvm: Kvm,
    timeline: readonly TimelineEntry[],
    file: string,
  ) {
    this.armed = timeline.map((entry, index) => ({
      entry,
      index,
      next: entry.at.step ?? entry.at.exits ?? entry.at.shadowFaults ?? entry.at.event?.nth ?? 1,
      fired: 0,
      times: entry.repeat?.times ?? 1,
      seen: 0,
      due: false,
      match: entry.at.event?.match === undefined ? null : new RegExp(entry.at.event.match, "m"),
    }));
    for (const a of this.armed) {
      const mmu = a.entry.do.recycle?.mmu;
      if (typeof mmu === "number" && mmu >= kvm.nestedMmus.length) {
        throw new ScenarioError(file, [`${file}: timeline[${a.index}].do.recycle.mmu: no shadow MMU ${mmu} (the VM has ${kvm.nestedMmus.length})`]);
      }
    }
    if (this.armed.some((a) => a.entry.at.event)) {
      kvm.events.subscribe((e) => this.onEvent(e));
    }
  }

  private live(a: Armed): boolean {
    return a.fired < a.times;
  }

  private onEvent(e: KvmEvent): void {
    for (const a of this.armed) {
      const t = a.entry.at.event;
      if (!t || !this.live(a) || e.kind !== t.kind) continue;
      if (t.fields && !matchesFields(e.data, t.fields)) continue;
      if (a.match && !a.match.test(e.detail)) continue;
      a.seen++;
      if (a.seen >= a.next) a.due = true;
    }
  }

  nextPause(): number {
    let p = Infinity;
    for (const a of this.armed) if (a.entry.at.step !== undefined && this.live(a)) p = Math.min(p, a.next);
    return p;
  }

  onPause(vcpu: KvmVcpu): void {
    // Steps count the instructions of every vCPU (the run loop pauses on that count).
    const steps = this.kvm.steps;
    for (const a of this.armed) {
      while (a.entry.at.step !== undefined && this.live(a) && a.next <= steps) this.fire(a, vcpu);
    }
  }

  afterExit(vcpu: KvmVcpu): void {
    this.exits++;
    for (const a of this.armed) {
      if (!this.live(a)) continue;
      const at = a.entry.at;
      let reached = false;
      if (at.exits !== undefined) reached = this.exits >= a.next;
      else if (at.shadowFaults !== undefined) reached = this.kvm.metrics.shadowFaults >= a.next;
      else if (at.event !== undefined) reached = a.due;
      if (reached) this.fire(a, vcpu);
    }
  }

  private fire(a: Armed, vcpu: KvmVcpu): void {
    a.fired++;
    a.due = false;
    const every = a.entry.repeat?.every ?? 1;
    if (a.entry.at.event !== undefined) {
      a.next += every;
      if (a.seen >= a.next) a.due = true;
    } else a.next += every;
    this.injections.push(`step ${this.kvm.steps}: timeline[${a.index}] ${this.act(a.entry.do, vcpu)}`);
    if (this.kvm.config.check) assertInvariants(this.kvm);
  }

  private act(d: TimelineEntry["do"], vcpu: KvmVcpu): string {
    const kvm = this.kvm;
    if (d.unmapCanonical) {
      const size = d.unmapCanonical.size ?? 0x1000n;
      unmapCanonical(kvm, d.unmapCanonical.ipa, size, "scenario");
      return `unmapCanonical ${hex(d.unmapCanonical.ipa)}+${hex(size)}`;
    }
    if (d.failRevmapStores !== undefined) {
      failRevmapStores(kvm, d.failRevmapStores, "scenario");
      return `failRevmapStores ${d.failRevmapStores}`;
    }
    if (d.recycle) {
      const mmu = forceRecycle(kvm, d.recycle.mmu, "scenario");
      return `recycle ${d.recycle.mmu === "any-valid" ? "any-valid" : `mmu${d.recycle.mmu}`}: ${mmu ? `mmu${mmu.index}${mmu.pendingUnmap ? " (pending unmap)" : ""}` : "nothing valid"}`;
    }
    if (d.split) {
      hostStep(() => splitCanonical(kvm, d.split!.ipa, "scenario"));
      return `split ${hex(d.split.ipa)}`;
    }
    if (d.coalesce) {
      const c = d.coalesce;
      const opts = { ...(c.order !== undefined ? { order: c.order } : {}), ...(c.costPerPage !== undefined ? { costPerPage: c.costPerPage } : {}) };
      const op = hostStep(() => coalesceCanonical(kvm, c.ipa, opts, "scenario"));
      return `coalesce ${hex(c.ipa)} (${op.order}, ${op.pages} page mappings, ${op.totalTicks} ticks)`;
    }
    const t = d.tlbi!;
    tlbiOnBehalfOfL1(vcpu, t.op, t.operand ?? 0n, "scenario");
    return `tlbi ${t.op.toUpperCase()} ${hex(t.operand ?? 0n)}`;
  }
}

/** An injection L0 refuses (a region that cannot be split or coalesced) ends the run with why. */
function hostStep<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof HostError) throw new MonitorStop("scenario", `the timeline asked for what L0 cannot do: ${e.message}`);
    throw e;
  }
}

// ------------------------------------------------------------------ expectations

/** A metric's value, by name: counters, `exits.X`/`tlbi.X`, per-operation samples (arrays). */
function metricValue(m: MetricsSnapshot, name: string): number | number[] | undefined {
  const direct = m[name];
  if (typeof direct === "number" || Array.isArray(direct)) return direct;
  const dot = name.indexOf(".");
  if (dot > 0) {
    const g = m[name.slice(0, dot)];
    if (g !== undefined && typeof g === "object" && !Array.isArray(g)) return g[name.slice(dot + 1)] ?? 0;
  }
  return undefined;
}

const AGGREGATES: Record<string, (xs: number[]) => number> = {
  max: (xs) => (xs.length ? Math.max(...xs) : 0),
  min: (xs) => (xs.length ? Math.min(...xs) : 0),
  sum: (xs) => xs.reduce((a, b) => a + b, 0),
  count: (xs) => xs.length,
  last: (xs) => xs[xs.length - 1] ?? 0,
};

/**
 * Resolve a metric expectation name: a counter (absent = 0), a sample list (each sample is
 * checked), or `<samples>.max|min|sum|count|last`.
 */
export function resolveMetric(m: MetricsSnapshot, name: string): { values: number[]; each: boolean } {
  const v = metricValue(m, name);
  if (typeof v === "number") return { values: [v], each: false };
  if (Array.isArray(v)) return { values: v, each: true };
  const dot = name.lastIndexOf(".");
  const agg = dot > 0 ? AGGREGATES[name.slice(dot + 1)] : undefined;
  if (agg) {
    const base = metricValue(m, name.slice(0, dot));
    if (Array.isArray(base)) return { values: [agg(base)], each: false };
    if (typeof base === "number") return { values: [base], each: false };
  }
  return { values: [0], each: false };
}

function boundsText(b: { min?: number; max?: number; eq?: number }): string {
  const parts: string[] = [];
  if (b.eq !== undefined) parts.push(`= ${b.eq}`);
  if (b.min !== undefined) parts.push(`≥ ${b.min}`);
  if (b.max !== undefined) parts.push(`≤ ${b.max}`);
  return parts.join(", ");
}

function within(v: number, b: { min?: number; max?: number; eq?: number }): boolean {
  return (b.eq === undefined || v === b.eq) && (b.min === undefined || v >= b.min) && (b.max === undefined || v <= b.max);
}

export function outcomeText(o: RunOutcome, steps: number): string {
  switch (o.kind) {
    case "system-off":
      return `PSCI SYSTEM_OFF, code ${o.code} (${steps} instructions)`;
    case "budget":
      return `step budget exhausted after ${steps} instructions (${o.level} at ${hex(o.pc)})`;
    case "monitor-stop":
      return `stopped by ${o.verdict} after ${steps} instructions`;
    case "guest-error":
      return `guest error: ${o.report.reason}`;
  }
}

function checkExpectations(s: Scenario, outcome: RunOutcome, consoleText: string, metrics: MetricsSnapshot): ExpectationCheck[] {
  const checks: ExpectationCheck[] = [];
  const e = s.expect;
  const ended = outcome.kind === "system-off" ? `code ${outcome.code}` : outcome.kind === "monitor-stop" ? `stopped by ${outcome.verdict}` : outcome.kind;
  if (e.exitCode !== undefined) {
    checks.push({ what: "exit code", expected: String(e.exitCode), actual: ended, ok: outcome.kind === "system-off" && outcome.code === e.exitCode });
  }
  if (e.console !== undefined) {
    const ok = new RegExp(e.console, "m").test(consoleText);
    const lines = consoleText.trimEnd().split("\n");
    const actual = ok ? "matches" : `no match; console ends: ${JSON.stringify(lines.slice(-3).join("\n"))}`;
    checks.push({ what: "console", expected: `/${e.console}/m`, actual, ok });
  }
  const inv = e.invariants ?? "hold";
  const verdict = outcome.kind === "monitor-stop" ? outcome.verdict : null;
  if (inv === "hold") {
    checks.push({ what: "invariants", expected: "hold", actual: verdict ?? "held", ok: verdict === null });
  } else {
    const want = `invariant ${inv.violated}`;
    checks.push({ what: "invariants", expected: `${want} violated`, actual: verdict ? `${verdict} violated` : "held", ok: verdict === want });
  }
  for (const [name, b] of Object.entries(e.metrics ?? {})) {
    const r = resolveMetric(metrics, name);
    const ok = r.each ? r.values.length > 0 && r.values.every((v) => within(v, b)) : within(r.values[0]!, b);
    const actual = r.each ? (r.values.length ? `[${r.values.join(", ")}]` : "no samples") : String(r.values[0]);
    checks.push({ what: `metric ${name}`, expected: r.each ? `each ${boundsText(b)}` : boundsText(b), actual, ok });
  }
  return checks;
}

// ------------------------------------------------------------------ running

/** Image paths are relative to the scenario file's directory. */
function imagePath(scenarioFile: string, file: string): string {
  return resolve(dirname(scenarioFile), file);
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
  const s = await loadScenario(file);
  const l1Ipa = s.images.l1.ipa ?? L1_DEFAULT_LOAD_IPA;
  const l1 = await assembleFile(imagePath(file, s.images.l1.file), { base: l1Ipa });
  const l2 = [];
  for (const spec of s.images.l2 ?? []) l2.push({ image: await assembleFile(imagePath(file, spec.file), { base: spec.ipa }), ipa: spec.ipa });
  const vm = s.vm ?? {};
  const config: Partial<VmConfig> = {
    ...(vm.memory !== undefined ? { memory: vm.memory } : {}),
    ...(vm.vcpus !== undefined ? { vcpus: vm.vcpus } : {}),
    ...(vm.poolPages !== undefined ? { poolPages: vm.poolPages } : {}),
    ...(vm.blocks !== undefined ? { blocks: vm.blocks } : {}),
    ...((overrides.seed ?? vm.seed) !== undefined ? { seed: overrides.seed ?? vm.seed } : {}),
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
    check: true,
  };
  const nestedMmus = overrides.nestedMmus ?? vm.nestedMmus;
  if (nestedMmus !== undefined) {
    if (nestedMmus < (vm.vcpus ?? 1)) throw new ScenarioError(file, [`${file}: vm.nestedMmus: ${nestedMmus} is fewer than the ${vm.vcpus ?? 1} vCPUs`]);
    config.nestedMmus = nestedMmus;
  }
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
      onConsole: overrides.onConsole,
      onEvent: overrides.onEvent,
      monitors: (kvm) => {
        timeline = new TimelineMonitor(kvm, s.timeline ?? [], file);
        const ms: VmMonitor[] = [timeline];
        if (overrides.chaos) ms.push(chaosMonitor(kvm, overrides.chaos));
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
  const checks = checkExpectations(s, r.outcome, r.console, r.metrics);
  const failures = checks.filter((c) => !c.ok).map((c) => `${c.what}: expected ${c.expected}, got ${c.actual}`);
  if (r.outcome.kind === "guest-error" && r.outcome.stage === "load") failures.unshift(`images: ${r.outcome.message}`);
  return {
    ok: failures.length === 0,
    name: s.name,
    file: p.file,
    description: s.description ?? "",
    strategy: r.kvm.config.unmap,
    directMap: r.kvm.config.directMap,
    nestedMmus: r.kvm.nestedMmus.length,
    checks,
    failures,
    outcome: r.outcome,
    console: r.console,
    metrics: r.metrics,
    steps: r.steps,
    injections: p.timeline()?.injections ?? [],
  };
}

/** Load, run and judge a scenario. */
export async function runScenario(file: string, overrides: ScenarioOverrides = {}): Promise<ScenarioResult> {
  const p = await prepareScenario(file, overrides);
  return judgeScenario(p, runVm(p.vm));
}

/** Chaos on a VM whose checker is on: every injection is checked at once. */
export function chaosMonitor(kvm: Kvm, chaos: { seed: number; rate?: number }): ChaosMonitor {
  return new ChaosMonitor(kvm, {
    seed: chaos.seed,
    rate: chaos.rate,
    afterInjection: () => {
      if (kvm.config.check) assertInvariants(kvm);
    },
  });
}

// ------------------------------------------------------------------ summary

/** Metrics worth showing for a strategy comparison (when present). */
const KEY_METRICS = [
  "shadowFaults", "canonicalUnmaps", "shadowEntriesRemoved", "shadowMmusVisited", "mmusRecycled", "faultsInjectedToL1",
];

function keyMetricLines(m: MetricsSnapshot): string[] {
  const names = [
    ...KEY_METRICS,
    ...Object.keys(m).filter((k) => /^(revmap|accel|injected|rfc)\./.test(k)).sort(),
  ];
  const lines: string[] = [];
  for (const k of names) {
    const v = m[k];
    if (v === undefined) continue;
    lines.push(`  ${k.padEnd(30)} ${Array.isArray(v) ? summarizeSamples(v) : String(v)}`);
  }
  return lines;
}

function summarizeSamples(xs: number[]): string {
  if (xs.length === 0) return "(none)";
  const shown = xs.length <= 16 ? xs.join(", ") : `${xs.slice(0, 16).join(", ")}, … (${xs.length} samples)`;
  return `[${shown}] max ${Math.max(...xs)} sum ${xs.reduce((a, b) => a + b, 0)}`;
}

/** The human-readable report of a scenario run. */
export function scenarioSummary(r: ScenarioResult): string {
  const lines = [`scenario: ${r.name} (${r.file})`];
  if (r.description) for (const l of r.description.trimEnd().split("\n")) lines.push(`  ${l}`);
  lines.push(`strategy: ${r.strategy}${r.directMap ? " + directMap" : ""}, ${r.nestedMmus} shadow MMUs`);
  lines.push(`outcome: ${outcomeText(r.outcome, r.steps)}`);
  if (r.injections.length) {
    lines.push(`injections (${r.injections.length}):`);
    const shown = r.injections.length > 12 ? [...r.injections.slice(0, 10), `… ${r.injections.length - 11} more`, r.injections[r.injections.length - 1]!] : r.injections;
    for (const i of shown) lines.push(`  ${i}`);
  }
  lines.push("expectations:");
  for (const c of r.checks) lines.push(`  ${c.ok ? "✓" : "✗"} ${c.what}: expected ${c.expected}, got ${c.actual}`);
  for (const f of r.failures) if (f.startsWith("images:")) lines.push(`  ✗ ${f}`);
  lines.push("key metrics:", ...keyMetricLines(r.metrics));
  const o = r.outcome;
  if (o.kind === "monitor-stop") lines.push(`${o.verdict.startsWith("invariant") ? "checker report" : "monitor report"}:`, ...o.message.split("\n").map((l) => `  ${l}`));
  else if (o.kind === "guest-error" || o.kind === "budget") lines.push("report:", `  ${o.report.reason}`);
  lines.push(r.ok ? "result: PASS (all expectations hold)" : `result: FAIL (${r.failures.length} expectation${r.failures.length === 1 ? "" : "s"} failed)`);
  return lines.join("\n");
}

/** `--json`: the result with bigints as hex strings. */
export function scenarioJson(r: ScenarioResult): string {
  return JSON.stringify(r, (_k, v) => (typeof v === "bigint" ? hex(v) : v), 2);
}
