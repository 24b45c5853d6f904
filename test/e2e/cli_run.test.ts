// `nvlab run` through the real bin (node cli/nvlab.js), as a user runs it: console text, the exit
// line, metrics, the JSON shape, the trace, and exit statuses (the guest's own code, the step
// budget, usage errors).

import { describe, expect, it } from "vitest";
import { defaultEngine } from "../../emulator/engine.ts";
import { GUEST_PAIRS } from "../qemu/pairs.ts";
import { runPair } from "./harness.ts";
import { nvlab } from "../helpers/bin.ts";



const pair = (name: string) => GUEST_PAIRS.find((p) => p.name === name)!;
const HELLO = pair("hyp+hello");
const WILD = pair("hyp+wild");
const HELLO_ARGS = ["run", "--l1", "guests/l1/hyp.S", "--l2", "guests/l2/hello.S@0x48000000"];

describe.concurrent("nvlab run (the real bin)", () => {
  it("hyp + hello: console text, PSCI SYSTEM_OFF code 0, the metrics, exit status 0", async () => {
    const [r, direct] = await Promise.all([nvlab(...HELLO_ARGS), runPair(HELLO.l1, HELLO.l2.map((s) => s.path))]);
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith(HELLO.expected)).toBe(true);
    expect(r.stdout).toMatch(/^exit: PSCI SYSTEM_OFF, code 0 \(\d+ instructions\)$/m);
    expect(r.stdout).toContain(`(${direct.steps} instructions)`);
    expect(r.stdout).toMatch(/^metrics:$/m);
    const m = direct.metrics;
    for (const [key, value] of [
      ["shadowFaults", m.shadowFaults],
      ["faultsInjectedToL1", m.faultsInjectedToL1],
      ["canonicalFaults", m.canonicalFaults],
      ["l1S2Walks", m.l1S2Walks],
      ["mmusRecycled", m.mmusRecycled],
      ["exits.HVC64", m.exits.HVC64],
      ["exits.ERET", m.exits.ERET],
    ] as const) {
      expect(r.stdout).toMatch(new RegExp(`^ +${key.replace(".", "\\.")} +${value}$`, "m"));
    }
    console.log(`hyp+hello metrics (nvlab run):\n${r.stdout.slice(r.stdout.indexOf("metrics:"))}`);
  });

  it("--json: {exit, console, metrics, engine} with the same metrics as an in-process run", async () => {
    const [r, direct] = await Promise.all([nvlab(...HELLO_ARGS, "--json"), runPair(HELLO.l1, HELLO.l2.map((s) => s.path))]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(Object.keys(j).sort()).toEqual(["console", "engine", "exit", "metrics"]);
    expect(j.engine).toBe(defaultEngine()); // the command inherits NVLAB_ENGINE
    expect(j.exit).toEqual({ kind: "system-off", code: 0, steps: direct.steps, status: 0 });
    expect(j.console).toBe(HELLO.expected);
    expect(j.metrics).toEqual(JSON.parse(JSON.stringify(direct.metrics)));
    const metrics = j.metrics as Record<string, unknown>;
    for (const k of ["shadowFaults", "l1S2Walks", "faultsInjectedToL1", "canonicalFaults", "mmusRecycled", "canonicalUnmaps", "shadowEntriesRemoved"]) {
      expect(typeof metrics[k], k).toBe("number");
    }
    expect(metrics.shadowMmusVisited).toEqual([]);
    expect(typeof metrics.exits).toBe("object");
    expect(typeof metrics.tlbi).toBe("object");
  });

  it("--trace: one line per exit and per L0 action (exit, shadow-fault, inject, eret, canonical-fault, psci)", async () => {
    const [human, json] = await Promise.all([nvlab(...HELLO_ARGS, "--trace"), nvlab(...HELLO_ARGS, "--trace", "--json")]);
    expect(human.code).toBe(0);
    expect(json.code).toBe(0);
    const j = JSON.parse(json.stdout) as { trace: string[]; metrics: { exits: Record<string, number>; shadowFaults: number } };
    const kindOf = (l: string): string => /^\[ *\d+\] (\S+)/.exec(l)?.[1] ?? `unparsed: ${l}`;
    const kinds = j.trace.map(kindOf);
    for (const k of ["exit", "shadow-fault", "inject", "eret", "canonical-fault", "psci"]) expect(kinds).toContain(k);
    // Exactly one trace line per exit counted in the metrics.
    const exits = Object.values(j.metrics.exits).reduce((a, b) => a + b, 0);
    expect(kinds.filter((k) => k === "exit")).toHaveLength(exits);
    // L2's first instruction fetch: injected into L1, then (after L1 maps it) shadowed.
    expect(j.trace.some((l) => / shadow-fault +mmu0 nested 0x40000000 -> canonical 0x48000000 /.test(l))).toBe(true);
    expect(j.trace.some((l) => / inject +stage-2 fault to L1: nested IPA 0x40000000 /.test(l))).toBe(true);
    expect(j.trace.some((l) => / eret +vEL2 -> L2 /.test(l))).toBe(true);
    expect(kinds.at(-1)).toBe("psci");
    // The human form prints the same lines and still the whole console text and the exit line.
    const humanTrace = human.stdout.split("\n").filter((l) => /^\[ *\d+\] /.test(l));
    expect(humanTrace).toEqual(j.trace);
    for (const line of HELLO.expected.split("\n").filter(Boolean)) expect(human.stdout).toContain(line);
    expect(human.stdout).toMatch(/^exit: PSCI SYSTEM_OFF, code 0 /m);
  });

  it("the exit status is the guest's exit code (wild.S: L1 reports the stray L2 jump and exits 3)", async () => {
    expect(WILD.exitCode).toBe(3);
    const r = await nvlab("run", "--l1", WILD.l1, "--l2", `${WILD.l2[0]!.path}@0x48000000`);
    expect(r.code).toBe(3);
    expect(r.stdout.startsWith(WILD.expected)).toBe(true);
    expect(r.stdout).toMatch(/^exit: PSCI SYSTEM_OFF, code 3 /m);
  });

  it("--max-steps 1000: exit status 124 and a message saying the budget ran out", async () => {
    const r = await nvlab(...HELLO_ARGS, "--max-steps", "1000");
    expect(r.code).toBe(124);
    // The exit line says the budget ran out and after how many instructions.
    expect(r.stdout).toMatch(/^exit: .*budget.*\b1000 instructions/im);
    expect(r.stdout).toContain("--max-steps");
    expect(r.stdout).toMatch(/^metrics:$/m);
  });

  it("--l2 without @IPA is a usage error (exit 1) naming the expected form", async () => {
    const r = await nvlab("run", "--l1", "guests/l1/hyp.S", "--l2", "guests/l2/hello.S");
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/--l2: 'guests\/l2\/hello\.S' needs a load address: FILE\.S@IPA/);
  });

  it("run --help documents the options, exit statuses and an example", async () => {
    const r = await nvlab("run", "--help");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: nvlab run \[options\]/);
    for (const opt of ["--l1 <file[@ipa]>", "--l2 <file@ipa>", "--memory", "--vcpus", "--max-steps", "--json", "--trace"]) {
      expect(r.stdout).toContain(opt);
    }
    expect(r.stdout).toMatch(/124 step budget exhausted/);
    expect(r.stdout).toContain("nvlab run --l1 guests/l1/hyp.S --l2 guests/l2/hello.S@0x48000000");
  });

  it("hyp + touch1000 through the bin: 1001 faults into L1, 2002 shadow faults", async () => {
    const r = await nvlab("run", "--l1", "guests/l1/hyp.S", "--l2", "guests/l2/touch1000.S@0x48000000", "--json");
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { console: string; exit: unknown; metrics: Record<string, unknown> };
    expect(j.console).toBe(pair("hyp+touch1000").expected);
    expect(j.metrics.faultsInjectedToL1).toBe(1001);
    expect(j.metrics.shadowFaults).toBe(2002);
    console.log(`hyp+touch1000 (nvlab run --json): exit ${JSON.stringify(j.exit)}\nmetrics ${JSON.stringify(j.metrics)}`);
  });
});
