// A fuzz case as scenario YAML (scenarios/README.md), the form `nvlab run` replays: the case's
// guests and VM, either its chaos schedule or a timeline of concrete injections, the expectations,
// and a header comment saying where it comes from. Image paths are relative to the file's folder.

import { relative, sep } from "node:path";
import { hex } from "../../emulator/types.ts";
import type { ChaosInjection } from "../chaos.ts";
import type { FuzzCase } from "./case.ts";
import { guestPath } from "./guests.ts";

/** What the file expects: a violated invariant, or the run's own exit and console. */
export type FuzzExpect =
  | { invariants: "S" | "R" | "A" | "L" | "T" }
  | { exitCode?: number; console?: string }
  | Record<string, never>;

export interface FuzzScenarioText {
  name: string;
  description: string;
  /** Comment lines for the header (without `# `). */
  header: readonly string[];
  fuzzCase: FuzzCase;
  /** The folder the file is (or would be) written to: image paths are relative to it. */
  dir: string;
  maxSteps: number;
  /** A chaos schedule (the run as the campaign made it) or a timeline (its injections, replayed). */
  chaos?: { seed: number; rate: number };
  timeline?: readonly ChaosInjection[];
  expect: FuzzExpect;
}

/** A double-quoted YAML scalar (JSON's escapes are YAML's). */
const quote = (s: string): string => JSON.stringify(s);

function imagePath(dir: string, file: string): string {
  return relative(dir, guestPath(file)).split(sep).join("/");
}

/** `{unmapCanonical: {ipa: 0x48100000, size: 0x1000}}` */
export function actionText(a: ChaosInjection["action"]): string {
  if ("unmapCanonical" in a) return `{unmapCanonical: {ipa: ${hex(a.unmapCanonical.ipa)}, size: ${hex(a.unmapCanonical.size)}}}`;
  if ("failStores" in a) return `{failStores: {store: ${a.failStores.store}, count: ${a.failStores.count}}}`;
  return `{recycle: {mmu: ${a.recycle.mmu}}}`;
}

function vmLines(c: FuzzCase): string[] {
  const vm = c.vm;
  const lines = ["vm:", `  unmap: ${vm.unmap}`];
  if (vm.directMap) lines.push("  directMap: true");
  if (vm.revmapTlbi !== undefined) lines.push(`  revmapTlbi: ${vm.revmapTlbi}`);
  if (vm.vcpus !== undefined) lines.push(`  vcpus: ${vm.vcpus}`);
  if (vm.nestedMmus !== undefined) lines.push(`  nestedMmus: ${vm.nestedMmus}`);
  if (vm.blocks !== undefined) lines.push(`  blocks: ${vm.blocks}`);
  if (vm.ramSlots !== undefined) lines.push(`  ramSlots: ${vm.ramSlots}`);
  if (vm.schedule !== undefined) lines.push(`  schedule: {policy: ${vm.schedule.policy}, quantum: ${vm.schedule.quantum}}`);
  if (vm.seed !== undefined) lines.push(`  seed: ${vm.seed}`);
  if (vm.engine !== undefined) lines.push(`  engine: ${vm.engine}`);
  return lines;
}

function expectLines(e: FuzzExpect): string[] {
  if ("invariants" in e) return ["expect:", `  invariants: {violated: ${e.invariants}}`];
  const lines: string[] = [];
  if ("exitCode" in e && e.exitCode !== undefined) lines.push(`  exitCode: ${e.exitCode}`);
  if ("console" in e && e.console !== undefined) lines.push(`  console: ${quote(e.console)}`);
  return lines.length ? ["expect:", ...lines] : ["expect: {}"];
}

/** The scenario file's text. */
export function scenarioText(s: FuzzScenarioText): string {
  const c = s.fuzzCase;
  const lines = [
    ...s.header.map((h) => (h === "" ? "#" : `# ${h}`)),
    `name: ${s.name}`,
    `description: ${quote(s.description)}`,
    "images:",
    `  l1: {file: ${quote(imagePath(s.dir, c.guests.l1))}${c.guests.l1Ipa === undefined ? "" : `, ipa: ${hex(c.guests.l1Ipa)}`}}`,
  ];
  if (c.guests.l2.length) {
    lines.push("  l2:");
    for (const l2 of c.guests.l2) lines.push(`    - {file: ${quote(imagePath(s.dir, l2.file))}, ipa: ${hex(l2.ipa)}}`);
  }
  lines.push(...vmLines(c), `maxSteps: ${s.maxSteps}`);
  if (s.chaos) lines.push(`chaos: {seed: ${s.chaos.seed}, rate: ${s.chaos.rate}}`);
  if (s.timeline) {
    lines.push(s.timeline.length ? "timeline:" : "timeline: []");
    for (const t of s.timeline) lines.push(`  - at: {exits: ${t.exits}}`, `    do: ${actionText(t.action)}`);
  }
  lines.push(...expectLines(s.expect));
  return lines.join("\n") + "\n";
}

/** A regular expression matching exactly `text`, the whole console (`m` flag: anchored by lookarounds). */
export function exactConsoleRegex(text: string): string {
  return `(?<![\\s\\S])${text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}(?![\\s\\S])`;
}
