// `nvlab run SCENARIO.yaml`: the printed report and the `--json` form of a scenario run
// (lab/scenario/ runs and judges it).

import { hex } from "../../emulator/types.ts";
import { runningText } from "../../hypervisor/errors.ts";
import type { MetricsSnapshot } from "../../hypervisor/metrics.ts";
import type { RunOutcome } from "../run.ts";
import type { ScenarioResult } from "./run.ts";
import { formatChaosReport } from "../chaos.ts";

/** Metrics worth showing for a strategy comparison (when present). */
const KEY_METRICS = [
  "shadowFaults", "canonicalUnmaps", "shadowEntriesRemoved", "shadowMmusVisited", "mmusRecycled", "faultsInjectedToL1",
];

function keyMetricLines(m: MetricsSnapshot): string[] {
  const names = [
    ...KEY_METRICS,
    ...Object.keys(m).filter((k) => /^(revmap|accel|injected|rfc)\./.test(k)).sort(),
  ];
  const lines: string[] = [];
  for (const k of names) {
    const v = m[k];
    if (v === undefined) continue;
    lines.push(`  ${k.padEnd(30)} ${Array.isArray(v) ? summarizeSamples(v) : String(v)}`);
  }
  return lines;
}

function summarizeSamples(xs: number[]): string {
  if (xs.length === 0) return "(none)";
  const shown = xs.length <= 16 ? xs.join(", ") : `${xs.slice(0, 16).join(", ")}, … (${xs.length} samples)`;
  return `[${shown}] max ${Math.max(...xs)} sum ${xs.reduce((a, b) => a + b, 0)}`;
}

export function outcomeText(o: RunOutcome, steps: number): string {
  switch (o.kind) {
    case "system-off":
      return `PSCI SYSTEM_OFF, code ${o.code} (${steps} instructions)`;
    case "budget":
      return `step budget exhausted after ${steps} instructions (${o.level} at ${hex(o.pc)})`;
    case "monitor-stop":
      return `stopped by ${o.verdict} after ${steps} instructions`;
    case "guest-error":
      return `guest error: ${o.report.reason}`;
  }
}
/** The human-readable report of a scenario run. */
export function scenarioSummary(r: ScenarioResult): string {
  const lines = [`scenario: ${r.name} (${r.file})`];
  if (r.description) for (const l of r.description.trimEnd().split("\n")) lines.push(`  ${l}`);
  lines.push(`strategy: ${r.strategy}${r.directMap ? " + directMap" : ""}${r.revmapTlbi ? `, revmapTlbi ${r.revmapTlbi}` : ""}, ${r.nestedMmus} shadow MMUs`);
  lines.push(`outcome: ${outcomeText(r.outcome, r.steps)}`);
  if (r.injections.length) {
    lines.push(`injections (${r.injections.length}):`);
    const shown = r.injections.length > 12 ? [...r.injections.slice(0, 10), `… ${r.injections.length - 11} more`, r.injections[r.injections.length - 1]!] : r.injections;
    for (const i of shown) lines.push(`  ${i}`);
  }
  lines.push("expectations:", ...expectationLines(r));
  lines.push("key metrics:", ...keyMetricLines(r.metrics));
  if (r.chaos) lines.push(formatChaosReport(r.chaos));
  const o = r.outcome;
  if (o.kind === "monitor-stop") lines.push(`${o.verdict.startsWith("invariant") ? "checker report" : "monitor report"}:`, ...o.message.split("\n").map((l) => `  ${l}`));
  else if (o.kind === "guest-error" || o.kind === "budget") lines.push("report:", `  ${o.report.reason}`, `  running: ${runningText(o.report)}`);
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  lines.push(resultLine(r));
  return lines.join("\n");
}

/** One line per expectation, ✓ or ✗ with what was expected and what the run gave. */
export function expectationLines(r: Pick<ScenarioResult, "checks" | "failures">): string[] {
  const lines = r.checks.map((c) => `  ${c.ok ? "✓" : "✗"} ${c.what}: expected ${c.expected}, got ${c.actual}`);
  for (const f of r.failures) if (f.startsWith("images:")) lines.push(`  ✗ ${f}`);
  return lines;
}

/** The verdict line that ends a scenario's report. */
export function resultLine(r: Pick<ScenarioResult, "ok" | "failures">): string {
  return r.ok ? "result: PASS (all expectations hold)" : `result: FAIL (${r.failures.length} expectation${r.failures.length === 1 ? "" : "s"} failed)`;
}

/**
 * Exit status of a scenario run: 0 when every expectation holds, 2 when one fails. Not 1: that is a usage
 * error or an invalid scenario file, and a script running scenarios must tell "the strategy broke an
 * expectation" from "the scenario never ran".
 */
export const SCENARIO_FAILED_STATUS = 2;

export function scenarioExitCode(r: Pick<ScenarioResult, "ok">): number {
  return r.ok ? 0 : SCENARIO_FAILED_STATUS;
}

/** `--json`: the result with bigints as hex strings. */
export function scenarioJson(r: ScenarioResult): string {
  return JSON.stringify(r, (_k, v) => (typeof v === "bigint" ? hex(v) : v), 2);
}
