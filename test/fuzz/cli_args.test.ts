// Fuzzing the command line: random argv from the option vocabulary with bad values (numbers,
// addresses past 2^64, unaligned ones, missing files, directories, unknown options), parsed
// in-process. Each ends with status 1 and a message naming the argument, or a normal run; never
// status 70, an "internal error" or a stack trace.

import fc from "fast-check";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { nvlabInProcess } from "../cli/in_process.ts";
import { FUZZ_SEED, fuzzRuns, Tally } from "./tally.ts";
import { EDGE_NUMBERS, expectUserMessage, withinWallTime } from "./mutate.ts";

const TMP = mkdtempSync(join(tmpdir(), "nvlab-fuzz-cli-"));
const EMPTY = join(TMP, "empty.S");
writeFileSync(EMPTY, "");
const BAD_YAML = join(TMP, "bad.yaml");
writeFileSync(BAD_YAML, "name: [\n");


const FILES = [
  "guests/demo/hello.S", "guests/l1/hyp.S", "guests/l2/hello.S", "scenarios/revmap_polluted.yaml", "guests", "nosuch.S", "nosuch.yaml",
  "guests/l1/hyp.S@0x10000000040100000", "guests/l1/hyp.S@0x40100002", "guests/l2/hello.S@0x48000000", "guests/l2/hello.S@0x48000001",
  "guests/l2/hello.S@0x10000000048000000", "guests/l2/hello.S@", "guests/l2/hello.S", "@0x48000000", "guests/l2/hello.S@0x40100000",
  "guests/l2/hello.S@0x49000000@1", EMPTY, BAD_YAML, "README.md", "/dev/null", "",
];
const VALUE = fc.oneof(fc.constantFrom(...EDGE_NUMBERS), fc.constantFrom(...FILES), fc.constantFrom("full", "revmap", "accel", "bogus", "v3", "seed", "random", "round-robin", "bbm", "install-first", "4K", "1M", "256M", "64G", "1T", "0x1000", "1_000", " 5", "5 ", "0"), fc.string({ maxLength: 6 }));
const OPTIONS = [
  "--l1", "--l2", "--memory", "--vcpus", "--pool-pages", "--unmap", "--direct-map", "--revmap-tlbi", "--nested-mmus", "--check", "--chaos",
  "--chaos-rate", "--schedule", "--quantum", "--seed", "--coalesce", "--coalesce-cost", "--max-steps", "--json", "--trace", "--trace-limit",
  "--base", "--bogus", "-x", "--", "--help", "--max-steps=", "--trace-out", "--format", "--semihosting", "--semihosting-root",
  "--semihosting-cmdline", "--semihosting-stdin",
];
/** Options that take a value, and what to give them. */
const TAKES_VALUE = new Set(["--l1", "--l2", "--memory", "--vcpus", "--pool-pages", "--unmap", "--revmap-tlbi", "--nested-mmus", "--chaos", "--chaos-rate", "--schedule", "--quantum", "--seed", "--coalesce", "--coalesce-cost", "--max-steps", "--trace-limit", "--base", "--trace-out", "--format", "--semihosting-root", "--semihosting-cmdline", "--semihosting-stdin"]);

/** Command lines that run (briefly): the mutations start from these, so they reach every check. */
const TEMPLATES = [
  ["exec", "guests/demo/hello.S", "--max-steps", "20000"],
  ["run", "--l1", "guests/l1/hyp.S", "--l2", "guests/l2/hello.S@0x48000000", "--max-steps", "300000"],
  ["run", "scenarios/revmap_polluted.yaml"],
];

type ArgEdit = { op: "add"; option: string; value: string } | { op: "replace"; at: number; value: string } | { op: "drop"; at: number };
const ARG_EDIT: fc.Arbitrary<ArgEdit> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant("add" as const), option: fc.constantFrom(...OPTIONS), value: VALUE }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("replace" as const), at: fc.nat(), value: VALUE }) },
  fc.record({ op: fc.constant("drop" as const), at: fc.nat() }),
);

function applyArgEdit(argv: string[], e: ArgEdit): string[] {
  const a = [...argv];
  switch (e.op) {
    case "add":
      // --trace-out writes its file: only ever into the scratch directory.
      if (e.option === "--trace-out") a.push(e.option, join(TMP, "t.json"));
      else if (TAKES_VALUE.has(e.option)) a.push(e.option, e.value);
      else a.push(e.option);
      return a;
    case "replace":
      // Not the subcommand: `debug` and `gdbserver` would wait for input.
      if (a.length > 1) a[1 + (e.at % (a.length - 1))] = e.value;
      return a;
    case "drop":
      if (a.length > 1) a.splice(1 + (e.at % (a.length - 1)), 1);
      return a;
  }
}

/** Every --trace-out writes into the scratch directory, whatever a later edit replaced its value with. */
function scratchTraceOut(argv: string[]): string[] {
  const a = [...argv];
  for (let i = 0; i < a.length; i++) if (a[i] === "--trace-out") a.splice(i + 1, a[i + 1] === undefined || a[i + 1]!.startsWith("-") ? 0 : 1, join(TMP, "t.json"));
  return a;
}

const ARGV = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(fc.constantFrom(...TEMPLATES), fc.array(ARG_EDIT, { minLength: 1, maxLength: 3 })).map(([t, es]) => scratchTraceOut(es.reduce(applyArgEdit, t))) },
  // Soup: a subcommand (or none) and anything.
  fc.tuple(fc.constantFrom("exec", "run", "bogus", "help", ""), fc.array(fc.oneof(fc.constantFrom(...OPTIONS), VALUE), { maxLength: 6 }))
    .map(([sub, rest]) => [...(sub === "" ? [] : [sub]), ...rest.map((x) => (x === "--trace-out" ? "--json" : x))]),
);

/** `asm`, `build` and `fuzz` command lines: their own options, with the same bad values. */
const NEW_OPTIONS = ["-o", "--out", "--base", "--format", "--strategy", "--runs", "--seconds", "--seed", "--jobs", "--shard", "--guests", "--l1", "--l2", "--vcpus", "--shrink-runs", "--json", "--bogus"];
const NEW_VALUES = fc.oneof(VALUE, fc.constantFrom("elf", "raw", "hyp+hello", "hyp+hello,bogus", "hypblock+touch", "rfc-rbtree", "0/1", "1/2", "2/2", "1/0", "-1/2", "a/b", "0"));
const NEW_TEMPLATES = [
  ["asm", "guests/l2/hello.S", "-o", join(TMP, "hello.bin"), "--base", "0x48000000"],
  ["build", "guests/l2/hello.S", "-o", join(TMP, "hello.elf"), "--base", "0x48000000"],
  ["fuzz", "--guests", "hyp+hello", "--runs", "1", "--seed", "3", "--out", join(TMP, "fuzz-out")],
];

/**
 * A campaign is as long as its options say: an edit may drop `--runs` (100 runs) or make it huge, so
 * the sizes are bounded here (their bad values are kept: those end at once with status 1), and every
 * output goes to the scratch directory.
 */
function boundedNewCommand(argv: string[]): string[] {
  const a = [...argv];
  const bound: Record<string, number> = { "--runs": 1, "--seconds": 1, "--jobs": 2, "--shrink-runs": 3 };
  for (let i = 0; i < a.length; i++) {
    const max = bound[a[i]!];
    const v = a[i + 1];
    if (max !== undefined && v !== undefined && /^\d+$/.test(v.trim()) && Number(v) > max) a[i + 1] = String(max);
    if ((a[i] === "-o" || a[i] === "--out") && v !== undefined) a[i + 1] = join(TMP, a[0] === "asm" ? "o.bin" : a[0] === "build" ? "o.elf" : "fuzz-out");
  }
  if (a[0] === "fuzz" && !a.includes("--runs") && !a.includes("--seconds")) a.push("--runs", "1");
  if (a[0] === "fuzz" && !a.includes("--out")) a.push("--out", join(TMP, "fuzz-out"));
  if (a[0] === "asm" && !a.includes("-o") && !a.includes("--out")) a.push("-o", join(TMP, "o.bin"));
  if (a[0] === "build" && !a.includes("-o") && !a.includes("--out")) a.push("-o", join(TMP, "o.elf"));
  return a;
}

const NEW_EDIT: fc.Arbitrary<ArgEdit> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant("add" as const), option: fc.constantFrom(...NEW_OPTIONS), value: NEW_VALUES }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("replace" as const), at: fc.nat(), value: NEW_VALUES }) },
  fc.record({ op: fc.constant("drop" as const), at: fc.nat() }),
);

function addNewOption(argv: string[], e: ArgEdit): string[] {
  if (e.op !== "add") return applyArgEdit(argv, e);
  const takesValue = !["--json", "--bogus"].includes(e.option);
  return takesValue ? [...argv, e.option, e.value] : [...argv, e.option];
}

const NEW_ARGV = fc
  .tuple(fc.constantFrom(...NEW_TEMPLATES), fc.array(NEW_EDIT, { maxLength: 2 }))
  .map(([t, es]) => boundedNewCommand(es.reduce(addNewOption, t)));

describe("fuzz: command-line arguments", () => {
  it("status 1 with a message naming the argument, or a normal run; never 70 or a stack trace", async () => {
    const tally = new Tally();
    await fc.assert(
      fc.asyncProperty(ARGV, async (argv) => {
        const r = await withinWallTime(`nvlab ${argv.join(" ")}`, 20_000, () => nvlabInProcess(...argv));
        const what = `nvlab ${argv.join(" ")} → ${r.status}\n${r.stderr}`;
        // The one documented 70 an option can cause: a host page pool too small for the run (it says so and names the option).
        const poolTooSmall = argv.includes("--pool-pages") && /host page pool exhausted[\s\S]*--pool-pages/.test(r.stderr);
        if (!poolTooSmall) expect(r.status, what).not.toBe(70);
        expectUserMessage(r.stderr, what);
        if (r.status === 1) {
          // The message names what is wrong: one of the arguments, or the one that is missing.
          const names = argv.some((a) => a.trim() !== "" && r.stderr.includes(a.trim().split("@")[0]!.split("=")[0]!));
          expect(names || /missing required argument|argument missing|give an L1|Usage: nvlab|file name is empty|unknown command/.test(r.stderr), what).toBe(true);
        }
        tally.count(r.status === 1 ? "usage-error" : poolTooSmall ? "pool-exhausted" : `status-${r.status}`);
      }),
      { seed: FUZZ_SEED, numRuns: fuzzRuns(300) },
    );
    tally.report("cli-args");
  });

  it("asm, build and fuzz: status 1 naming the argument, or a normal end (fuzz: 0 or 2); never 70 or a stack trace", async () => {
    const tally = new Tally();
    await fc.assert(
      fc.asyncProperty(NEW_ARGV, async (argv) => {
        const r = await withinWallTime(`nvlab ${argv.join(" ")}`, 60_000, () => nvlabInProcess(...argv));
        const what = `nvlab ${argv.join(" ")} → ${r.status}\n${r.stderr}`;
        expect(r.status, what).not.toBe(70);
        expectUserMessage(r.stderr, what);
        expect([0, 1, 2], what).toContain(r.status);
        if (r.status === 1) {
          const names = argv.some((a) => a.trim() !== "" && r.stderr.includes(a.trim().split("@")[0]!.split("=")[0]!));
          expect(names || /missing required argument|argument missing|Usage: nvlab|file name is empty|unknown command/.test(r.stderr), what).toBe(true);
        }
        tally.count(`${argv[0]}:${r.status === 1 ? "usage-error" : `status-${r.status}`}`);
      }),
      { seed: FUZZ_SEED, numRuns: fuzzRuns(40) },
    );
    tally.report("cli-args:asm+fuzz");
  });
});
