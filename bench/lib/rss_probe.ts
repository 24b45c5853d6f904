// Peak memory per engine: the workload runs alone in a child process (node with tsx, as the rest of
// the benchmarks run), which reports the resident set before the run and the process's peak.

import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { SpeedEngine } from "./speed_runs.ts";

export type RssJob =
  | { kind: "loop"; engine: SpeedEngine; iterations: number }
  /** `pass` is the source of the regular expression the program's console must match. */
  | { kind: "program"; engine: SpeedEngine; elf: string; pass: string };

export interface RssReport {
  /** Resident set with the modules loaded, just before the run, KiB. */
  baselineKiB: number;
  /** Peak resident set of the child over its whole life, KiB. */
  peakKiB: number;
  seconds: number;
  instructions: number;
}

const CHILD = fileURLToPath(new URL("./rss_child.ts", import.meta.url));
const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Runs `job` in a fresh node process; NVLAB_ENGINE is cleared so only the job names the engine. */
export async function probeRss(job: RssJob, timeoutMs = 20 * 60_000): Promise<RssReport> {
  const env = { ...process.env };
  delete env.NVLAB_ENGINE;
  const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", CHILD, JSON.stringify(job)], { cwd: REPO_ROOT, env, timeout: timeoutMs, maxBuffer: 1 << 20 });
  const last = stdout.trim().split("\n").pop() ?? "";
  const report = JSON.parse(last) as Partial<RssReport>;
  for (const k of ["baselineKiB", "peakKiB", "seconds", "instructions"] as const) {
    if (typeof report[k] !== "number") throw new Error(`rss probe: the child's report has no ${k}: ${last}`);
  }
  return report as RssReport;
}
