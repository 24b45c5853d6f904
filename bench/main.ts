// `npm run bench`: runs every benchmark module, prints the machine, seed, tables and bars, and
// writes bench/out/ (report.md with embedded SVG plots, results.json).
//
//   npm run bench [-- --quick] [--json] [--only id,...] [--seed N] [--out DIR]

import { existsSync, realpathSync } from "node:fs";
import { relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Command, InvalidArgumentError } from "commander";
import { busyWarning, describeMachine, machineLine } from "./lib/machine.ts";
import { allBars, jsonText, passMark, type Run, writeReport } from "./lib/report.ts";
import { renderTable } from "./lib/table.ts";
import type { Bench, BenchResult } from "./lib/types.ts";

/** The benchmark modules, in the order they run: `bench/<id>.ts`, each exporting `bench`. */
export const MODULE_IDS = ["unmap_cost", "revmap_quality", "shadow_fault", "coalesce_order", "cpu_speed"] as const;

export const DEFAULT_SEED = 1;
export const DEFAULT_OUT_DIR = fileURLToPath(new URL("./out/", import.meta.url));

export interface BenchModule {
  id: string;
  bench: Bench;
}

export interface Options {
  quick: boolean;
  json: boolean;
  /** Module ids to run; null runs all of them. */
  only: string[] | null;
  seed: number;
  outDir: string;
  /** The command line quoted in the report. */
  command: string;
  /** stdout: tables, or the JSON object. */
  out(text: string): void;
  /** stderr: progress and warnings. */
  err(text: string): void;
}

export interface Outcome {
  exitCode: number;
  run: Run;
  json: unknown;
}

/** A module that is missing is skipped with a warning, so a partial set of benchmarks still runs. */
export async function loadModules(ids: readonly string[], dir: URL, warn: (text: string) => void): Promise<{ modules: BenchModule[]; skipped: Run["skipped"]; errors: Run["errors"] }> {
  const modules: BenchModule[] = [];
  const skipped: Run["skipped"] = [];
  const errors: Run["errors"] = [];
  for (const id of ids) {
    const url = new URL(`${id}.ts`, dir);
    if (!existsSync(url)) {
      warn(`bench: warning: ${fileURLToPath(url)} does not exist; skipping ${id}`);
      skipped.push({ id, reason: "module not present" });
      continue;
    }
    try {
      const mod = (await import(url.href)) as { bench?: unknown };
      if (typeof mod.bench !== "function") throw new Error(`bench/${id}.ts does not export a \`bench\` function`);
      modules.push({ id, bench: mod.bench as Bench });
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e);
      warn(`bench: error: cannot load ${id}: ${error}`);
      errors.push({ id, error: `failed to load: ${error}` });
    }
  }
  return { modules, skipped, errors };
}

const seconds = (t0: bigint) => (Number(process.hrtime.bigint() - t0) / 1e9).toFixed(1);

function printResult(r: BenchResult, elapsed: string, o: Options): void {
  o.out(`\n== ${r.title} (${r.id}, ${elapsed} s) ==\n`);
  for (const t of r.tables) o.out("\n" + renderTable(t) + "\n");
  if (r.notes.length > 0) o.out("\nnotes:\n" + r.notes.map((n) => `  - ${n}\n`).join(""));
}

/**
 * Runs `modules` (those selected by `o.only`), writes the report and returns the exit status:
 * 0 when everything ran and (in full mode) every bar passed, 1 otherwise.
 */
export async function runBenchmarks(modules: BenchModule[], o: Options, preSkipped: Run["skipped"] = [], preErrors: Run["errors"] = []): Promise<Outcome> {
  const machine = describeMachine();
  const run: Run = { machine, date: new Date().toISOString(), seed: o.seed, command: o.command, quick: o.quick, results: [], skipped: [...preSkipped], errors: [...preErrors] };

  const header = [
    `nvlab benchmarks, ${o.quick ? "quick mode (reduced sizes; bars are informational)" : "full mode"}`,
    `machine: ${machineLine(machine)}`,
    ...(busyWarning(machine) ? [`warning: ${busyWarning(machine)}`] : []),
    `seed:    ${o.seed}`,
    `command: ${o.command}`,
  ].join("\n");
  // The machine and seed come first wherever a reader looks: stdout for tables, stderr beside JSON.
  if (o.json) o.err(header + "\n");
  else o.out(header + "\n");

  const selected = o.only === null ? modules : modules.filter((m) => o.only!.includes(m.id));
  for (const m of modules) if (!selected.includes(m)) run.skipped.push({ id: m.id, reason: "not selected by --only" });

  for (const [i, m] of selected.entries()) {
    o.err(`bench: [${i + 1}/${selected.length}] ${m.id}...\n`);
    const t0 = process.hrtime.bigint();
    try {
      const r = await m.bench({ quick: o.quick, seed: o.seed, progress: (msg) => o.err(`bench:   ${msg}\n`) });
      const elapsed = seconds(t0);
      o.err(`bench: ${m.id} done in ${elapsed} s\n`);
      run.results.push(r);
      if (!o.json) printResult(r, elapsed, o);
    } catch (e) {
      const error = e instanceof Error ? (e.stack ?? e.message) : String(e);
      o.err(`bench: error: ${m.id} failed: ${error}\n`);
      run.errors.push({ id: m.id, error: e instanceof Error ? e.message : String(e) });
    }
  }

  o.err("bench: rendering plots and report...\n");
  const { plots, json } = await writeReport(run, o.outDir);
  for (const p of plots) if (p.error) o.err(`bench: error: ${p.error}\n`);

  const bars = allBars(run);
  const lines: string[] = [];
  lines.push(`bars${o.quick ? " (quick mode: informational, not checked)" : ""}:`);
  if (bars.length === 0) lines.push("  (none)");
  for (const b of bars) lines.push(`  ${passMark(b.pass)}  (${b.bench}) ${b.name}: ${b.detail}`);
  for (const e of run.errors) lines.push(`  ERROR (${e.id}) ${e.error}`);
  for (const s of run.skipped) lines.push(`  SKIP  (${s.id}) ${s.reason}`);
  const where = relative(process.cwd(), o.outDir) || ".";
  lines.push(`report: ${where}/report.md, ${where}/results.json, ${plots.filter((p) => p.file).length} SVG plot(s)`);
  if (o.json) {
    o.out(jsonText(json) + "\n");
    o.err(lines.join("\n") + "\n");
  } else {
    o.out("\n" + lines.join("\n") + "\n");
  }

  const barsFail = !o.quick && bars.some((b) => !b.pass);
  const broken = run.errors.length > 0 || plots.some((p) => p.file === null);
  return { exitCode: barsFail || broken ? 1 : 0, run, json };
}

/** The command that reproduces a run, as the user would type it. */
export function commandLine(args: readonly string[]): string {
  const quoted = args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`)).join(" ");
  if (process.env.npm_lifecycle_event === "bench") return `npm run bench${args.length ? ` -- ${quoted}` : ""}`;
  return `npx tsx bench/main.ts${args.length ? ` ${quoted}` : ""}`;
}

function parseSeed(text: string): number {
  const v = Number(text);
  if (!Number.isSafeInteger(v) || v < 0) throw new InvalidArgumentError("the seed is a non-negative integer");
  return v;
}

function parseOnly(text: string): string[] {
  const ids = text.split(",").map((s) => s.trim()).filter((s) => s !== "");
  const unknown = ids.filter((id) => !(MODULE_IDS as readonly string[]).includes(id));
  if (ids.length === 0 || unknown.length > 0) throw new InvalidArgumentError(`unknown benchmark id(s) ${unknown.join(", ") || "(none given)"}; known: ${MODULE_IDS.join(", ")}`);
  return ids;
}

function program(args: readonly string[]): Command {
  return new Command("bench")
    .description(
      "Run nvlab's benchmarks (unmap cost per strategy, revmap quality, shadow fault round trip, CPU speed) " +
        "in one process; print the machine, seed, tables and bars; write report.md, results.json and SVG plots.",
    )
    .showHelpAfterError("(run with --help for usage)")
    .option("--quick", "small sizes and few repeats (the whole suite in under a minute, for CI); bars are printed but informational")
    .option("--json", "print one JSON object on stdout instead of tables (progress and bars stay on stderr)")
    .option("--only <ids>", `comma-separated benchmark ids to run (${MODULE_IDS.join(", ")})`, parseOnly)
    .option("--seed <n>", "seed for every random choice", parseSeed, DEFAULT_SEED)
    .option("--out <dir>", "output directory (default: bench/out)")
    .addHelpText(
      "after",
      "\nExit status: 0 everything ran and, in full mode, every bar passed; 1 a bar failed (full mode only),\n" +
        "a benchmark threw or a plot failed to render; 2 bad option.\n\n" +
        "Examples:\n  npm run bench -- --quick\n  npm run bench -- --only unmap_cost,cpu_speed --seed 7\n  npm run bench -- --quick --json > results.json",
    )
    .action(async (o: { quick?: boolean; json?: boolean; only?: string[]; seed: number; out?: string }) => {
      const err = (t: string) => void process.stderr.write(t);
      const loaded = await loadModules(o.only ?? MODULE_IDS, new URL("./", import.meta.url), (t) => err(t + "\n"));
      const unselected = MODULE_IDS.filter((id) => o.only !== undefined && !o.only.includes(id)).map((id) => ({ id, reason: "not selected by --only" }));
      const outcome = await runBenchmarks(
        loaded.modules,
        { quick: o.quick === true, json: o.json === true, only: o.only ?? null, seed: o.seed, outDir: o.out ?? DEFAULT_OUT_DIR, command: commandLine(args), out: (t) => void process.stdout.write(t), err },
        [...loaded.skipped, ...unselected],
        loaded.errors,
      );
      process.exitCode = outcome.exitCode;
    });
}

export async function main(argv: string[]): Promise<void> {
  const cmd = program(argv.slice(2)).exitOverride((e) => {
    process.exit(e.exitCode === 1 ? 2 : e.exitCode);
  });
  await cmd.parseAsync(argv);
}

const invokedDirectly = process.argv[1] !== undefined && existsSync(process.argv[1]) && pathToFileURL(realpathSync(process.argv[1])).href === import.meta.url;
if (invokedDirectly) await main(process.argv);
