// CPU benchmark: one fixed integer loop (ALU, shifts, logical immediates, a load, a store, a
// compare and a conditional branch) on nvlab's interpreter and, when libunicorn is installed, on
// unicorn-engine's native JIT in the same process. Reports MIPS (median, min, max of several runs)
// and checks nvlab against the interpreted-speed bar.
//
//   npm run bench:cpu [-- --json] [--runs N] [--iterations N]

import { cpus, loadavg } from "node:os";
import { unicornAvailable, unicornVersion } from "../lab/oracle/unicorn.ts";
import { LOOP, type Outcome, runNvlab, runUnicorn, type Stats, stats } from "./lib/cpu_loop.ts";

/** nvlab must run this loop at no less than this many MIPS. */
const BAR_MIPS = 20;
/** Each nvlab run should last at least this long. */
const MIN_RUN_SECONDS = 1;
const MIN_ITERATIONS = 3_000_000;

interface Args {
  json: boolean;
  runs: number;
  iterations: number | null;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { json: false, runs: 5, iterations: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--json") args.json = true;
    else if (a === "--runs") args.runs = Math.max(3, Number(argv[++i]));
    else if (a === "--iterations") args.iterations = Number(argv[++i]);
    else if (a === "--help" || a === "-h") {
      console.log("usage: tsx bench/cpu.ts [--json] [--runs N (>= 3, default 5)] [--iterations N]");
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

function main(): void {
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
  }
  const check = `bar: nvlab ${fmt(nv.mips.median)} MIPS ${pass ? ">=" : "<"} ${BAR_MIPS} MIPS: ${pass ? "PASS" : "FAIL"}`;
  if (args.json) process.stderr.write(check + "\n");
  else console.log(check);
  if (!pass) {
    console.error(`bench/cpu: nvlab runs this loop at ${fmt(nv.mips.median)} MIPS, below the ${BAR_MIPS} MIPS bar`);
    process.exitCode = 1;
  }
}

main();
