// `nvlab run --snapshot-at STEP --save FILE` and `nvlab run --restore FILE`: saving changes nothing
// a run prints; a restore ends exactly as a plain run does, printing from the snapshot's step on; the
// file's fingerprint is the state's at that step; and every file that will not replay faithfully
// (changed image or scenario, other format version, malformed, edited state) is refused by name.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { runCommandVm } from "../../cli/run.ts";
import type { SnapshotDoc } from "../../cli/snapshot_file.ts";
import { kvmArchVcpuRun } from "../../hypervisor/scheduler.ts";
import { prepareVm } from "../../lab/run.ts";
import { fingerprintVm } from "../../lab/snapshot/vm_snapshot.ts";
import { scenarioFile } from "../helpers/scenario_file.ts";
import { nvlabInProcess } from "./in_process.ts";

const dir = mkdtempSync(join(tmpdir(), "nvlab-snapshot-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const HELLO = ["--l1", "guests/l1/hyp.S", "--l2", "guests/l2/hello.S@0x48000000"];
/** Two vCPUs, random slices and chaos: the run a replay is most likely to get wrong. */
const SMP = [
  "--vcpus", "2", "--l1", "guests/l1/smp.S", "--l2", "guests/l2/hello.S@0x48000000", "--l2", "guests/l2/checksum.S@0x49000000",
  "--unmap", "revmap", "--chaos", "5", "--chaos-rate", "10", "--schedule", "random", "--quantum", "300", "--seed", "9",
];

let files = 0;
const snapFile = (): string => join(dir, `s${files++}.snap`);

function readDoc(file: string): SnapshotDoc & Record<string, unknown> {
  return JSON.parse(readFileSync(file, "utf8")) as SnapshotDoc & Record<string, unknown>;
}

/** A JSON run output without the field only a restore adds. */
function withoutRestoredAt(stdout: string): { value: Record<string, unknown>; restoredAt: unknown } {
  const { restoredAt, ...value } = JSON.parse(stdout) as Record<string, unknown>;
  return { value, restoredAt };
}

/** Save at `step`, checking the run printed what the plain run did; returns the file. */
async function saved(args: string[], step: number, plain: { status: number; stdout: string }): Promise<string> {
  const file = snapFile();
  const r = await nvlabInProcess("run", ...args, "--snapshot-at", String(step), "--save", file);
  expect(r.stderr).toBe(`nvlab: saved ${file} at step ${step}\n`);
  expect(r.stdout).toBe(plain.stdout);
  expect(r.status).toBe(plain.status);
  return file;
}

/** An L2 like hello.S in the temporary directory, with its own greeting (and optionally a comment). */
function l2Source(name: string, greeting: string, comment = ""): string {
  const p = join(dir, name);
  writeFileSync(
    p,
    `${comment}l2_entry:\n  adr x0, greeting\n  bl l2_puts\n  mov x0, #'\\n'\n  bl l2_putc\n  mov x0, #0\n  bl l2_exit\n` +
      `greeting: .asciz "${greeting}"\n  .balign 4\n  .include "${join(REPO, "guests/l2/lib/l2.S")}"\n`,
  );
  return p;
}

describe("nvlab run --snapshot-at/--save, --restore", () => {
  it("saving prints what a plain run prints; a restore prints the rest and ends the same", async () => {
    const plain = await nvlabInProcess("run", ...HELLO);
    expect(plain.status).toBe(0);
    const file = await saved(HELLO, 2000, plain);
    const doc = readDoc(file);
    expect(doc).toMatchObject({ format: "nvlab-snapshot", version: 1, step: 2000 });
    expect(doc.console.length).toBeGreaterThan(0);
    expect(plain.stdout.startsWith(doc.console)).toBe(true);
    expect(doc.images.map((i) => i.file)).toEqual(["guests/l1/hyp.S", "guests/l2/hello.S"]);

    const r = await nvlabInProcess("run", "--restore", file);
    expect(r.stderr).toBe(`nvlab: restored ${file} at step 2000\n`);
    expect(r.status).toBe(plain.status);
    expect(r.stdout).toBe(plain.stdout.slice(doc.console.length));
  });

  it("two vCPUs with chaos and random slices: --json after a restore is the plain run's, plus restoredAt", async () => {
    const plain = await nvlabInProcess("run", ...SMP, "--json");
    const file = await saved([...SMP, "--json"], 123_457, plain);
    const r = await nvlabInProcess("run", "--restore", file, "--json");
    expect(r.status).toBe(plain.status);
    const restored = withoutRestoredAt(r.stdout);
    expect(restored.restoredAt).toBe(123_457);
    expect(restored.value).toEqual(JSON.parse(plain.stdout));
    expect((restored.value.chaos as { injections: number } | undefined)?.injections ?? 0).toBeGreaterThan(0);
  });

  it("the saved fingerprint is the state's after running the same VM to that step in-process", async () => {
    const file = await saved(HELLO, 3001, await nvlabInProcess("run", ...HELLO));
    const doc = readDoc(file);
    const vm = await runCommandVm({
      l1: { file: "guests/l1/hyp.S", ipa: null },
      l2: [{ file: "guests/l2/hello.S", ipa: 0x4800_0000n }],
      memory: 256n << 20n,
      vcpus: 1,
      maxSteps: 50_000_000,
      engine: doc.run.kind === "images" ? doc.run.engine : expect.unreachable(),
    });
    const { kvm, vcpu } = prepareVm(vm);
    expect(kvmArchVcpuRun(vcpu, 3001).kind).toBe("budget");
    expect(doc.fingerprint).toBe(fingerprintVm(kvm));
    expect(doc.console).toBe(kvm.console);
  });

  it("replays on the engine the snapshot was taken on, whatever NVLAB_ENGINE says now", async () => {
    const file = await saved([...HELLO, "--engine", "interp"], 2500, await nvlabInProcess("run", ...HELLO, "--engine", "interp"));
    const before = process.env.NVLAB_ENGINE;
    process.env.NVLAB_ENGINE = "jit";
    try {
      const r = await nvlabInProcess("run", "--restore", file, "--json");
      expect(r.status).toBe(0);
      expect((JSON.parse(r.stdout) as { engine: string }).engine).toBe("interp");
    } finally {
      process.env.NVLAB_ENGINE = before;
    }
  });

  it("--trace after a restore starts at the snapshot's step", async () => {
    const file = await saved(HELLO, 2000, await nvlabInProcess("run", ...HELLO));
    const r = await nvlabInProcess("run", "--restore", file, "--trace");
    const steps = [...r.stdout.matchAll(/^\[\s*(\d+)\]/gm)].map((m) => Number(m[1]));
    expect(steps.length).toBeGreaterThan(0);
    expect(Math.min(...steps)).toBeGreaterThanOrEqual(2000);
  });

  it("a scenario's snapshot replays the scenario and judges it the same", async () => {
    const scenario = ["scenarios/revmap_stale.yaml", "--unmap", "revmap"];
    const plain = await nvlabInProcess("run", ...scenario, "--json");
    const file = await saved([...scenario, "--json"], 3000, plain);
    expect(readDoc(file).run).toMatchObject({ kind: "scenario", scenario: { file: "scenarios/revmap_stale.yaml" }, overrides: { unmap: "revmap" } });
    const r = await nvlabInProcess("run", "--restore", file, "--json");
    expect(r.status).toBe(plain.status);
    const restored = withoutRestoredAt(r.stdout);
    expect(restored.restoredAt).toBe(3000);
    expect(restored.value).toEqual(JSON.parse(plain.stdout));
  });
});

describe("nvlab run --restore refuses a file that would not replay faithfully", () => {
  it("an image built differently; not one that only reads differently; a missing one", async () => {
    const l2 = l2Source("greet.S", "hello from L2");
    const args = ["--l1", "guests/l1/hyp.S", "--l2", `${l2}@0x48000000`];
    const file = await saved(args, 2000, await nvlabInProcess("run", ...args));

    l2Source("greet.S", "hello from L2", "// a comment assembles to nothing\n");
    expect((await nvlabInProcess("run", "--restore", file)).status).toBe(0);

    l2Source("greet.S", "hello from L2!");
    const changed = await nvlabInProcess("run", "--restore", file);
    expect(changed.status).toBe(1);
    expect(changed.stdout).toBe("");
    expect(changed.stderr).toMatch(new RegExp(`^nvlab: snapshot ${file}: ${l2} was built differently than when the snapshot was taken \\(sha256 [0-9a-f]{16}… now, [0-9a-f]{16}… in the snapshot\\)\\n$`));

    rmSync(l2);
    const missing = await nvlabInProcess("run", "--restore", file);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toBe(`nvlab: snapshot ${file}: cannot load an image it was taken with: cannot open ${l2}: no such file\n`);
  });

  it("semihosting's stdin: read again on the replay, refused once changed", async () => {
    // L2 prints a line, reads one character from ":tt" and exits with it as its code.
    const l2 = join(dir, "readc.S");
    writeFileSync(
      l2,
      "adr x1, msg\nmov w0, #4\nhlt #0xf000\nmov w0, #7\nhlt #0xf000\nadr x1, blk\nstr x0, [x1, #8]\nmov w0, #0x18\nhlt #0xf000\nb .\n" +
        'msg: .asciz "ready\\n"\n.balign 8\nblk: .quad 0x20026, 0\n',
    );
    const stdin = join(dir, "stdin.txt");
    writeFileSync(stdin, "A");
    const args = ["--l1", "guests/l1/hyp.S", "--l2", `${l2}@0x48000000`, "--semihosting", "--semihosting-stdin", stdin, "--semihosting-cmdline", "x y"];
    const plain = await nvlabInProcess("run", ...args);
    expect(plain.status).toBe(65);
    const file = await saved(args, 2000, plain);
    expect(readDoc(file).run).toMatchObject({ semihosting: { root: null, args: "x y", stdin: { file: stdin } } });
    expect((await nvlabInProcess("run", "--restore", file)).status).toBe(65);
    writeFileSync(stdin, "B");
    const r = await nvlabInProcess("run", "--restore", file);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^nvlab: snapshot ${file}: ${stdin} was changed since the snapshot was taken \\(sha256 `));
  });

  it("a scenario file changed since", async () => {
    const scenario = await scenarioFile("expect:\n  exitCode: 0\n");
    const file = await saved([scenario], 2000, await nvlabInProcess("run", scenario));
    writeFileSync(scenario, readFileSync(scenario, "utf8") + "description: edited\n");
    const r = await nvlabInProcess("run", "--restore", file);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^nvlab: snapshot ${file}: ${scenario} was changed since the snapshot was taken \\(sha256 [0-9a-f]{16}… now, [0-9a-f]{16}… in the snapshot\\)\n$`));
    rmSync(scenario);
    expect((await nvlabInProcess("run", "--restore", file)).stderr).toBe(`nvlab: snapshot ${file}: cannot open ${scenario}: no such file (the scenario it runs)\n`);
    rmSync(dirname(scenario), { recursive: true, force: true });
  });

  it("a file edited to format version 2, and one with bad fields (by path)", async () => {
    const file = await saved(HELLO, 1000, await nvlabInProcess("run", ...HELLO));
    const doc = readDoc(file);
    const v2 = join(dir, "v2.snap");
    writeFileSync(v2, JSON.stringify({ ...doc, version: 2 }));
    const r2 = await nvlabInProcess("run", "--restore", v2);
    expect(r2.status).toBe(1);
    expect(r2.stderr).toBe(`nvlab: snapshot ${v2}: made by nvlab ${doc.nvlab} with format version 2; this nvlab reads version 1\n`);

    const bad = join(dir, "bad.snap");
    writeFileSync(bad, JSON.stringify({ ...doc, run: { ...doc.run, vcpus: "2" }, step: 1.5 }));
    const rb = await nvlabInProcess("run", "--restore", bad);
    expect(rb.status).toBe(1);
    expect(rb.stderr).toBe(`nvlab: snapshot ${bad}: invalid:\n  run.vcpus: expected a positive integer\n  step: expected a non-negative integer\n`);
  });

  it("a state that differs from the snapshot's at its step", async () => {
    const file = await saved(HELLO, 1000, await nvlabInProcess("run", ...HELLO));
    const doc = readDoc(file);
    const other = (BigInt(`0x${doc.fingerprint}`) ^ 1n).toString(16).padStart(16, "0");
    writeFileSync(file, JSON.stringify({ ...doc, fingerprint: other }));
    const r = await nvlabInProcess("run", "--restore", file);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(new RegExp(`^nvlab: snapshot ${file}: the state at step 1000 differs from the snapshot's \\(fingerprint ${doc.fingerprint}, the snapshot's ${other}\\)`));
  });

  it("a missing file and a file that is not JSON", async () => {
    const none = join(dir, "none.snap");
    expect((await nvlabInProcess("run", "--restore", none)).stderr).toBe(`nvlab: --restore: cannot open ${none}: no such file\n`);
    const text = join(dir, "text.snap");
    writeFileSync(text, "L1: hello\n");
    const r = await nvlabInProcess("run", "--restore", text);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^nvlab: snapshot .*text\.snap: not a JSON file \(/);
  });

  it("options that would change the run, a trace file, and a scenario beside --restore", async () => {
    const file = await saved(HELLO, 1000, await nvlabInProcess("run", ...HELLO));
    for (const [args, text] of [
      [["--memory", "512M"], "run: --memory cannot be combined with --restore: the snapshot file sets the run's options"],
      [["--l1", "guests/l1/hyp.S"], "run: --l1 cannot be combined with --restore: the snapshot file sets the run's options"],
      [["--chaos", "3"], "run: --chaos cannot be combined with --restore: the snapshot file sets the run's options"],
      [["--trace-out", join(dir, "t.json")], "run: --trace-out cannot be combined with --restore: a trace file would start at step 0, not at the snapshot's step (--trace starts there)"],
      [["--snapshot-at", "5", "--save", join(dir, "again.snap")], "run: --snapshot-at cannot be combined with --restore: the snapshot file sets the run's options"],
      [["scenarios/revmap_stale.yaml"], "run: scenarios/revmap_stale.yaml: a scenario file cannot be combined with --restore: the snapshot file names the scenario it runs"],
    ] as const) {
      const r = await nvlabInProcess("run", "--restore", file, ...args);
      expect(r.status, args.join(" ")).toBe(1);
      expect(r.stderr).toBe(`nvlab: ${text}\n`);
    }
  });
});

describe("nvlab run --snapshot-at: bad steps", () => {
  it("a step past the end of the run says where the run ended, and writes nothing", async () => {
    const file = join(dir, "late.snap");
    const r = await nvlabInProcess("run", ...HELLO, "--snapshot-at", "999999", "--save", file);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^nvlab: --snapshot-at 999999: the run ended before that step: PSCI SYSTEM_OFF, code 0 \(\d+ instructions\); nothing saved\n$/);
    expect(() => readFileSync(file)).toThrow();
    const budget = await nvlabInProcess("run", ...HELLO, "--max-steps", "1000", "--snapshot-at", "1001", "--save", file);
    expect(budget.stderr).toBe("nvlab: --snapshot-at 1001: past the run's step budget of 1000 instructions (--max-steps)\n");
  });

  it("negative, fractional and missing pieces are usage errors before anything runs", async () => {
    const file = join(dir, "never.snap");
    for (const [args, text] of [
      [["--snapshot-at=-5", "--save", file], "--snapshot-at: '-5' is not an instruction count (a whole number from 0: decimal or 0x-hex, optional K/M/G suffix)"],
      [["--snapshot-at", "1.5", "--save", file], "--snapshot-at: '1.5' is not an instruction count (a whole number from 0: decimal or 0x-hex, optional K/M/G suffix)"],
      [["--snapshot-at", "100"], "--snapshot-at needs --save FILE: where to write the snapshot"],
      [["--save", file], "--save needs --snapshot-at STEP: the instruction count to take the snapshot at"],
      [["--snapshot-at", "100", "--save", dir], `--save: ${dir} is a directory`],
    ] as const) {
      const r = await nvlabInProcess("run", ...HELLO, ...args);
      expect(r.status, args.join(" ")).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr).toBe(`nvlab: ${text}\n`);
    }
  });

  it("--help describes the options and the file", async () => {
    const r = await nvlabInProcess("run", "--help");
    expect(r.stdout).toMatch(/--snapshot-at <step>\s+stop after STEP instructions/);
    expect(r.stdout).toMatch(/--save <file>\s+where --snapshot-at writes the snapshot/);
    expect(r.stdout).toMatch(/--restore <file>\s+replay the run a snapshot file records/);
    expect(r.stdout).toContain("docs/snapshot-format.md");
  });
});
