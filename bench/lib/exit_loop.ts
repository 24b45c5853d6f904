// Exit-path loops for the benchmarks: real guests whose every few instructions trap to L0, run to
// SYSTEM_OFF by runVm and timed from boot to power-off. (a) L1 alone at vEL2 accessing EL2
// registers in a loop (bench/guests/sysreg_l1.S, four trapped accesses per iteration); (b) L2
// making null HVCs through L1 (bench/guests/hvc_l2.S under bench/guests/hvc_l1.S: L2's HVC, L1's
// MRS of ESR_EL2 and L1's ERET, three exits per round trip). Each reports the exits L0 handled
// (every exception class, boot and console included) and the seconds the whole run took.

import { runVm, type RunVmResult } from "../../lab/run.ts";
import { assembleGuest, withWords } from "../../lab/fixtures/guest_images.ts";
import { runPair } from "./fault_driver_pair.ts";

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
