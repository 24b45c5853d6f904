// The READMEs stay true to the tree: every repository path their code (blocks and inline) names
// exists, and scenarios/README.md's tables list every scenario action and every injection counter.

import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { OTHER_COUNTERS } from "../hypervisor/metrics.ts";
import { ACTIONS } from "../lab/scenario/schema.ts";
import { REPO_ROOT } from "./qemu/pairs.ts";

const READMES = ["README.md", "guests/README.md", "asm/README.md", "scenarios/README.md", "ARCHITECTURE.md"];
const TOP = "(?:guests|scenarios|asm|cli|lab|debug|hypervisor|emulator|test|bench|types|web|docs)";
/** A path into the tree: a top-level folder, then a file with an extension the tree uses. */
const PATH = new RegExp(`(?<![\\w./-])((?:\\.\\./)*${TOP}/[\\w./-]*\\.(?:S|yaml|ts|md|json|js))(?![\\w/-])`, "g");

/**
 * Names in the READMEs that are not in the tree on purpose: files the tools write, and the file of an
 * example error message.
 */
const NOT_IN_TREE = new Set(["bench/out/report.md", "scenarios/x.yaml"]);

/** The code of a markdown text: fenced blocks and inline spans. */
function codeOf(text: string): string[] {
  const blocks = [...text.matchAll(/```[^\n]*\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const rest = text.replace(/```[^\n]*\n[\s\S]*?```/g, "");
  return [...blocks, ...[...rest.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!)];
}

describe("README paths", () => {
  for (const readme of READMES) {
    it(`${readme}: every file its code names exists (from the repository root or the README's folder)`, () => {
      const text = readFileSync(join(REPO_ROOT, readme), "utf8");
      const paths = new Set(codeOf(text).flatMap((c) => [...c.matchAll(PATH)].map((m) => m[1]!)));
      expect(paths.size, readme).toBeGreaterThan(0);
      const missing = [...paths].filter(
        (p) => !NOT_IN_TREE.has(p) && !existsSync(join(REPO_ROOT, p)) && !existsSync(join(REPO_ROOT, dirname(readme), p)),
      );
      expect(missing, `${readme} names files that do not exist`).toEqual([]);
    });
  }
});

describe("asm/README.md's example", () => {
  it("runs, and gives what its comments say", async () => {
    const text = readFileSync(join(REPO_ROOT, "asm/README.md"), "utf8");
    const code = /```ts\n([\s\S]*?)```/.exec(text)![1]!;
    // Each commented expression's value, next to what the comment says it is.
    const checked = code.replace(/^(rawBinary\(.*?\)\.base|disassemble\(.*?\)|symbolize\(.*?\));\s*\/\/ (.*)$/gm, "results.push($1);");
    const file = join(REPO_ROOT, `.asm_readme_example_${process.pid}.ts`);
    writeFileSync(file, `export const results: unknown[] = [];\n${checked}`);
    try {
      const { results } = (await import(file)) as { results: unknown[] };
      expect(results).toEqual([0x4010_0000n, { mnemonic: "eret", operands: "", text: "eret" }, "l1_entry+0x10"]);
      for (const said of ["// 0x40100000n:", '// { mnemonic: "eret", operands: "", text: "eret" }', '// "l1_entry+0x10"']) expect(code).toContain(said);
    } finally {
      rmSync(file);
    }
  });
});

/** The first-column names (backticked, up to a ':' or '.') of the table rows that start with a backtick. */
function firstColumnNames(section: string): string[] {
  return [...section.matchAll(/^\| `([\w.]+)/gm)].map((m) => m[1]!);
}

describe("scenarios/README.md's tables", () => {
  const text = readFileSync(join(REPO_ROOT, "scenarios/README.md"), "utf8");
  const actions = text.slice(text.indexOf("### Actions"), text.indexOf("### Expectations"));

  it("the action table has one row per action the schema takes, and no other", () => {
    const table = actions.slice(0, actions.indexOf("\n\n", actions.indexOf("| action |")));
    expect(firstColumnNames(table).sort()).toEqual([...ACTIONS].sort());
  });

  it("the shipped-scenario table lists every scenario file", () => {
    const shipped = text.slice(text.indexOf("## Shipped scenarios"));
    const listed = [...shipped.matchAll(/^\| `([\w.]+\.yaml)`/gm)].map((m) => m[1]!).sort();
    expect(listed).toEqual(readdirSync(join(REPO_ROOT, "scenarios")).filter((f) => f.endsWith(".yaml")).sort());
  });

  it("the injection table has one row per injected.* counter L0 keeps", () => {
    const table = actions.slice(actions.indexOf("| counter |"));
    const injected = OTHER_COUNTERS.filter((c) => c.startsWith("injected."));
    expect(firstColumnNames(table).sort()).toEqual([...injected].sort());
  });
});
