// The speed module's arithmetic and presentation, free of measurement so it can be tested on fixed
// inputs: MIPS per engine, the ratios (unicorn time / nvlab time) with their spread, the bars
// decided on medians from the jit engine, JitStats as a table, peak RSS, and the MIPS plot.

import type { JitStats } from "../../emulator/jit/stats.ts";
import type { Bar, PlotSpec, Table } from "./types.ts";
import { type Summary, summarize } from "./stats.ts";
import type { SpeedEngine } from "./speed_runs.ts";

/** The printed form of a number nobody measured (no translator yet, no unicorn). */
export const NONE = "—";

/** One workload measured on several engines: the wall time of each repeated run. */
export interface Workload {
  id: string;
  /** What the tables call it, honestly (the CoreMark stand-in is named as what it is). */
  label: string;
  /** Instructions one run retires (nvlab's count; unicorn's runs are credited with the same). */
  instructions: number;
  /** Seconds per run, per engine measured; an engine absent here was not run. */
  seconds: Partial<Record<SpeedEngine, number[]>>;
  /** The jit engine's counters after its last run (null: no translator). */
  jit: JitStats | null;
  /** Every engine ended in the same state (and, for programs, passed its own checks). */
  agrees: boolean;
}

/** A ratio over repeated runs: on the medians, and the extremes the min/max runs allow. */
export interface RatioSpread {
  median: number;
  min: number;
  max: number;
}

export function mipsOf(instructions: number, seconds: readonly number[]): Summary {
  return summarize(seconds.map((s) => instructions / s / 1e6));
}

/**
 * The speed ratio, `unicorn time / nvlab time` (1.0: as fast as unicorn, 0.5: twice its
 * time), on median times; min and max pair the slowest nvlab run with the fastest unicorn run and
 * the other way round.
 */
export function speedRatio(unicornSeconds: readonly number[], nvlabSeconds: readonly number[]): RatioSpread {
  const u = summarize(unicornSeconds);
  const n = summarize(nvlabSeconds);
  return { median: u.median / n.median, min: u.min / n.max, max: u.max / n.min };
}

/** `nvlab time / unicorn time`, the slowdown the issue opens with ("2.7x slower"). */
export function slowdown(r: RatioSpread): RatioSpread {
  return { median: 1 / r.median, min: 1 / r.max, max: 1 / r.min };
}

const r1 = (v: number) => Math.round(v * 10) / 10;
const fix = (v: number, digits: number) => v.toFixed(digits);
export const spreadText = (r: RatioSpread, digits = 2) => `${fix(r.median, digits)} (${fix(r.min, digits)}–${fix(r.max, digits)})`;

export function engineLabel(engine: SpeedEngine, unicornVersion: string | null): string {
  if (engine !== "unicorn") return `nvlab ${engine}`;
  return unicornVersion ? `unicorn ${unicornVersion} (native JIT)` : "unicorn (native JIT)";
}

/** Every number the speed table shows, per workload and engine, for --json. */
export function speedSummary(workloads: readonly Workload[]) {
  return workloads.map((w) => ({
    id: w.id,
    label: w.label,
    instructions: w.instructions,
    agrees: w.agrees,
    engines: Object.fromEntries(
      (["interp", "jit", "unicorn"] as const).flatMap((e) => {
        const s = w.seconds[e];
        if (!s) return [];
        const uc = w.seconds.unicorn;
        const vs = uc && e !== "unicorn" ? speedRatio(uc, s) : null;
        return [[e, { seconds: summarize(s), mips: mipsOf(w.instructions, s), unicornTimeOverNvlabTime: vs, nvlabTimeOverUnicornTime: vs ? slowdown(vs) : null }]];
      }),
    ),
  }));
}

/** The speed table: a row per workload and engine, MIPS with spread and the ratios to unicorn. */
export function speedTable(workloads: readonly Workload[], runs: number, unicornVersion: string | null): Table {
  const rows: (string | number)[][] = [];
  for (const w of workloads) {
    const uc = w.seconds.unicorn;
    for (const engine of ["interp", "jit", "unicorn"] as const) {
      const s = w.seconds[engine];
      if (!s) continue;
      const m = mipsOf(w.instructions, s);
      const t = summarize(s);
      const vs = uc && engine !== "unicorn" ? speedRatio(uc, s) : null;
      rows.push([
        w.label,
        engineLabel(engine, unicornVersion),
        r1(m.median),
        r1(m.min),
        r1(m.max),
        Number(t.median.toFixed(4)),
        vs ? `${fix(slowdown(vs).median, 2)}x` : NONE,
        vs ? spreadText(vs) : NONE,
      ]);
    }
  }
  return {
    title: `Speed per engine (median of ${runs} runs; min–max in brackets)`,
    columns: ["workload", "engine", "MIPS", "min", "max", "seconds", "nvlab time / unicorn time", "unicorn time / nvlab time (min–max)"],
    rows,
  };
}

/** The L2-under-shadow comparison on one nvlab engine: the loop bare and as L2 (MIPS per run). */
export interface L2Comparison {
  engine: "interp" | "jit";
  bareMips: readonly number[];
  l2Mips: readonly number[];
}

/** L2 MIPS / bare MIPS on medians (1.0: no cost; the bar is >= 0.9), with the extremes. */
export function l2Ratio(c: L2Comparison): RatioSpread {
  const b = summarize(c.bareMips);
  const l = summarize(c.l2Mips);
  return { median: l.median / b.median, min: l.min / b.max, max: l.max / b.min };
}

export function l2Table(comparisons: readonly L2Comparison[], runs: number): Table {
  return {
    title: `The bench:cpu loop as L2 under a shadow stage-2 vs bare (median of ${runs} runs)`,
    columns: ["engine", "bare MIPS", "as L2 MIPS", "L2 / bare (min–max)", "slower by"],
    rows: comparisons.map((c) => {
      const r = l2Ratio(c);
      return [`nvlab ${c.engine}`, r1(summarize(c.bareMips).median), r1(summarize(c.l2Mips).median), spreadText(r), `${fix((1 - r.median) * 100, 1)}%`];
    }),
  };
}

/** The bars and goal, in the units they are stated in. */
export const BARS = {
  /** CoreMark (here its stand-in): unicorn time / nvlab time at least this... */
  programRatio: 0.5,
  /** ...and this is the goal reported against. */
  programGoal: 1.0,
  /** bench:cpu loop: nvlab at least as fast as unicorn. */
  loopRatio: 1.0,
  /** L2 under a shadow stage-2 within 10% of bare. */
  l2Ratio: 0.9,
} as const;

export interface BarInputs {
  /** The CoreMark stand-in. */
  program: Workload | null;
  loop: Workload;
  l2: readonly L2Comparison[];
}

interface Judged {
  name: string;
  threshold: string;
  /** Per nvlab engine: the value and whether it passes, or null when it could not be measured. */
  value: Record<"interp" | "jit", { ratio: RatioSpread; pass: boolean } | null>;
  why: string;
  /** A goal beyond the bar, reported against without deciding anything. */
  goal?: number;
}

function judgeAgainstUnicorn(w: Workload | null, bar: number): Judged["value"] {
  const out: Judged["value"] = { interp: null, jit: null };
  const uc = w?.seconds.unicorn;
  for (const e of ["interp", "jit"] as const) {
    const s = w?.seconds[e];
    if (!uc || !s) continue;
    const ratio = speedRatio(uc, s);
    out[e] = { ratio, pass: ratio.median >= bar };
  }
  return out;
}

function judged(inputs: BarInputs): Judged[] {
  const l2: Judged["value"] = { interp: null, jit: null };
  for (const c of inputs.l2) {
    const ratio = l2Ratio(c);
    l2[c.engine] = { ratio, pass: ratio.median >= BARS.l2Ratio };
  }
  const unicornMissing = "unicorn not measured";
  return [
    {
      name: `CoreMark stand-in (cpubench, integer build): unicorn time / nvlab time ≥ ${BARS.programRatio} (goal ${fix(BARS.programGoal, 1)})`,
      threshold: `≥ ${BARS.programRatio}`,
      value: judgeAgainstUnicorn(inputs.program, BARS.programRatio),
      why: inputs.program ? unicornMissing : "the program could not be built",
      goal: BARS.programGoal,
    },
    {
      name: `bench:cpu loop: nvlab ≥ unicorn (unicorn time / nvlab time ≥ ${fix(BARS.loopRatio, 1)})`,
      threshold: `≥ ${fix(BARS.loopRatio, 1)}`,
      value: judgeAgainstUnicorn(inputs.loop, BARS.loopRatio),
      why: unicornMissing,
    },
    {
      name: `L2 under a shadow stage-2 within 10% of bare (L2 MIPS / bare MIPS ≥ ${BARS.l2Ratio})`,
      threshold: `≥ ${BARS.l2Ratio}`,
      value: l2,
      why: "not measured",
    },
  ];
}

/**
 * The bars, decided on medians of the jit engine (the engine the issue is about); the interpreter's
 * standing is the table's information only. A bar that could not be measured fails, saying why.
 */
export function speedBars(inputs: BarInputs): { bars: Bar[]; table: Table } {
  const js = judged(inputs);
  const bars: Bar[] = js.map((j) => {
    const v = j.value.jit;
    if (!v) return { name: `${j.name} [nvlab jit]`, pass: false, detail: `cannot be checked: ${j.why}` };
    const goal = j.goal === undefined ? "" : `; goal ${fix(j.goal, 1)}: ${v.ratio.median >= j.goal ? "met" : "not met"}`;
    return { name: `${j.name} [nvlab jit]`, pass: v.pass, detail: `median ${spreadText(v.ratio)} (min–max over runs)${goal}` };
  });
  const cell = (v: Judged["value"]["jit"]) => (v ? `${spreadText(v.ratio)} ${v.pass ? "PASS" : "FAIL"}` : NONE);
  const table: Table = {
    title: "The issue's bars: decided on the jit engine's medians; interp for information",
    columns: ["bar", "needs", "nvlab jit (min–max)", "nvlab interp (min–max)"],
    rows: js.map((j) => [j.name, j.threshold, cell(j.value.jit), cell(j.value.interp)]),
  };
  return { bars, table };
}

/** One row of the translator table: a workload's JitStats on the jit engine. */
export interface JitRow {
  label: string;
  /** Instructions the run retired, for the share run in translated code. */
  instructions: number;
  jit: JitStats | null;
}

const kib = (bytes: number) => Math.round(bytes / 1024);

export function jitTable(rows: readonly JitRow[]): Table {
  return {
    title: "The translator on each workload (nvlab jit, last run; — where jitStats() reports nothing)",
    columns: ["workload", "compiles", "instructions translated", "compile s", "cache KiB", "cache limit KiB", "evictions", "invalidations", "retired in translated code"],
    rows: rows.map((r) => {
      const j = r.jit;
      if (!j) return [r.label, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE];
      const share = r.instructions > 0 ? `${fix((100 * j.jitInstructions) / r.instructions, 1)}%` : NONE;
      return [r.label, j.compiles, j.instructions, Number(j.compileSeconds.toFixed(4)), kib(j.cacheBytes), kib(j.cacheLimitBytes), j.evictions, j.invalidations, share];
    }),
  };
}

/** Peak memory of one engine running one program alone in a child process. */
export interface RssRow {
  engine: SpeedEngine;
  program: string;
  /** Resident set after loading the program, before running it, KiB. */
  baselineKiB: number;
  /** Peak resident set of the whole child process, KiB. */
  peakKiB: number;
  seconds: number;
}

const mib = (k: number) => Math.round((k / 1024) * 10) / 10;

export function rssTable(rows: readonly RssRow[], unicornVersion: string | null): Table {
  return {
    title: "Peak memory: each engine alone in a child process (node + tsx), same program",
    columns: ["engine", "program", "RSS before the run MiB", "peak RSS MiB", "growth during the run MiB", "run s"],
    rows: rows.map((r) => [engineLabel(r.engine, unicornVersion), r.program, mib(r.baselineKiB), mib(r.peakKiB), mib(r.peakKiB - r.baselineKiB), Number(r.seconds.toFixed(3))]),
  };
}

/** MIPS per engine per workload (median), grouped by workload. */
export function mipsPlot(workloads: readonly Workload[], unicornVersion: string | null): PlotSpec {
  const values = workloads.flatMap((w) =>
    (["interp", "jit", "unicorn"] as const).flatMap((e) => {
      const s = w.seconds[e];
      return s ? [{ workload: w.label, engine: engineLabel(e, unicornVersion), mips: r1(mipsOf(w.instructions, s).median) }] : [];
    }),
  );
  return {
    name: "cpu_speed_engines",
    title: "MIPS per engine per workload (median; higher is better)",
    spec: {
      $schema: "https://vega.github.io/schema/vega-lite/v6.json",
      width: 480,
      data: { values },
      mark: "bar",
      encoding: {
        y: { field: "workload", type: "nominal", sort: null, title: null },
        yOffset: { field: "engine", type: "nominal", sort: null },
        x: { field: "mips", type: "quantitative", title: "MIPS" },
        color: { field: "engine", type: "nominal", sort: null, title: "engine" },
      },
    },
  };
}
