import { describe, expect, it } from "vitest";
import type { JitStats } from "../../emulator/jit/stats.ts";
import { speedPlan, standInRounds } from "../../bench/lib/speed.ts";
import { renderSvg } from "../../bench/lib/plot.ts";
import {
  BARS,
  jitTable,
  l2Ratio,
  l2Table,
  mipsOf,
  mipsPlot,
  NONE,
  rssTable,
  slowdown,
  speedBars,
  speedRatio,
  speedSummary,
  speedTable,
  type Workload,
} from "../../bench/lib/speed_table.ts";

// unicorn 1 s per run; the jit engine twice that (ratio 0.5: exactly the bar); interp four times.
const PROGRAM: Workload = {
  id: "cpubench",
  label: "CoreMark stand-in",
  instructions: 300_000_000,
  seconds: { interp: [4, 3.9, 4.2], jit: [2, 1.9, 2.5], unicorn: [1, 0.9, 1.1] },
  jit: null,
  agrees: true,
};

// 13M instructions; the jit engine as fast as unicorn, interp 3x slower.
const LOOP: Workload = {
  id: "loop",
  label: "loop",
  instructions: 13_000_000,
  seconds: { interp: [0.3, 0.3, 0.3], jit: [0.1, 0.11, 0.09], unicorn: [0.1, 0.1, 0.1] },
  jit: null,
  agrees: true,
};

const STATS: JitStats = {
  compiles: 12,
  instructions: 3456,
  compileSeconds: 0.0123,
  cacheBytes: 64 * 1024,
  cacheLimitBytes: 32 << 20,
  evictions: 0,
  invalidations: 2,
  jitInstructions: 750,
};

describe("speed ratios", () => {
  it("MIPS per run from instructions and seconds", () => {
    const m = mipsOf(13_000_000, [0.1, 0.2, 0.13]);
    expect(m.median).toBeCloseTo(100);
    expect(m.min).toBeCloseTo(65);
    expect(m.max).toBeCloseTo(130);
  });

  it("unicorn time / nvlab time on medians, with the extremes the runs allow", () => {
    const r = speedRatio([1, 0.9, 1.1], [2, 1.9, 2.5]);
    expect(r.median).toBeCloseTo(0.5);
    expect(r.min).toBeCloseTo(0.9 / 2.5);
    expect(r.max).toBeCloseTo(1.1 / 1.9);
    const s = slowdown(r);
    expect(s.median).toBeCloseTo(2);
    expect(s.min).toBeCloseTo(1.9 / 1.1);
    expect(s.max).toBeCloseTo(2.5 / 0.9);
  });

  it("the median decides, not the mean: one slow outlier run does not move it", () => {
    expect(speedRatio([1, 1, 1, 1, 1], [1, 1, 1, 1, 50]).median).toBe(1);
  });

  it("L2 / bare on medians", () => {
    const r = l2Ratio({ engine: "jit", bareMips: [100, 90, 110], l2Mips: [95, 80, 99] });
    expect(r.median).toBeCloseTo(0.95);
    expect(r.min).toBeCloseTo(80 / 110);
    expect(r.max).toBeCloseTo(99 / 90);
  });
});

describe("speed table", () => {
  it("a row per workload and engine, ratios to unicorn on nvlab rows only", () => {
    const t = speedTable([LOOP, PROGRAM], 3, "2.0.1");
    expect(t.rows).toHaveLength(6);
    expect(t.rows[0]!.slice(0, 3)).toEqual(["loop", "nvlab interp", 43.3]);
    expect(t.rows[2]![1]).toBe("unicorn 2.0.1 (native JIT)");
    expect(t.rows[2]![6]).toBe(NONE);
    const jit = t.rows[4]!;
    expect(jit[1]).toBe("nvlab jit");
    expect(jit[6]).toBe("2.00x");
    expect(jit[7]).toBe("0.50 (0.36–0.58)");
  });

  it("without unicorn the ratio columns say — and no unicorn row appears", () => {
    const t = speedTable([{ ...LOOP, seconds: { interp: [0.3], jit: [0.1] } }], 1, null);
    expect(t.rows).toHaveLength(2);
    expect(t.rows.every((r) => r[6] === NONE && r[7] === NONE)).toBe(true);
  });

  it("--json carries every number of the table, raw runs included", () => {
    const [loop] = speedSummary([LOOP]);
    expect(Object.keys(loop!.engines)).toEqual(["interp", "jit", "unicorn"]);
    const jit = loop!.engines.jit!;
    expect(jit.seconds.runs).toEqual([0.1, 0.11, 0.09]);
    expect(jit.mips.median).toBeCloseTo(130);
    expect(jit.unicornTimeOverNvlabTime!.median).toBeCloseTo(1);
    expect(loop!.engines.unicorn!.unicornTimeOverNvlabTime).toBeNull();
  });

  it("L2 table: slower-by from the median ratio", () => {
    const t = l2Table([{ engine: "interp", bareMips: [100], l2Mips: [80] }], 1);
    expect(t.rows[0]).toEqual(["nvlab interp", 100, 80, "0.80 (0.80–0.80)", "20.0%"]);
  });
});

describe("bars", () => {
  const L2 = [
    { engine: "interp" as const, bareMips: [30, 30, 30], l2Mips: [20, 21, 22] },
    { engine: "jit" as const, bareMips: [100, 100, 100], l2Mips: [91, 95, 89] },
  ];

  it("decided on the jit engine's medians; interp is information only", () => {
    const { bars, table } = speedBars({ program: PROGRAM, loop: LOOP, l2: L2 });
    expect(bars.map((b) => b.pass)).toEqual([true, true, true]);
    expect(bars.every((b) => b.name.endsWith("[nvlab jit]"))).toBe(true);
    expect(bars[0]!.detail).toContain("goal 1.0: not met");
    expect(table.rows.map((r) => r[3])).toEqual(["0.25 (0.21–0.28) FAIL", "0.33 (0.33–0.33) FAIL", "0.70 (0.67–0.73) FAIL"]);
  });

  it("just under each threshold fails", () => {
    const slow = { ...PROGRAM, seconds: { ...PROGRAM.seconds, jit: [2.01, 2.01, 2.01] } };
    const loopSlow = { ...LOOP, seconds: { ...LOOP.seconds, jit: [0.101, 0.101, 0.101] } };
    const l2Slow = [{ engine: "jit" as const, bareMips: [100], l2Mips: [89.9] }];
    const { bars } = speedBars({ program: slow, loop: loopSlow, l2: l2Slow });
    expect(bars.map((b) => b.pass)).toEqual([false, false, false]);
  });

  it("the goal is reported as met at 1.0 and above without changing the bar", () => {
    const fast = { ...PROGRAM, seconds: { ...PROGRAM.seconds, jit: [0.9, 1, 0.95] } };
    const { bars } = speedBars({ program: fast, loop: LOOP, l2: L2 });
    expect(bars[0]!.pass).toBe(true);
    expect(bars[0]!.detail).toContain("goal 1.0: met");
    expect(BARS.programRatio).toBe(0.5);
  });

  it("a bar that cannot be measured fails and says why", () => {
    const noUc = (w: Workload): Workload => ({ ...w, seconds: { interp: w.seconds.interp!, jit: w.seconds.jit! } });
    const { bars, table } = speedBars({ program: null, loop: noUc(LOOP), l2: [] });
    expect(bars.map((b) => b.pass)).toEqual([false, false, false]);
    expect(bars[0]!.detail).toContain("the program could not be built");
    expect(bars[1]!.detail).toContain("unicorn not measured");
    expect(table.rows.every((r) => r[2] === NONE && r[3] === NONE)).toBe(true);
  });
});

describe("translator and memory tables", () => {
  it("JitStats as numbers, the share retired in translated code; — when jitStats() is null", () => {
    const t = jitTable([
      { label: "loop", instructions: 1000, jit: STATS },
      { label: "lz4", instructions: 1000, jit: null },
    ]);
    expect(t.rows[0]).toEqual(["loop", 12, 3456, 0.0123, 64, 32768, 0, 2, "75.0%"]);
    expect(t.rows[1]).toEqual(["lz4", ...Array<string>(8).fill(NONE)]);
  });

  it("peak RSS in MiB with the growth over the baseline", () => {
    const t = rssTable([{ engine: "unicorn", program: "p", baselineKiB: 100 * 1024, peakKiB: 130 * 1024 + 512, seconds: 1.23456 }], "2.0.1");
    expect(t.rows[0]).toEqual(["unicorn 2.0.1 (native JIT)", "p", 100, 130.5, 30.5, 1.235]);
  });
});

describe("plot and plan", () => {
  it("one bar per engine per workload, at the median MIPS", () => {
    const p = mipsPlot([LOOP], "2.0.1");
    const values = (p.spec.data as { values: { workload: string; engine: string; mips: number }[] }).values;
    expect(values).toEqual([
      { workload: "loop", engine: "nvlab interp", mips: 43.3 },
      { workload: "loop", engine: "nvlab jit", mips: 130 },
      { workload: "loop", engine: "unicorn 2.0.1 (native JIT)", mips: 130 },
    ]);
  });

  it("the plot renders to SVG (grouped bars: vega-lite's yOffset)", async () => {
    const svg = await renderSvg(mipsPlot([LOOP, PROGRAM], "2.0.1"));
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg).toContain("CoreMark stand-in");
  });

  it("quick mode: 3 runs and small programs; full mode: 5 runs, the stand-in sized by instructions", () => {
    expect(speedPlan(true, 50)).toEqual({ runs: 3, loopIterations: 500_000, cpubenchRounds: 1, lz4Kib: 4 });
    const full = speedPlan(false, 50);
    expect(full.runs).toBe(5);
    expect(full.cpubenchRounds).toBeNull();
    // About 6 s of the interpreter at 50 MIPS.
    expect(full.loopIterations * 13).toBeGreaterThanOrEqual(300e6);
    expect(full.loopIterations * 13).toBeLessThan(301e6);
    expect(speedPlan(false, 1).loopIterations).toBe(1_000_000);
  });

  it("the stand-in's rounds reach the instruction count with the fixed start-up cost taken out", () => {
    // 1 round: 9.37M, 2 rounds: 18.02M, so 8.65M a round and 0.72M of start-up: 35 rounds = 303.47M.
    const n = standInRounds(9_370_000, 18_020_000, 300_000_000);
    expect(n).toBe(35);
    expect(720_000 + n * 8_650_000).toBeGreaterThanOrEqual(300_000_000);
    expect(720_000 + (n - 1) * 8_650_000).toBeLessThan(300_000_000);
    expect(() => standInRounds(10, 10, 100)).toThrow();
  });
});
