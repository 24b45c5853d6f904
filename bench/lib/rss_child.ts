// The child side of the peak-RSS probe (rss_probe.ts): runs one workload on one engine in a fresh
// process and prints one JSON line, so each engine's memory is its own and not the benchmark's.
//
//   node --import tsx bench/lib/rss_child.ts '<RssJob as JSON>'

import { readFileSync } from "node:fs";
import type { RssJob, RssReport } from "./rss_probe.ts";
import { runLoop, runProgramOn } from "./speed_runs.ts";

/** A /proc/self/status field in KiB (Linux), or null elsewhere. */
function statusKiB(field: "VmRSS" | "VmHWM"): number | null {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(readFileSync("/proc/self/status", "utf8"));
    if (m) return Number(m[1]);
  } catch {
    // not Linux: fall through
  }
  return null;
}

/** Resident set now, KiB (Linux: VmRSS; elsewhere the process's current RSS). */
function rssNowKiB(): number {
  return statusKiB("VmRSS") ?? Math.round(process.memoryUsage.rss() / 1024);
}

/**
 * The process's peak resident set, KiB. Linux updates the rusage high-water mark lazily, so
 * maxRSS can read below a VmRSS seen earlier; VmHWM is brought up to date when it is read.
 */
function peakKiB(): number {
  return Math.max(process.resourceUsage().maxRSS, statusKiB("VmHWM") ?? 0, rssNowKiB());
}

async function main(arg: string | undefined): Promise<void> {
  if (arg === undefined) throw new Error("usage: rss_child.ts '<job JSON>'");
  const job = JSON.parse(arg) as RssJob;
  const baselineKiB = rssNowKiB();
  let run;
  if (job.kind === "loop") {
    run = runLoop(job.engine, job.iterations);
  } else {
    run = await runProgramOn(job.engine, job.elf, new RegExp(job.pass, "m"));
    if (!run.passed) throw new Error(`${job.elf} did not pass its own checks on ${job.engine}`);
  }
  const report: RssReport = { baselineKiB, peakKiB: peakKiB(), seconds: run.seconds, instructions: run.instructions };
  process.stdout.write(JSON.stringify(report) + "\n");
}

await main(process.argv[2]);
