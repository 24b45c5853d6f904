// `nvlab run`'s exit status: the guest's SYSTEM_OFF code stands for itself only when a status can carry it
// unambiguously; otherwise one fixed status, with the real code printed and in --json.

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { GUEST_STATUS_MAX, guestExitStatus, guestStatusNote, RUN_STATUS, runExitCode } from "../../cli/run.ts";
import { nvlab } from "../helpers/bin.ts";

const dir = mkdtempSync(join(tmpdir(), "nvlab-run-status-"));

/** An L1 that powers the machine off at once with `code` in w1. */
function systemOff(code: number): string {
  const p = join(dir, `off_${code}.S`);
  writeFileSync(
    p,
    "movz x0, #0x0008\nmovk x0, #0x8400, lsl #16\n" +
      `movz x1, #${code & 0xffff}\nmovk x1, #${code >>> 16}, lsl #16\nsmc #0\n`,
  );
  return p;
}

describe("guestExitStatus", () => {
  it("passes 0..127 through, except nvlab's own statuses", () => {
    for (const c of [0, 2, 3, 42, 69, 71, 121, 127]) expect(guestExitStatus(c), String(c)).toBe(c);
    expect(GUEST_STATUS_MAX).toBe(127);
  });

  it("maps codes above 127 (none reduced modulo 256) and nvlab's own statuses to 123", () => {
    const fixed = RUN_STATUS.guestCodeNotRepresentable;
    expect(fixed).toBe(123);
    for (const c of [128, 200, 255, 256, 257, 512, 0xffff_ffff]) expect(guestExitStatus(c), String(c)).toBe(fixed);
    for (const c of [1, 70, 122, 123, 124, 125, 126]) expect(guestExitStatus(c), String(c)).toBe(fixed);
  });

  it("a guest code never gives one of nvlab's verdicts (1, 70, 122, 124-126), and a status below 128 is exact or 123", () => {
    const verdicts = new Set<number>(Object.values(RUN_STATUS).filter((s) => s !== RUN_STATUS.guestCodeNotRepresentable));
    for (let c = 0; c < 600; c++) {
      const s = guestExitStatus(c);
      expect(verdicts.has(s), String(c)).toBe(false);
      expect(s === c || s === RUN_STATUS.guestCodeNotRepresentable, String(c)).toBe(true);
      expect(s).toBeLessThanOrEqual(GUEST_STATUS_MAX);
    }
  });

  it("runExitCode: system-off through guestExitStatus, the other ends their fixed statuses", () => {
    expect(runExitCode({ kind: "system-off", code: 256 })).toBe(123);
    expect(runExitCode({ kind: "system-off", code: 5 })).toBe(5);
    expect(runExitCode({ kind: "budget" })).toBe(124);
    expect(runExitCode({ kind: "guest-error", stage: "run" })).toBe(125);
    expect(runExitCode({ kind: "monitor-stop" })).toBe(126);
    expect(runExitCode({ kind: "guest-error", stage: "load" })).toBe(1);
  });

  it("the note says why, and there is none when the code is the status", () => {
    expect(guestStatusNote(3)).toBeNull();
    expect(guestStatusNote(256)).toBe("exit status 123: the guest's code 256 is above 127, so it cannot be the status itself");
    expect(guestStatusNote(124)).toMatch(/code 124 is one of nvlab's own exit statuses/);
  });
});

describe.concurrent("nvlab run: exit statuses through the bin", () => {
  it("guest code 256 exits 123 (not 0), prints the code and why", async () => {
    const r = await nvlab("run", "--l1", systemOff(256));
    expect(r.code).toBe(123);
    expect(r.stdout).toMatch(/^exit: PSCI SYSTEM_OFF, code 256 \(\d+ instructions\)$/m);
    expect(r.stdout).toMatch(/^ {2}exit status 123: the guest's code 256 is above 127/m);
  });

  it("guest code 124 is not mistaken for an exhausted budget: 123, and --json has the code and the status", async () => {
    const r = await nvlab("run", "--l1", systemOff(124), "--json");
    expect(r.code).toBe(123);
    const j = JSON.parse(r.stdout) as { exit: Record<string, unknown> };
    expect(j.exit).toMatchObject({ kind: "system-off", code: 124, status: 123 });
  });

  it("guest code 0xffffffff (all of w1) is in --json exactly", async () => {
    const r = await nvlab("run", "--l1", systemOff(0xffff_ffff), "--json");
    expect(r.code).toBe(123);
    expect((JSON.parse(r.stdout) as { exit: { code: number } }).exit.code).toBe(0xffff_ffff);
  });

  it("a code that fits is the status, with no note, and --json's exit.status says so", async () => {
    const [human, json] = await Promise.all([nvlab("run", "--l1", systemOff(42)), nvlab("run", "--l1", systemOff(42), "--json")]);
    expect(human.code).toBe(42);
    expect(human.stdout).not.toMatch(/exit status/);
    expect((JSON.parse(json.stdout) as { exit: { status: number } }).exit.status).toBe(42);
  });

  it("the help lists every status", async () => {
    const h = (await nvlab("run", "--help")).stdout;
    for (const s of ["123", "124", "125", "126", "1 usage", "70 host error", "2 one or more failed"]) expect(h).toContain(s);
  });

  it("an assembly source given where the scenario goes is named, with the --l1 it needs (not parsed as YAML)", async () => {
    const r = await nvlab("run", "guests/l1/hyp.S", "--max-steps", "1000");
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("nvlab: run: guests/l1/hyp.S is an assembly source, not a scenario file: give it as --l1 guests/l1/hyp.S (and each L2 as --l2 FILE.S@IPA)\n");
  });
});
