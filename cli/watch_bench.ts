// What a watchpoint costs: the benchmark loop as L2 (bench/guests/loop_l2.S under guests/l1/hyp.S:
// 13 instructions, one load and one store into a 2 KiB table on its own page) in a debugging session,
// on each engine, with no watchpoint, with one on a page the loop never touches, and with one on the
// loop's table page at a word it never touches (every load and store of the loop then takes the slow
// path, and none stops). Runs alternate within each round so machine-load drift hits them alike.
// `npm run bench:watch [-- --json] [--runs N] [--iterations N]` (not part of `npm run bench`).

import { DebugSession } from "../debug/session.ts";
import type { Engine } from "../emulator/engine.ts";
import { assembleGuest, withWords } from "../lab/fixtures/guest_images.ts";

const L1_IPA = 0x4010_0000n;
const L2_IPA = 0x4800_0000n;
/** The loop's table: one page above L2's image (loop_l2.S); 256 entries of 8 bytes. */
const TABLE_IPA = L2_IPA + 0x1000n;
const TABLE_UNTOUCHED_WORD = TABLE_IPA + 0xff8n;
/** A page of L1's RAM that nothing in this run reads or writes. */
const IDLE_IPA = 0x4c00_0000n;

type Case = "none" | "idle page" | "loop's page";
const CASES: readonly Case[] = ["none", "idle page", "loop's page"];
const ENGINES: readonly Engine[] = ["jit", "interp"];

interface Args {
  json: boolean;
  runs: number;
  iterations: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { json: false, runs: 5, iterations: 3_000_000 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const n = (): number => {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 1) fail(`${a} takes a positive integer`);
      return v;
    };
    if (a === "--json") args.json = true;
    else if (a === "--runs") args.runs = Math.max(3, n());
    else if (a === "--iterations") args.iterations = n();
    else if (a === "--help" || a === "-h") {
      console.log("usage: npm run bench:watch [-- --json] [--runs N (>= 3, default 5)] [--iterations N (default 3,000,000)]");
      process.exit(0);
    } else fail(`unknown argument ${a} (try --help)`);
  }
  return args;
}

function fail(message: string): never {
  console.error(`bench:watch: ${message}`);
  process.exit(2);
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** One whole run of the pair in a session with `c`'s watchpoint: MIPS over the run. */
async function runOnce(engine: Engine, c: Case, iterations: number): Promise<number> {
  const l1 = await assembleGuest("guests/l1/hyp.S", L1_IPA);
  const image = withWords(await assembleGuest("bench/guests/loop_l2.S", L2_IPA), { loop_iterations: iterations });
  const s = await DebugSession.open({
    vm: { l1, l2: [{ image, ipa: L2_IPA }], config: { memory: 256n << 20n, engine } },
    timeline: { every: Number.MAX_SAFE_INTEGER },
  });
  if (c === "idle page") s.addWatch({ space: "ipa", addr: IDLE_IPA, len: 8, access: "rw" });
  if (c === "loop's page") s.addWatch({ space: "ipa", addr: TABLE_UNTOUCHED_WORD, len: 8, access: "rw" });
  const t0 = performance.now();
  const stop = await s.continue({ maxSteps: 2_000_000_000, chunk: 50_000_000 });
  const seconds = (performance.now() - t0) / 1000;
  if (stop.reason.kind !== "finished" || s.finished?.kind !== "system-off") throw new Error(`${engine}, ${c}: the run stopped for ${stop.reason.kind}`);
  return s.kvm.steps / seconds / 1e6;
}

const args = parseArgs(process.argv.slice(2));
const mips = new Map<string, number[]>();
const key = (e: Engine, c: Case): string => `${e}/${c}`;
for (const e of ENGINES) await runOnce(e, "none", 100_000); // warm-up
for (let r = 1; r <= args.runs; r++) {
  process.stderr.write(`bench:watch: round ${r}/${args.runs}\n`);
  for (const e of ENGINES) {
    for (const c of CASES) {
      const list = mips.get(key(e, c)) ?? [];
      list.push(await runOnce(e, c, args.iterations));
      mips.set(key(e, c), list);
    }
  }
}

const rows = ENGINES.flatMap((engine) => {
  const base = median(mips.get(key(engine, "none"))!);
  return CASES.map((c) => {
    const m = mips.get(key(engine, c))!;
    return { engine, watch: c, mips: median(m), min: Math.min(...m), max: Math.max(...m), vsNone: median(m) / base };
  });
});
if (args.json) console.log(JSON.stringify({ iterations: args.iterations, runs: args.runs, rows }, null, 2));
else {
  console.log(`L2 loop (bench/guests/loop_l2.S under guests/l1/hyp.S, ${args.iterations.toLocaleString("en-US")} iterations) in a debugging session; median of ${args.runs} runs`);
  console.log("engine  watchpoint    MIPS (min-max)         vs none");
  for (const r of rows) {
    console.log(`${r.engine.padEnd(7)} ${r.watch.padEnd(13)} ${r.mips.toFixed(1).padStart(6)} (${r.min.toFixed(1)}-${r.max.toFixed(1)})`.padEnd(46) + ` ${r.vsNone.toFixed(2)}x`);
  }
}
