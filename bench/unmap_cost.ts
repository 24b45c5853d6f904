// Canonical unmap cost per strategy (full, revmap, accel, rfc-rbtree) on a workload of many L2
// contexts, each with its own shadow MMU and mappings built through L0's real shadow-fault path:
// (1) vs the number of valid shadow MMUs, for a page mapped by one MMU, by a few and by all;
// (2) vs the pages each MMU maps, at a fixed MMU count. Per unmap: MMUs visited, shadow entries
// removed, lookups examined, shadow faults that follow, wall time; ratios against `full`.

import { accelOf, accelStale } from "../hypervisor/unmap/accel.ts";
import { mmusPerBitPower } from "../hypervisor/unmap/accel_bits.ts";
import { revmapOf } from "../hypervisor/unmap/revmap.ts";
import { RfcRbtreeStrategy } from "../hypervisor/unmap/rfc_rbtree.ts";
import { kvmUnmapGfnRange } from "../hypervisor/mmu.ts";
import { Metrics, type SampleName } from "../hypervisor/metrics.ts";
import type { UnmapStrategyName } from "../hypervisor/vm.ts";
import { median, summarize, type Summary } from "./lib/stats.ts";
import { linePlot } from "./lib/plot.ts";
import type { Bar, Bench, BenchContext, BenchResult, PlotSpec, Table } from "./lib/types.ts";
import { ContextsWorkload, PAGE } from "./lib/workload_contexts.ts";

export const STRATEGIES: UnmapStrategyName[] = ["full", "revmap", "accel", "rfc-rbtree"];
export type Sharing = "one" | "few" | "all";
/** MMUs that map a "few" page. */
const FEW = 4;
/** Pages each context maps in the MMU-count sweep (page 0: all, page 1: few, the rest private). */
const PAGES_PER_MMU = 16;
/** From this many pages per MMU a repeat costs a million shadow faults (full refaults them all): two repeats only. */
const BIG_PAGES = 65536;
/** MMU count of the pages-per-MMU sweep. */
const SWEEP_MMUS = 16;

/** A deterministic 32-bit generator (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface UnmapSample {
  visited: number;
  removed: number;
  /** Lookups the strategy made: full = shadow leaves walked, revmap/accel = ranges intersected (+ accel tree ranges), rfc = exact-key lookups. */
  examined: number;
  refaults: number;
  /** Shadow leaves still built from the unmapped page afterwards (should be 0). */
  missed: number;
  /** Seconds for kvmUnmapGfnRange, as called. */
  seconds: number;
  /** The same minus the stale-state diagnostics the revmap/accel unmaps compute for metrics. */
  netSeconds: number;
}

export interface CaseResult {
  strategy: UnmapStrategyName;
  mmus: number;
  pagesPerMmu: number;
  sharing: Sharing;
  /** Power p of the accelerator (2^p MMUs per bit). */
  p: number;
  samples: UnmapSample[];
  visited: number;
  removed: number;
  examined: number;
  refaults: number;
  missed: number;
  time: Summary;
  netTime: Summary;
  /** Accelerator stale bits after the unmaps (max sampled). */
  staleBits: number;
  /** Microseconds per shadow fault while populating (includes the strategy's record). */
  faultMicros: number;
}

/** Layout of the MMU-count sweep: page 0 shared by all, page 1 by FEW MMUs spread over the index range, pages ≥ 2 private. */
function sweepLayout(n: number, pages: number) {
  const groups = Math.max(1, Math.ceil(n / FEW));
  return {
    dataPages: 1 + groups + n * (pages - 2),
    canonPage: (i: number, k: number) => (k === 0 ? 0 : k === 1 ? 1 + (i % groups) : 1 + groups + i * (pages - 2) + (k - 2)),
    sharers: (sharing: Sharing, i: number) =>
      sharing === "one" ? [i] : sharing === "all" ? [...Array(n).keys()] : [...Array(n).keys()].filter((j) => j % groups === i % groups),
    page: (sharing: Sharing, r: () => number) => (sharing === "all" ? 0 : sharing === "few" ? 1 : 2 + Math.floor(r() * (pages - 2))),
  };
}

/** Layout of the pages-per-MMU sweep: page 0 private to each MMU, pages ≥ 1 common to all (keeps host memory small). */
function pagesLayout(n: number, pages: number) {
  return {
    dataPages: n + pages,
    canonPage: (i: number, k: number) => (k === 0 ? i : n + k),
    sharers: (_s: Sharing, i: number) => [i],
    page: () => 0,
  };
}

function examinedBefore(w: ContextsWorkload, strategy: UnmapStrategyName, gpa: bigint): number {
  const last = gpa + PAGE - 1n;
  const mmus = w.kvm.nestedMmus.filter((m) => m.valid);
  switch (strategy) {
    case "full":
      return mmus.reduce((s, m) => s + m.pgt.leafCount, 0);
    case "revmap":
      return mmus.reduce((s, m) => s + (revmapOf(m)?.revmap?.intersecting(gpa, last).length ?? 0), 0);
    case "accel":
      return (accelOf(w.kvm)?.tree?.intersecting(gpa, last).length ?? 0) + mmus.reduce((s, m) => s + (revmapOf(m)?.revmap?.intersecting(gpa, last).length ?? 0), 0);
    case "rfc-rbtree": {
      const rfc = w.kvm.unmap as RfcRbtreeStrategy;
      return mmus.filter((m) => rfc.tree(m).size > 0).length;
    }
  }
}

/**
 * Clock marks around the stale-state scans revmap and accel run inside every canonical unmap only
 * to feed their metrics: the visit record comes right after the unmap's own work, the last stale
 * sample right after the scans. Wraps this Metrics instance's methods (the benchmark's clock only).
 */
function instrument(m: Metrics, strategy: UnmapStrategyName): { visit: bigint; diagDone: bigint } {
  const marks = { visit: 0n, diagDone: 0n };
  const lastDiag = strategy === "accel" ? "accel.staleRanges" : strategy === "revmap" ? "revmap.staleEntries" : null;
  if (!lastDiag) return marks;
  m.recordUnmapVisit = (n: number) => {
    Metrics.prototype.recordUnmapVisit.call(m, n);
    marks.visit = process.hrtime.bigint();
  };
  m.sample = (name: SampleName, value: number) => {
    Metrics.prototype.sample.call(m, name, value);
    if (name === lastDiag) marks.diagDone = process.hrtime.bigint();
  };
  return marks;
}

/** Run `repeats` single-page unmaps of each sharing kind on one populated world. */
function runCases(
  strategy: UnmapStrategyName,
  n: number,
  pages: number,
  layout: ReturnType<typeof sweepLayout>,
  kinds: Sharing[],
  repeats: number,
  seed: number,
): CaseResult[] {
  const w = new ContextsWorkload({ strategy, contexts: n, pagesPerContext: pages, dataPages: layout.dataPages, canonPage: layout.canonPage });
  const t0 = process.hrtime.bigint();
  w.populate();
  const faultMicros = Number(process.hrtime.bigint() - t0) / 1e3 / (n * pages);
  const r = rng(seed);
  const m = w.kvm.metrics;
  const marks = instrument(m, strategy);
  const out: CaseResult[] = [];
  for (const sharing of kinds) {
    const samples: UnmapSample[] = [];
    let staleBits = 0;
    // One untimed unmap first, so the JIT has compiled this path (skipped on big worlds, where full's refault of everything is costly).
    for (let rep = n * pages <= 4096 ? -1 : 0; rep < repeats; rep++) {
      const owner = Math.floor(r() * n);
      const k = layout.page(sharing, r);
      const gpa = w.contexts[owner]!.canon[k]!;
      const sharers = layout.sharers(sharing, owner);
      const examined = examinedBefore(w, strategy, gpa);
      const removed0 = m.shadowEntriesRemoved;
      marks.visit = marks.diagDone = 0n;
      const t = process.hrtime.bigint();
      kvmUnmapGfnRange(w.kvm, gpa, PAGE);
      const end = process.hrtime.bigint();
      const seconds = Number(end - t) / 1e9;
      // Measured outside the timed unmap (the workload runs with config.staleStats off).
      if (strategy === "accel") staleBits = Math.max(staleBits, accelStale(w.kvm).bits);
      // The stale-state scans run between the visit record and the last stale sample.
      const diag = marks.diagDone > marks.visit && marks.visit > 0n ? Number(marks.diagDone - marks.visit) / 1e9 : 0;
      const visited = m.shadowMmusVisited[m.shadowMmusVisited.length - 1] ?? 0;
      const removed = m.shadowEntriesRemoved - removed0;
      const missed = sharers.filter((i) => w.mapped(i, k)).length;
      const refaults = w.refault();
      if (rep >= 0) samples.push({ visited, removed, examined, refaults, missed, seconds, netSeconds: Math.max(seconds - diag, 0) });
    }
    out.push({
      strategy, mmus: n, pagesPerMmu: pages, sharing, p: accelOf(w.kvm)?.power ?? mmusPerBitPower(w.kvm.nestedMmus.length), samples,
      visited: median(samples.map((s) => s.visited)),
      removed: median(samples.map((s) => s.removed)),
      examined: median(samples.map((s) => s.examined)),
      refaults: median(samples.map((s) => s.refaults)),
      missed: Math.max(...samples.map((s) => s.missed)),
      time: summarize(samples.map((s) => s.seconds)),
      netTime: summarize(samples.map((s) => s.netSeconds)),
      staleBits,
      faultMicros,
    });
  }
  return out;
}

const us = (s: number): string => (s * 1e6 < 10 ? (s * 1e6).toFixed(2) : (s * 1e6).toFixed(0));
const x = (a: number, b: number): string => (b === 0 ? (a === 0 ? "1.0x" : "inf") : `${(a / b >= 100 ? (a / b).toFixed(0) : (a / b).toFixed(1))}x`);

function caseRows(results: CaseResult[], key: (c: CaseResult) => string): (string | number)[][] {
  return results.map((c) => {
    const full = results.find((f) => f.strategy === "full" && key(f) === key(c))!;
    return [
      c.mmus, c.pagesPerMmu, c.sharing, c.strategy, c.p, c.visited, x(full.visited, c.visited), c.examined, c.removed, c.refaults, c.missed,
      us(c.netTime.median), `${us(c.netTime.min)}–${us(c.netTime.max)}`, us(c.time.median), x(full.netTime.median, c.netTime.median), c.staleBits,
    ];
  });
}

const COLUMNS = [
  "MMUs", "pages/MMU", "mapped by", "strategy", "p", "MMUs visited", "fewer MMUs than full", "lookups", "shadow entries removed", "refaults",
  "missed leaves", "µs/unmap (net, median)", "net min–max µs", "µs/unmap (as called)", "faster than full (net)", "accel stale bits",
];

function casePlot(name: string, title: string, results: CaseResult[], xField: "mmus" | "pagesPerMmu", xTitle: string, y: (c: CaseResult) => number, yTitle: string): PlotSpec {
  const points = results.map((c) => ({ x: c[xField], y: Math.max(y(c), 1e-3), series: c.strategy }));
  return linePlot(name, title, points, { x: xTitle, y: yTitle, series: "strategy", logY: true });
}

export interface UnmapCostSizes {
  mmuCounts: number[];
  pageCounts: number[];
  repeats: number;
  /** Repeats in the pages-per-MMU sweep (each full unmap there refaults every page). */
  pageRepeats: number;
  sweepMmus: number;
  pagesPerMmu: number;
  /** MMU counts whose shadow-fault cost is measured (one with p = 0, one with p > 0). */
  faultMmus: number[];
}

export function sizes(quick: boolean): UnmapCostSizes {
  return quick
    ? { mmuCounts: [1, 4, 16, 64, 256], pageCounts: [64, 256, 1024, 4096], repeats: 3, pageRepeats: 2, sweepMmus: 8, pagesPerMmu: PAGES_PER_MMU, faultMmus: [16, 128] }
    : { mmuCounts: [1, 2, 4, 8, 16, 32, 62, 64, 128, 256, 512, 1024], pageCounts: [64, 256, 1024, 4096, 16384, 65536], repeats: 5, pageRepeats: 3, sweepMmus: SWEEP_MMUS, pagesPerMmu: PAGES_PER_MMU, faultMmus: [16, 256, 1024] };
}

export interface FaultCost {
  mmus: number;
  strategy: UnmapStrategyName;
  /** Microseconds per shadow fault while every context touches all its pages (host backing fault-in included). */
  micros: Summary;
}

/** Shadow-fault cost with each strategy's record (full records nothing): populate, repeated, strategies interleaved. */
export function faultCost(counts: number[], pages: number, repeats: number): FaultCost[] {
  const runs = new Map<string, number[]>();
  for (let rep = 0; rep < repeats; rep++) {
    for (const n of counts) {
      for (const s of STRATEGIES) {
        const layout = sweepLayout(n, pages);
        const w = new ContextsWorkload({ strategy: s, contexts: n, pagesPerContext: pages, dataPages: layout.dataPages, canonPage: layout.canonPage });
        const t = process.hrtime.bigint();
        w.populate();
        const micros = Number(process.hrtime.bigint() - t) / 1e3 / (n * pages);
        const key = `${n}/${s}`;
        runs.set(key, [...(runs.get(key) ?? []), micros]);
      }
    }
  }
  return counts.flatMap((n) => STRATEGIES.map((s) => ({ mmus: n, strategy: s, micros: summarize(runs.get(`${n}/${s}`)!) })));
}

export async function runUnmapCost(ctx: BenchContext, z: UnmapCostSizes) {
  // Warm the fault and unmap paths of every strategy before anything is timed.
  for (const s of STRATEGIES) runCases(s, 4, 16, sweepLayout(4, 16), ["one", "all"], 2, ctx.seed);
  const byMmus: CaseResult[] = [];
  for (const n of z.mmuCounts) {
    ctx.progress(`unmap-cost: ${n} MMUs x ${z.pagesPerMmu} pages`);
    for (const s of STRATEGIES) byMmus.push(...runCases(s, n, z.pagesPerMmu, sweepLayout(n, z.pagesPerMmu), ["one", "few", "all"], z.repeats, ctx.seed + n));
  }
  const byPages: CaseResult[] = [];
  for (const pages of z.pageCounts) {
    ctx.progress(`unmap-cost: ${z.sweepMmus} MMUs x ${pages} pages`);
    for (const s of STRATEGIES) byPages.push(...runCases(s, z.sweepMmus, pages, pagesLayout(z.sweepMmus, pages), ["one"], pages >= BIG_PAGES ? Math.min(2, z.pageRepeats) : z.pageRepeats, ctx.seed + pages));
  }
  ctx.progress("unmap-cost: shadow fault cost per strategy");
  const faults = faultCost(z.faultMmus, z.pagesPerMmu, z.repeats);
  return { byMmus, byPages, faults };
}

export const bench: Bench = async (ctx) => {
  const z = sizes(ctx.quick);
  return unmapCostResult(z, await runUnmapCost(ctx, z));
};

/** Tables, plots, bars and notes from the measurements. */
export function unmapCostResult(z: UnmapCostSizes, measured: Awaited<ReturnType<typeof runUnmapCost>>): BenchResult {
  const { byMmus, byPages, faults } = measured;
  const one = byMmus.filter((c) => c.sharing === "one");
  const tables: Table[] = [
    { title: "Canonical unmap of one 4K page vs valid shadow MMUs (ratios against full, same run)", columns: COLUMNS, rows: caseRows(byMmus, (c) => `${c.mmus}/${c.sharing}`) },
    { title: `Canonical unmap of a page mapped by one MMU vs pages per MMU (${z.sweepMmus} MMUs)`, columns: COLUMNS, rows: caseRows(byPages, (c) => `${c.pagesPerMmu}`) },
  ];
  // Shadow-fault cost with and without the strategy's record (full records nothing).
  const faultRows = z.faultMmus.map((n) => {
    const f = (s: UnmapStrategyName) => faults.find((c) => c.mmus === n && c.strategy === s)!.micros;
    return [n, ...STRATEGIES.map((s) => `${f(s).median.toFixed(1)} (${f(s).min.toFixed(1)}–${f(s).max.toFixed(1)})`), x(f("revmap").median, f("full").median), x(f("accel").median, f("full").median)];
  });
  tables.push({
    title: `Shadow fault cost while populating ${z.pagesPerMmu} pages per MMU (µs per fault incl. host backing fault-in; median (min–max) of ${z.repeats})`,
    columns: ["MMUs", ...STRATEGIES.map((s) => `${s} µs/fault`), "revmap / full", "accel / full"],
    rows: faultRows,
  });

  const plots: PlotSpec[] = [
    casePlot("unmap-cost-mmus-visited", "MMUs visited per unmap (page mapped by one MMU)", one, "mmus", "valid shadow MMUs", (c) => c.visited, "MMUs visited"),
    casePlot("unmap-cost-mmus-time", "µs per canonical unmap (page mapped by one MMU, net)", one, "mmus", "valid shadow MMUs", (c) => c.netTime.median * 1e6, "µs per unmap"),
    casePlot("unmap-cost-mmus-refaults", "Shadow refaults after one unmap (page mapped by one MMU)", one, "mmus", "valid shadow MMUs", (c) => c.refaults, "refaults"),
    casePlot("unmap-cost-pages-time", `µs per canonical unmap vs pages per MMU (${z.sweepMmus} MMUs)`, byPages, "pagesPerMmu", "pages mapped per MMU", (c) => c.netTime.median * 1e6, "µs per unmap"),
  ];

  const bars: Bar[] = [];
  const at = (n: number, s: UnmapStrategyName) => one.find((c) => c.mmus === n && c.strategy === s);
  // The design's own limit: a page one MMU maps is flagged by one bit, and a bit stands for 2^p MMUs.
  const accelOne = one.filter((c) => c.strategy === "accel");
  if (accelOne.length) {
    bars.push({
      name: "page mapped by one MMU: accel visits exactly its flagged group, 2^p MMUs (1 at <= 62 MMUs)",
      pass: accelOne.every((c) => c.visited === 2 ** c.p),
      detail: accelOne.map((c) => `${c.mmus}: ${c.visited} (2^${c.p} = ${2 ** c.p})`).join(", "),
    });
  }
  const a256 = at(256, "accel");
  const f256 = at(256, "full");
  if (a256 && f256) {
    const fewer = f256.visited / Math.max(a256.visited, 1);
    const bound = 256 / 2 ** a256.p;
    bars.push({
      name: `256 MMUs, page mapped by one: accel visits 256 / 2^p = ${bound}x fewer MMUs than full`,
      pass: f256.visited === 256 && a256.visited === 2 ** a256.p && fewer === bound,
      detail: `full ${f256.visited}, accel ${a256.visited} (p = ${a256.p}: ${2 ** a256.p} MMUs per bit): ${fewer.toFixed(1)}x`,
    });
    const faster = f256.netTime.median / a256.netTime.median;
    const fasterRaw = f256.time.median / a256.time.median;
    bars.push({
      name: "256 MMUs, page mapped by one: accel >= 10x faster per unmap than full",
      pass: faster >= 10,
      detail: `net of stale diagnostics: full ${us(f256.netTime.median)} µs, accel ${us(a256.netTime.median)} µs = ${faster.toFixed(1)}x; as called (incl. the stale scans accel runs for metrics): ${fasterRaw.toFixed(1)}x`,
    });
  }

  const notes: string[] = [
    "MMUs visited: the distinct shadow MMUs a canonical unmap looks at. full, revmap and rfc-rbtree look at every valid MMU; accel at every MMU of each group whose bit a canonical-tree range over the unmapped page holds (2^p MMUs per set bit, valid or not), and at no other. Seed 000's loop runs once per range, set bit and MMU of the group: a page inside one recorded range is flagged by one bit per group that maps it, so for a page one MMU maps the loop runs 2^p times, on the 2^p MMUs of that MMU's group.",
  ];
  // Stale bits are sampled after every unmap of a world; its last case ("all") holds the maximum.
  const staleAfter = (n: number) => Math.max(0, ...byMmus.filter((c) => c.strategy === "accel" && c.mmus === n).map((c) => c.staleBits));
  const grouped = one.filter((c) => c.strategy === "accel" && c.p > 0);
  if (grouped.length) {
    notes.push(
      `Past 62 MMUs the accelerator groups 2^p MMUs per bit: ${grouped.map((c) => `${c.mmus} MMUs → p=${c.p}: ${c.visited} visited for a page one MMU maps, up to ${staleAfter(c.mmus)} stale bits after ${3 * z.repeats} unmaps`).join("; ")}. With p > 0 no bit is ever cleared, so stale bits accumulate (with p = 0: ${staleAfter(one.find((c) => c.p === 0)?.mmus ?? 0)}).`,
    );
  }
  const f = faultRows[faultRows.length - 1];
  if (f) notes.push(`Fault-time cost of the bookkeeping (${f[0]} MMUs): full ${f[1]} µs, revmap ${f[2]} µs, accel ${f[3]} µs, rfc-rbtree ${f[4]} µs per shadow fault (revmap/full ${f[5]}, accel/full ${f[6]}).`);
  const allAccel = byMmus.filter((c) => c.sharing === "all" && c.strategy === "accel");
  const last = allAccel[allAccel.length - 1];
  if (last) {
    const full = byMmus.find((c) => c.sharing === "all" && c.strategy === "full" && c.mmus === last.mmus)!;
    notes.push(`A page mapped by all ${last.mmus} MMUs: accel visits ${last.visited} MMUs (full ${full.visited}); time ${us(last.netTime.median)} vs ${us(full.netTime.median)} µs; refaults ${last.refaults} vs ${full.refaults}.`);
  }
  notes.push("By default revmap and accel sample stale-entry/stale-bit metrics inside every canonical unmap: a scan of every MMU's revmap and shadow leaves, as costly as a full unmap. These timing runs turn that off (config.staleStats = false) and count stale bits outside the timed unmap, so 'net' and 'as called' agree; a run with the sampling on pays it on every unmap.");
  const rfcMissed = byMmus.concat(byPages).filter((c) => c.strategy === "rfc-rbtree" && c.missed > 0);
  notes.push(rfcMissed.length ? `rfc-rbtree missed shadow leaves in ${rfcMissed.length} cases.` : "rfc-rbtree missed no leaf here: this workload maps 4K pages, each canonical page once per MMU (its misses need 2M shadow leaves or a canonical page mapped twice in one MMU; see the random-sequence tests).");
  notes.push(`The pages-per-MMU sweep keeps host memory small: page 0 of each MMU is private (the one unmapped), the others are common to all ${z.sweepMmus} MMUs.`);
  if (z.pageCounts.some((p) => p >= BIG_PAGES)) notes.push(`At ${BIG_PAGES.toLocaleString("en-US")} pages per MMU (${(BIG_PAGES * z.sweepMmus).toLocaleString("en-US")} shadow leaves) the sweep takes 2 repeats only: each full unmap there is followed by as many refaults.`);

  return { id: "unmap-cost", title: "Canonical unmap cost vs shadow MMUs and pages per MMU", tables, plots, bars, notes, data: { sizes: z, byMmus, byPages, faults } };
}
