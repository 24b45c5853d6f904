// bench/out/: report.md (tables, embedded plots, bars, notes), results.json and one SVG per plot.

import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Machine, busyWarning, machineLine } from "./machine.ts";
import { renderSvg } from "./plot.ts";
import { markdownTable } from "./table.ts";
import type { Bar, BenchResult } from "./types.ts";

/** Everything one `npm run bench` produced. */
export interface Run {
  machine: Machine;
  /** ISO-8601 UTC time the run started. */
  date: string;
  seed: number;
  /** The command that reproduces this run. */
  command: string;
  quick: boolean;
  results: BenchResult[];
  /** Benchmark modules that were not run, with the reason (missing file, not selected…). */
  skipped: { id: string; reason: string }[];
  /** Benchmarks that threw instead of returning a result. */
  errors: { id: string; error: string }[];
}

export interface WrittenPlot {
  bench: string;
  name: string;
  title: string;
  /** File name under the output directory, or null when rendering failed. */
  file: string | null;
  error?: string;
}

export interface BarOutcome extends Bar {
  bench: string;
}

export function allBars(run: Run): BarOutcome[] {
  return run.results.flatMap((r) => r.bars.map((b) => ({ bench: r.id, ...b })));
}

export const passMark = (pass: boolean) => (pass ? "PASS" : "FAIL");

/** A run passes when every bar passes and no benchmark threw or failed to plot. */
export function runPasses(run: Run, plots: WrittenPlot[]): boolean {
  return run.errors.length === 0 && plots.every((p) => p.file !== null) && allBars(run).every((b) => b.pass);
}

/** Plot file stems are unique within a run: a name two benchmarks share is prefixed with the benchmark id. */
function plotFiles(run: Run): { bench: string; plot: BenchResult["plots"][number]; stem: string }[] {
  const count = new Map<string, number>();
  for (const r of run.results) for (const p of r.plots) count.set(p.name, (count.get(p.name) ?? 0) + 1);
  return run.results.flatMap((r) => r.plots.map((plot) => ({ bench: r.id, plot, stem: count.get(plot.name)! > 1 ? `${r.id}-${plot.name}` : plot.name })));
}

export async function renderPlots(run: Run, outDir: string): Promise<WrittenPlot[]> {
  const written: WrittenPlot[] = [];
  for (const { bench, plot, stem } of plotFiles(run)) {
    try {
      const svg = await renderSvg(plot);
      const file = `${stem}.svg`;
      writeFileSync(join(outDir, file), svg);
      written.push({ bench, name: plot.name, title: plot.title, file });
    } catch (e) {
      written.push({ bench, name: plot.name, title: plot.title, file: null, error: e instanceof Error ? e.message : String(e) });
    }
  }
  return written;
}

export function reportMarkdown(run: Run, plots: WrittenPlot[]): string {
  const out: string[] = [];
  const busy = busyWarning(run.machine);
  out.push("# nvlab benchmark report", "");
  out.push(`- Date: ${run.date}`);
  out.push(`- Machine: ${machineLine(run.machine)}`);
  if (busy) out.push(`- Warning: ${busy}`);
  out.push(`- Seed: ${run.seed}`);
  out.push(`- Mode: ${run.quick ? "quick (small sizes, few repeats; bars are informational)" : "full"}`);
  out.push(`- Command: \`${run.command}\``, "");

  const bars = allBars(run);
  out.push("## Bars", "");
  if (bars.length === 0) out.push("No bars were checked in this run.");
  for (const b of bars) out.push(`- **${passMark(b.pass)}** (${b.bench}) ${b.name}: ${b.detail}`);
  if (run.quick && bars.length > 0) out.push("", "Quick mode: these bars are measured on reduced workloads and are informational only.");
  out.push("");

  for (const r of run.results) {
    out.push(`## ${r.title}`, "", `Benchmark id: \`${r.id}\``, "");
    for (const t of r.tables) out.push(`### ${t.title}`, "", markdownTable(t), "");
    for (const p of plots.filter((p) => p.bench === r.id)) {
      out.push(p.file ? `![${p.title}](${p.file})` : `Plot "${p.title}" could not be rendered: ${p.error}`, "");
    }
    if (r.bars.length > 0) {
      out.push("Bars:", "");
      for (const b of r.bars) out.push(`- **${passMark(b.pass)}** ${b.name}: ${b.detail}`);
      out.push("");
    }
    if (r.notes.length > 0) {
      out.push("Notes:", "");
      for (const n of r.notes) out.push(`- ${n}`);
      out.push("");
    }
  }

  if (run.errors.length > 0) {
    out.push("## Benchmarks that failed", "");
    for (const e of run.errors) out.push(`- \`${e.id}\`: ${e.error}`);
    out.push("");
  }
  if (run.skipped.length > 0) {
    out.push("## Not run", "");
    for (const s of run.skipped) out.push(`- \`${s.id}\`: ${s.reason}`);
    out.push("");
  }
  return out.join("\n");
}

/** The machine-readable form of a run: stdout with --json, and results.json. */
export function runJson(run: Run, plots: WrittenPlot[]) {
  return {
    date: run.date,
    machine: run.machine,
    seed: run.seed,
    command: run.command,
    quick: run.quick,
    pass: runPasses(run, plots),
    bars: allBars(run),
    benchmarks: run.results.map((r) => ({
      id: r.id,
      title: r.title,
      tables: r.tables,
      plots: plots.filter((p) => p.bench === r.id).map(({ name, title, file, error }) => ({ name, title, file, ...(error ? { error } : {}) })),
      bars: r.bars,
      notes: r.notes,
      data: r.data,
    })),
    skipped: run.skipped,
    errors: run.errors,
  };
}

/** JSON text that tolerates bigint measurements (as numbers when exact, else as decimal strings). */
export function jsonText(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString()) : v), 2);
}

/**
 * Replaces the previous report in `outDir` (old SVGs are removed so the directory only holds
 * plots of this run) and returns what was written.
 */
export async function writeReport(run: Run, outDir: string): Promise<{ plots: WrittenPlot[]; json: ReturnType<typeof runJson> }> {
  mkdirSync(outDir, { recursive: true });
  for (const f of readdirSync(outDir)) if (f.endsWith(".svg")) rmSync(join(outDir, f));
  const plots = await renderPlots(run, outDir);
  const json = runJson(run, plots);
  writeFileSync(join(outDir, "report.md"), reportMarkdown(run, plots));
  writeFileSync(join(outDir, "results.json"), jsonText(json) + "\n");
  return { plots, json };
}
