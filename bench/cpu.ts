// CPU benchmark: one fixed integer loop (ALU, shifts, logical immediates, a load, a store, a
// compare and a conditional branch) on nvlab's interpreter and, when libunicorn is installed, on
// unicorn-engine's native JIT in the same process. Reports MIPS (median, min, max of several runs)
// and checks nvlab against the interpreted-speed bar. The same for an FP/SIMD loop (bench/lib/fp_loop.ts:
// vector integer and scalar double arithmetic), MIPS beside unicorn, with no bar yet. Then real compiled programs (bench/cpu_programs.ts):
// the self-checking integer benchmark guests/c/bench and the LZ4 library's round trips, each run
// once on nvlab: instructions, host time, MIPS, and whether the program's own checks passed.
//
//   npm run bench:cpu [-- --json] [--runs N] [--iterations N] [--rounds N] [--lz4-kib N] [--no-programs] [--no-fp]

import { cpus, loadavg } from "node:os";
import { unicornAvailable, unicornVersion } from "../lab/oracle/unicorn.ts";
import { LOOP, type Outcome, runNvlab, runUnicorn, type Stats, stats } from "./lib/cpu_loop.ts";
import { FP_LOOP, fpLoopInstructions, runNvlabFp, runUnicornFp } from "./lib/fp_loop.ts";
import { measureCpuPrograms, type ProgramsOutcome } from "./cpu_programs.ts";

/** nvlab must run this loop at no less than this many MIPS. */
const BAR_MIPS = 20;
/** Each nvlab run should last at least this long. */
const MIN_RUN_SECONDS = 1;
const MIN_ITERATIONS = 3_000_000;

interface Args {
  json: boolean;
  runs: number;
  iterations: number | null;
  /** Run the compiled programs too. */
  programs: boolean;
  /** cpubench's rounds (each kernel run this many times). */
  rounds: number;
  /** lz4_check's input size in KiB. */
  lz4Kib: number;
  /** Run the FP/SIMD loop too. */
  fp: boolean;
}

const positiveInt = (flag: string, text: string | undefined): number => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`bench/cpu: ${flag} must be a positive integer`);
    process.exit(2);
  }
  return n;
};

function parseArgs(argv: string[]): Args {
  const args: Args = { json: false, runs: 5, iterations: null, programs: true, rounds: 20, lz4Kib: 64, fp: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--json") args.json = true;
    else if (a === "--runs") args.runs = Math.max(3, Number(argv[++i]));
    else if (a === "--iterations") args.iterations = Number(argv[++i]);
    else if (a === "--no-programs") args.programs = false;
    else if (a === "--no-fp") args.fp = false;
    else if (a === "--rounds") args.rounds = positiveInt(a, argv[++i]);
    else if (a === "--lz4-kib") args.lz4Kib = Math.min(4096, positiveInt(a, argv[++i]));
    else if (a === "--help" || a === "-h") {
      console.log("usage: tsx bench/cpu.ts [--json] [--runs N (>= 3, default 5)] [--iterations N] [--rounds N (cpubench, default 20)] [--lz4-kib N (default 64)] [--no-programs] [--no-fp]");
      process.exit(0);
    } else {
      console.error(`bench/cpu: unknown argument ${a}`);
      process.exit(2);
    }
  }
  if (args.iterations !== null && !(args.iterations > 0)) {
    console.error("bench/cpu: --iterations must be a positive number");
    process.exit(2);
  }
  return args;
}

const progress = (msg: string) => process.stderr.write(`bench/cpu: ${msg}\n`);
const fmt = (m: number) => (m >= 100 ? m.toFixed(0) : m.toFixed(1));

function measure(name: string, runs: number, iterations: number, run: (n: number) => Outcome): { mips: Stats; last: Outcome } {
  const mips: number[] = [];
  let last: Outcome | null = null;
  for (let r = 1; r <= runs; r++) {
    last = run(iterations);
    const m = last.instructions / last.seconds / 1e6;
    mips.push(m);
    progress(`${name} run ${r}/${runs}: ${last.instructions.toLocaleString("en-US")} instructions in ${last.seconds.toFixed(3)} s = ${fmt(m)} MIPS`);
  }
  return { mips: stats(mips), last: last! };
}

/** Each FP loop run should last about this long (the loop is slow on nvlab: BigInt-exact FP). */
const FP_RUN_SECONDS = 0.5;

interface FpOutcome {
  iterations: number;
  instructions: number;
  nvlab: Stats;
  unicorn: Stats | null;
  agrees: boolean | null;
}

/** The FP/SIMD loop on nvlab and (when available) unicorn, calibrated like the integer loop. */
function measureFp(runs: number, unicorn: boolean): FpOutcome {
  progress("calibrating nvlab on the FP/SIMD loop...");
  runNvlabFp(2_000);
  const probe = runNvlabFp(5_000);
  const mips = probe.instructions / probe.seconds / 1e6;
  const iterations = Math.max(5_000, Math.ceil((mips * 1e6 * FP_RUN_SECONDS) / FP_LOOP.length / 1_000) * 1_000);
  const instructions = fpLoopInstructions(iterations);
  progress(`${FP_LOOP.length}-instruction FP/SIMD loop x ${iterations.toLocaleString("en-US")} iterations = ${instructions.toLocaleString("en-US")} instructions per run`);
  const nv = measure("nvlab FP/SIMD", runs, iterations, runNvlabFp);
  if (nv.last.instructions !== instructions) throw new Error(`nvlab retired ${nv.last.instructions} FP-loop instructions, expected ${instructions}`);
  if (!unicorn) return { iterations, instructions, nvlab: nv.mips, unicorn: null, agrees: null };
  const u = measure("unicorn FP/SIMD", runs, iterations, runUnicornFp);
  const agrees = u.last.tableSum === nv.last.tableSum && u.last.regs.every((v, i) => v === nv.last.regs[i]);
  return { iterations, instructions, nvlab: nv.mips, unicorn: u.mips, agrees };
}

function programsText(p: ProgramsOutcome): string[] {
  const lines: string[] = [];
  for (const m of p.measured) {
    lines.push(`${`${m.name} (${m.what})`.padEnd(30)} ${m.instructions.toLocaleString("en-US").padStart(13)} instructions in ${m.seconds.toFixed(2).padStart(6)} s = ${fmt(m.mips).padStart(5)} MIPS  ${m.passed ? "PASS" : "FAIL"}`);
    const u = m.unicorn;
    if (m.perCall) lines.push(`${"".padEnd(30)}   per call: ${m.perCall.map((k) => `${k.kernel} ${(k.instructions / 1e6).toFixed(2)}M`).join(", ")}`);
    if (u) lines.push(`${"".padEnd(30)}   unicorn (JIT): ${u.seconds.toFixed(2)} s = ${fmt(u.mips)} MIPS, ${(u.mips / m.mips).toFixed(1)}x nvlab; ${u.agrees ? "same final x0 and RAM" : "DIFFERENT final state"}`);
  }
  for (const s of p.skipped) lines.push(`${s.name.padEnd(30)} not run: ${s.reason}`);
  return lines;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const machine = {
    cpu: cpus()[0]?.model.trim() ?? "unknown",
    cores: cpus().length,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    // Other work on the machine slows the interpreter: a 1-minute load above the core count means
    // the numbers are low.
    loadAverage1m: Math.round(loadavg()[0]! * 100) / 100,
  };

  let iterations = args.iterations;
  if (iterations === null) {
    progress("calibrating nvlab...");
    runNvlab(100_000); // warm up the JIT
    const probe = runNvlab(300_000);
    const mips = probe.instructions / probe.seconds / 1e6;
    iterations = Math.max(MIN_ITERATIONS, Math.ceil((mips * 1e6 * MIN_RUN_SECONDS * 1.25) / LOOP.length / 100_000) * 100_000);
  }
  const instructions = LOOP.length * iterations;
  progress(`${LOOP.length}-instruction loop x ${iterations.toLocaleString("en-US")} iterations = ${instructions.toLocaleString("en-US")} instructions per run`);

  const nv = measure("nvlab", args.runs, iterations, runNvlab);
  if (nv.last.instructions !== instructions) throw new Error(`nvlab retired ${nv.last.instructions} instructions, expected ${instructions}`);

  const avail = unicornAvailable();
  let uc: { version: string; mips: Stats; agrees: boolean } | null = null;
  if (avail.ok) {
    const u = measure("unicorn", args.runs, iterations, runUnicorn);
    const agrees = u.last.tableSum === nv.last.tableSum && u.last.regs.every((v, i) => v === nv.last.regs[i]);
    uc = { version: unicornVersion(), mips: u.mips, agrees };
  } else {
    progress(`unicorn unavailable: ${avail.reason}`);
  }

  const fp = args.fp ? measureFp(args.runs, avail.ok) : null;
  const programs = args.programs ? await measureCpuPrograms({ rounds: args.rounds, lz4Kib: args.lz4Kib, progress }) : null;
  const programsFailed = programs?.measured.filter((m) => !m.passed || m.unicorn?.agrees === false).map((m) => m.name) ?? [];

  const pass = nv.mips.median >= BAR_MIPS;
  const ratio = uc ? uc.mips.median / nv.mips.median : null;
  if (args.json) {
    console.log(
      JSON.stringify(
        {
          machine,
          program: { instructionsPerIteration: LOOP.length, iterations, instructions, runs: args.runs },
          nvlab: { mips: nv.mips },
          unicorn: uc ? { available: true, version: uc.version, mips: uc.mips, resultsAgree: uc.agrees } : { available: false, reason: avail.ok ? "" : avail.reason },
          unicornOverNvlab: ratio,
          bar: { mips: BAR_MIPS, pass },
          fpLoop: fp
            ? {
                instructionsPerIteration: FP_LOOP.length, iterations: fp.iterations, instructions: fp.instructions,
                nvlab: { mips: fp.nvlab }, unicorn: fp.unicorn ? { mips: fp.unicorn, resultsAgree: fp.agrees } : null,
                unicornOverNvlab: fp.unicorn ? fp.unicorn.median / fp.nvlab.median : null,
              }
            : null,
          programs: programs ?? { measured: [], skipped: [{ name: "all", reason: "--no-programs" }] },
        },
        null,
        2,
      ),
    );
  } else {
    const line = (name: string, s: Stats) => `${name.padEnd(22)} ${fmt(s.median).padStart(8)} MIPS  (min ${fmt(s.min)}, max ${fmt(s.max)}, ${s.runs.length} runs)`;
    console.log(`machine:      ${machine.cpu}, ${machine.cores} cores, Node ${machine.node} (${machine.platform}), load average ${machine.loadAverage1m}`);
    if (machine.loadAverage1m > machine.cores) console.log("              (the machine is busy: MIPS figures are lower than on an idle machine)");
    console.log(`program:      ${LOOP.length}-instruction loop x ${iterations.toLocaleString("en-US")} = ${instructions.toLocaleString("en-US")} instructions per run`);
    console.log(line("nvlab (interpreter)", nv.mips));
    if (uc) {
      console.log(line(`unicorn ${uc.version} (JIT)`, uc.mips));
      console.log(`ratio:        unicorn is ${ratio!.toFixed(1)}x nvlab`);
      if (!uc.agrees) console.log("WARNING:      nvlab and unicorn ended with different registers or memory");
    } else {
      console.log(`unicorn:      not measured (${avail.ok ? "" : avail.reason})`);
    }
    if (fp) {
      console.log(`FP/SIMD loop: ${FP_LOOP.length}-instruction loop x ${fp.iterations.toLocaleString("en-US")} = ${fp.instructions.toLocaleString("en-US")} instructions per run`);
      console.log(line("  nvlab (interpreter)", fp.nvlab));
      if (fp.unicorn) {
        console.log(line("  unicorn (JIT)", fp.unicorn));
        console.log(`  ratio:      unicorn is ${(fp.unicorn.median / fp.nvlab.median).toFixed(1)}x nvlab`);
        if (!fp.agrees) console.log("WARNING:      nvlab and unicorn ended the FP/SIMD loop with different registers or memory");
      }
    }
    if (programs) {
      console.log("programs on nvlab (one run each):");
      for (const l of programsText(programs)) console.log(`  ${l}`);
    }
  }
  const check = `bar: nvlab ${fmt(nv.mips.median)} MIPS ${pass ? ">=" : "<"} ${BAR_MIPS} MIPS: ${pass ? "PASS" : "FAIL"}`;
  if (args.json) process.stderr.write(check + "\n");
  else console.log(check);
  if (!pass) {
    console.error(`bench/cpu: nvlab runs this loop at ${fmt(nv.mips.median)} MIPS, below the ${BAR_MIPS} MIPS bar`);
    process.exitCode = 1;
  }
  if (fp?.agrees === false) {
    console.error("bench/cpu: nvlab and unicorn ended the FP/SIMD loop differently");
    process.exitCode = 1;
  }
  if (programsFailed.length > 0) {
    console.error(`bench/cpu: ${programsFailed.join(", ")} did not pass its own checks on nvlab, or ended differently on unicorn`);
    process.exitCode = 1;
  }
}

await main();
