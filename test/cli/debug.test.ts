// `nvlab debug` through the real bin: commands from a pipe, a scenario's timeline in the debugger,
// --trace-out, usage errors, and SIGINT stopping a guest that runs away.

import { execFile, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const dir = mkdtempSync(join(tmpdir(), "nvlab-debug-"));
const PAIR = ["--l1", "guests/l1/hyp.S", "--l2", "guests/l2/hello.S@0x48000000"];

/** Run `nvlab debug ARGS` with `input` on stdin; resolves with status and output. */
function nvlabDebug(args: string[], input: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile("node", ["cli/nvlab.js", "debug", ...args], { cwd: process.cwd() }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
    child.stdin!.end(input);
  });
}

describe("nvlab debug", () => {
  it("reads commands from a pipe, prints no prompt, and ends at end of input", async () => {
    const r = await nvlabDebug(PAIR, "break hello.S:l2_entry\ncontinue\nbreak nosuch\nx /ipa 0x48000018 2\n");
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).not.toContain("(nvlab)");
    const lines = r.stdout.split("\n");
    expect(lines[0]).toBe("nvlab debug: L1 hyp.S, L2 hello.S; stopped before the first instruction (type help)");
    expect(lines[1]).toBe("L1 0x0000000040100000  <l1_entry>  msr daifset, #0xf");
    expect(r.stdout).toContain("breakpoint 1: l2_entry (L2 0x40000000)\nL2 0x0000000040000000  <l2_entry>  adr x0, #0x40000018\n");
    expect(r.stdout).toContain("error: no symbol 'nosuch'\n");
    expect(r.stdout).toContain("canonical IPA 0x48000018:\n  0x0000000048000018:  0x6c6c6568 0x7266206f\n");
  });

  it("--echo prints each command after a prompt; quit ends the session", async () => {
    const r = await nvlabDebug([...PAIR, "--echo"], "stepi\nquit\nstepi\n");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\(nvlab\) stepi\n(.*\n)?L1 0x0000000040100004  <l1_entry\+0x4>  mov x0, #0\n\(nvlab\) quit\n$/);
  });

  it("runs a scenario's timeline and checker, and writes --trace-out", async () => {
    const trace = join(dir, "t.json");
    const r = await nvlabDebug(["scenarios/revmap_stale.yaml", "--trace-out", trace], "break event chaos\ncontinue\ncontinue\nmetrics\n");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/event breakpoint 1: \[\d+\] chaos: scenario: unmap canonical 0x48000000\+0x1000/);
    expect(r.stdout).toContain("the run is over: PSCI SYSTEM_OFF, exit code 0");
    expect(r.stdout).toMatch(/^injected\.unmaps +1$/m);
    const json = JSON.parse(readFileSync(trace, "utf8")) as { traceEvents: unknown[] };
    expect(json.traceEvents.length).toBeGreaterThan(10);
  });

  it("judges a scenario's expectations when the run ends, as nvlab run does: pass exits 0", async () => {
    const r = await nvlabDebug(["scenarios/revmap_stale.yaml"], "continue\nmetrics\n");
    expect(r.code).toBe(0);
    const report = /scenario revmap-stale: expectations at the end of the run:\n((?: {2}[✓✗] .*\n)+)result: PASS \(all expectations hold\)\n/.exec(r.stdout);
    expect(report, r.stdout).not.toBeNull();
    expect(report![1]).toBe(
      "  ✓ exit code: expected 0, got code 0\n" +
        "  ✓ console: expected /^remap: after  0xfedcba9876543210$/m, got matches\n" +
        "  ✓ invariants: expected hold, got held\n" +
        "  ✓ metric revmap.staleEntries.max: expected ≥ 1, got 1\n",
    );
    expect(report![1]).not.toContain("✗");
    // Printed once, right after the command that ended the run, before the next command's output.
    expect(r.stdout.indexOf("result: PASS")).toBeLessThan(r.stdout.search(/^shadowFaults /m));
    expect(r.stdout.match(/expectations at the end of the run/g)).toHaveLength(1);
  });

  it("a failed expectation is a ✗ line, FAIL and exit status 2; leaving early judges nothing and exits 0", async () => {
    const file = join(dir, "wrong.yaml");
    writeFileSync(
      file,
      `name: wrong-code\nimages:\n  l1: {file: ${resolve("guests/l1/hyp.S")}}\n  l2:\n    - {file: ${resolve("guests/l2/hello.S")}, ipa: 0x48000000}\n` +
        "expect:\n  exitCode: 5\n  console: hello from L2\n",
    );
    const failed = await nvlabDebug([file], "break l2_puts\ncontinue\ncontinue\n");
    expect(failed.code).toBe(2);
    expect(failed.stdout).toContain(
      "the run is over: PSCI SYSTEM_OFF, exit code 0\n" +
        "L1 0x0000000040100474  <system_off+0x4c>  b #0x40100474\n" +
        "scenario wrong-code: expectations at the end of the run:\n" +
        "  ✗ exit code: expected 5, got code 0\n" +
        "  ✓ console: expected /hello from L2/m, got matches\n" +
        "  ✓ invariants: expected hold, got held\n" +
        "result: FAIL (1 expectation failed)\n",
    );
    const early = await nvlabDebug([file], "break l2_puts\ncontinue\nquit\n");
    expect(early.code).toBe(0);
    expect(early.stdout).toMatch(/\nscenario wrong-code: the run is not over, so its expectations were not judged \(continue to the end to judge them\)\n$/);
    expect(early.stdout).not.toContain("result:");
  });

  it("a plain run (no scenario) judges nothing", async () => {
    const r = await nvlabDebug(PAIR, "continue\n");
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(/expectations|result:/);
  });

  it("refuses a scenario combined with --l1, and no target at all", async () => {
    const both = await nvlabDebug(["scenarios/revmap_stale.yaml", "--l1", "guests/l1/hyp.S"], "");
    expect(both.code).toBe(1);
    expect(both.stderr).toBe("nvlab: debug: --l1 cannot be combined with a scenario file (set it in the scenario)\n");
    const none = await nvlabDebug([], "");
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/^nvlab: debug: give an L1/);
  });

  it("SIGINT stops a continue that runs away, and the session goes on", async () => {
    const spin = join(dir, "spin.S");
    writeFileSync(spin, "spin:\n        b       spin\n");
    // A one-instruction loop runs near 100 MIPS: lift the per-continue limit so only SIGINT can stop it.
    const child = spawn("node", ["cli/nvlab.js", "debug", "--max-steps", "1000000000000", "--l1", spin], { cwd: process.cwd(), stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (d: string) => (out += d));
    const seen = (text: string) =>
      new Promise<void>((resolve) => {
        const check = () => (out.includes(text) ? resolve() : setTimeout(check, 20));
        check();
      });
    await seen("stopped before the first instruction");
    child.stdin.write("continue\n");
    await new Promise((r) => setTimeout(r, 1000));
    child.kill("SIGINT");
    await seen("interrupted");
    child.stdin.end("regs\n");
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(code).toBe(0);
    expect(out).toMatch(/interrupted\nL1 0x0000000040100000  <spin>  b #0x40100000\n/);
    expect(out).toMatch(/level L1\n/);
  });
});

/** The README's `nvlab debug` transcripts: each ```-block that starts with `$ printf` in these sections. */
const TRANSCRIPT_SECTIONS = ["## Debugging: `nvlab debug`", "## Watchpoints", "## Time travel: snapshots, reverse execution and `why`"];

describe("README's nvlab debug transcripts", () => {
  // NVLAB_UPDATE_README=1 npx vitest run test/cli/debug.test.ts rewrites them from real sessions.
  for (const heading of TRANSCRIPT_SECTIONS) {
    it(`${heading}: the transcript is what the command shown prints, line for line`, () => {
      const readme = readFileSync("README.md", "utf8");
      const section = readme.indexOf(heading);
      const start = readme.indexOf("```\n$ printf", section);
      const end = readme.indexOf("```\n", start + 4);
      expect(section).toBeGreaterThanOrEqual(0);
      expect(start).toBeGreaterThan(section);
      const block = readme.slice(start + 4, end);
      // The command: the `$` line and its continuation lines.
      const lines = block.split("\n");
      let n = 1;
      while (lines[n - 1]!.endsWith("\\")) n++;
      const command = lines.slice(0, n).join("\n").slice(2);
      const shown = lines.slice(n).join("\n");
      expect(command).toMatch(/npx nvlab debug --echo /);
      const r = spawnSync("sh", ["-c", command.replace(/npx nvlab /g, "node cli/nvlab.js ")], { encoding: "utf8" });
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      if (process.env.NVLAB_UPDATE_README && r.stdout !== shown) {
        writeFileSync("README.md", readme.slice(0, start + 4) + lines.slice(0, n).join("\n") + "\n" + r.stdout + readme.slice(end));
        return;
      }
      expect(r.stdout).toBe(shown);
    });
  }
});
