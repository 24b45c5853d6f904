// The VM of the lab page: the debugger's session (debug/session.ts) and command interpreter
// (debug/repl.ts) behind the requests of web/protocol.ts. It runs wherever it is given a place to
// post states: in the page's worker, or in a test under Node. Nothing here is a second debugger:
// every answer is the session's, the REPL's or a debug/ view's.

import { AsmError } from "../../asm/errors.ts";
import { EVENT_FIELDS } from "../../hypervisor/event_fields.ts";
import type { KvmEvent } from "../../hypervisor/events.ts";
import { formatEvent } from "../../hypervisor/events.ts";
import type { MetricsSnapshot } from "../../hypervisor/metrics.ts";
import { checkerAttached } from "../../lab/check.ts";
import { buildRunVm, type RunCommandOptions } from "../../lab/run_command.ts";
import type { RunVmOptions } from "../../lab/run.ts";
import { expectationLines, resultLine } from "../../lab/scenario/report.ts";
import { judgeScenario, prepareScenario, type PreparedScenario, type ScenarioOverrides } from "../../lab/scenario/run.ts";
import { ScenarioError } from "../../lab/scenario/schema.ts";
import { DebugError } from "../../debug/errors.ts";
import { Repl } from "../../debug/repl.ts";
import { DebugSession, describeOutcome, describeStop, type Stop } from "../../debug/session.ts";
import { EVENT_KINDS } from "../../debug/session.ts";
import { yieldToHost } from "../../debug/yield.ts";
import { mapsData, type MapsData } from "../../debug/maps.ts";
import { EVENT_WINDOW } from "../protocol.ts";
import type { EventView, LabOptions, LabSetup, LabState, SourceError, SourceFile, VcpuView, DisasmLine, BreakpointView } from "../protocol.ts";

/** Instructions between two looks at the message queue while running (a pause lands within one). */
export const RUN_CHUNK = 50_000;
/** A run samples L0's counters for the charts about 64 times over its length so far, at least this far apart. */
const SAMPLE_MIN = 500;
const SAMPLES_PER_RUN = 64;
/** Instructions one `step` request may run at most (a step to the next exit or event included). */
export const MAX_STEP = 10_000_000;
/** Disassembly lines shown before and after the PC. */
const DISASM_BEFORE = 6;
const DISASM_AFTER = 10;
/** Most memory the automatic snapshots of the timeline keep in a tab (MiB). */
const SNAPSHOT_MEMORY_MIB = 256;

/** A load that failed on the user's input: the message, and errors placed in files for the editor. */
export class LabLoadError extends Error {
  constructor(
    message: string,
    readonly sourceErrors: SourceError[],
  ) {
    super(message);
    this.name = "LabLoadError";
  }
}

/** A file as the host's file set holds it: text, or an uploaded image's bytes (web/host_files.browser.ts). */
export interface LabHostFile {
  path: string;
  text?: string;
  bytes?: Uint8Array;
}

export interface LabVmHost {
  /** The page gets a new state (while running: now and then; after a stop: always). */
  post(state: LabState): void;
  /** Make these files what the assembler, the image loader and the scenario loader read (the browser's host files). */
  setFiles(files: readonly LabHostFile[]): void;
  /** Milliseconds, for the speed shown and how often a running VM reports (never for what it does). */
  now(): number;
}

/** How often a running VM posts its state (ms). */
const POST_EVERY_MS = 150;

export class LabVm {
  private dbg: DebugSession | null = null;
  /**
   * The maps at the latest stop, their changes and removals counted against the stop before, so
   * "changed since the last stop" means that wherever the page looked in between. Collected at
   * every stop once the page has asked for maps (they cost a walk of L1's tables per L1 leaf).
   */
  private stopMaps: MapsData | null = null;
  private mapsWanted = false;
  private repl: Repl | null = null;
  private scenario: PreparedScenario | null = null;
  private running: AbortController | null = null;
  private stopText = "";
  private speed = 0;
  private reached = 0;
  private replText = "";
  /** Counters sampled since the last state posted. */
  private samples: LabState["samples"] = [];

  constructor(private readonly host: LabVmHost) {}

  // ------------------------------------------------------------------ loading

  /** Build the VM a setup describes, stopped before L1's first instruction. */
  async load(setup: LabSetup): Promise<{ images: string[]; vcpus: number }> {
    this.interrupt();
    this.host.setFiles(setup.files.map(hostFile));
    const vm = await this.vmOf(setup);
    const session = await DebugSession.open({ vm, timeline: { every: setup.options.snapshotEvery, maxBytes: SNAPSHOT_MEMORY_MIB << 20 } });
    const loadError = session.finished;
    if (loadError?.kind === "guest-error") throw new LabLoadError(loadError.message, []);
    this.dbg = session;
    this.stopMaps = null;
    this.noteStop();
    this.repl = new Repl(session, (t) => (this.replText += t));
    // The REPL prints console bytes between command outputs; the page shows the console apart.
    session.kvm.onConsole = null;
    this.stopText = "stopped before the first instruction";
    this.speed = 0;
    this.reached = 0;
    this.postState();
    return { images: session.symbols.images.map((i) => `${i.level} ${i.name}`), vcpus: session.kvm.vcpus.length };
  }

  private async vmOf(setup: LabSetup): Promise<RunVmOptions> {
    let vm: RunVmOptions;
    try {
      if (setup.kind === "scenario") {
        this.scenario = await prepareScenario(setup.path, scenarioOverrides(setup.options));
        vm = this.scenario.vm;
      } else {
        this.scenario = null;
        vm = await buildRunVm(runOptions(setup));
      }
    } catch (e) {
      throw loadError(e);
    }
    // The page lists more of the event log than a terminal's `history` shows.
    return { ...vm, config: { ...vm.config, eventLogCapacity: EVENT_WINDOW } };
  }

  /** The debugger's session of the VM (an error for the page when nothing is booted). */
  session(): DebugSession {
    if (!this.dbg) throw new DebugError("no VM: boot a guest first");
    return this.dbg;
  }

  private get s(): DebugSession {
    return this.session();
  }

  /** The maps of L0's tables and records, leaves new since the previous call marked as changed. */
  maps(): MapsData {
    const kvm = this.s.kvm;
    if (!this.mapsWanted || !this.stopMaps) {
      // The first look: nothing to compare with, so nothing is marked new.
      this.mapsWanted = true;
      this.stopMaps = mapsData(kvm, mapsData(kvm));
    }
    return this.stopMaps;
  }

  /** A stop (or a command that may have changed L0's state): the maps move on one stop. */
  private noteStop(): void {
    if (this.mapsWanted && this.dbg) this.stopMaps = mapsData(this.dbg.kvm, this.stopMaps ?? mapsData(this.dbg.kvm));
  }

  // ------------------------------------------------------------------ running

  /** Run until a breakpoint, the end of the run, or `pause`. */
  async run(): Promise<string> {
    const s = this.s;
    if (this.running) throw new DebugError("already running");
    const ac = new AbortController();
    this.running = ac;
    const t0 = this.host.now();
    const s0 = s.kvm.steps;
    let lastPost = t0;
    try {
      for (;;) {
        // Short chunks early, so even a short run draws as a curve; the charts thin long runs.
        const chunk = Math.min(RUN_CHUNK, Math.max(SAMPLE_MIN, Math.floor(s.kvm.steps / SAMPLES_PER_RUN)));
        const stop = await s.continue({ signal: ac.signal, maxSteps: chunk, chunk });
        this.samples.push({ step: s.kvm.steps, values: flattenMetrics(s.kvm.metrics.snapshot()) });
        const now = this.host.now();
        this.speed = now > t0 ? Math.round(((s.kvm.steps - s0) * 1000) / (now - t0)) : this.speed;
        if (stop.reason.kind !== "budget" || s.finished) return this.settle(stop);
        if (now - lastPost >= POST_EVERY_MS) {
          lastPost = now;
          this.postState("running");
        }
        await yieldToHost();
        if (ac.signal.aborted) return this.settle({ ...stop, reason: { kind: "interrupt" } });
      }
    } finally {
      this.running = null;
    }
  }

  /** Stop a running `run` (it answers with the stop). Returns whether one was running. */
  interrupt(): boolean {
    if (!this.running) return false;
    this.running.abort();
    return true;
  }

  /** One instruction of the shown vCPU, or on to the next exit or L0 event (all vCPUs run). */
  async step(unit: "instruction" | "exit" | "event", count: number, vcpu?: number): Promise<string> {
    const s = this.s;
    if (vcpu !== undefined) s.selectVcpu(vcpu);
    const n = Math.max(1, Math.min(Math.floor(count), MAX_STEP));
    if (unit === "instruction") return this.settle(s.stepInstruction(n));
    // `step exit`: the next exit L0 handles; `step event`: the next thing L0 logs.
    const kinds = unit === "exit" ? ["exit"] : EVENT_KINDS;
    const bps = kinds.map((k) => s.addEventBreak(k));
    let stop: Stop | null = null;
    let ours = false;
    try {
      for (let i = 0; i < n; i++) {
        stop = await s.continue({ maxSteps: MAX_STEP });
        const r = stop.reason;
        ours = r.kind === "event-break" && bps.some((b) => b.id === r.id);
        if (!ours) break;
      }
    } finally {
      for (const b of bps) s.deleteBreak(b.id);
    }
    const r = stop!.reason;
    // The stepping breakpoints are gone: name the event reached, not a breakpoint the user never set.
    return this.settle(stop!, ours && r.kind === "event-break" ? `next ${unit}: [${r.event.step}] ${r.event.kind}: ${r.event.detail}` : undefined);
  }

  goto(step: number): string {
    return this.settle(this.s.goto(step));
  }

  reverseStep(): string {
    return this.settle(this.s.reverseStep());
  }

  reverseContinue(): string {
    return this.settle(this.s.reverseContinue());
  }

  selectVcpu(index: number): void {
    this.s.selectVcpu(index);
    this.postState();
  }

  /** A debugger command line (`pt`, `mmus`, `inject unmap …`): what it prints. */
  async command(line: string): Promise<string> {
    const repl = this.repl;
    if (!repl) throw new DebugError("no VM: boot a guest first");
    this.replText = "";
    await repl.execute(line);
    this.s.kvm.onConsole = null;
    this.noteReached();
    this.noteStop();
    this.postState();
    return this.replText;
  }

  addBreak(spec: string): BreakpointView {
    const s = this.s;
    const t = spec.trim();
    const m = /^(exit|event)\s+(.+)$/i.exec(t);
    const bp = !m ? s.addAddressBreak(t) : m[1]!.toLowerCase() === "exit" ? s.addExitBreak(m[2]!.trim()) : s.addEventBreak(m[2]!);
    this.postState();
    return { id: bp.id, text: bp.label, hits: bp.hits };
  }

  deleteBreak(id: number): void {
    this.s.deleteBreak(id);
    this.postState();
  }

  private settle(stop: Stop, text?: string): string {
    this.noteReached();
    this.noteStop();
    this.stopText = text ?? describeStop(this.s, stop);
    this.postState();
    return this.stopText;
  }

  private noteReached(): void {
    this.reached = Math.max(this.reached, this.s.kvm.steps);
  }

  // ------------------------------------------------------------------ the state the page shows

  postState(status?: LabState["status"]): void {
    const st = this.state(status);
    st.samples = this.samples;
    this.samples = [];
    this.host.post(st);
  }

  state(status?: LabState["status"]): LabState {
    const s = this.dbg;
    if (!s) return emptyState();
    const kvm = s.kvm;
    const outcome = s.finished;
    return {
      status: status ?? (outcome ? "finished" : kvm.steps === 0 ? "ready" : "stopped"),
      step: kvm.steps,
      reached: Math.max(this.reached, kvm.steps),
      stop: status === "running" ? "" : this.stopText,
      current: s.vcpu.index,
      vcpus: this.vcpuViews(s),
      console: kvm.console,
      breakpoints: s.breakpoints().map((b) => ({ id: b.id, text: b.label, hits: b.hits })),
      events: eventViews(kvm.events.recent(), kvm.events.total),
      metrics: flattenMetrics(kvm.metrics.snapshot()),
      samples: [],
      outcome: outcome ? describeOutcome(outcome) : null,
      checker: {
        attached: checkerAttached(kvm),
        violation: outcome?.kind === "monitor-stop" && outcome.verdict.startsWith("invariant") ? outcome.message : null,
      },
      expectations: this.expectations(),
      speed: this.speed,
    };
  }

  private expectations(): string[] | null {
    const s = this.dbg;
    const outcome = s?.finished;
    if (!s || !this.scenario || !outcome) return null;
    const kvm = s.kvm;
    const r = judgeScenario(this.scenario, { outcome, console: kvm.console, metrics: kvm.metrics.snapshot(), steps: kvm.steps, kvm });
    return [...expectationLines(r), ...r.warnings.map((w) => `warning: ${w}`), resultLine(r)];
  }

  private vcpuViews(s: DebugSession): VcpuView[] {
    const shown = s.vcpu.index;
    try {
      return s.kvm.vcpus.map((v) => {
        s.selectVcpu(v.index);
        const loc = s.location();
        const registers = s.registers();
        return { index: v.index, level: registers.level, pc: registers.pc, location: loc?.text ?? "", registers, disasm: disasmAround(s, registers.level, registers.pc) };
      });
    } finally {
      s.selectVcpu(shown);
    }
  }
}

function emptyState(): LabState {
  return {
    status: "empty", step: 0, reached: 0, stop: "", current: 0, vcpus: [], console: "", breakpoints: [], events: [], metrics: {}, samples: [],
    outcome: null, checker: { attached: false, violation: null }, expectations: null, speed: 0,
  };
}

function disasmAround(s: DebugSession, level: "L1" | "L2", pc: bigint): DisasmLine[] {
  const bps = new Set(s.breakpoints().filter((b) => b.kind === "address").map((b) => b.va));
  const out: DisasmLine[] = [];
  for (let i = -DISASM_BEFORE; i <= DISASM_AFTER; i++) {
    const at = pc + BigInt(i * 4);
    if (at < 0n) continue;
    const d = s.describe(level, at);
    out.push({ pc: at, symbol: d.symbol, insn: d.insn, current: i === 0, breakpoint: bps.has(at) });
  }
  return out;
}

/** The address space each address field of an event names (the others are not addresses). */
function fieldSpace(kind: string, field: string): EventView["addresses"][number]["space"] | null {
  if (field === "nestedIpa") return "nipa";
  if (field === "canonicalIpa") return "ipa";
  if (field === "ipa") return kind === "relax-perms" ? "nipa" : "ipa";
  if (field === "pa") return "pa";
  if (field === "start" || field === "last") return kind === "unmap" || kind === "revmap" || kind === "memslot" ? "ipa" : null;
  if (field === "far" || field === "elr" || (field === "pc" && kind === "s2-table-write") || field === "va") return "va";
  return null;
}

export function eventViews(events: readonly KvmEvent[], total: number): EventView[] {
  const first = total - events.length;
  return events.map((e, i) => {
    const fields = (EVENT_FIELDS as Record<string, Record<string, string>>)[e.kind] ?? {};
    const addresses: EventView["addresses"] = [];
    const data = e.data as unknown as Record<string, unknown>;
    for (const f of Object.keys(fields)) {
      const v = data[f];
      const space = fieldSpace(e.kind, f);
      if (space && typeof v === "bigint") addresses.push({ field: f, space, addr: v });
    }
    return { seq: first + i, step: e.step, kind: e.kind, text: formatEvent(e), addresses };
  });
}

/** L0's counters as `name` or `group.name` → number (samples as their count). */
export function flattenMetrics(m: MetricsSnapshot): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(m as unknown as Record<string, unknown>)) {
    if (typeof v === "number") out[k] = v;
    else if (typeof v === "bigint") out[k] = Number(v);
    else if (Array.isArray(v)) out[`${k}.samples`] = v.length;
    else if (v && typeof v === "object") {
      for (const [kk, vv] of Object.entries(v as Record<string, unknown>)) if (typeof vv === "number") out[`${k}.${kk}`] = vv;
    }
  }
  return out;
}

function runOptions(setup: Extract<LabSetup, { kind: "guests" }>): RunCommandOptions {
  const o = setup.options;
  return {
    l1: { file: setup.l1, ipa: null },
    l2: setup.l2.map((l) => ({ file: l.path, ipa: l.ipa })),
    memory: 256n << 20n,
    vcpus: o.vcpus,
    maxSteps: 100_000_000,
    ...vmOptionsOf(o),
    ...(o.chaos ? { chaos: o.chaos } : {}),
    check: o.check,
    ...(o.seed === null ? {} : { seed: o.seed }),
    engine: o.engine,
  };
}

function vmOptionsOf(o: LabOptions): Pick<RunCommandOptions, "unmap" | "directMap" | "nestedMmus"> {
  return {
    unmap: o.unmap as RunCommandOptions["unmap"],
    directMap: o.directMap,
    ...(o.nestedMmus === null ? {} : { nestedMmus: o.nestedMmus }),
  };
}

function scenarioOverrides(o: LabOptions): ScenarioOverrides {
  return {
    ...(o.unmap === "" ? {} : vmOptionsOf(o)),
    ...(o.seed === null ? {} : { seed: o.seed }),
    engine: o.engine,
    ...(o.chaos ? { chaos: o.chaos } : {}),
  };
}

/** An uploaded image is read as its bytes only: its "" text must not stand for its contents. */
function hostFile(f: SourceFile): LabHostFile {
  return f.bytes === undefined ? { path: f.path, text: f.text } : { path: f.path, bytes: f.bytes };
}

/** A load failure as the page reports it: assembler errors placed at their line. */
function loadError(e: unknown): Error {
  if (e instanceof AsmError) {
    return new LabLoadError(e.message, [{ file: e.file, line: e.line, col: e.col, message: e.reason }]);
  }
  if (e instanceof ScenarioError) return new LabLoadError(e.message, [{ file: e.file, line: 1, col: 1, message: e.message }]);
  if (e instanceof Error) return new LabLoadError(e.message, []);
  return new LabLoadError(String(e), []);
}

