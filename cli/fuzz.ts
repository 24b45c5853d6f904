// `nvlab fuzz`: randomized campaigns against the unmap strategies (lab/fuzz/), their progress on
// stderr, the failures written as scenario files, a summary table or one --json document.

import { mkdir, writeFile } from "node:fs/promises";
import { basename, isAbsolute, join, relative, resolve } from "node:path";
import { Command, Option } from "commander";
import { hex } from "../emulator/types.ts";
import { UNMAP_STRATEGIES, type UnmapStrategyName } from "../hypervisor/unmap/registry.ts";
import { type CampaignResult, runCampaign, type Shard } from "../lab/fuzz/campaign.ts";
import { FUZZ_GUESTS, type FuzzGuests, fuzzGuests } from "../lab/fuzz/guests.ts";
import { type CaseResult, DEFAULT_SHRINK_RUNS } from "../lab/fuzz/run_case.ts";
import { UsageError } from "./errors.ts";
import { commandEngine, engineOption, givenEngine } from "./engine.ts";
import type { Engine } from "../emulator/engine.ts";
import { parseCount, parseNumber } from "./parse.ts";
import { parseImageSpec, parseVcpus } from "./run.ts";

/** Exit statuses of `nvlab fuzz`. */
export const FUZZ_STATUS = { clean: 0, usage: 1, found: 2, host: 70 } as const;

export const FUZZ_DEFAULT_RUNS = 100;
export const FUZZ_DEFAULT_OUT = "fuzz-out";

interface FuzzCommandLine {
  strategy?: UnmapStrategyName;
  seconds?: string;
  runs?: string;
  seed: string;
  jobs: string;
  shard?: string;
  out: string;
  json?: boolean;
  guests?: string;
  l1?: string;
  l2?: readonly string[];
  vcpus?: string;
  shrinkRuns: string;
  engine?: Engine;
}

export interface FuzzSettings {
  strategy?: UnmapStrategyName;
  runs?: number;
  seconds?: number;
  seed: number;
  jobs: number;
  shard: Shard;
  out: string;
  json: boolean;
  guests?: FuzzGuests[];
  shrinkRuns: number;
  /** --engine (absent: NVLAB_ENGINE, else the translator, and the files name none). */
  engine?: Engine;
}

/** `I/N`: shard I of N, 0 ≤ I < N. */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!m) throw new UsageError(`--shard: '${text}' is not I/N (e.g. 3/8: the fourth of 8 shards, numbered from 0)`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || count > 1_000_000) throw new UsageError(`--shard: ${count} shards: give 1 to 1000000`);
  if (index >= count) throw new UsageError(`--shard: shard ${index} of ${count} does not exist (shards are numbered 0 to ${count - 1})`);
  return { index, count };
}

function parseGuests(text: string): FuzzGuests[] {
  return text.split(",").map((n) => {
    const g = fuzzGuests(n.trim());
    if (!g) throw new UsageError(`--guests: no guest set "${n.trim()}" (sets: ${FUZZ_GUESTS.map((x) => x.name).join(", ")})`);
    return g;
  });
}

/** `--l1 FILE.S[@IPA] --l2 FILE.S@IPA… [--vcpus N]`: the user's own guests, as the one set to fuzz. */
function givenGuests(o: FuzzCommandLine): FuzzGuests[] | undefined {
  const l2 = o.l2 ?? [];
  if (o.l1 === undefined) {
    if (l2.length > 0 || o.vcpus !== undefined) throw new UsageError("fuzz: --l2 and --vcpus describe your own guests: give --l1 as well");
    return undefined;
  }
  if (o.guests !== undefined) throw new UsageError("fuzz: give --guests (shipped sets) or --l1/--l2 (your own guests), not both");
  const l1 = parseImageSpec(o.l1, "--l1", false);
  const images = l2.map((t) => parseImageSpec(t, "--l2", true));
  const vcpus = o.vcpus === undefined ? undefined : parseVcpus(o.vcpus);
  const name = [l1, ...images].map((i) => basename(i.file).replace(/\.[^.]*$/, "")).join("+");
  return [{
    name,
    l1: resolve(l1.file),
    ...(l1.ipa === null ? {} : { l1Ipa: l1.ipa }),
    l2: images.map((i) => ({ file: resolve(i.file), ipa: i.ipa! })),
    ...(vcpus === undefined || vcpus === 1 ? {} : { vcpus }),
  }];
}

/** The command line's options, checked. */
export function fuzzSettings(o: FuzzCommandLine): FuzzSettings {
  const given = givenGuests(o);
  if (o.runs !== undefined && o.seconds !== undefined) throw new UsageError("fuzz: give --runs or --seconds, not both");
  const jobs = parseCount(o.jobs, "--jobs");
  if (jobs > 256) throw new UsageError(`--jobs: ${o.jobs} is more worker threads than nvlab starts (at most 256)`);
  const seed = parseNumber(o.seed, "--seed");
  if (seed >= 1n << 32n) throw new UsageError(`--seed: ${o.seed} does not fit in 32 bits`);
  const seconds = o.seconds === undefined ? undefined : parseCount(o.seconds, "--seconds");
  const engine = givenEngine(o.engine);
  return {
    ...(engine === undefined ? {} : { engine }),
    ...(o.strategy === undefined ? {} : { strategy: o.strategy }),
    ...(seconds === undefined ? { runs: o.runs === undefined ? FUZZ_DEFAULT_RUNS : parseCount(o.runs, "--runs") } : { seconds }),
    seed: Number(seed),
    jobs,
    shard: o.shard === undefined ? { index: 0, count: 1 } : parseShard(o.shard),
    out: o.out,
    json: o.json === true,
    ...(given ? { guests: given } : o.guests === undefined ? {} : { guests: parseGuests(o.guests) }),
    shrinkRuns: parseCount(o.shrinkRuns, "--shrink-runs"),
  };
}

/** Where a finding's files went (paths as given relative to the working directory). */
export interface WrittenFailure {
  result: CaseResult;
  file: string;
  wholeFile: string;
}

/** A path as a user would type it here: relative below the working directory, else absolute. */
function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel === "" || rel.startsWith("..") || isAbsolute(rel) ? path : rel;
}

/**
 * Write each failure's scenario files. A reference failure (the same for every run sharing its
 * guests and VM) is written once; later runs that have it point to the first one's file.
 */
export async function writeFailures(results: readonly CaseResult[], outDir: string): Promise<WrittenFailure[]> {
  const written: WrittenFailure[] = [];
  const byReference = new Map<string, WrittenFailure>();
  let made = false;
  for (const r of results) {
    const f = r.failure;
    if (!f) continue;
    const first = f.reference === undefined ? undefined : byReference.get(f.reference);
    if (first) {
      written.push({ result: r, file: first.file, wholeFile: first.wholeFile });
      continue;
    }
    if (!made) await mkdir(outDir, { recursive: true });
    made = true;
    const shown = (name: string): string => displayPath(join(outDir, name));
    for (const file of [f.files.shrunk, f.files.whole]) await writeFile(join(outDir, file.name), file.text);
    const w = { result: r, file: shown(f.files.shrunk.name), wholeFile: shown(f.files.whole.name) };
    written.push(w);
    if (f.reference !== undefined) byReference.set(f.reference, w);
  }
  return written;
}

/** The summary table: per strategy, the runs and the failures by kind. */
export function summaryText(s: FuzzSettings, c: CampaignResult, written: readonly WrittenFailure[]): string {
  const runs = c.results.length;
  const secs = c.elapsedMs / 1000;
  const found = written.length;
  const lines = [
    `nvlab fuzz: seed ${s.seed}, shard ${s.shard.index}/${s.shard.count}: ${runs} runs in ${secs.toFixed(1)} s ` +
      `(${(runs / Math.max(secs, 0.001)).toFixed(1)} runs/s), ${found} failure${found === 1 ? "" : "s"}${c.interrupted ? " (interrupted)" : ""}`,
    `  ${"strategy".padEnd(12)}${"runs".padStart(6)}${"failures".padStart(10)}  by kind`,
  ];
  for (const strategy of UNMAP_STRATEGIES) {
    const mine = c.results.filter((r) => r.strategy === strategy);
    if (mine.length === 0) continue;
    const kinds = new Map<string, number>();
    for (const r of mine) if (r.failure) kinds.set(r.failure.signature, (kinds.get(r.failure.signature) ?? 0) + 1);
    const byKind = [...kinds].map(([k, n]) => `${k} ${n}`).join(", ");
    lines.push(`  ${strategy.padEnd(12)}${String(mine.length).padStart(6)}${String(mine.filter((r) => r.failure).length).padStart(10)}  ${byKind}`.trimEnd());
  }
  if (written.length) {
    lines.push("failures (replay one with `nvlab run FILE`):");
    for (const w of written) {
      const r = w.result;
      const f = r.failure!;
      const shrink = f.reference === undefined ? `${f.injections} injections -> ${f.entries} timeline entr${f.entries === 1 ? "y" : "ies"}` : "in the reference run";
      lines.push(`  run ${r.index}: ${r.guests}, ${r.strategy}: ${f.signature}: ${f.summary}`);
      lines.push(`    ${shrink}: ${w.file}${w.wholeFile !== w.file ? ` (whole timeline: ${w.wholeFile})` : ""}`);
      if (!f.replayed) lines.push("    (its injections did not replay the failure as a timeline; the whole file keeps the chaos schedule)");
      else if (!f.shrunkReproduces) lines.push("    (warning: the shrunk file did not fail the same way when run as written)");
      if (f.alsoUnderFull && f.reference === undefined && r.strategy !== "full") lines.push(`    (it fails the same way under full: not ${r.strategy}'s defect)`);
    }
  }
  return lines.join("\n");
}

/** The --json document. */
export function fuzzJson(s: FuzzSettings, c: CampaignResult, written: readonly WrittenFailure[]): string {
  const doc = {
    seed: s.seed,
    shard: s.shard,
    strategy: s.strategy ?? null,
    engine: commandEngine(s.engine),
    ...(s.runs !== undefined ? { runs: s.runs } : { seconds: s.seconds }),
    elapsedMs: c.elapsedMs,
    interrupted: c.interrupted === true,
    cases: c.results.map((r) => ({
      index: r.index, guests: r.guests, strategy: r.strategy, vm: r.vm, chaos: r.chaos, injections: r.injections, end: r.end, failed: r.failure !== null, ms: r.ms,
    })),
    failures: written.map((w) => {
      const f = w.result.failure!;
      return {
        index: w.result.index, guests: w.result.guests, strategy: w.result.strategy, kind: f.kind, ...(f.invariant ? { invariant: f.invariant } : {}),
        signature: f.signature, summary: f.summary, injections: f.injections, entries: f.entries, shrinkRuns: f.shrinkRuns, replayed: f.replayed,
        shrunkReproduces: f.shrunkReproduces, alsoUnderFull: f.alsoUnderFull, inReference: f.reference !== undefined, file: w.file, wholeFile: w.wholeFile,
      };
    }),
  };
  return JSON.stringify(doc, (_k, v) => (typeof v === "bigint" ? hex(v) : v), 2);
}

/** Progress on stderr: a line kept up to date on a terminal, a line every few seconds otherwise. */
function progress(s: FuzzSettings): { result: (r: CaseResult) => void; end: () => void } {
  const tty = process.stderr.isTTY === true;
  const t0 = Date.now();
  let done = 0;
  let failures = 0;
  let last = 0;
  const total = s.runs === undefined ? "" : `/${Math.ceil(Math.max(0, s.runs - s.shard.index) / s.shard.count)}`;
  const line = (): string => {
    const secs = (Date.now() - t0) / 1000;
    return `fuzz: ${done}${total} runs, ${failures} failure${failures === 1 ? "" : "s"}, ${(done / Math.max(secs, 0.001)).toFixed(1)} runs/s`;
  };
  return {
    result: (r) => {
      if (s.json) return;
      done++;
      if (r.failure) {
        failures++;
        process.stderr.write(`${tty ? "\r\x1b[K" : ""}fuzz: run ${r.index} (${r.guests}, ${r.strategy}): ${r.failure.signature}\n`);
      }
      const now = Date.now();
      if (tty) process.stderr.write(`\r\x1b[K${line()}`);
      else if (now - last >= 10_000) {
        last = now;
        process.stderr.write(line() + "\n");
      }
    },
    end: () => {
      if (tty && !s.json) process.stderr.write("\r\x1b[K");
    },
  };
}

/** Run the campaign the settings describe and report it; returns the exit status. */
export async function fuzzCommand(s: FuzzSettings): Promise<number> {
  const outDir = resolve(s.out);
  const p = progress(s);
  // Ctrl-C ends the campaign after the runs under way, with the summary and the files; a second one quits.
  let interrupted = false;
  const onInterrupt = (): void => {
    if (interrupted) process.exit(130);
    interrupted = true;
    process.stderr.write("\nfuzz: interrupted: finishing the runs under way (Ctrl-C again to quit at once)\n");
  };
  process.on("SIGINT", onInterrupt);
  let c: CampaignResult;
  try {
    c = await runCampaign({
      seed: s.seed, outDir, shrinkRuns: s.shrinkRuns, shard: s.shard, jobs: s.jobs, onResult: p.result, stop: () => interrupted,
      ...(s.strategy ? { strategy: s.strategy } : {}), ...(s.runs !== undefined ? { runs: s.runs } : {}), ...(s.seconds !== undefined ? { seconds: s.seconds } : {}),
      ...(s.guests ? { guests: s.guests } : {}),
      ...(s.engine ? { engine: s.engine } : {}),
    });
  } finally {
    p.end();
    process.off("SIGINT", onInterrupt);
  }
  if (interrupted) c.interrupted = true;
  let written: WrittenFailure[];
  try {
    written = await writeFailures(c.results, outDir);
  } catch (e) {
    process.stderr.write(`nvlab: fuzz: cannot write the failures to ${s.out}: ${(e as Error).message}\n`);
    return FUZZ_STATUS.host;
  }
  process.stdout.write((s.json ? fuzzJson(s, c, written) : summaryText(s, c, written)) + "\n");
  return written.length > 0 ? FUZZ_STATUS.found : FUZZ_STATUS.clean;
}

const HELP_AFTER = `
Each run boots one of the shipped guest sets (--guests chooses among them; --l1/--l2 fuzz your
own) under a random strategy (or --strategy), random strategy options (directMap, revmapTlbi, few
shadow MMUs to force recycles, canonical blocks on or off, several memslots, vCPU schedules) and a
random chaos schedule (canonical unmaps aimed at live shadow mappings, revmap and direct-map store
failures, MMU recycles), with the invariant checker on. A run fails when the checker stops it, when its exit or console differs from
the reference run (the same guests and VM under full, no injection), or when L0 fails. A failure's
injections are replayed as a scenario timeline and shrunk (fewer entries, earlier exits, smaller
ranges, smaller counts) to the smallest scenario that still fails the same way, written to --out
as FILE.yaml (its expectations state the failure, so \`nvlab run FILE.yaml\` exits 0 while the defect
is there) and FILE.full.yaml (every injection).

Run i of a campaign depends only on --seed and i: the same seed gives the same cases and the same
findings whatever --jobs and wherever it runs. --shard I/N takes the runs i with i mod N = I, so N
machines running shards 0..N-1 of one seed together run the whole campaign.

Exit status: 0 no failure found; 2 failures found (written to --out); 1 usage error; 70 host error
(the output could not be written, a worker failed).

Examples:
  nvlab fuzz                                          # 100 runs, every strategy, seed 0
  nvlab fuzz --strategy rfc-rbtree --seed 2 --runs 10 # finds the RFC's flaws (invariant S)
  nvlab fuzz --strategy accel --seconds 600 --jobs 4 --seed 7
  nvlab fuzz --l1 my_hyp.S --l2 my_guest.S@0x48000000 --strategy revmap --runs 200
  nvlab run fuzz-out/fuzz-s0-r0.yaml                  # replay a failure
  parallel nvlab fuzz --seed 7 --runs 1000 --shard {}/8 --out out-{} ::: 0 1 2 3 4 5 6 7
  # a CI matrix: shard: [0, 1, 2, 3] -> nvlab fuzz --seed $SEED --runs 400 --shard \${{ matrix.shard }}/4`;

/** Register `nvlab fuzz` on the program. */
export function addFuzzCommand(program: Command): void {
  program
    .command("fuzz")
    .description(
      "Hunt bugs in the unmap strategies: run the shipped guests under random chaos schedules and strategy options with the " +
        "invariant checker on; shrink each run that violates an invariant or differs from the reference run to a small scenario " +
        "YAML that `nvlab run` replays.",
    )
    .addOption(new Option("--strategy <s>", "fuzz this strategy only (default: each run draws one)").choices(UNMAP_STRATEGIES))
    .option("--runs <n>", `campaign size: runs 0..N-1 (default ${FUZZ_DEFAULT_RUNS})`)
    .option("--seconds <n>", "instead of --runs: start runs for N seconds")
    .option("--seed <n>", "campaign seed", "0")
    .option("--jobs <n>", "worker threads on this machine", "1")
    .option("--shard <I/N>", "run only shard I of N (runs i with i mod N = I)")
    .option("--out <dir>", "where the failures' scenario files go", FUZZ_DEFAULT_OUT)
    .option("--json", "print one JSON document: the cases, the failures and their files")
    .option("--guests <names>", `comma-separated guest sets (default all: ${FUZZ_GUESTS.map((g) => g.name).join(", ")})`)
    .option("--l1 <file.S[@ipa]>", "instead of --guests: fuzz your own L1 (it must end by itself, and print the same whatever the host does)")
    .option("--l2 <file.S@ipa>", "an L2 image of your own guests (repeatable)", (v: string, prev: string[] = []) => [...prev, v])
    .option("--vcpus <n>", "vCPUs your own guests need (default 1)")
    .option("--shrink-runs <n>", "most runs shrinking one failure may make", String(DEFAULT_SHRINK_RUNS))
    .addOption(engineOption())
    .addHelpText("after", HELP_AFTER)
    .action(async (o: FuzzCommandLine) => {
      process.exitCode = await fuzzCommand(fuzzSettings(o));
    });
}
