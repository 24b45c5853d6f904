// Exit-path loops for the benchmarks: real guests whose every few instructions trap to L0, run to
// SYSTEM_OFF by runVm and timed from boot to power-off. (a) L1 alone at vEL2 accessing EL2
// registers in a loop (bench/guests/sysreg_l1.S, four trapped accesses per iteration); (b) L2
// making null HVCs through L1 (bench/guests/hvc_l2.S under bench/guests/hvc_l1.S: L2's HVC, L1's
// MRS of ESR_EL2 and L1's ERET, three exits per round trip). Each reports the exits L0 handled
// (every exception class, boot and console included) and the seconds the whole run took.

import { defaultEngine, type Engine } from "../../emulator/engine.ts";
import { runVm, type RunVmResult } from "../../lab/run.ts";
import { assembleGuest, withWords } from "../../lab/fixtures/guest_images.ts";
import { runPair } from "./fault_driver_pair.ts";
import { type Summary, summarize } from "./stats.ts";
import type { Bar, BenchContext, Table } from "./types.ts";

/** guests/README.md: L1's image base. */
const L1_IPA = 0x4010_0000n;
export const SYSREG_L1 = "bench/guests/sysreg_l1.S";
export const HVC_L1 = "bench/guests/hvc_l1.S";
export const HVC_L2 = "bench/guests/hvc_l2.S";
/** Trapped EL2 register accesses per iteration of sysreg_l1.S's loop. */
export const SYSREG_EXITS_PER_ITERATION = 4;
/** Exits per null-HVC round trip of hvc_l2.S through hvc_l1.S (HVC, MRS ESR_EL2, ERET). */
export const HVC_EXITS_PER_ROUND_TRIP = 3;

export interface ExitLoopRun {
  /** Exits L0 handled in the whole run (every exception class). */
  exits: number;
  seconds: number;
  /** Instructions the guests retired. */
  steps: number;
  result: RunVmResult;
}

/** Every exit L0 handled, summed over exception classes. */
export function exitsHandled(result: RunVmResult): number {
  let n = 0;
  for (const v of Object.values(result.metrics.exits)) n += v;
  return n;
}

/** (a) L1 alone, `iterations` loops of four trapped EL2 register accesses. */
export async function runSysregLoop(iterations: number): Promise<ExitLoopRun> {
  const l1 = withWords(await assembleGuest(SYSREG_L1, L1_IPA), { sysreg_iterations: iterations });
  const t0 = process.hrtime.bigint();
  const result = runVm({ l1, config: { memory: 256n << 20n }, maxSteps: 2_000_000_000 });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (result.outcome.kind !== "system-off" || result.outcome.code !== 0) {
    throw new Error(`${SYSREG_L1} did not power off cleanly: ${result.outcome.kind}${result.outcome.kind === "system-off" ? ` code ${result.outcome.code}` : ""}\n${result.console}`);
  }
  return { exits: exitsHandled(result), seconds, steps: result.steps, result };
}

/** (b) L2 under L1, `roundTrips` null HVCs each taken by L1 and returned from. */
export async function runHvcLoop(roundTrips: number): Promise<ExitLoopRun> {
  const run = await runPair(HVC_L1, HVC_L2, { symbol: "hvc_iterations", value: roundTrips }, { unmap: "accel" });
  return { exits: exitsHandled(run.result), seconds: run.seconds, steps: run.result.steps, result: run.result };
}

// ---------------------------------------------------------------- the benchmark's rows and bars

/** The issue's bar for the exit path: exits handled by L0 per second, for each loop. */
export const BAR_EXITS_PER_SECOND = 1_000_000;

export interface ExitLoopMeasurement {
  /** The engine the loops ran on (the default one). */
  engine: Engine;
  /** Loop iterations (sysreg) and round trips (hvc) per run. */
  sysregIterations: number;
  hvcRoundTrips: number;
  runs: number;
  /** Exits per run (the whole run: boot and power-off included). */
  sysregExits: number;
  hvcExits: number;
  sysreg: Summary;
  hvc: Summary;
}

/** Time both loops `runs` times, alternating, after an untimed warm-up run of each. */
export async function measureExitLoops(ctx: BenchContext): Promise<ExitLoopMeasurement> {
  const sysregIterations = ctx.quick ? 25_000 : 250_000;
  const hvcRoundTrips = ctx.quick ? 25_000 : 250_000;
  const runs = ctx.quick ? 3 : 5;
  await runSysregLoop(Math.min(sysregIterations, 20_000));
  await runHvcLoop(Math.min(hvcRoundTrips, 20_000));
  const sysreg: number[] = [];
  const hvc: number[] = [];
  let sysregExits = 0;
  let hvcExits = 0;
  for (let r = 0; r < runs; r++) {
    ctx.progress(`cpu: exit loops, run ${r + 1}/${runs}`);
    const a = await runSysregLoop(sysregIterations);
    sysregExits = a.exits;
    sysreg.push(a.exits / a.seconds);
    const b = await runHvcLoop(hvcRoundTrips);
    hvcExits = b.exits;
    hvc.push(b.exits / b.seconds);
  }
  return { engine: defaultEngine(), sysregIterations, hvcRoundTrips, runs, sysregExits, hvcExits, sysreg: summarize(sysreg), hvc: summarize(hvc) };
}

const kExits = (v: number): number => Math.round(v);

/** The exit-path table, bars and notes a benchmark module reports. */
export function exitLoopReport(m: ExitLoopMeasurement): { table: Table; bars: Bar[]; notes: string[] } {
  const rows = [
    ["exits/s (MSR/MRS from L1)", `${SYSREG_L1}, ${m.sysregIterations.toLocaleString("en-US")} iterations`, m.sysregExits, kExits(m.sysreg.median), kExits(m.sysreg.min), kExits(m.sysreg.max), (1e6 / m.sysreg.median).toFixed(2)],
    ["exits/s (HVC round trip L2->L1)", `${HVC_L2} under ${HVC_L1}, ${m.hvcRoundTrips.toLocaleString("en-US")} round trips`, m.hvcExits, kExits(m.hvc.median), kExits(m.hvc.min), kExits(m.hvc.max), (1e6 / m.hvc.median).toFixed(2)],
  ];
  const bar = (name: string, s: Summary): Bar => ({
    name: `${name} ≥ ${BAR_EXITS_PER_SECOND.toLocaleString("en-US")}`,
    pass: s.median >= BAR_EXITS_PER_SECOND,
    detail: `${kExits(s.median)} exits/s (min ${kExits(s.min)}, max ${kExits(s.max)})`,
  });
  return {
    table: {
      title: `Exits handled by L0 per second (${m.engine} engine; whole run timed, boot included; median of ${m.runs})`,
      columns: ["loop", "guests", "exits per run", "exits/s (median)", "min", "max", "µs per exit"],
      rows,
    },
    bars: [bar("exits/s (MSR/MRS from L1)", m.sysreg), bar("exits/s (HVC round trip L2->L1)", m.hvc)],
    notes: [
      `Exit loops: each MSR/MRS iteration is four trapped EL2 register accesses and two untrapped instructions; each HVC round trip is three exits (L2's HVC injected into vEL2, L1's MRS of ESR_EL2, L1's ERET emulated back to L2) and about ten guest instructions. The rate counts every exit of the run (boot and console included) over the whole run's wall time, so guest execution is part of it.`,
    ],
  };
}
