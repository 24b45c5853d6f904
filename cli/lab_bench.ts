// The guest's speed in the lab page beside the CLI's. For a few shipped pairs on both engines, the
// same VM runs three ways, each after a warm-up run and timed as the median of several:
//   - CLI: `nvlab run`'s code (lab/run_command.ts buildRunVm, lab/run.ts runVm's halves) in this process;
//   - lab VM in Node: the worker's own code (web/worker/lab_vm.ts LabVm, via serveRequest) in this
//     process, so the page's cost splits into the debugger session's and the browser's;
//   - browser: the page built and served as `nvlab lab` does, in headless Chromium, the `run`
//     request timed from the page, and the UI thread's long tasks (> 50 ms) observed while it runs.
// Every way must end on the same step (same VM, same seed); a disagreement exits 1.
//
//   npm run bench:lab [-- --json] [--quick] [--runs N]
//   (NVLAB_CHROMIUM names another browser than /usr/bin/chromium)

import { existsSync, readFileSync, realpathSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Browser, Page } from "playwright-core";
import { buildRunVm } from "../lab/run_command.ts";
import { DEFAULT_MAX_STEPS, prepareVm, withHostReport } from "../lab/run.ts";
import { kvmArchVcpuRun } from "../hypervisor/scheduler.ts";
import { REPO_ROOT } from "../web/build.ts";
import type { LabOptions, LabSetup } from "../web/protocol.ts";
import { GUEST_PAIRS, setupFiles, type GuestPair } from "../web/ui/catalog.ts";
import { DEFAULT_OPTIONS } from "../web/ui/options_form.ts";
import { LabVm } from "../web/worker/lab_vm.ts";
import { serveRequest } from "../web/worker/serve.ts";
import { chromiumMissing, startLab } from "./lab_browser.ts";

/** Long-task entries are delivered after the task: this long after a run, its last one has arrived. */
const LONGTASK_SETTLE_MS = 200;

export type Engine = LabOptions["engine"];
export const ENGINES: readonly Engine[] = ["interp", "jit"];

/** The pairs measured: the demo, then runs of over a million instructions where a pair has one. */
export const BENCH_GUESTS: readonly { pair: string; kind: string }[] = [
  { pair: "hyp+hello", kind: "demo" },
  { pair: "hyp+checksum", kind: "compute-heavy L2" },
  // The most stage-2 faults per instruction of any pair (2 shadow faults per page, 1000 pages),
  // though it runs only ~180k instructions: no fault-heavy pair reaches a million.
  { pair: "hyp+touch1000", kind: "fault-heavy" },
  { pair: "multi+6", kind: "six L2s, mixed" },
];

export interface LabBenchOptions {
  /** Only the demo, on one engine. */
  quick: boolean;
  /** The engine of `quick` (default: the page's). */
  engine?: Engine;
  /** Timed runs per measurement (after the warm-up). */
  runs: number;
  progress?: (line: string) => void;
}

/** One way of running a VM, over the timed runs. */
export interface Measurement {
  steps: number;
  /** Each timed run's wall time. */
  seconds: number[];
  medianSeconds: number;
  /** Instructions per second at the median time. */
  ips: number;
}

export interface BrowserMeasurement extends Measurement {
  /** UI-thread tasks over 50 ms during the timed runs, all runs together. */
  longTasks: number;
  longestTaskMs: number;
}

export interface LabBenchRow {
  guest: string;
  kind: string;
  engine: Engine;
  cli: Measurement;
  node: Measurement;
  browser: BrowserMeasurement | null;
  /** Browser instructions/s over the CLI's (1: as fast). */
  browserOverCli: number | null;
  /** Browser instructions/s over the same lab VM's in Node: what the browser itself costs. */
  browserOverNode: number | null;
  /** CLI, Node lab VM and browser (when run) ended on the same step. */
  stepsAgree: boolean;
}

export interface LabBenchReport {
  machine: { cpu: string; cores: number; node: string; chromium: string | null; loadBefore: number; loadAfter: number };
  runs: number;
  quick: boolean;
  /** Why the browser column is empty, or null when it was measured. */
  browserSkipped: string | null;
  rows: LabBenchRow[];
}

// ------------------------------------------------------------------ the guests

function pairNamed(name: string): GuestPair {
  const p = GUEST_PAIRS.find((g) => g.name === name);
  if (!p) throw new Error(`lab_bench: no pair ${name} in web/ui/catalog.ts`);
  return p;
}

/** The setup the page boots for a pair: its sources as shipped, the page's default options. */
export function setupOf(pair: GuestPair, engine: Engine): Extract<LabSetup, { kind: "guests" }> {
  const text = (p: string): string | undefined => (existsSync(join(REPO_ROOT, p)) ? readFileSync(join(REPO_ROOT, p), "utf8") : undefined);
  const files = setupFiles({ kind: "guests", pair }, text).map((f) => ({ path: f.path, text: text(f.path) ?? "" }));
  return { kind: "guests", l1: pair.l1, l2: pair.l2, files, options: { ...DEFAULT_OPTIONS, vcpus: pair.vcpus, engine } };
}

// ------------------------------------------------------------------ timing

interface Timed {
  steps: number;
  ms: number;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** One warm-up run (the JIT's, the page's first), then `runs` timed ones that must agree on steps. */
async function measure<T extends Timed>(runs: number, once: () => Promise<T>): Promise<T[]> {
  const first = await once();
  const out: T[] = [];
  for (let i = 0; i < runs; i++) {
    const r = await once();
    if (r.steps !== first.steps) throw new Error(`lab_bench: a run ended at step ${r.steps}, the warm-up at ${first.steps}`);
    out.push(r);
  }
  return out;
}

function summarize(rs: readonly Timed[]): Measurement {
  const seconds = rs.map((r) => r.ms / 1000);
  const medianSeconds = median(seconds);
  const steps = rs[0]!.steps;
  return { steps, seconds, medianSeconds, ips: Math.round(steps / medianSeconds) };
}

// ------------------------------------------------------------------ CLI and lab VM in Node

async function measureCli(setup: Extract<LabSetup, { kind: "guests" }>, runs: number): Promise<Measurement> {
  const o = setup.options;
  // The options LabVm gives buildRunVm for this setup (web/worker/lab_vm.ts runOptions).
  const vm = await buildRunVm({
    l1: { file: setup.l1, ipa: null }, l2: setup.l2.map((l) => ({ file: l.path, ipa: l.ipa })), memory: 256n << 20n, vcpus: o.vcpus,
    maxSteps: 100_000_000, unmap: o.unmap as "full", directMap: o.directMap, check: o.check, engine: o.engine,
  });
  // runVm's two halves, only the second timed: the page's `run` is timed after its `load` built the VM.
  return summarize(await measure(runs, () => {
    const { kvm, vcpu, loadError } = prepareVm(vm);
    if (loadError) throw new Error(`lab_bench: ${setup.l1} did not load: ${loadError.kind}`);
    const t0 = performance.now();
    const r = withHostReport(vcpu, () => kvmArchVcpuRun(vcpu, vm.maxSteps ?? DEFAULT_MAX_STEPS));
    const ms = performance.now() - t0;
    if (r.kind !== "system-off") throw new Error(`lab_bench: ${setup.l1} ended with ${r.kind} in the CLI`);
    return Promise.resolve({ steps: kvm.steps, ms });
  }));
}

async function measureNode(setup: LabSetup, runs: number): Promise<Measurement> {
  return summarize(await measure(runs, async () => {
    let step = 0;
    let outcome: string | null = null;
    const vm = new LabVm({ post: (s) => ((step = s.step), (outcome = s.outcome)), setFiles: () => {}, now: () => performance.now() });
    await serveRequest(vm, { op: "load", setup });
    const t0 = performance.now();
    await serveRequest(vm, { op: "run" });
    const ms = performance.now() - t0;
    if (outcome === null) throw new Error("lab_bench: the lab VM in Node did not finish its run");
    return { steps: step, ms };
  }));
}

// ------------------------------------------------------------------ the page in Chromium

interface Lab {
  browser: Browser;
  page: Page;
  close(): Promise<void>;
}

/** The page built and served as `nvlab lab` does, open in a tab that records its long tasks. */
async function openLab(): Promise<Lab> {
  const lab = await startLab();
  try {
    const page = await lab.browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on("pageerror", (e) => process.stderr.write(`lab_bench: page error: ${e.message}\n`));
    await page.addInitScript(() => {
      const w = window as unknown as { longTasks: { start: number; ms: number }[] };
      w.longTasks = [];
      new PerformanceObserver((l) => {
        for (const e of l.getEntries()) w.longTasks.push({ start: e.startTime, ms: e.duration });
      }).observe({ type: "longtask", buffered: false });
    });
    await page.goto(lab.server.url);
    await page.waitForFunction(() => window.nvlab !== undefined);
    return { browser: lab.browser, page, close: lab.close };
  } catch (e) {
    await lab.close();
    throw e;
  }
}

interface PageRun extends Timed {
  outcome: string | null;
  longTasks: number[];
}

/** Structured clone carries the IPAs as bigints; playwright's arguments carry them as text. */
function pageSetup(setup: Extract<LabSetup, { kind: "guests" }>): unknown {
  return { ...setup, l2: setup.l2.map((l) => ({ path: l.path, ipa: `0x${l.ipa.toString(16)}` })) };
}

async function pageRun(page: Page, setup: Extract<LabSetup, { kind: "guests" }>): Promise<PageRun> {
  await page.evaluate(async (s) => {
    const raw = s as { l2: { path: string; ipa: string }[] };
    const setup = { ...raw, l2: raw.l2.map((l) => ({ path: l.path, ipa: BigInt(l.ipa) })) } as unknown as LabSetup;
    await window.nvlab!.client.request({ op: "load", setup });
  }, pageSetup(setup));
  return page.evaluate(async (settle) => {
    const w = window as unknown as { longTasks: { start: number; ms: number }[] };
    w.longTasks = [];
    const t0 = performance.now();
    await window.nvlab!.client.request({ op: "run" });
    const t1 = performance.now();
    const st = window.nvlab!.state()!;
    await new Promise((r) => setTimeout(r, settle));
    const longTasks = w.longTasks.filter((t) => t.start + t.ms >= t0 && t.start <= t1).map((t) => t.ms);
    return { steps: st.step, ms: t1 - t0, outcome: st.outcome, longTasks };
  }, LONGTASK_SETTLE_MS);
}

async function measureBrowser(page: Page, setup: Extract<LabSetup, { kind: "guests" }>, runs: number): Promise<BrowserMeasurement> {
  const rs = await measure(runs, async () => {
    const r = await pageRun(page, setup);
    if (r.outcome === null) throw new Error(`lab_bench: the page's run of ${setup.l1} did not finish`);
    return r;
  });
  const tasks = rs.flatMap((r) => r.longTasks);
  return { ...summarize(rs), longTasks: tasks.length, longestTaskMs: Math.round(Math.max(0, ...tasks)) };
}

// ------------------------------------------------------------------ the bench

function rowOf(guest: { pair: string; kind: string }, engine: Engine, cli: Measurement, node: Measurement, browser: BrowserMeasurement | null): LabBenchRow {
  const stepsAgree = cli.steps === node.steps && (browser === null || browser.steps === cli.steps);
  return {
    guest: guest.pair, kind: guest.kind, engine, cli, node, browser,
    browserOverCli: browser ? browser.ips / cli.ips : null,
    browserOverNode: browser ? browser.ips / node.ips : null,
    stepsAgree,
  };
}

function cases(o: LabBenchOptions): { guest: { pair: string; kind: string }; engine: Engine }[] {
  if (o.quick) return [{ guest: BENCH_GUESTS[0]!, engine: o.engine ?? DEFAULT_OPTIONS.engine }];
  return BENCH_GUESTS.flatMap((guest) => ENGINES.map((engine) => ({ guest, engine })));
}

export async function labBench(o: LabBenchOptions): Promise<LabBenchReport> {
  const progress = o.progress ?? (() => {});
  const loadBefore = loadavg()[0]!;
  const skipped = chromiumMissing();
  if (skipped) progress(`lab_bench: ${skipped}: the browser column is skipped`);
  const lab = skipped ? null : await openLab();
  const rows: LabBenchRow[] = [];
  try {
    for (const { guest, engine } of cases(o)) {
      const setup = setupOf(pairNamed(guest.pair), engine);
      progress(`${guest.pair} ${engine}: CLI…`);
      const cli = await measureCli(setup, o.runs);
      progress(`${guest.pair} ${engine}: lab VM in Node…`);
      const node = await measureNode(setup, o.runs);
      if (lab) progress(`${guest.pair} ${engine}: browser…`);
      const browser = lab ? await measureBrowser(lab.page, setup, o.runs) : null;
      rows.push(rowOf(guest, engine, cli, node, browser));
    }
    const chromiumVersion = lab ? lab.browser.version() : null;
    return {
      machine: { cpu: cpus()[0]?.model ?? "unknown", cores: cpus().length, node: process.version, chromium: chromiumVersion, loadBefore, loadAfter: loadavg()[0]! },
      runs: o.runs, quick: o.quick, browserSkipped: skipped, rows,
    };
  } finally {
    await lab?.close();
  }
}

// ------------------------------------------------------------------ output

function mips(ips: number): string {
  return (ips / 1e6).toFixed(2);
}

function table(header: string[], body: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n");
}

export function formatReport(r: LabBenchReport): string {
  const m = r.machine;
  const head =
    `${m.cpu}, ${m.cores} cores, Node ${m.node}, ${m.chromium ? `Chromium ${m.chromium}` : "no browser"}; ` +
    `load average (1 min) ${m.loadBefore.toFixed(2)} before, ${m.loadAfter.toFixed(2)} after\n` +
    `median of ${r.runs} timed runs after a warm-up; M/s = million guest instructions per second; ` +
    `long tasks: UI-thread tasks over 50 ms during the timed runs (count, longest)`;
  const header = ["guest", "engine", "steps", "CLI M/s", "lab VM Node M/s", "browser M/s", "browser/CLI", "browser/Node", "long tasks", "steps agree"];
  const body = r.rows.map((row) => {
    const b = row.browser;
    return [
      row.guest, row.engine, row.cli.steps.toLocaleString("en-US"), mips(row.cli.ips), mips(row.node.ips),
      b ? mips(b.ips) : "—", row.browserOverCli === null ? "—" : row.browserOverCli.toFixed(2),
      row.browserOverNode === null ? "—" : row.browserOverNode.toFixed(2), b ? `${b.longTasks} (${b.longestTaskMs} ms)` : "—",
      row.stepsAgree ? "yes" : "NO",
    ];
  });
  const skipped = r.browserSkipped ? `\nbrowser skipped: ${r.browserSkipped}` : "";
  return `${head}\n\n${table(header, body)}${skipped}`;
}

/** JSON with bigints as text (none today, but a report must never fail to print). */
function toJson(r: LabBenchReport): string {
  return JSON.stringify(r, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2);
}

interface Args {
  json: boolean;
  quick: boolean;
  runs: number;
}

export function parseArgs(argv: readonly string[]): Args {
  const quick = argv.includes("--quick");
  const at = argv.indexOf("--runs");
  const runs = at >= 0 ? Number(argv[at + 1]) : quick ? 3 : 7;
  if (!Number.isInteger(runs) || runs < 1) throw new Error("bench:lab: --runs must be a positive integer");
  const known = new Set(["--json", "--quick", "--runs"]);
  const unknown = argv.find((a, i) => a.startsWith("--") && !known.has(a) && argv[i - 1] !== "--runs");
  if (unknown) throw new Error(`bench:lab: unknown option ${unknown} (--json, --quick, --runs N)`);
  return { json: argv.includes("--json"), quick, runs };
}

async function main(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv);
  const report = await labBench({ ...args, progress: (l) => process.stderr.write(`${l}\n`) });
  process.stdout.write(`${args.json ? toJson(report) : formatReport(report)}\n`);
  const bad = report.rows.filter((r) => !r.stepsAgree);
  for (const r of bad) process.stderr.write(`bench:lab: ${r.guest} ${r.engine}: the runs ended on different steps (CLI ${r.cli.steps}, Node ${r.node.steps}, browser ${r.browser?.steps ?? "—"})\n`);
  return bad.length > 0 ? 1 : 0;
}

const invokedDirectly = process.argv[1] !== undefined && existsSync(process.argv[1]) && pathToFileURL(realpathSync(process.argv[1])).href === import.meta.url;
if (invokedDirectly) {
  try {
    process.exitCode = await main(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 2;
  }
}
