// Benchmark 3 of issue 5: how good the reverse maps stay over a long run. L1 runs its L2 guests
// on L0's real paths (bench/lib/l0_driver_revmap.ts): shadow faults, L1 moving and ballooning
// pages with IPAS2E1IS / RIPAS2E1IS / VMALLS12E1IS, and the host taking canonical pages back.
// Part 1 samples the bookkeeping every K operations — stale revmap entries, polluted ranges,
// broken revmaps, accelerator stale bits, entries kept — for revmap and accel as the seeds are
// written (L1's TLBIs leave the records alone) and as v3 of the series does it (TLBIs remove the
// entries of the leaves they remove, by a scan or through the direct map), and measures what
// canonical unmaps pay for it. Part 2 fails a fraction of revmap stores and counts the fallback
// full unmaps that follow.

import { summarize } from "./lib/stats.ts";
import { generateWorkload, type QualitySample, type RevmapWorkloadOptions, RevmapWorld, sampleQuality, type UnmapCost } from "./lib/l0_driver_revmap.ts";
import type { Bench, BenchContext, PlotSpec, Table } from "./lib/types.ts";
import { revmapOf } from "../hypervisor/unmap/revmap.ts";
import type { VmConfig } from "../hypervisor/vm.ts";

interface NamedConfig {
  name: string;
  config: Partial<VmConfig>;
}

/** Each strategy as the seeds are written (TLBIs leave its records), then with v3's TLBI removal (a scan, then the direct map). */
export const QUALITY_CONFIGS: NamedConfig[] = [
  { name: "revmap (seed)", config: { unmap: "revmap", directMap: false, revmapTlbi: "seed" } },
  { name: "revmap (v3)", config: { unmap: "revmap", directMap: false, revmapTlbi: "v3" } },
  { name: "revmap (v3) + directMap", config: { unmap: "revmap", directMap: true, revmapTlbi: "v3" } },
  { name: "accel (seed)", config: { unmap: "accel", directMap: false, revmapTlbi: "seed" } },
  { name: "accel (v3)", config: { unmap: "accel", directMap: false, revmapTlbi: "v3" } },
  { name: "accel (v3) + directMap", config: { unmap: "accel", directMap: true, revmapTlbi: "v3" } },
];
/** The baseline: no bookkeeping to go stale, every canonical unmap empties every MMU. */
const FULL: NamedConfig = { name: "full", config: { unmap: "full" } };

export const FAILURE_RATES = [0, 0.001, 0.01, 0.05, 0.2];
const FAILURE_STRATEGIES: NamedConfig[] = [
  { name: "revmap (seed)", config: { unmap: "revmap" } },
  { name: "accel (seed)", config: { unmap: "accel" } },
];

/** Four long-lived guests, one shadow MMU each: nothing recycles, so staleness can only grow. */
export function qualityWorkload(seed: number, ops: number): RevmapWorkloadOptions {
  return { seed, contexts: 4, nestedPages: 128, canonicalPages: 1024, ops, burst: 40 };
}

/** Six guests on four shadow MMUs: recycling hands broken MMUs a fresh revmap now and then. */
export function failureWorkload(seed: number, ops: number): RevmapWorkloadOptions {
  return { seed, contexts: 6, nestedPages: 128, canonicalPages: 1024, ops, burst: 100 };
}
const FAILURE_MMUS = 4;

// ------------------------------------------------------------------ part 1: quality over time

export interface QualityRun {
  config: string;
  seed: number;
  samples: QualitySample[];
  unmaps: UnmapCost[];
  shadowFaults: number;
  pollutedRecords: number;
  directMapErased: number;
  /** VMALLS12E1IS in the sequence: each empties one MMU (and with v3 its revmap). */
  vmalls: number;
  seconds: number;
}

const sum = (u: UnmapCost[], k: keyof UnmapCost): number => u.reduce((s, c) => s + c[k], 0);

export function runQuality(c: NamedConfig, seed: number, ops: number, every: number): QualityRun {
  const w = generateWorkload(qualityWorkload(seed, ops));
  const t0 = process.hrtime.bigint();
  let sampling = 0n;
  const world = new RevmapWorld(w, c.config);
  const samples: QualitySample[] = [sampleQuality(world.kvm, 0)];
  w.ops.forEach((o, i) => {
    world.apply(o);
    if ((i + 1) % every === 0 || i + 1 === w.ops.length) {
      const s0 = process.hrtime.bigint();
      if (samples[samples.length - 1]!.ops !== i + 1) samples.push(sampleQuality(world.kvm, i + 1));
      sampling += process.hrtime.bigint() - s0;
    }
  });
  const m = world.kvm.metrics;
  return {
    config: c.name,
    seed,
    samples,
    unmaps: world.unmaps,
    shadowFaults: m.shadowFaults,
    pollutedRecords: m.get("revmap.polluted"),
    directMapErased: m.get("revmap.directMapErased"),
    vmalls: w.ops.filter((o) => o.op === "vmalls").length,
    seconds: Number(process.hrtime.bigint() - t0 - sampling - world.measureNs) / 1e9,
  };
}

// ------------------------------------------------------------------ part 2: allocation failures

export interface FailureRun {
  strategy: string;
  rate: number;
  seed: number;
  storesAttempted: number;
  storesFailed: number;
  canonicalUnmaps: number;
  fallbackFullUnmaps: number;
  shadowEntriesRemoved: number;
  neededRemovals: number;
  shadowFaults: number;
  mmusRecycled: number;
  brokenAtEnd: number;
}

export function runFailures(c: NamedConfig, rate: number, seed: number, ops: number): FailureRun {
  const w = generateWorkload(failureWorkload(seed, ops));
  const world = new RevmapWorld(w, { ...c.config, nestedMmus: FAILURE_MMUS }, { rate, seed: (seed ^ 0x5a5a_5a5a) >>> 0 });
  for (const o of w.ops) world.apply(o);
  const m = world.kvm.metrics;
  return {
    strategy: c.name,
    rate,
    seed,
    storesAttempted: world.storesAttempted,
    storesFailed: world.storesFailed,
    canonicalUnmaps: m.canonicalUnmaps,
    fallbackFullUnmaps: m.get("revmap.fallbackFullUnmaps"),
    shadowEntriesRemoved: m.shadowEntriesRemoved,
    neededRemovals: sum(world.unmaps, "needed"),
    shadowFaults: m.shadowFaults,
    mmusRecycled: m.mmusRecycled,
    brokenAtEnd: world.kvm.nestedMmus.filter((x) => revmapOf(x)?.broken).length,
  };
}

// ------------------------------------------------------------------ presentation

const round = (v: number, d = 3): number => Number(v.toFixed(d));
const pct = (r: number): string => `${round(r * 100, 1)}%`;
const med = (xs: number[]): number => summarize(xs).median;
const spread = (xs: number[]): string => {
  const s = summarize(xs);
  return xs.length === 1 ? String(round(s.median)) : `${round(s.median)} (${round(s.min)}–${round(s.max)})`;
};

function linePlot(name: string, title: string, values: Record<string, unknown>[], y: string, yTitle: string): PlotSpec {
  return {
    name,
    title,
    spec: {
      $schema: "https://vega.github.io/schema/vega-lite/v6.json",
      width: 560,
      height: 280,
      data: { values },
      mark: { type: "line", point: false },
      encoding: {
        x: { field: "ops", type: "quantitative", title: "L1/L2/host operations" },
        y: { field: y, type: "quantitative", title: yTitle },
        color: { field: "config", type: "nominal", title: "strategy" },
        strokeDash: { field: "config", type: "nominal", title: "strategy" },
      },
    },
  };
}

function qualityTables(runs: QualityRun[], fullRuns: QualityRun[], every: number, ops: number): Table[] {
  const byConfig = (name: string) => runs.filter((r) => r.config === name);
  const last = (r: QualityRun) => r.samples[r.samples.length - 1]!;
  const peak = (r: QualityRun, k: keyof QualitySample) => Math.max(...r.samples.map((s) => s[k]));
  const quality: Table = {
    title: `Revmap quality after ${ops.toLocaleString("en-US")} operations (median over seeds, min–max in parentheses)`,
    columns: [
      "strategy", "stale entries (end)", "stale entries (peak)", "polluted ranges (end)", "polluted records (total)",
      "broken revmaps", "revmap entries", "direct-map entries", "shadow leaves", "entries kept per leaf",
      "accel stale bits (end)", "accel stale ranges (end)",
    ],
    rows: QUALITY_CONFIGS.map((c) => {
      const rs = byConfig(c.name);
      const kept = (r: QualityRun) => (last(r).revmapEntries + last(r).directMapEntries) / Math.max(1, last(r).shadowLeaves);
      return [
        c.name, spread(rs.map((r) => last(r).staleEntries)), spread(rs.map((r) => peak(r, "staleEntries"))),
        spread(rs.map((r) => last(r).pollutedRanges)), spread(rs.map((r) => r.pollutedRecords)),
        spread(rs.map((r) => last(r).brokenRevmaps)), spread(rs.map((r) => last(r).revmapEntries)),
        spread(rs.map((r) => last(r).directMapEntries)), spread(rs.map((r) => last(r).shadowLeaves)), spread(rs.map(kept)),
        c.config.unmap === "accel" ? spread(rs.map((r) => last(r).accelStaleBits)) : "—",
        c.config.unmap === "accel" ? spread(rs.map((r) => last(r).accelStaleRanges)) : "—",
      ];
    }),
  };
  const perUnmap = (r: QualityRun, k: keyof UnmapCost) => sum(r.unmaps, k) / Math.max(1, r.unmaps.length);
  const cost: Table = {
    title: "What staleness costs the canonical unmaps (4K host unmaps, per unmap; median over seeds)",
    columns: [
      "strategy", "canonical unmaps", "MMUs visited", "MMUs that mapped it", "revmap entries examined", "stale entries examined",
      "shadow leaves removed", "leaves that had to go", "wrong removals (total)", "whole-MMU unmaps (polluted)", "shadow faults (total)", "µs per op",
    ],
    rows: [...QUALITY_CONFIGS, FULL].map((c) => {
      const rs = c === FULL ? fullRuns : byConfig(c.name);
      return [
        c.name, med(rs.map((r) => r.unmaps.length)), round(med(rs.map((r) => perUnmap(r, "visited")))), round(med(rs.map((r) => perUnmap(r, "mmusNeeded")))),
        c === FULL ? "—" : round(med(rs.map((r) => perUnmap(r, "examined")))), c === FULL ? "—" : round(med(rs.map((r) => perUnmap(r, "staleExamined")))),
        round(med(rs.map((r) => perUnmap(r, "removed")))), round(med(rs.map((r) => perUnmap(r, "needed")))),
        med(rs.map((r) => sum(r.unmaps, "removed") - sum(r.unmaps, "needed"))),
        c === FULL ? "—" : med(rs.map((r) => sum(r.unmaps, "pollutedFullUnmaps"))),
        med(rs.map((r) => r.shadowFaults)), round(med(rs.map((r) => (r.seconds * 1e6) / ops)), 1),
      ];
    }),
  };
  // A readable slice of the time series (the plots have every sample).
  const first = QUALITY_CONFIGS.map((c) => byConfig(c.name)[0]!);
  const n = first[0]!.samples.length;
  const picks = [...new Set(Array.from({ length: Math.min(n, 9) }, (_, i) => Math.round((i * (n - 1)) / Math.max(1, Math.min(n, 9) - 1))))];
  const series: Table = {
    title: `Stale revmap entries / polluted ranges / accel stale bits over time (seed ${first[0]!.seed}, sampled every ${every} operations)`,
    columns: ["operations", ...first.map((r) => r.config)],
    rows: picks.map((i) => [
      first[0]!.samples[i]!.ops,
      ...first.map((r) => {
        const s = r.samples[i]!;
        return `${s.staleEntries} / ${s.pollutedRanges}${r.config.startsWith("accel") ? ` / ${s.accelStaleBits}` : ""}`;
      }),
    ]),
  };
  return [quality, cost, series];
}

function failureTable(runs: FailureRun[], fullRuns: FailureRun[], ops: number): Table {
  const rows: (string | number)[][] = [];
  for (const s of FAILURE_STRATEGIES) {
    for (const rate of FAILURE_RATES) {
      const rs = runs.filter((r) => r.strategy === s.name && r.rate === rate);
      rows.push([
        s.name, pct(rate), med(rs.map((r) => r.storesAttempted)), med(rs.map((r) => r.storesFailed)),
        med(rs.map((r) => r.canonicalUnmaps)), med(rs.map((r) => r.fallbackFullUnmaps)),
        round(med(rs.map((r) => r.fallbackFullUnmaps / Math.max(1, r.canonicalUnmaps)))),
        round(med(rs.map((r) => r.shadowEntriesRemoved / Math.max(1, r.canonicalUnmaps)))),
        round(med(rs.map((r) => r.neededRemovals / Math.max(1, r.canonicalUnmaps)))),
        med(rs.map((r) => r.shadowFaults)), med(rs.map((r) => r.mmusRecycled)), med(rs.map((r) => r.brokenAtEnd)),
      ]);
    }
  }
  rows.push([
    "full (reference)", "—", "—", "—", med(fullRuns.map((r) => r.canonicalUnmaps)), "—", "—",
    round(med(fullRuns.map((r) => r.shadowEntriesRemoved / Math.max(1, r.canonicalUnmaps)))),
    round(med(fullRuns.map((r) => r.neededRemovals / Math.max(1, r.canonicalUnmaps)))),
    med(fullRuns.map((r) => r.shadowFaults)), med(fullRuns.map((r) => r.mmusRecycled)), "—",
  ]);
  return {
    title: `Injected revmap store failures vs fallback full unmaps (${ops.toLocaleString("en-US")} operations, 6 guests on ${FAILURE_MMUS} shadow MMUs; median over seeds)`,
    columns: [
      "strategy", "store failure rate", "stores attempted", "stores failed", "canonical unmaps", "fallback full unmaps",
      "fallbacks per unmap", "shadow leaves removed per unmap", "leaves that had to go per unmap", "shadow faults", "MMUs recycled", "broken at end",
    ],
    rows,
  };
}

function failurePlots(runs: FailureRun[], fullRuns: FailureRun[]): PlotSpec[] {
  const values = runs.map((r) => ({
    strategy: r.strategy,
    seed: r.seed,
    rate: pct(r.rate),
    fallbacksPerUnmap: r.fallbackFullUnmaps / Math.max(1, r.canonicalUnmaps),
    removedPerUnmap: r.shadowEntriesRemoved / Math.max(1, r.canonicalUnmaps),
  }));
  const fullRemoved = med(fullRuns.map((r) => r.shadowEntriesRemoved / Math.max(1, r.canonicalUnmaps)));
  const order = FAILURE_RATES.map(pct);
  const x = { field: "rate", type: "ordinal", sort: order, title: "revmap stores that fail" };
  const lines = (y: string, title: string) => ({
    mark: { type: "line", point: true },
    encoding: { x, y: { aggregate: "median", field: y, type: "quantitative", title }, color: { field: "strategy", type: "nominal" } },
  });
  return [
    {
      name: "revmap_quality_failures_fallbacks",
      title: "Fallback full unmaps per canonical unmap vs injected store-failure rate",
      spec: { $schema: "https://vega.github.io/schema/vega-lite/v6.json", width: 420, height: 260, data: { values }, ...lines("fallbacksPerUnmap", "fallback full unmaps per canonical unmap") },
    },
    {
      name: "revmap_quality_failures_removed",
      title: `Shadow leaves removed per canonical unmap vs store-failure rate (dashed: full = ${round(fullRemoved, 1)})`,
      spec: {
        $schema: "https://vega.github.io/schema/vega-lite/v6.json",
        width: 420,
        height: 260,
        data: { values },
        layer: [
          lines("removedPerUnmap", "shadow leaves removed per canonical unmap"),
          { mark: { type: "rule", strokeDash: [6, 4], color: "gray" }, encoding: { y: { datum: fullRemoved } } },
        ],
      },
    },
  ];
}

// ------------------------------------------------------------------ the benchmark

export const bench: Bench = async (ctx: BenchContext) => {
  const quick = ctx.quick;
  const qualityOps = quick ? 6_000 : 60_000;
  const every = quick ? 250 : 1_000;
  const failureOps = quick ? 3_000 : 30_000;
  const seeds = quick ? [ctx.seed] : [ctx.seed, ctx.seed + 1, ctx.seed + 2];

  const quality: QualityRun[] = [];
  const qualityFull: QualityRun[] = [];
  for (const seed of seeds) {
    for (const c of [...QUALITY_CONFIGS, FULL]) {
      ctx.progress(`revmap-quality: ${c.name}, seed ${seed}, ${qualityOps.toLocaleString("en-US")} operations`);
      const r = runQuality(c, seed, qualityOps, every);
      (c === FULL ? qualityFull : quality).push(r);
    }
  }
  const failures: FailureRun[] = [];
  const failuresFull: FailureRun[] = [];
  for (const seed of seeds) {
    for (const s of FAILURE_STRATEGIES) {
      for (const rate of FAILURE_RATES) {
        ctx.progress(`revmap-quality: ${s.name}, ${pct(rate)} of revmap stores fail, seed ${seed}`);
        failures.push(runFailures(s, rate, seed, failureOps));
      }
    }
    failuresFull.push(runFailures(FULL, 0, seed, failureOps));
  }

  const firstSeed = quality.filter((r) => r.seed === seeds[0]);
  const series = firstSeed.flatMap((r) => r.samples.map((s) => ({ config: r.config, ...s })));
  const accelSeries = series.filter((s) => s.config.startsWith("accel"));
  const kept = series.flatMap((s) => [
    { config: s.config, ops: s.ops, what: "revmap + direct-map entries", entries: s.revmapEntries + s.directMapEntries },
  ]);
  const leaves = firstSeed.filter((r) => r.config === "revmap (v3) + directMap").flatMap((r) => r.samples.map((s) => ({ config: "shadow leaves", ops: s.ops, entries: s.shadowLeaves })));
  const plots: PlotSpec[] = [
    linePlot("revmap_quality_stale", "Stale revmap entries over time", series, "staleEntries", "stale revmap entries"),
    linePlot("revmap_quality_polluted", "Polluted revmap ranges over time", series, "pollutedRanges", "polluted ranges held"),
    linePlot("revmap_quality_accel_stale", "Accelerator stale bits over time", accelSeries, "accelStaleBits", "stale accelerator bits"),
    linePlot("revmap_quality_entries", "Bookkeeping entries kept vs shadow leaves", [...kept, ...leaves], "entries", "entries"),
    ...failurePlots(failures, failuresFull),
  ];

  const tables = [...qualityTables(quality, qualityFull, every, qualityOps), failureTable(failures, failuresFull, failureOps)];
  const notes = qualityNotes(quality, failures, failuresFull);
  return {
    id: "revmap-quality",
    title: "Revmap quality over time (stale entries, pollution, broken revmaps) and injected allocation failures",
    tables,
    plots,
    bars: [],
    notes,
    data: {
      workloads: { quality: qualityWorkload(seeds[0]!, qualityOps), failures: { ...failureWorkload(seeds[0]!, failureOps), nestedMmus: FAILURE_MMUS } },
      sampleEvery: every,
      seeds,
      quality: quality.map((r) => ({ ...r, unmaps: undefined, unmapTotals: totals(r.unmaps) })),
      full: qualityFull.map((r) => ({ config: r.config, seed: r.seed, shadowFaults: r.shadowFaults, unmapTotals: totals(r.unmaps) })),
      failures,
      failuresFull,
    },
  };
};

function totals(u: UnmapCost[]): Record<keyof UnmapCost, number> & { unmaps: number } {
  const keys: (keyof UnmapCost)[] = ["needed", "removed", "visited", "mmusNeeded", "examined", "staleExamined", "pollutedFullUnmaps", "fallbackFullUnmaps"];
  return { unmaps: u.length, ...(Object.fromEntries(keys.map((k) => [k, sum(u, k)])) as Record<keyof UnmapCost, number>) };
}

function qualityNotes(quality: QualityRun[], failures: FailureRun[], fullFailures: FailureRun[]): string[] {
  const t = (name: string) => {
    const rs = quality.filter((r) => r.config === name);
    const last = (r: QualityRun) => r.samples[r.samples.length - 1]!;
    return {
      stale: med(rs.map((r) => last(r).staleEntries)),
      peakStale: med(rs.map((r) => Math.max(...r.samples.map((s) => s.staleEntries)))),
      polluted: med(rs.map((r) => r.pollutedRecords)),
      entries: med(rs.map((r) => last(r).revmapEntries + last(r).directMapEntries)),
      leaves: med(rs.map((r) => last(r).shadowLeaves)),
      examined: med(rs.map((r) => sum(r.unmaps, "examined"))),
      staleExamined: med(rs.map((r) => sum(r.unmaps, "staleExamined"))),
      wrong: med(rs.map((r) => sum(r.unmaps, "removed") - sum(r.unmaps, "needed"))),
      visited: med(rs.map((r) => sum(r.unmaps, "visited"))),
      faults: med(rs.map((r) => r.shadowFaults)),
      accelStale: med(rs.map((r) => last(r).accelStaleBits)),
      pollutedResets: med(rs.map((r) => sum(r.unmaps, "pollutedFullUnmaps"))),
      vmalls: med(rs.map((r) => r.vmalls)),
    };
  };
  const rv = t("revmap (seed)");
  const r3 = t("revmap (v3)");
  const rd = t("revmap (v3) + directMap");
  const ac = t("accel (seed)");
  const a3 = t("accel (v3)");
  const ad = t("accel (v3) + directMap");
  const fb = (s: string, rate: number) => med(failures.filter((r) => r.strategy === s && r.rate === rate).map((r) => r.fallbackFullUnmaps / Math.max(1, r.canonicalUnmaps)));
  const rm = (s: string, rate: number) => med(failures.filter((r) => r.strategy === s && r.rate === rate).map((r) => r.shadowEntriesRemoved / Math.max(1, r.canonicalUnmaps)));
  const fullRm = med(fullFailures.map((r) => r.shadowEntriesRemoved / Math.max(1, r.canonicalUnmaps)));
  return [
    "Workload: L1 runs 4 L2 guests (128 nested pages each, 4K L1 stage-2 tables in L1 memory, one shadow MMU each, so nothing is recycled) from a pool of 1,024 L1 pages; per 100 operations about 70 L2 page touches (a shadow fault only when the shadow lacks the page), 10 page moves + IPAS2E1IS (TTL 4K level 3), 2 range moves + RIPAS2E1IS, 3 balloon drops + IPAS2E1IS, 3 re-gives, 6 host unmaps of a random L1 page (kvmUnmapGfnRange), and rarely VMALLS12E1IS. L1's allocator reuses freed pages, so a page freed by one guest is soon mapped by another. Every configuration runs the identical sequence.",
    `Staleness is what L1's TLBIs leave behind. As the seeds are written (seed), no TLBI touches the revmap or the accelerator: every page L1 moves or drops leaves its revmap range (and with accel its accelerator bit) behind, and so does every VMALLS12E1IS (${rv.vmalls} in the sequence), which empties an MMU and keeps all its entries. After the run revmap (seed) holds ${rv.stale} stale entries (peak ${rv.peakStale}) beside ${rv.leaves} live shadow leaves; accel (seed)'s tree has ${ac.accelStale} stale bits. The count saw-tooths rather than growing without bound: it drops only when a canonical unmap hits a polluted range and empties the MMU with its revmap (${rv.pollutedResets} times). With v3's removal during TLBI handling the revmap stays exact: ${r3.stale} stale entries with a scan, ${rd.stale} with the direct map; accel v3 keeps ${a3.accelStale} stale bits (${ad.accelStale} with the direct map).`,
    `What staleness costs: canonical unmaps examined ${rv.examined} revmap entries in total under the seed (${rv.staleExamined} of them stale) vs ${r3.examined} under v3 (${rd.examined} with the direct map); each stale hit unmaps a nested range that now maps another page, so ${rv.wrong} live shadow leaves were removed wrongly (${r3.wrong} under v3), costing refaults (${rv.faults} shadow faults vs ${r3.faults}). Stale ranges also turn into polluted ones when L1 reuses the page at another nested IPA: ${rv.polluted} polluted records under the seed vs ${r3.polluted} under v3, and a canonical unmap that hits a polluted range empties the whole MMU. For accel, stale bits send the unmap to MMUs that map nothing there: ${ac.visited} MMU visits under the seed vs ${a3.visited} under v3 (${ad.visited} with the direct map).`,
    `What the direct map costs: a second range per shadow mapping. At the end revmap (seed) keeps ${rv.entries} entries for ${rv.leaves} shadow leaves (the stale ones are pure waste), revmap (v3) ${r3.entries}, revmap (v3) + directMap ${rd.entries} (2 per leaf). What it saves is v3's scan of the whole revmap at every IPA TLBI (a tree lookup per TLBI'd range instead). Time per operation is in the µs-per-op column, which is only indicative: it includes the stale-entry counts L0's own revmap and accel unmap paths take at every canonical unmap (revmapStaleEntries, accelStale), which grow with staleness and make the seed variants look slower than they are.`,
    `Allocation failures (a second workload: 6 guests on ${FAILURE_MMUS} shadow MMUs, L1 switching guests every ~100 operations, so MMUs are recycled; each revmap store fails with the given probability, drawn from its own seeded generator): a failed store breaks the MMU's revmap until the MMU is recycled, and every canonical unmap then empties that whole MMU. Fallback full unmaps per canonical unmap: ${FAILURE_RATES.map((r) => `${pct(r)} → ${round(fb("revmap (seed)", r), 2)}`).join(", ")} (revmap); shadow leaves removed per canonical unmap rise from ${round(rm("revmap (seed)", 0), 2)} to ${round(rm("revmap (seed)", 0.2), 2)}, against ${round(fullRm, 2)} for full. Failures compound: once broken, an MMU attempts no stores until recycled, so the failed-store count saturates while fallbacks keep coming; at 5–20% revmap is nearly as expensive as full. accel suffers less (${FAILURE_RATES.map((r) => `${pct(r)} → ${round(fb("accel (seed)", r), 2)}`).join(", ")} fallbacks per unmap): its bits are recorded even when the revmap store fails, so a broken MMU is only emptied when its bit covers the unmapped page.`,
    `Not shown: the wall time of the bookkeeping itself (see the fault round-trip and unmap-cost benchmarks); polluted ranges caused by genuine aliasing (two nested pages on one L1 page), which this workload never creates${r3.polluted === 0 && rd.polluted === 0 && ad.polluted === 0 ? ", so every polluted range here is a consequence of staleness (none appear under v3)" : ""}.`,
  ];
}
