import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { UsageError } from "../../cli/errors.ts";
import { traceOutput } from "../../cli/trace_out.ts";
import type { ChromeTrace } from "../../debug/trace_event.ts";
import { traceProblems } from "../helpers/chrome_trace.ts";
import { nvlab } from "../helpers/bin.ts";

const dir = mkdtempSync(join(tmpdir(), "nvlab-trace-out-"));
const TOUCH = ["run", "--l1", "guests/l1/hyp.S", "--l2", "guests/l2/touch.S@0x48000000"];


function readTrace(file: string): ChromeTrace {
  return JSON.parse(readFileSync(file, "utf8")) as ChromeTrace;
}

describe.concurrent("nvlab run --trace-out", () => {
  it("writes a well-formed trace of a plain run, with L1/L2 slices and exits, and changes nothing else", async () => {
    const file = join(dir, "touch.json");
    const [r, plain] = await Promise.all([nvlab(...TOUCH, "--trace-out", file), nvlab(...TOUCH)]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(plain.stdout);
    expect(r.stderr).toBe("");
    const t = readTrace(file);
    expect(traceProblems(t)).toEqual([]);
    const steps = Number(/\((\d+) instructions\)/.exec(r.stdout)![1]);
    expect(t.otherData.steps).toBe(steps);
    const names = new Set(t.traceEvents.map((e) => e.name));
    for (const n of ["L1", "L2", "exit HVC64", "exit ERET", "shadow-fault", "eret", "inject", "psci"]) expect(names).toContain(n);
  });

  it("keeps --json output pure JSON", async () => {
    const file = join(dir, "json.json");
    const r = await nvlab(...TOUCH, "--json", "--trace-out", file);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { exit: { kind: string } }).exit.kind).toBe("system-off");
    expect(traceProblems(readTrace(file))).toEqual([]);
  });

  it("traces a scenario run, timeline injections included", async () => {
    const file = join(dir, "scenario.json");
    const r = await nvlab("run", "scenarios/revmap_stale.yaml", "--trace-out", file);
    expect(r.code).toBe(0);
    const t = readTrace(file);
    expect(traceProblems(t)).toEqual([]);
    const injections = t.traceEvents.filter((e) => e.ph === "i" && e.cat === "injection");
    expect(injections.length).toBeGreaterThan(0);
    expect(injections[0]!.args).toMatchObject({ source: "scenario" });
  });

  it("writes the trace of runs that end badly: step budget (124), checker stop (126), L0 out of pages (70)", async () => {
    const files = ["budget", "chaos", "host"].map((n) => join(dir, `${n}.json`));
    const [budget, chaos, host] = await Promise.all([
      nvlab(...TOUCH, "--max-steps", "3000", "--trace-out", files[0]!),
      nvlab("run", "--l1", "guests/l1/hypblock.S", "--l2", "guests/l2/touch.S@0x48000000", "--unmap", "rfc-rbtree", "--chaos", "4", "--trace-out", files[1]!),
      nvlab(...TOUCH, "--pool-pages", "20", "--trace-out", files[2]!),
    ]);
    expect([budget.code, chaos.code, host.code]).toEqual([124, 126, 70]);
    const traces = files.map(readTrace);
    for (const t of traces) expect(traceProblems(t)).toEqual([]);
    expect(traces[0]!.otherData.steps).toBe(3000);
    expect(traces[1]!.traceEvents.some((e) => e.ph === "i" && e.cat === "injection" && e.args.source === "chaos")).toBe(true);
    expect(host.stderr).toMatch(/host page pool exhausted/);
    expect(Number(traces[2]!.otherData.steps)).toBeGreaterThan(0);
  });

  it("still writes the trace when the checker stops a scenario run", async () => {
    const file = join(dir, "stopped.json");
    const r = await nvlab("run", "scenarios/rfc_rbtree_flaw.yaml", "--trace-out", file);
    expect(r.code).toBe(0); // the scenario expects the violation
    expect(r.stdout).toMatch(/stopped by invariant S/);
    expect(traceProblems(readTrace(file))).toEqual([]);
  });

  it("--trace-limit cuts the trace and says so on stderr", async () => {
    const file = join(dir, "cut.json");
    const r = await nvlab(...TOUCH, "--trace-out", file, "--trace-limit", "100");
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^nvlab: trace cut at step \d+ after 100 events \(--trace-limit\); \d+ later events dropped$/m);
    const t = readTrace(file);
    expect(traceProblems(t)).toEqual([]);
    expect(t.otherData).toMatchObject({ truncated: true, maxEvents: 100 });
  });

  it("refuses a destination it cannot write before running anything", async () => {
    const missing = join(dir, "no-such-dir", "t.json");
    const r = await nvlab(...TOUCH, "--trace-out", missing);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--trace-out: cannot write .*no-such-dir.* does not exist or is not writable/);
    expect(r.stdout).toBe("");
    const d = await nvlab(...TOUCH, "--trace-out", dir);
    expect(d.code).toBe(1);
    expect(d.stderr).toMatch(/--trace-out: .* is a directory/);
    const bad = await nvlab(...TOUCH, "--trace-out", join(dir, "x.json"), "--trace-limit", "0");
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--trace-limit: 0 is out of range/);
    expect(existsSync(join(dir, "x.json"))).toBe(false);
  });
});

describe("traceOutput", () => {
  it("writes nothing when the VM was never built (an assembly error)", () => {
    const file = join(dir, "never.json");
    const t = traceOutput(file, "1000");
    expect(t.write()).toBeNull();
    expect(existsSync(file)).toBe(false);
  });

  it("throws usage errors for a bad destination or limit", () => {
    expect(() => traceOutput(dir)).toThrow(UsageError);
    expect(() => traceOutput(join(dir, "a.json"), "lots")).toThrow(/--trace-limit: 'lots' is not a number/);
  });
});
