import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { type BenchModule, loadModules, type Options, runBenchmarks } from "../../bench/main.ts";
import { PlotError, renderSvg } from "../../bench/lib/plot.ts";
import { markdownTable, renderTable } from "../../bench/lib/table.ts";
import { median, summarize, timeIt } from "../../bench/lib/stats.ts";
import type { BenchContext, BenchResult, Table } from "../../bench/lib/types.ts";

const TABLE: Table = {
  title: "Unmap cost",
  columns: ["strategy", "MMUs visited", "ns/unmap"],
  rows: [
    ["full", 256, 12345.678],
    ["accel", 1, 3.14159],
  ],
};

function fakeResult(ctx: BenchContext, passBar: boolean): BenchResult {
  return {
    id: "fake",
    title: "Fake benchmark",
    tables: [TABLE],
    plots: [
      {
        name: "fake_cost",
        title: "Cost per strategy",
        spec: {
          data: { values: [{ strategy: "full", ns: 12345 }, { strategy: "accel", ns: 3 }] },
          mark: "bar",
          encoding: { x: { field: "strategy", type: "nominal" }, y: { field: "ns", type: "quantitative" } },
        },
      },
    ],
    bars: [
      { name: "accel visits fewer MMUs", pass: true, detail: "256 vs 1" },
      { name: "accel is faster", pass: passBar, detail: passBar ? "3900x" : "0.5x" },
    ],
    notes: [`seed was ${ctx.seed}, quick=${ctx.quick}`],
    data: { visits: 256n, seed: ctx.seed },
  };
}

function fakeModule(passBar = true, seen: BenchContext[] = []): BenchModule {
  return {
    id: "fake",
    bench: async (ctx) => {
      seen.push(ctx);
      ctx.progress("halfway");
      return fakeResult(ctx, passBar);
    },
  };
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function options(over: Partial<Options> = {}): Options & { stdout: string[]; stderr: string[] } {
  const outDir = mkdtempSync(join(tmpdir(), "nvlab-bench-"));
  dirs.push(outDir);
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    quick: false,
    json: false,
    only: null,
    seed: 42,
    outDir,
    command: "npm run bench -- --seed 42",
    out: (t) => void stdout.push(t),
    err: (t) => void stderr.push(t),
    stdout,
    stderr,
    ...over,
  };
}

/** Well-formed enough to be SVG: one <svg> root in the SVG namespace, every element closed in order. */
function checkSvg(text: string): void {
  expect(text.startsWith("<svg")).toBe(true);
  expect(text).toContain('xmlns="http://www.w3.org/2000/svg"');
  expect(text.trimEnd().endsWith("</svg>")).toBe(true);
  const stack: string[] = [];
  for (const m of text.matchAll(/<(\/?)([A-Za-z][\w:-]*)[^>]*?(\/?)>/g)) {
    if (m[1]) expect(stack.pop()).toBe(m[2]);
    else if (!m[3]) stack.push(m[2]!);
  }
  expect(stack).toEqual([]);
}

describe("stats", () => {
  it("median, min and max over repeats", () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(summarize([2, 9, 4])).toEqual({ median: 4, min: 2, max: 9, runs: [2, 9, 4] });
    expect(() => median([])).toThrow();
  });

  it("timeIt calls the function once per repeat plus warmup and reports seconds", () => {
    let calls = 0;
    const s = timeIt(() => void calls++, 5, 2);
    expect(calls).toBe(7);
    expect(s.runs).toHaveLength(5);
    expect(s.min).toBeGreaterThanOrEqual(0);
    expect(s.min).toBeLessThanOrEqual(s.median);
    expect(s.median).toBeLessThanOrEqual(s.max);
  });
});

describe("tables", () => {
  it("renders aligned text with numbers right-aligned", () => {
    const lines = renderTable(TABLE).split("\n");
    expect(lines[0]).toBe("Unmap cost");
    expect(lines[1]).toBe("strategy  MMUs visited  ns/unmap");
    expect(lines[2]).toBe("--------  ------------  --------");
    expect(lines[3]).toBe("full               256    12,346");
    expect(lines[4]).toBe("accel                1     3.142");
  });

  it("right-aligns columns of pre-formatted numbers but not of words", () => {
    const t: Table = { title: "t", columns: ["name", "ratio", "range"], rows: [["a", "12.5x", "3–40"], ["bb", "1.0x", "1,200–1,300"]] };
    expect(renderTable(t).split("\n").slice(3)).toEqual(["a     12.5x         3–40", "bb     1.0x  1,200–1,300"]);
  });

  it("renders Markdown with numeric columns right-aligned", () => {
    expect(markdownTable(TABLE).split("\n")).toEqual([
      "| strategy | MMUs visited | ns/unmap |",
      "| --- | ---: | ---: |",
      "| full | 256 | 12,346 |",
      "| accel | 1 | 3.142 |",
    ]);
  });
});

describe("plots", () => {
  it("renders a vega-lite spec to SVG", async () => {
    const svg = await renderSvg({ name: "p", title: "A line", spec: { data: { values: [{ x: 1, y: 2 }, { x: 2, y: 4 }] }, mark: "line", encoding: { x: { field: "x", type: "quantitative" }, y: { field: "y", type: "quantitative" } } } });
    checkSvg(svg);
    expect(svg).toContain("A line");
  });

  it("names the plot when rendering fails", async () => {
    const p = renderSvg({ name: "broken", title: "Broken", spec: { data: { values: [] }, mark: "no-such-mark" } });
    await expect(p).rejects.toBeInstanceOf(PlotError);
    await expect(p).rejects.toThrow(/plot "broken" could not be rendered/);
  });
});

describe("runBenchmarks", () => {
  it("prints machine and seed first, then tables and bars, and passes the context through", async () => {
    const seen: BenchContext[] = [];
    const o = options();
    const r = await runBenchmarks([fakeModule(true, seen)], o);
    expect(r.exitCode).toBe(0);
    expect(seen.map((c) => [c.quick, c.seed])).toEqual([[false, 42]]);
    const out = o.stdout.join("");
    expect(out.indexOf("machine: ")).toBeGreaterThanOrEqual(0);
    expect(out.indexOf("seed:    42")).toBeLessThan(out.indexOf("Unmap cost"));
    expect(out).toContain(renderTable(TABLE));
    expect(out).toContain("PASS  (fake) accel is faster: 3900x");
    expect(o.stderr.join("")).toContain("bench:   halfway");
    expect(out).not.toContain("halfway");
  });

  it("writes report.md with the run, tables, embedded plots, bars and notes", async () => {
    const o = options();
    await runBenchmarks([fakeModule(false)], o);
    const md = readFileSync(join(o.outDir, "report.md"), "utf8");
    expect(md).toMatch(/- Date: \d{4}-\d\d-\d\dT/);
    expect(md).toMatch(/- Machine: .+ cores, Node v/);
    expect(md).toContain("- Seed: 42");
    expect(md).toContain("- Command: `npm run bench -- --seed 42`");
    expect(md).toContain("## Fake benchmark");
    expect(md).toContain(markdownTable(TABLE));
    expect(md).toContain("![Cost per strategy](fake_cost.svg)");
    expect(md).toContain("- **PASS** (fake) accel visits fewer MMUs: 256 vs 1");
    expect(md).toContain("- **FAIL** (fake) accel is faster: 0.5x");
    expect(md).toContain("- seed was 42, quick=false");
  });

  it("writes each plot as an SVG file and removes plots of earlier runs", async () => {
    const o = options();
    writeFileSync(join(o.outDir, "stale.svg"), "<svg/>");
    await runBenchmarks([fakeModule()], o);
    expect(readdirSync(o.outDir).sort()).toEqual(["fake_cost.svg", "report.md", "results.json"]);
    const svg = readFileSync(join(o.outDir, "fake_cost.svg"), "utf8");
    checkSvg(svg);
    expect(svg).toContain("Cost per strategy");
  });

  it("fails the run on a failed bar in full mode only", async () => {
    expect((await runBenchmarks([fakeModule(false)], options())).exitCode).toBe(1);
    const q = options({ quick: true });
    expect((await runBenchmarks([fakeModule(false)], q)).exitCode).toBe(0);
    expect(q.stdout.join("")).toContain("bars (quick mode: informational, not checked):");
    expect(q.stdout.join("")).toContain("FAIL  (fake) accel is faster");
  });

  it("--json prints one JSON object on stdout, also written to results.json", async () => {
    const o = options({ json: true });
    await runBenchmarks([fakeModule(false)], o);
    const j = JSON.parse(o.stdout.join("")) as Record<string, unknown>;
    expect(Object.keys(j).sort()).toEqual(["bars", "benchmarks", "command", "date", "errors", "machine", "pass", "quick", "seed", "skipped"]);
    expect(j.seed).toBe(42);
    expect(j.pass).toBe(false);
    expect(j.machine).toMatchObject({ cores: expect.any(Number), node: process.version });
    expect(j.bars).toEqual([
      { bench: "fake", name: "accel visits fewer MMUs", pass: true, detail: "256 vs 1" },
      { bench: "fake", name: "accel is faster", pass: false, detail: "0.5x" },
    ]);
    const b = (j.benchmarks as Record<string, unknown>[])[0]!;
    expect(b.id).toBe("fake");
    expect(b.tables).toEqual([TABLE]);
    expect(b.plots).toEqual([{ name: "fake_cost", title: "Cost per strategy", file: "fake_cost.svg" }]);
    expect(b.data).toEqual({ visits: 256, seed: 42 });
    // Machine and seed still reach the reader, on stderr.
    expect(o.stderr.join("")).toContain("seed:    42");
    expect(JSON.parse(readFileSync(join(o.outDir, "results.json"), "utf8"))).toEqual(j);
  });

  it("--only selects modules; a benchmark that throws is reported and the others still run", async () => {
    const boom: BenchModule = { id: "boom", bench: () => Promise.reject(new Error("kaput")) };
    const other: BenchModule = { id: "other", bench: () => Promise.reject(new Error("must not run")) };
    const o = options({ only: ["boom", "fake"] });
    const r = await runBenchmarks([boom, fakeModule(), other], o);
    expect(r.exitCode).toBe(1);
    expect(r.run.results.map((x) => x.id)).toEqual(["fake"]);
    expect(r.run.errors).toEqual([{ id: "boom", error: "kaput" }]);
    expect(r.run.skipped).toEqual([{ id: "other", reason: "not selected by --only" }]);
    const md = readFileSync(join(o.outDir, "report.md"), "utf8");
    expect(md).toContain("- `boom`: kaput");
  });

  it("a plot that cannot be rendered is reported and fails the run", async () => {
    const bad: BenchModule = {
      id: "fake",
      bench: async (ctx) => ({ ...fakeResult(ctx, true), plots: [{ name: "bad", title: "Bad", spec: { mark: "no-such-mark", data: { values: [] } } }] }),
    };
    const o = options({ quick: true });
    const r = await runBenchmarks([bad], o);
    expect(r.exitCode).toBe(1);
    expect(existsSync(join(o.outDir, "bad.svg"))).toBe(false);
    expect(readFileSync(join(o.outDir, "report.md"), "utf8")).toContain('Plot "Bad" could not be rendered');
    expect(o.stderr.join("")).toContain('plot "bad" could not be rendered');
  });
});

describe("loadModules", () => {
  it("loads modules that exist and skips missing ones with a warning", async () => {
    const dir = mkdtempSync(join(tmpdir(), "nvlab-bench-mods-"));
    dirs.push(dir);
    writeFileSync(
      join(dir, "present.ts"),
      'export const bench = async (ctx: { seed: number }) => ({ id: "present", title: "P", tables: [], plots: [], bars: [], notes: [], data: ctx.seed });\n',
    );
    writeFileSync(join(dir, "nobench.ts"), "export const other = 1;\n");
    const warnings: string[] = [];
    const r = await loadModules(["present", "absent", "nobench"], pathToFileURL(dir + "/"), (t) => warnings.push(t));
    expect(r.modules.map((m) => m.id)).toEqual(["present"]);
    expect(r.skipped).toEqual([{ id: "absent", reason: "module not present" }]);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]!.error).toMatch(/does not export a `bench` function/);
    expect(warnings.join("\n")).toMatch(/absent\.ts does not exist; skipping absent/);
    const out = await r.modules[0]!.bench({ quick: true, seed: 9, progress: () => {} });
    expect(out.data).toBe(9);
  });
});
