// `nvlab fuzz` as a user runs it: the RFC's flaw found, written and replayed by `nvlab run`; the
// summary table; the --json document; usage errors with status 1 and the help's examples.

import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { fuzzSettings, parseShard } from "../../cli/fuzz.ts";
import { UsageError } from "../../cli/errors.ts";
import { nvlab } from "../helpers/bin.ts";

describe.concurrent("nvlab fuzz", () => {
  it("--strategy rfc-rbtree finds the RFC's flaw within 10 runs of every guest set; the shrunk YAML replays it with `nvlab run`", async () => {
    const out = await mkdtemp(join(tmpdir(), "nvlab-fuzz-cli-"));
    const r = await nvlab("fuzz", "--strategy", "rfc-rbtree", "--runs", "10", "--seed", "2", "--out", out, "--json");
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toBe("");
    const doc = JSON.parse(r.stdout) as {
      seed: number; shard: { index: number; count: number }; strategy: string; runs: number; elapsedMs: number;
      cases: { index: number; guests: string; strategy: string; vm: { unmap: string }; chaos: { seed: number; rate: number }; injections: number; end: string; failed: boolean; ms: number }[];
      failures: { index: number; signature: string; kind: string; invariant?: string; injections: number; entries: number; replayed: boolean; shrunkReproduces: boolean; file: string; wholeFile: string }[];
    };
    expect(doc).toMatchObject({ seed: 2, shard: { index: 0, count: 1 }, strategy: "rfc-rbtree", runs: 10 });
    expect(doc.cases.map((c) => c.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (const c of doc.cases) {
      expect(c.strategy).toBe("rfc-rbtree");
      expect(c.vm.unmap).toBe("rfc-rbtree");
      expect(typeof c.chaos.seed === "number" && typeof c.injections === "number" && typeof c.end === "string" && typeof c.ms === "number").toBe(true);
    }
    expect(doc.failures.length).toBe(doc.cases.filter((c) => c.failed).length);
    const s = doc.failures.find((f) => f.signature === "invariant S")!;
    expect(s).toMatchObject({ kind: "invariant", invariant: "S", replayed: true, shrunkReproduces: true, alsoUnderFull: false, inReference: false });
    expect(s.entries).toBeLessThanOrEqual(3);
    expect(s.file).toBe(join(out, `fuzz-s2-r${s.index}.yaml`));
    const text = await readFile(s.file, "utf8");
    expect(text).toMatch(/^# Found by nvlab fuzz: campaign seed 2, run \d+/);
    expect(text).toMatch(/images:\n {2}l1: \{file: "\.\.\/.*guests\/l1\/hypblock\.S"\}/);
    expect(text).toContain("expect:\n  invariants: {violated: S}\n");
    const [replay, whole, fixed] = await Promise.all([nvlab("run", s.file), nvlab("run", s.wholeFile), nvlab("run", s.file, "--unmap", "full")]);
    expect(replay.code, replay.stdout).toBe(0);
    expect(replay.stdout).toContain("stopped by invariant S");
    expect(whole.code).toBe(0);
    expect(fixed.code).toBe(2);
  });

  it("your own guests: a console divergence (remap_notlbi reads what the host still caches) is shrunk and replays", async () => {
    const out = await mkdtemp(join(tmpdir(), "nvlab-fuzz-cli-"));
    const r = await nvlab("fuzz", "--l1", "guests/l1/remap.S", "--l2", "guests/l2/remap_notlbi.S@0x48000000", "--strategy", "full", "--runs", "1", "--seed", "3", "--out", out, "--json");
    expect(r.code, r.stderr).toBe(2);
    const doc = JSON.parse(r.stdout) as { cases: { guests: string }[]; failures: { kind: string; signature: string; entries: number; file: string }[] };
    expect(doc.cases[0]!.guests).toBe("remap+remap_notlbi");
    const f = doc.failures[0]!;
    expect(f).toMatchObject({ kind: "console", signature: "divergence: console" });
    expect(f.entries).toBeLessThanOrEqual(2);
    const text = await readFile(f.file, "utf8");
    expect(text).toMatch(/\nexpect:\n {2}exitCode: 0\n {2}console: "\(\?<!\[\\\\s\\\\S\]\)L1: remap/);
    const replay = await nvlab("run", f.file);
    expect(replay.code, replay.stdout).toBe(0);
  });

  it("prints a summary table by strategy; no failure is status 0 and writes nothing", async () => {
    const out = join(await mkdtemp(join(tmpdir(), "nvlab-fuzz-cli-")), "none");
    const r = await nvlab("fuzz", "--strategy", "full", "--runs", "3", "--guests", "hyp+hello,hypblock+touch", "--seed", "5", "--out", out);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^nvlab fuzz: seed 5, shard 0\/1: 3 runs in [\d.]+ s \([\d.]+ runs\/s\), 0 failures\n/);
    expect(r.stdout).toMatch(/\n {2}full +3 +0\n/);
    await expect(readFile(out)).rejects.toThrow();
  });

  it("a failure that cannot be written is a host error: status 70", async () => {
    const r = await nvlab("fuzz", "--strategy", "rfc-rbtree", "--guests", "hypblock+touch1000", "--runs", "1", "--out", "/dev/null/fuzz-out");
    expect(r.code).toBe(70);
    expect(r.stderr).toMatch(/nvlab: fuzz: cannot write the failures to \/dev\/null\/fuzz-out: /);
    expect(r.stdout).toBe("");
  });

  for (const [args, message] of [
    [["--runs", "5", "--seconds", "5"], /give --runs or --seconds, not both/],
    [["--strategy", "nope"], /argument 'nope' is invalid/],
  ] as const) {
    it(`usage error: ${args.join(" ")}: status 1, the message on stderr`, async () => {
      const r = await nvlab("fuzz", ...args);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe("");
    });
  }

  it("--help explains the statuses and shows how to spread a campaign over machines", async () => {
    const r = await nvlab("fuzz", "--help");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("parallel nvlab fuzz --seed 7 --runs 1000 --shard {}/8");
    expect(r.stdout).toMatch(/Exit status: 0 no failure found; 2 failures found/);
    expect(r.stdout).toContain("--shard <I/N>");
  });
});

describe("fuzzSettings", () => {
  const defaults = { seed: "0", jobs: "1", out: "fuzz-out", shrinkRuns: "150" };

  it("defaults: 100 runs, seed 0, one job, the whole campaign", () => {
    expect(fuzzSettings(defaults)).toEqual({ runs: 100, seed: 0, jobs: 1, shard: { index: 0, count: 1 }, out: "fuzz-out", json: false, shrinkRuns: 150 });
    expect(fuzzSettings({ ...defaults, seconds: "30", shard: "2/4", strategy: "accel", guests: "hyp+hello" })).toMatchObject({
      seconds: 30, shard: { index: 2, count: 4 }, strategy: "accel", guests: [{ name: "hyp+hello" }],
    });
  });

  it("--l1/--l2/--vcpus: the user's own guests, as the one set to fuzz (paths from the working directory)", () => {
    const s = fuzzSettings({ ...defaults, l1: "my/hyp.S@0x40200000", l2: ["a.S@0x48000000", "b.S@0x49000000"], vcpus: "2" });
    expect(s.guests).toEqual([{
      name: "hyp+a+b", l1: resolve("my/hyp.S"), l1Ipa: 0x4020_0000n, vcpus: 2,
      l2: [{ file: resolve("a.S"), ipa: 0x4800_0000n }, { file: resolve("b.S"), ipa: 0x4900_0000n }],
    }]);
  });

  for (const [o, message] of [
    [{ runs: "5", seconds: "5" }, /give --runs or --seconds, not both/],
    [{ shard: "8/8" }, /shard 8 of 8 does not exist \(shards are numbered 0 to 7\)/],
    [{ shard: "x" }, /--shard: 'x' is not I\/N/],
    [{ jobs: "0" }, /--jobs: 0 is out of range/],
    [{ jobs: "1000" }, /--jobs: 1000 is more worker threads than nvlab starts/],
    [{ runs: "-3" }, /--runs: '-3' is not a number/],
    [{ seconds: "0" }, /--seconds: 0 is out of range/],
    [{ guests: "hyp+hello,hyp+nope" }, /no guest set "hyp\+nope" \(sets: hyp\+hello/],
    [{ seed: "0x100000000" }, /--seed: 0x100000000 does not fit in 32 bits/],
    [{ shrinkRuns: "0" }, /--shrink-runs: 0 is out of range/],
    [{ l2: ["g.S@0x48000000"] }, /--l2 and --vcpus describe your own guests: give --l1 as well/],
    [{ l1: "h.S", guests: "hyp+hello" }, /give --guests \(shipped sets\) or --l1\/--l2 \(your own guests\), not both/],
    [{ l1: "h.S", l2: ["g.S"] }, /--l2: 'g.S' needs a load address/],
  ] as const) {
    it(`refuses ${JSON.stringify(o)}`, () => {
      expect(() => fuzzSettings({ ...defaults, ...o })).toThrow(UsageError);
      expect(() => fuzzSettings({ ...defaults, ...o })).toThrow(message);
    });
  }
});

describe("parseShard", () => {
  it("reads I/N and refuses the rest", () => {
    expect(parseShard("3/8")).toEqual({ index: 3, count: 8 });
    expect(parseShard(" 0/1 ")).toEqual({ index: 0, count: 1 });
    for (const bad of ["1/0", "2/2", "1", "a/b", "-1/2", "1/2/3"]) expect(() => parseShard(bad), bad).toThrow(UsageError);
  });
});
