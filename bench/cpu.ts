// CPU benchmark: one fixed integer loop (ALU, shifts, logical immediates, a load, a store, a
// compare and a conditional branch) on nvlab's interpreter and, when libunicorn is installed, on
// unicorn-engine's native JIT in the same process. Reports MIPS (median, min, max of several runs)
// and checks nvlab against the interpreted-speed bar.
//
//   npm run bench:cpu [-- --json] [--runs N] [--iterations N]

import { cpus, loadavg } from "node:os";
import { Cpu } from "../emulator/cpu.ts";
import { PhysMemory } from "../emulator/memory.ts";
import { Unicorn, unicornAvailable, unicornVersion } from "../test/oracle/unicorn.ts";

/** nvlab must run this loop at no less than this many MIPS. */
const BAR_MIPS = 20;
/** Each nvlab run should last at least this long. */
const MIN_RUN_SECONDS = 1;
const MIN_ITERATIONS = 3_000_000;

const CODE = 0x80000;
const TABLE = 0x200000;
const TABLE_ENTRIES = 256;

// x0 = iteration count, x10 = table base; every other register starts at 0.
const LOOP = [
  0x8b000021, // loop: add  x1, x1, x0
  0xd1000c42, //       sub  x2, x2, #3
  0xca010063, //       eor  x3, x3, x1
  0x92009c64, //       and  x4, x3, #0x00ff00ff00ff00ff
  0xd37df025, //       lsl  x5, x1, #3
  0xaa421ca6, //       orr  x6, x5, x2, lsr #7
  0xf86b7947, //       ldr  x7, [x10, x11, lsl #3]
  0x8b0600e7, //       add  x7, x7, x6
  0xf82b7947, //       str  x7, [x10, x11, lsl #3]
  0x9100056b, //       add  x11, x11, #1
  0x92401d6b, //       and  x11, x11, #0xff
  0xf1000400, //       subs x0, x0, #1
  0x54fffe81, //       b.ne loop
];
const BRK0 = 0xd4200000;
const END = BigInt(CODE + 4 * LOOP.length);

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

function code(): Uint8Array {
  const bytes = new Uint8Array(4 * (LOOP.length + 1));
  const dv = new DataView(bytes.buffer);
  [...LOOP, BRK0].forEach((w, i) => dv.setUint32(4 * i, w, true));
  return bytes;
}

/** What a run leaves behind, to check that both engines computed the same thing. */
interface Outcome {
  seconds: number;
  instructions: number;
  regs: bigint[];
  tableSum: bigint;
}

function tableSum(bytes: Uint8Array): bigint {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let s = 0n;
  for (let i = 0; i < TABLE_ENTRIES; i++) s = BigInt.asUintN(64, s + dv.getBigUint64(8 * i, true));
  return s;
}

function runNvlab(iterations: number): Outcome {
  const mem = new PhysMemory({ autoAllocate: true });
  mem.writeBytes(CODE, code());
  mem.writeBytes(TABLE, new Uint8Array(8 * TABLE_ENTRIES));
  const cpu = new Cpu(mem, { stopOnBrk: true });
  cpu.resetTo(BigInt(CODE));
  cpu.setX(0, BigInt(iterations));
  cpu.setX(10, BigInt(TABLE));
  const before = cpu.steps;
  const t0 = process.hrtime.bigint();
  const stop = cpu.run(Number.MAX_SAFE_INTEGER);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (stop.kind !== "brk" || stop.pc !== END) {
    throw new Error(`nvlab did not reach the final brk: stopped with ${JSON.stringify(stop, (_, v) => (typeof v === "bigint" ? "0x" + v.toString(16) : v))}`);
  }
  const regs = Array.from({ length: 12 }, (_, i) => cpu.getX(i));
  return { seconds, instructions: cpu.steps - before, regs, tableSum: tableSum(mem.readBytes(TABLE, 8 * TABLE_ENTRIES)) };
}

function runUnicorn(iterations: number): Outcome {
  const uc = new Unicorn();
  try {
    uc.memMap(BigInt(CODE), 0x1000);
    uc.memMap(BigInt(TABLE), 0x1000);
    uc.writeCode(BigInt(CODE), code());
    for (let i = 0; i <= 30; i++) uc.setX(i, 0n);
    uc.setX(0, BigInt(iterations));
    uc.setX(10, BigInt(TABLE));
    const t0 = process.hrtime.bigint();
    uc.run(BigInt(CODE), END);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const regs = Array.from({ length: 12 }, (_, i) => uc.getX(i));
    return { seconds, instructions: LOOP.length * iterations, regs, tableSum: tableSum(uc.memRead(BigInt(TABLE), 8 * TABLE_ENTRIES)) };
  } finally {
    uc.close();
  }
}

interface Stats {
  median: number;
  min: number;
  max: number;
  runs: number[];
}

function stats(values: number[]): Stats {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median, min: s[0]!, max: s[s.length - 1]!, runs: values };
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
