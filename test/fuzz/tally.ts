// Counts of what the fuzz suites tried, per input surface. Each suite reports once at its end; the
// line goes to the test log, and to `.fuzz-tally.jsonl` so that `.ci/run` can print one table of
// every surface after `npm test` (the CI log then shows how much each surface was exercised).

import { appendFileSync } from "node:fs";
import { resolve } from "node:path";

/** The seed every fuzz suite starts from unless NVLAB_FUZZ_SEED says otherwise (runs stay reproducible). */
export const FUZZ_SEED = envInt("NVLAB_FUZZ_SEED", 0x6e766c);

/** Scales every suite's run count (NVLAB_FUZZ_SCALE=10 for a longer local campaign). */
export const FUZZ_SCALE = envInt("NVLAB_FUZZ_SCALE", 1);

/** `runs` scaled by NVLAB_FUZZ_SCALE. */
export function fuzzRuns(runs: number): number {
  return Math.max(1, Math.round(runs * FUZZ_SCALE));
}

function envInt(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === "") return fallback;
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new Error(`${name}=${v}: expected an integer`);
  return n;
}

const TALLY_FILE = resolve(import.meta.dirname, "../../.fuzz-tally.jsonl");

/**
 * What one surface's suite tried: `tried` inputs in all, split by outcome (e.g. `{ok: 812,
 * "asm-error": 1188}`). Printed as one line and appended to the tally file.
 */
export function reportTally(surface: string, tried: number, outcomes: Readonly<Record<string, number>> = {}): void {
  const parts = Object.entries(outcomes)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`);
  process.stderr.write(`fuzz: ${surface}: ${tried} inputs (seed ${FUZZ_SEED})${parts.length ? ": " + parts.join(", ") : ""}\n`);
  appendFileSync(TALLY_FILE, JSON.stringify({ surface, tried, outcomes, seed: FUZZ_SEED }) + "\n");
}

/** A counter of outcomes, for `reportTally`. */
export class Tally {
  tried = 0;
  readonly outcomes: Record<string, number> = {};

  count(outcome: string): void {
    this.tried++;
    this.outcomes[outcome] = (this.outcomes[outcome] ?? 0) + 1;
  }

  report(surface: string): void {
    reportTally(surface, this.tried, this.outcomes);
  }
}
