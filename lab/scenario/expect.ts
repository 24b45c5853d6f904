// A scenario's expectations (exit code, console, invariants, metric bounds), checked against a
// finished run.

import type { MetricsSnapshot } from "../../hypervisor/metrics.ts";
import type { RunOutcome } from "../run.ts";
import type { Scenario } from "./schema.ts";
import type { EntryFirings } from "./timeline.ts";

/** One expectation, checked. */
export interface ExpectationCheck {
  what: string;
  ok: boolean;
  expected: string;
  actual: string;
}

/** A metric's value, by name: counters, `exits.X`/`tlbi.X`, per-operation samples (arrays). */
function metricValue(m: MetricsSnapshot, name: string): number | number[] | undefined {
  const direct = m[name];
  if (typeof direct === "number" || Array.isArray(direct)) return direct;
  const dot = name.indexOf(".");
  if (dot > 0) {
    const g = m[name.slice(0, dot)];
    if (g !== undefined && typeof g === "object" && !Array.isArray(g)) return g[name.slice(dot + 1)] ?? 0;
  }
  return undefined;
}

const AGGREGATES: Record<string, (xs: number[]) => number> = {
  max: (xs) => (xs.length ? Math.max(...xs) : 0),
  min: (xs) => (xs.length ? Math.min(...xs) : 0),
  sum: (xs) => xs.reduce((a, b) => a + b, 0),
  count: (xs) => xs.length,
  last: (xs) => xs[xs.length - 1] ?? 0,
};

/**
 * Resolve a metric expectation name: a counter (absent = 0), a sample list (each sample is
 * checked), or `<samples>.max|min|sum|count|last`.
 */
export function resolveMetric(m: MetricsSnapshot, name: string): { values: number[]; each: boolean } {
  // The aggregate first: a grouped counter would read `tlbi.IPAS2E1IS.max` as the key
  // `IPAS2E1IS.max` of the group, never bumped, so 0 whatever the run did.
  const dot = name.lastIndexOf(".");
  const agg = dot > 0 && m[name] === undefined ? AGGREGATES[name.slice(dot + 1)] : undefined;
  if (agg) {
    const base = metricValue(m, name.slice(0, dot));
    if (Array.isArray(base)) return { values: [agg(base)], each: false };
    if (typeof base === "number") return { values: [base], each: false };
  }
  const v = metricValue(m, name);
  if (typeof v === "number") return { values: [v], each: false };
  if (Array.isArray(v)) return { values: v, each: true };
  return { values: [0], each: false };
}

function boundsText(b: { min?: number; max?: number; eq?: number }): string {
  const parts: string[] = [];
  if (b.eq !== undefined) parts.push(`= ${b.eq}`);
  if (b.min !== undefined) parts.push(`≥ ${b.min}`);
  if (b.max !== undefined) parts.push(`≤ ${b.max}`);
  return parts.join(", ");
}

function within(v: number, b: { min?: number; max?: number; eq?: number }): boolean {
  return (b.eq === undefined || v === b.eq) && (b.min === undefined || v >= b.min) && (b.max === undefined || v <= b.max);
}

/** Entries that fired less than `want` asks: never, or (complete) fewer times than their repeat. */
function shortEntries(firings: readonly EntryFirings[], want: "fired" | "complete"): EntryFirings[] {
  return firings.filter((f) => (want === "fired" ? f.fired === 0 : f.fired < f.times));
}

/** `timeline[2] never fired`, `timeline[0] fired 12 of 30 times`. */
export function firingText(f: EntryFirings): string {
  return f.fired === 0 ? `timeline[${f.index}] never fired` : `timeline[${f.index}] fired ${f.fired} of ${f.times} times`;
}

export function checkExpectations(
  s: Scenario,
  outcome: RunOutcome,
  consoleText: string,
  metrics: MetricsSnapshot,
  firings: readonly EntryFirings[] = [],
): ExpectationCheck[] {
  const checks: ExpectationCheck[] = [];
  const e = s.expect;
  const ended = outcome.kind === "system-off" ? `code ${outcome.code}` : outcome.kind === "monitor-stop" ? `stopped by ${outcome.verdict}` : outcome.kind;
  if (e.exitCode !== undefined) {
    checks.push({ what: "exit code", expected: String(e.exitCode), actual: ended, ok: outcome.kind === "system-off" && outcome.code === e.exitCode });
  }
  if (e.console !== undefined) {
    const ok = new RegExp(e.console, "m").test(consoleText);
    const lines = consoleText.trimEnd().split("\n");
    const actual = ok ? "matches" : `no match; console ends: ${JSON.stringify(lines.slice(-3).join("\n"))}`;
    checks.push({ what: "console", expected: `/${e.console}/m`, actual, ok });
  }
  const inv = e.invariants ?? "hold";
  const verdict = outcome.kind === "monitor-stop" ? outcome.verdict : null;
  if (inv === "hold") {
    checks.push({ what: "invariants", expected: "hold", actual: verdict ?? "held", ok: verdict === null });
  } else {
    const want = `invariant ${inv.violated}`;
    checks.push({ what: "invariants", expected: `${want} violated`, actual: verdict ? `${verdict} violated` : "held", ok: verdict === want });
  }
  for (const [name, b] of Object.entries(e.metrics ?? {})) {
    const r = resolveMetric(metrics, name);
    const ok = r.each ? r.values.length > 0 && r.values.every((v) => within(v, b)) : within(r.values[0]!, b);
    const actual = r.each ? (r.values.length ? `[${r.values.join(", ")}]` : "no samples") : String(r.values[0]);
    checks.push({ what: `metric ${name}`, expected: r.each ? `each ${boundsText(b)}` : boundsText(b), actual, ok });
  }
  if (e.timeline !== undefined) {
    const short = shortEntries(firings, e.timeline);
    const expected = e.timeline === "fired" ? "every entry fired" : "every entry fired all its times";
    checks.push({ what: "timeline", expected, actual: short.length === 0 ? "yes" : short.map(firingText).join("; "), ok: short.length === 0 });
  }
  return checks;
}
