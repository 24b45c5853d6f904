// Scenario values that L0 or the file system would refuse later are refused while loading, with the
// file, the field and the value in hex: RAM sizes, block-region addresses, alias bombs, directories.

import { readFileSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { InputFileError } from "../../../asm/errors.ts";
import { prepareScenario } from "../../../lab/scenario/run.ts";
import { loadScenario, parseScenario, ScenarioError } from "../../../lab/scenario/schema.ts";
import { problems } from "./problems.ts";

const BASE = `name: t
images:
  l1: {file: ../guests/l1/hyp.S}
expect:
  invariants: hold
`;

describe("scenario limits", () => {
  it("vm.memory must be a positive multiple of 4K up to 64G", () => {
    expect(problems(`${BASE}vm: {memory: "12345"}\n`)).toEqual(["s.yaml:6:14: vm.memory: 0x3039 is not a positive multiple of 4K up to 64G"]);
    expect(problems(`${BASE}vm: {memory: 0}\n`)).toEqual(["s.yaml:6:14: vm.memory: 0x0 is not a positive multiple of 4K up to 64G"]);
    expect(problems(`${BASE}vm: {memory: 65G}\n`)).toEqual(["s.yaml:6:14: vm.memory: 0x1040000000 is not a positive multiple of 4K up to 64G"]);
    expect(parseScenario(`${BASE}vm: {memory: 64G}\n`, "s.yaml").vm?.memory).toBe(64n << 30n);
  });

  it("split and coalesce take a 2M-aligned IPA, named in hex", () => {
    const at = (action: string) => `${BASE}timeline:\n  - at: {step: 1}\n    do: ${action}\n`;
    expect(problems(at("{split: {ipa: 0x48001000}}"))).toEqual([
      "s.yaml:8:23: timeline[0].do.split.ipa: 0x48001000 is not 2M aligned (a block region starts at a multiple of 0x200000)",
    ]);
    expect(problems(at("{coalesce: {ipa: 1207963648}}"))).toEqual([
      "s.yaml:8:26: timeline[0].do.coalesce.ipa: 0x48001000 is not 2M aligned (a block region starts at a multiple of 0x200000)",
    ]);
    expect(parseScenario(at("{split: {ipa: 0x48200000}}"), "s.yaml").timeline?.[0]?.do.split?.ipa).toBe(0x4820_0000n);
  });

  it("a control character in a key or value is quoted as an escape, not raw (it would garble the terminal)", () => {
    expect(problems(`\x0b${BASE}`)).toEqual(["s.yaml:1:1: name: is required", 's.yaml:1:1: \\x0bname: unknown key "\\x0bname"']);
    expect(problems(`${BASE}vm: {unmap: "a\\u001b[2J"}\n`)[0]).toMatch(/vm\.unmap: expected one of: .*$/);
    for (const p of problems(`${BASE}vm: {unmpa\x1b: 1}\n`)) expect(p).not.toMatch(/[\x00-\x1f]/);
  });

  it("lists or maps nested thousands deep are a problem at their place, not JavaScript's stack overflow", () => {
    // Where the parser gives up depends on the stack it has: the line, not the column, is fixed.
    expect(problems("name: " + "[".repeat(5000) + "]".repeat(5000))).toEqual([expect.stringMatching(/^s\.yaml:1:\d+: lists or maps nested too deeply here for the YAML parser$/)]);
    const deepMap = problems(Array.from({ length: 3000 }, (_, i) => " ".repeat(i) + "k:").join("\n"));
    for (const p of deepMap) expect(p).toMatch(/^s\.yaml:\d+:\d+: lists or maps nested too deeply here for the YAML parser$/);
  });

  it("a file that is not YAML gives its first ten syntax errors, each quoting at most a little of it", () => {
    // The README, given by mistake: prose, code blocks and tables, long paragraphs.
    const p = problems(readFileSync("README.md", "utf8"));
    expect(p).toHaveLength(11);
    expect(p[10]).toMatch(/^s\.yaml: \d+ more YAML syntax errors \(is it a scenario file\?\)$/);
    for (const line of p) expect(line.length, line).toBeLessThan(250);
  });

  it("a YAML alias bomb is a problem of the file, not an internal error", () => {
    const lines = ['a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      const cur = String.fromCharCode(97 + i);
      lines.push(`${cur}: &${cur} [${Array(9).fill(`*${prev}`).join(", ")}]`);
    }
    expect(problems(lines.join("\n") + "\n")).toEqual([
      "s.yaml: its YAML aliases expand too far (a document whose aliases repeat aliases, more than 100 expansions)",
    ]);
    // A few aliases are fine.
    expect(parseScenario(`${BASE}vm: &vm {vcpus: 1}\n`, "s.yaml").vm).toEqual({ vcpus: 1 });
  });

  it("a directory given as the scenario is named", async () => {
    const dir = await mkdtemp(join(tmpdir(), "nvlab-scenario-dir-"));
    const err = await loadScenario(dir).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(InputFileError);
    expect((err as InputFileError).message).toBe(`cannot read ${dir}: is a directory`);
    expect(err).not.toBeInstanceOf(ScenarioError);
  });

  it("vm.ramSlots that cannot split the RAM into whole 2M regions is the scenario's problem, not a host error", async () => {
    const dir = await mkdtemp(join(tmpdir(), "nvlab-scenario-slots-"));
    const file = join(dir, "slots.yaml");
    const text = (slots: number) => `name: slots
images:
  l1: {file: ${join(process.cwd(), "guests/l1/hyp.S")}}
vm: {memory: 64M, ramSlots: ${slots}}
expect: {exitCode: 0}
`;
    await writeFile(file, text(3));
    const err = await prepareScenario(file).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(ScenarioError);
    expect((err as ScenarioError).problems).toEqual([`${file}: vm.ramSlots: 3 memslots cannot split 0x4000000 of RAM into equal parts of whole 2M regions`]);
    await writeFile(file, text(4));
    await expect(prepareScenario(file)).resolves.toBeDefined();
  });
});
