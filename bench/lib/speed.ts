// The speed module of `npm run bench` (wired into bench/cpu_speed.ts): every CPU measurement on
// three engines in one run — nvlab's interpreter, nvlab's WebAssembly translator ("jit") and
// unicorn-engine — repeated, with medians and spread; the bars decided on the jit engine;
// the translator's compile time and cache; peak RSS per engine from child processes; a MIPS plot.

import { unicornAvailable, unicornVersion } from "../../lab/oracle/unicorn.ts";
import type { JitStats } from "../../emulator/jit/stats.ts";
import { crossCompilerAvailable, CROSS_GCC, PASS_LINE } from "../cpu_programs.ts";
import { LOOP } from "./cpu_loop.ts";
import { runPair } from "./fault_driver_pair.ts";
import { probeRss } from "./rss_probe.ts";
import { buildIntegerCpubench, buildIntegerLz4Check, type EngineRun, runLoop, runProgramOn, type SpeedEngine, withEngine } from "./speed_runs.ts";
import { type JitRow, jitTable, type L2Comparison, l2Ratio, l2Table, mipsPlot, rssTable, type RssRow, speedBars, speedSummary, speedTable, type Workload } from "./speed_table.ts";
import type { Bar, BenchContext, PlotSpec, Table } from "./types.ts";

/** The CoreMark stand-in runs at least this many instructions in full mode (CoreMark's 309M in the issue). */
export const STAND_IN_MIN_INSTRUCTIONS = 300_000_000;

interface SpeedPlan {
  runs: number;
  loopIterations: number;
  /** cpubench rounds: null picks the count that reaches STAND_IN_MIN_INSTRUCTIONS. */
  cpubenchRounds: number | null;
  lz4Kib: number;
}

export function speedPlan(quick: boolean, interpMips: number): SpeedPlan {
  if (quick) return { runs: 3, loopIterations: 500_000, cpubenchRounds: 1, lz4Kib: 4 };
  // Each interpreter run of the loop lasts about 6 s (never under a million iterations), so that the
  // translator's runs, 20-30 times faster, still last long enough that compiling and V8's tier-up are
  // a small part of them.
  const loopIterations = Math.max(1_000_000, Math.ceil((6 * interpMips * 1e6) / LOOP.length / 100_000) * 100_000);
  return { runs: 5, loopIterations, cpubenchRounds: null, lz4Kib: 32 };
}

/**
 * The rounds that take cpubench to `min` instructions, from the counts of 1 and 2 rounds: a round
 * costs their difference, and the start-up and checks the rest of one round's count.
 */
export function standInRounds(oneRound: number, twoRounds: number, min: number): number {
  const perRound = twoRounds - oneRound;
  if (!(perRound > 0)) throw new Error(`cpubench: 2 rounds (${twoRounds} instructions) cost no more than 1 (${oneRound})`);
  return Math.max(1, Math.ceil((min - (oneRound - perRound)) / perRound));
}

export interface SpeedSection {
  tables: Table[];
  plots: PlotSpec[];
  bars: Bar[];
  notes: string[];
  data: unknown;
}

const NVLAB = ["interp", "jit"] as const;

/** Repeats `run` on every engine, engines interleaved within a round so load drift hits all alike. */
async function measure(
  engines: readonly SpeedEngine[],
  runs: number,
  run: (engine: SpeedEngine, nvlabInstructions: number) => Promise<EngineRun & { passed?: boolean }>,
  progress: (msg: string) => void,
  what: string,
): Promise<{ seconds: Partial<Record<SpeedEngine, number[]>>; instructions: number; jit: JitStats | null; agrees: boolean }> {
  const seconds: Partial<Record<SpeedEngine, number[]>> = {};
  let instructions = 0;
  let reference: string | null = null;
  let agrees = true;
  let jit: JitStats | null = null;
  for (let r = 0; r < runs; r++) {
    progress(`speed: ${what}: run ${r + 1}/${runs} on ${engines.join(", ")}`);
    for (const e of engines) {
      const out = await run(e, instructions);
      if (e !== "unicorn") instructions = out.instructions;
      reference ??= out.state;
      agrees &&= out.state === reference && out.passed !== false;
      if (e === "jit") jit = out.jit;
      (seconds[e] ??= []).push(out.seconds);
    }
  }
  return { seconds, instructions, jit, agrees };
}

type Progress = (msg: string) => void;

/** The bench:cpu loop bare on every engine, and as L2 under hyp.S's shadow stage-2 on each nvlab engine. */
async function measureLoop(engines: readonly SpeedEngine[], plan: SpeedPlan, progress: Progress) {
  const loopL2 = (engine: "interp" | "jit") => withEngine(engine, () => runPair("guests/l1/hyp.S", "bench/guests/loop_l2.S", { symbol: "loop_iterations", value: plan.loopIterations }, { unmap: "accel" }, { timeL2: true }));
  const l2Mips: Record<"interp" | "jit", number[]> = { interp: [], jit: [] };
  const l2Run: { steps: number; windowSteps: number; jit: JitStats | null; shadowFaults: number } = { steps: 0, windowSteps: 0, jit: null, shadowFaults: 0 };
  const loop = await measure(
    engines,
    plan.runs,
    async (e) => {
      const out = runLoop(e, plan.loopIterations);
      // Each L2 run follows its engine's bare run, so both see the same machine load.
      if (e !== "unicorn") {
        const pair = await loopL2(e);
        const w = pair.l2Window;
        if (w === null) throw new Error("loop_l2.S: no ERET into L2 and exit from it were seen");
        l2Mips[e].push(w.steps / w.seconds / 1e6);
        if (e === "jit") Object.assign(l2Run, { steps: pair.result.steps, windowSteps: w.steps, jit: pair.result.kvm.vcpus[0]?.cpu.jitStats() ?? null, shadowFaults: pair.result.metrics.shadowFaults });
      }
      return out;
    },
    progress,
    `bench:cpu loop x ${plan.loopIterations.toLocaleString("en-US")} (bare, and as L2 on nvlab)`,
  );
  const workload: Workload = { id: "loop", label: `bench:cpu loop (${LOOP.length} instructions x ${plan.loopIterations.toLocaleString("en-US")})`, ...loop };
  const l2: L2Comparison[] = NVLAB.map((engine) => ({ engine, bareMips: (loop.seconds[engine] ?? []).map((s) => loop.instructions / s / 1e6), l2Mips: l2Mips[engine] }));
  return { workload, l2, l2Run };
}

interface ProgramsMeasured {
  programs: Workload[];
  /** The CoreMark stand-in and its ELF, when it could be built. */
  standIn: { workload: Workload; elf: string } | null;
  notes: string[];
}

/** The CoreMark stand-in (cpubench) and lz4_check, integer builds, on every engine. */
async function measurePrograms(engines: readonly SpeedEngine[], plan: SpeedPlan, quick: boolean, progress: Progress): Promise<ProgramsMeasured> {
  if (!crossCompilerAvailable()) {
    return { programs: [], standIn: null, notes: [`cpubench and lz4_check not run: ${CROSS_GCC} or make not installed (apt-get install gcc-aarch64-linux-gnu make)`] };
  }
  const notes: string[] = [];
  progress("speed: building cpubench (integer build)");
  const r1 = buildIntegerCpubench(1);
  const one = await runProgramOn("interp", r1, PASS_LINE.cpubench); // also the warm-up
  let rounds = plan.cpubenchRounds;
  if (rounds === null) {
    const two = await runProgramOn("interp", buildIntegerCpubench(2), PASS_LINE.cpubench);
    rounds = standInRounds(one.instructions, two.instructions, STAND_IN_MIN_INSTRUCTIONS);
  }
  const elf = rounds === 1 ? r1 : buildIntegerCpubench(rounds);
  const m = await measure(engines, plan.runs, (e, n) => runProgramOn(e, elf, PASS_LINE.cpubench, n), progress, `CoreMark stand-in (cpubench x ${rounds} rounds)`);
  const standIn: Workload = { id: "cpubench", label: `CoreMark stand-in: cpubench x ${rounds} rounds, integer build`, ...m };
  if (!quick && m.instructions < STAND_IN_MIN_INSTRUCTIONS) notes.push(`WARNING: the stand-in retired ${m.instructions.toLocaleString("en-US")} instructions, under the ${STAND_IN_MIN_INSTRUCTIONS.toLocaleString("en-US")} asked for.`);
  const programs = [standIn];
  try {
    progress(`speed: building lz4_check (${plan.lz4Kib} KiB inputs, integer build)`);
    const lz4 = await buildIntegerLz4Check(plan.lz4Kib);
    const l = await measure(engines, plan.runs, (e, n) => runProgramOn(e, lz4, PASS_LINE.lz4, n), progress, `lz4_check ${plan.lz4Kib} KiB`);
    programs.push({ id: "lz4_check", label: `lz4_check, ${plan.lz4Kib} KiB inputs, integer build`, ...l });
  } catch (e) {
    notes.push(`lz4_check not run: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`);
  }
  return { programs, standIn: { workload: standIn, elf }, notes };
}

/** Peak RSS: each engine alone in a child process on the stand-in (the loop when it cannot be built). */
async function measureRss(engines: readonly SpeedEngine[], standIn: ProgramsMeasured["standIn"], loop: Workload, plan: SpeedPlan, progress: Progress): Promise<RssRow[]> {
  const rss: RssRow[] = [];
  for (const engine of engines) {
    progress(`speed: peak RSS of ${engine} in a child process`);
    const job = standIn
      ? { kind: "program" as const, engine, elf: standIn.elf, pass: PASS_LINE.cpubench.source }
      : { kind: "loop" as const, engine, iterations: plan.loopIterations };
    const r = await probeRss(job);
    rss.push({ engine, program: (standIn?.workload ?? loop).label, baselineKiB: r.baselineKiB, peakKiB: r.peakKiB, seconds: r.seconds });
  }
  return rss;
}

export async function measureSpeed(ctx: BenchContext): Promise<SpeedSection> {
  const avail = unicornAvailable();
  const ucVersion = avail.ok ? unicornVersion() : null;
  const engines: SpeedEngine[] = avail.ok ? ["interp", "jit", "unicorn"] : ["interp", "jit"];

  // Warm-up (V8 compiles the interpreter's hot paths) doubling as the calibration probe.
  runLoop("interp", 100_000);
  const probe = runLoop("interp", 300_000);
  const plan = speedPlan(ctx.quick, probe.instructions / probe.seconds / 1e6);
  for (const e of engines) runLoop(e, Math.min(plan.loopIterations, 100_000));

  const loop = await measureLoop(engines, plan, ctx.progress);
  const measured = await measurePrograms(engines, plan, ctx.quick, ctx.progress);
  const rss = await measureRss(engines, measured.standIn, loop.workload, plan, ctx.progress);
  // The benchmark's own process ran every engine and workload above (and the modules before it).
  const benchPeakKiB = process.resourceUsage().maxRSS;

  const workloads = [loop.workload, ...measured.programs];
  const judged = speedBars({ program: measured.standIn?.workload ?? null, loop: loop.workload, l2: loop.l2 });
  const jitRows: JitRow[] = [
    { label: loop.workload.label, instructions: loop.workload.instructions, jit: loop.workload.jit },
    { label: "bench:cpu loop as L2 (whole VM run, vCPU 0)", instructions: loop.l2Run.steps, jit: loop.l2Run.jit },
    ...measured.programs.map((w) => ({ label: w.label, instructions: w.instructions, jit: w.jit })),
  ];
  const notes = [
    ...speedNotes({ workloads, standIn: measured.standIn?.workload ?? null, runs: plan.runs, ucAvailable: avail.ok ? null : avail.reason, jitNull: workloads.every((w) => w.jit === null), l2Steps: loop.l2Run.windowSteps, l2ShadowFaults: loop.l2Run.shadowFaults }),
    `The benchmark process itself (every module run so far, all three engines in one process) peaked at ${(benchPeakKiB / 1024).toFixed(1)} MiB resident.`,
    ...measured.notes,
  ];

  return {
    tables: [speedTable(workloads, plan.runs, ucVersion), judged.table, l2Table(loop.l2, plan.runs), jitTable(jitRows), rssTable(rss, ucVersion)],
    plots: [mipsPlot(workloads, ucVersion)],
    bars: judged.bars,
    notes,
    data: { plan, unicornVersion: ucVersion, workloads: speedSummary(workloads), l2: loop.l2.map((c) => ({ ...c, ratio: l2Ratio(c) })), l2Run: loop.l2Run, jit: jitRows, rss, benchPeakKiB, bars: judged.table.rows },
  };
}

function speedNotes(o: { workloads: Workload[]; standIn: Workload | null; runs: number; ucAvailable: string | null; jitNull: boolean; l2Steps: number; l2ShadowFaults: number }): string[] {
  const notes: string[] = [
    `Every number is the median of ${o.runs} runs of the same workload, with the fastest and slowest run (min–max); engines alternate within each round so machine-load drift hits them alike, and every bar is decided on the median.`,
    "Ratios follow the issue: unicorn time / nvlab time (1.0: as fast as unicorn; the CoreMark bar is 0.5, its goal 1.0), and its inverse nvlab time / unicorn time as the slowdown. The bars are decided on the jit engine, the one the issue is about; the interpreter's standing is shown for information.",
    `CoreMark is not available offline (neither on npm nor in Debian, and CI reaches nothing else), so its place is taken by a stand-in that is NOT CoreMark: cpubench (guests/c/bench: page-table walk, hash table, CRC-32, quicksort, matrix multiply, bit manipulation, memset/memcpy, a bytecode interpreter, 64/128-bit division), built integer-only (REGS=-mgeneral-regs-only) like CoreMark's integer build, with enough rounds for ${o.standIn ? o.standIn.instructions.toLocaleString("en-US") : "(not built)"} instructions; lz4_check (the LZ4 library's round trips) is the second program.`,
    "Programs are timed around the CPU's run alone (building and loading excluded), and every engine must end with the same x0 and program RAM (and nvlab must print PASS); unicorn counts no instructions, so its MIPS use nvlab's count for the same program.",
    `As L2 the loop runs under guests/l1/hyp.S with a shadow stage-2 and is timed from L1's first ERET into L2 to L2's exit call, counting the instructions retired in that window (${o.l2Steps.toLocaleString("en-US")} on the last jit run: the loop's, and L1's handling of L2's stage-2 faults; ${o.l2ShadowFaults} shadow faults in the whole run). VM creation and L1's boot are outside the window, as building and loading are outside the bare loop's timing (EL1, MMU off, no stage 2, same engine).`,
    "Peak RSS is measured with each engine alone in a fresh child process (node --import tsx) on the same program: the baseline is the resident set with the modules loaded just before the run, the peak is the process's high-water mark (the larger of /proc/self/status VmHWM and resourceUsage().maxRSS, which Linux updates lazily). unicorn's includes its 16 MiB RAM mapping and its translation buffer.",
  ];
  if (o.jitNull) notes.push("jitStats() reported nothing on the jit engine: the WebAssembly translator has not landed, so the jit rows run the interpreter and its counters print as —.");
  if (o.ucAvailable !== null) notes.push(`unicorn not measured: ${o.ucAvailable}; the ratio bars cannot be checked.`);
  for (const w of o.workloads) if (!w.agrees) notes.push(`WARNING: ${w.label}: the engines ended in different states (or a program failed its own checks).`);
  return notes;
}
