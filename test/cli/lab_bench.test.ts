// `npm run bench:lab --quick` as a test: the demo on the project's engine, once in the CLI, once in the
// lab VM in Node and once in the page in Chromium. Only the report's shape and the steps are checked:
// the speeds are the bench's to print, never a test's to judge.

import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { BENCH_GUESTS, formatReport, labBench, parseArgs } from "../../cli/lab_bench.ts";
import { CHROMIUM } from "../../cli/lab_browser.ts";

const hasChromium = existsSync(CHROMIUM);
// CI installs it (.ci/run): missing there is a broken setup, not a reason to skip.
if (!hasChromium && process.env.CI === "true") throw new Error(`${CHROMIUM} not found and CI=true: the lab bench's browser test must run in CI (.ci/run installs chromium)`);
/** The vitest project's engine (vitest.config.ts), so each project checks its own. */
const ENGINE = process.env.NVLAB_ENGINE === "interp" ? "interp" : "jit";
const title = hasChromium ? "bench:lab --quick" : `bench:lab --quick (SKIPPED: ${CHROMIUM} is not installed; apt-get install chromium)`;

describe("bench:lab arguments", () => {
  it("reads --json, --quick and --runs, and refuses what it does not know", () => {
    expect(parseArgs([])).toEqual({ json: false, quick: false, runs: 7 });
    expect(parseArgs(["--quick", "--json"])).toEqual({ json: true, quick: true, runs: 3 });
    expect(parseArgs(["--runs", "7"]).runs).toBe(7);
    expect(() => parseArgs(["--runs", "0"])).toThrow(/--runs/);
    expect(() => parseArgs(["--fast"])).toThrow(/unknown option --fast/);
  });
});

describe.skipIf(!hasChromium)(title, () => {
  it("runs the demo in the CLI, the lab VM in Node and the page, all to the same step", async () => {
    const progress: string[] = [];
    const r = await labBench({ quick: true, engine: ENGINE, runs: 1, progress: (l) => progress.push(l) });
    expect(r.browserSkipped).toBeNull();
    expect(r.machine.chromium).toMatch(/^\d+\./);
    expect(r.rows).toHaveLength(1);
    const row = r.rows[0]!;
    expect(row.guest).toBe(BENCH_GUESTS[0]!.pair);
    expect(row.engine).toBe(ENGINE);
    expect(row.cli.steps).toBeGreaterThan(0);
    expect(row.browser!.steps).toBe(row.cli.steps);
    expect(row.node.steps).toBe(row.cli.steps);
    expect(row.stepsAgree).toBe(true);
    for (const m of [row.cli, row.node, row.browser!]) {
      expect(m.seconds).toHaveLength(1);
      expect(m.ips).toBeGreaterThan(0);
    }
    expect(row.browserOverCli).toBeCloseTo(row.browser!.ips / row.cli.ips);
    expect(row.browser!.longTasks).toBeGreaterThanOrEqual(0);
    expect(progress.some((l) => l.includes("browser"))).toBe(true);
    const text = formatReport(r);
    expect(text).toContain("browser/CLI");
    expect(text).toMatch(new RegExp(`hyp\\+hello\\s+${ENGINE}\\s+${row.cli.steps.toLocaleString("en-US")}`));
  }, 180_000);
});
