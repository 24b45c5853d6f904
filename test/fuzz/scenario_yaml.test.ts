// Fuzzing scenario files: mutations of the shipped scenarios, on their data (types, keys, numbers,
// addresses, strings) and on their text. Every mutation either validates or fails with a
// ScenarioError whose problems name the file, line:column and the field; a sample of those that
// validate runs with a small step bound and ends with a result or a clear guest/host error.

import fc from "fast-check";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { AsmError, InputFileError } from "../../asm/errors.ts";
import { HostError } from "../../hypervisor/errors.ts";
import { runVm } from "../../lab/run.ts";
import { judgeScenario, prepareScenario } from "../../lab/scenario/run.ts";
import { parseScenario, ScenarioError } from "../../lab/scenario/schema.ts";
import { FUZZ_SEED, fuzzRuns, Tally } from "./tally.ts";
import { applyEdits, EDGE_NUMBERS, editArb, expectUserMessage, withinWallTime } from "./mutate.ts";

const REPO = resolve(import.meta.dirname, "../..");
const SCENARIOS: [string, string][] = readdirSync(join(REPO, "scenarios"))
  .filter((f) => f.endsWith(".yaml"))
  .sort()
  .map((f) => [f, readFileSync(join(REPO, "scenarios", f), "utf8")]);

/** A copy of the scenarios' surroundings, so that the images they name are found from a mutated file. */
const TMP = mkdtempSync(join(tmpdir(), "nvlab-fuzz-scenario-"));
mkdirSync(join(TMP, "scenarios"));
symlinkSync(join(REPO, "guests"), join(TMP, "guests"));
symlinkSync(join(REPO, "scenarios", "guests"), join(TMP, "scenarios", "guests"));
let fileNo = 0;
function scenarioFile(text: string): string {
  const f = join(TMP, "scenarios", `m${fileNo++}.yaml`);
  writeFileSync(f, text);
  return f;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const VALUES: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom<Json>(
    -1, 0, 1, 2, 1.5, -0.5, 4096, 2 ** 53 + 1, 2 ** 64, 1e308, 1e-9, 512, 513, 100000,
    true, false, null, "", " ", "x", "0x48000001", "0x48000000", "0x10000000000000000", "0xfffffffffffffffc", "0xfffffffffffff000",
    "-0x1000", "4K", "2M", "1G", "64G", "65G", "0x", "12345", "1e3", "NaN", ".inf", "hold", "any-valid", "fired", "complete",
    "shadow-fault", "shadow-fualt", "tlbi", "IPAS2E1IS", "ipas2e1is", "[", "(", "*", "^$", "../../etc/passwd", "/", ".", "guests/l1/hyp.S",
    [], {}, [1], ["a"], { a: 1 }, { kind: "tlbi" }, { min: 10, max: 5 }, { eq: -1 }, { file: "x.S", ipa: 0 },
  ),
  fc.constantFrom(...EDGE_NUMBERS),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 10 }),
);

/** Every path in a JSON tree (the root excluded). */
function paths(v: Json, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [];
  if (Array.isArray(v)) v.forEach((x, i) => out.push([...prefix, i], ...paths(x, [...prefix, i])));
  else if (v !== null && typeof v === "object") for (const [k, x] of Object.entries(v)) out.push([...prefix, k], ...paths(x, [...prefix, k]));
  return out;
}

type DataEdit =
  | { op: "set"; at: number; value: Json }
  | { op: "delete"; at: number }
  | { op: "rename"; at: number; name: string }
  | { op: "add-key"; at: number; name: string; value: Json }
  | { op: "wrap"; at: number };

const KEY_NAMES = fc.oneof(
  fc.constantFrom("name", "description", "images", "l1", "l2", "file", "ipa", "vm", "vcpus", "memory", "unmap", "maxSteps", "timeline", "at", "do",
    "repeat", "every", "times", "expect", "metrics", "exitCode", "console", "invariants", "step", "exits", "event", "kind", "match", "nth", "size",
    "unmapCanonical", "split", "coalesce", "tlbi", "op", "operand", "chaos", "seed", "rate", "poolPages", "min", "max", "eq", "shadowFaults",
    "failStores", "store", "count", "recycle", "mmu", "Name", "nmae", "__proto__", "constructor", "toString", ""),
  fc.string({ maxLength: 8 }),
);

const DATA_EDIT: fc.Arbitrary<DataEdit> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant("set" as const), at: fc.nat(), value: VALUES }) },
  fc.record({ op: fc.constant("delete" as const), at: fc.nat() }),
  fc.record({ op: fc.constant("rename" as const), at: fc.nat(), name: KEY_NAMES }),
  fc.record({ op: fc.constant("add-key" as const), at: fc.nat(), name: KEY_NAMES, value: VALUES }),
  fc.record({ op: fc.constant("wrap" as const), at: fc.nat() }),
);

function applyDataEdit(root: Json, e: DataEdit): Json {
  const all = paths(root);
  if (all.length === 0) return root;
  const path = all[e.at % all.length]!;
  const key = path.at(-1)!;
  let parent: Json = root;
  for (const k of path.slice(0, -1)) parent = (parent as Record<string | number, Json>)[k]!;
  const p = parent as Record<string | number, Json>;
  switch (e.op) {
    // Values are shared constants of the arbitraries: insert copies, or edits would build cycles.
    case "set": p[key] = structuredClone(e.value); break;
    case "delete":
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete p[key];
      break;
    case "rename":
      if (!Array.isArray(parent)) {
        const v = p[key]!;
        delete p[key];
        Object.defineProperty(p, e.name, { value: v, enumerable: true, writable: true, configurable: true });
      }
      break;
    case "add-key": {
      const target = p[key];
      if (target !== null && typeof target === "object" && !Array.isArray(target)) {
        Object.defineProperty(target, e.name, { value: structuredClone(e.value), enumerable: true, writable: true, configurable: true });
      }
      break;
    }
    case "wrap": p[key] = [p[key]!]; break;
  }
  return root;
}

/** `root` with its `at`-th number (or number-like string) replaced by `value`. */
function setNumber(root: Json, at: number, value: Json): Json {
  const leaves = paths(root).filter((p) => {
    const v = p.reduce<Json>((o, k) => (o as Record<string | number, Json>)[k]!, root);
    return typeof v === "number" || (typeof v === "string" && /^(0x[0-9a-f_]+|\d+[kmg]?)$/i.test(v));
  });
  if (leaves.length === 0) return root;
  const path = leaves[at % leaves.length]!;
  const parent = path.slice(0, -1).reduce<Json>((o, k) => (o as Record<string | number, Json>)[k]!, root) as Record<string | number, Json>;
  parent[path.at(-1)!] = structuredClone(value);
  return root;
}

/** The judgement of one text: "valid" or "scenario-error" (checked); anything else fails. */
function judgeParse(text: string, file: string): "valid" | "scenario-error" {
  try {
    parseScenario(text, file);
    return "valid";
  } catch (e) {
    if (!(e instanceof ScenarioError)) throw e;
    checkScenarioError(e, file);
    return "scenario-error";
  }
}

function checkScenarioError(e: ScenarioError, file: string): void {
  expect(e.problems.length, e.message).toBeGreaterThan(0);
  for (const p of e.problems) {
    expectUserMessage(p, "scenario problem");
    // `file:line:col: field: why`, or a whole-file problem that still names the file.
    expect(p.startsWith(file + ":"), p).toBe(true);
    if (!/aliases expand too far|more YAML syntax errors/.test(p)) expect(p.slice(file.length), p).toMatch(/^:\d+:\d+: ./);
  }
}

const WALL_MS = 20_000;

describe("fuzz: scenario YAML", () => {
  it("data mutations of the shipped scenarios: valid, or a ScenarioError naming file:line:col and the field", () => {
    const tally = new Tally();
    fc.assert(
      fc.property(fc.constantFrom(...SCENARIOS), fc.array(DATA_EDIT, { minLength: 1, maxLength: 4 }), ([name, text], edits) => {
        let data = parse(text) as Json;
        for (const e of edits) data = applyDataEdit(data, e);
        const mutated = stringify(data);
        tally.count(judgeParse(mutated, join(TMP, "scenarios", name)));
      }),
      { seed: FUZZ_SEED, numRuns: fuzzRuns(1500) },
    );
    tally.report("scenario-yaml");
  });

  it("text mutations of the shipped scenarios: valid, or a ScenarioError naming file:line:col", () => {
    const tally = new Tally();
    const tokens = fc.oneof(
      fc.constantFrom(":", ": ", "- ", "-", "{", "}", "[", "]", ",", "&a ", "*a", "<<: *a", "!!binary ", "!!str ", "!!int ", "? ", "|", ">", "'", '"', "\t", "\n", "  ", "#", "%YAML 1.2\n---\n", "---", "...", "~", "\ufeff", "\0"),
      fc.constantFrom(...EDGE_NUMBERS),
      KEY_NAMES,
    );
    fc.assert(
      fc.property(fc.constantFrom(...SCENARIOS), fc.array(editArb(tokens), { minLength: 1, maxLength: 4 }), ([name, text], edits) => {
        tally.count(judgeParse(applyEdits(text, edits), join(TMP, "scenarios", name)));
      }),
      { seed: FUZZ_SEED, numRuns: fuzzRuns(1000) },
    );
    tally.report("scenario-yaml:text");
  });

  it("a YAML alias bomb and deep nesting are scenario errors", () => {
    const bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + Array.from({ length: 8 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}]`).join("\n");
    const deep = "name: " + "[".repeat(5000) + "]".repeat(5000);
    const deepMap = Array.from({ length: 3000 }, (_, i) => " ".repeat(i) + "k:").join("\n");
    for (const text of [bomb, deep, deepMap]) expect(judgeParse(text, "deep.yaml")).toBe("scenario-error");
  });
});

/** The run of a mutated scenario that validates: small bounds, and nothing but a result or a clear error. */
const RUN_STEPS = 200_000;

describe("fuzz: scenario YAML runs", () => {
  it("mutations that validate run to a result or a clear guest/host error within a step bound", async () => {
    const tally = new Tally();
    // Mostly numbers and addresses swapped for other plausible ones: most of these still validate and run.
    const runEdit = fc.oneof(
      { weight: 4, arbitrary: fc.record({ at: fc.nat(), value: fc.constantFrom<Json>(1, 2, 3, 4, 17, 100, 0x1000, 0x200000, "0x48000000", "0x40000000", "0x40200000", "0x48001000", "4K", "2M", "16M", "1G") }) },
      DATA_EDIT,
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...SCENARIOS), fc.array(runEdit, { minLength: 1, maxLength: 3 }), async ([, text], edits) => {
        let data = parse(text) as Json;
        for (const e of edits) data = "op" in e ? applyDataEdit(data, e) : setNumber(data, e.at, e.value);
        const file = scenarioFile(stringify(data));
        const outcome = await withinWallTime(`run ${file}`, WALL_MS, async () => {
          let p;
          try {
            p = await prepareScenario(file);
          } catch (e) {
            if (e instanceof ScenarioError) {
              for (const q of e.problems) expectUserMessage(q, "scenario problem");
              return "invalid";
            }
            if (e instanceof AsmError || e instanceof InputFileError) {
              expectUserMessage(e.message, "image error");
              return "image-error";
            }
            throw e;
          }
          p.vm.maxSteps = Math.min(p.vm.maxSteps ?? RUN_STEPS, RUN_STEPS);
          try {
            const r = judgeScenario(p, runVm(p.vm));
            for (const f of r.failures) expectUserMessage(f, "expectation failure");
            if (r.outcome.kind === "guest-error") expectUserMessage(r.outcome.message, "guest error");
            return `run:${r.outcome.kind}`;
          } catch (e) {
            // Checked when the VM exists (it needs the VM's shadow MMUs), still before the first instruction.
            if (e instanceof ScenarioError) {
              for (const q of e.problems) expect(q, q).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: [\\w.\\[\\]]+: `));
              return "invalid:vm";
            }
            if (e instanceof HostError) {
              expectUserMessage(e.message, "host error");
              return "host-error";
            }
            throw e;
          }
        });
        tally.count(outcome);
      }),
      { seed: FUZZ_SEED, numRuns: fuzzRuns(80) },
    );
    tally.report("scenario-yaml:run");
  });
});
