// Golden outputs: runs the `nvlab` command over every shipped guest pair, scenario and strategy
// (console, --json, --trace, --trace-out, chaos, a debugger transcript) and the benchmarks' counts,
// and writes each result to a file under OUT. Two trees from two commits compare with `diff -r`:
// a behaviour-preserving change leaves them identical.
//
//   npx tsx test/golden/capture.ts OUT [--jobs N] [--only SUBSTRING] [--no-bench]
//   npx tsx test/golden/capture.ts --compare BEFORE AFTER     (exit 1 if any file differs)

import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { GUEST_PAIRS, PAIR_MEMORY_MIB, REPO_ROOT } from "../qemu/pairs.ts";

interface Case {
  name: string;
  args: string[];
  stdin?: string;
  /** A file the run writes (a --trace-out path), captured beside stdout. */
  artifact?: string;
}

const STRATEGIES: string[][] = [
  ["--unmap", "full"],
  ["--unmap", "revmap"],
  ["--unmap", "revmap", "--direct-map"],
  ["--unmap", "accel"],
  ["--unmap", "accel", "--direct-map"],
  ["--unmap", "rfc-rbtree"],
];

/** "full", "revmap+direct-map", … */
function strategyTag(s: string[]): string {
  return s.slice(1).join("").replace(/--/g, "+");
}

function pairArgs(p: (typeof GUEST_PAIRS)[number]): string[] {
  const a = ["--l1", p.l1, "--memory", `${PAIR_MEMORY_MIB}M`];
  for (const l2 of p.l2) a.push("--l2", `${l2.path}@0x${l2.ipa.toString(16)}`);
  if (p.vcpus !== undefined) a.push("--vcpus", String(p.vcpus));
  return a;
}

function cases(tmp: string): Case[] {
  const out: Case[] = [];
  for (const p of GUEST_PAIRS) {
    const base = pairArgs(p);
    for (const s of STRATEGIES) {
      const tag = strategyTag(s);
      out.push({ name: `pair/${p.name}/${tag}.json`, args: ["run", ...base, ...s, "--check", "--json", "--trace"] });
    }
    out.push({ name: `pair/${p.name}/plain.txt`, args: ["run", ...base] });
    const trace = join(tmp, `${p.name.replace(/\W/g, "_")}.trace.json`);
    out.push({ name: `pair/${p.name}/trace-out`, args: ["run", ...base, "--unmap", "accel", "--trace-out", trace], artifact: trace });
    for (const seed of [7]) {
      for (const s of [["--unmap", "full"], ["--unmap", "revmap"], ["--unmap", "accel", "--direct-map"], ["--unmap", "rfc-rbtree"]]) {
        const tag = strategyTag(s);
        out.push({ name: `chaos/${p.name}/${tag}-${seed}.json`, args: ["run", ...base, ...s, "--chaos", String(seed), "--json"] });
      }
    }
  }
  const scenarios = readdirSync(join(REPO_ROOT, "scenarios")).filter((f) => f.endsWith(".yaml")).sort();
  for (const f of scenarios) {
    const path = `scenarios/${f}`;
    out.push({ name: `scenario/${f}/default.json`, args: ["run", path, "--json"] });
    out.push({ name: `scenario/${f}/default.trace.txt`, args: ["run", path, "--trace"] });
    for (const s of STRATEGIES) {
      const tag = strategyTag(s);
      out.push({ name: `scenario/${f}/${tag}.json`, args: ["run", path, ...s, "--json"] });
    }
    const trace = join(tmp, `${f}.trace.json`);
    out.push({ name: `scenario/${f}/trace-out`, args: ["run", path, "--trace-out", trace], artifact: trace });
  }
  const session = ["break l2_entry", "continue", "pt 0x40000000", "mmus", "revmap 0", "accel", "metrics", "continue", "quit", ""].join("\n");
  for (const s of STRATEGIES) {
    const tag = strategyTag(s);
    out.push({
      name: `debug/multi/${tag}.txt`,
      args: ["debug", ...pairArgs(GUEST_PAIRS.find((p) => p.name === "multi") ?? GUEST_PAIRS[0]!), ...s, "--echo"],
      stdin: session,
    });
  }
  out.push({
    name: "debug/scenario_revmap_stale.txt",
    args: ["debug", "scenarios/revmap_stale.yaml", "--echo"],
    stdin: ["continue", "mmus", "revmap 0", "accel", "metrics", "quit", ""].join("\n"),
  });
  return out;
}

function run(c: Case, tmp: string): Promise<string> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ["--import", "tsx", join(REPO_ROOT, "cli/main.ts"), ...c.args], {
      cwd: REPO_ROOT,
      env: { ...process.env, FORCE_COLOR: "0", NO_COLOR: "1" },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.stdin.end(c.stdin ?? "");
    child.on("close", (code) => {
      let art = "";
      if (c.artifact) {
        try {
          art = readFileSync(c.artifact, "utf8");
          rmSync(c.artifact);
        } catch (e) {
          art = `(no file: ${(e as Error).message})`;
        }
      }
      done(
        `$ nvlab ${c.args.join(" ").split(tmp).join("$TMP")}\nstatus ${code}\n--- stdout\n${stdout}--- stderr\n${stderr}` +
          (c.artifact ? `--- ${c.artifact.replace(/.*\//, "")}\n${art}\n` : ""),
      );
    });
  });
}

/** Column headers of timings (they differ run to run); every other column is a count. */
const TIMING_COLUMN = /µs|\/s\b|MIPS|min|max|faster|vs |ratio|phase|sum of|end to end|walk \(|fault-in|install \(|record \(|\/ full|run s\b/i;

/** The bench tables with every timing column dropped: the counts (MMUs visited, entries removed, faults…) stay. */
function benchCounts(json: { benchmarks: { id: string; tables: { title: string; columns: string[]; rows: unknown[][] }[] }[] }): unknown {
  return json.benchmarks.map((b) => ({
    id: b.id,
    tables: b.tables.map((t) => {
      const keep = t.columns.map((c, i) => (TIMING_COLUMN.test(c) ? -1 : i)).filter((i) => i >= 0);
      return { title: t.title, columns: keep.map((i) => t.columns[i]), rows: t.rows.map((r) => keep.map((i) => r[i])) };
    }),
  }));
}

function runBench(): Promise<string> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ["--expose-gc", "--import", "tsx", join(REPO_ROOT, "bench/main.ts"), "--quick", "--json", "--only", "unmap_cost,revmap_quality,shadow_fault,coalesce_order"], {
      cwd: REPO_ROOT,
    });
    let stdout = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.resume();
    child.on("close", (code) => {
      try {
        done(`status ${code}\n` + JSON.stringify(benchCounts(JSON.parse(stdout) as Parameters<typeof benchCounts>[0]), null, 1) + "\n");
      } catch {
        done(`status ${code}\n(unparsable)\n${stdout}`);
      }
    });
  });
}

/** Compare two capture trees file by file: identical, differing, and present on one side only. */
function compare(before: string, after: string): number {
  const names = (d: string): Set<string> => new Set(readdirSync(d).filter((f) => !f.startsWith(".")));
  const a = names(before);
  const b = names(after);
  let same = 0;
  const differ: string[] = [];
  for (const f of a) {
    if (!b.has(f)) continue;
    if (readFileSync(join(before, f), "utf8") === readFileSync(join(after, f), "utf8")) same++;
    else differ.push(f);
  }
  const onlyBefore = [...a].filter((f) => !b.has(f));
  const onlyAfter = [...b].filter((f) => !a.has(f));
  process.stdout.write(`${same} identical, ${differ.length} differ, ${onlyBefore.length} only in ${before}, ${onlyAfter.length} only in ${after}\n`);
  for (const f of differ) process.stdout.write(`  differs: ${f}\n`);
  for (const f of onlyBefore) process.stdout.write(`  only before: ${f}\n`);
  for (const f of onlyAfter) process.stdout.write(`  only after: ${f}\n`);
  return differ.length === 0 ? 0 : 1;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === "--compare") {
    const [before, after] = args.slice(1);
    if (before === undefined || after === undefined) {
      process.stderr.write("usage: tsx test/golden/capture.ts --compare BEFORE AFTER\n");
      process.exit(2);
    }
    process.exit(compare(resolve(before), resolve(after)));
  }
  const outDir = args[0];
  if (!outDir || outDir.startsWith("-")) {
    process.stderr.write("usage: tsx test/golden/capture.ts OUT [--jobs N] [--only SUBSTRING] [--no-bench]\n");
    process.exit(2);
  }
  const jobs = args.includes("--jobs") ? Number(args[args.indexOf("--jobs") + 1]) : 2;
  const only = args.includes("--only") ? args[args.indexOf("--only") + 1] : undefined;
  const out = resolve(outDir);
  const tmp = join(out, ".tmp");
  mkdirSync(tmp, { recursive: true });
  const all = cases(tmp).filter((c) => only === undefined || c.name.includes(only));
  let next = 0;
  let finished = 0;
  const worker = async (): Promise<void> => {
    while (next < all.length) {
      const c = all[next++]!;
      const text = await run(c, tmp);
      const file = join(out, c.name.replace(/\//g, "__"));
      writeFileSync(file, text);
      finished++;
      process.stderr.write(`\r${finished}/${all.length} ${c.name.padEnd(60).slice(0, 60)}`);
    }
  };
  await Promise.all(Array.from({ length: jobs }, worker));
  process.stderr.write("\n");
  if (!args.includes("--no-bench") && only === undefined) {
    process.stderr.write("bench --quick (counts only)…\n");
    writeFileSync(join(out, "bench.counts.json"), await runBench());
  }
  rmSync(tmp, { recursive: true, force: true });
}

await main();
