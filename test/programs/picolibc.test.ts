// A program against a real embedded C library: guests/c/picolibc/libc_check.c, built with Debian's
// cross compiler and picolibc as ordinary C (printf's conversions, malloc, string routines, libm,
// fenv; semihosting stdio and files), run as a user runs it — `nvlab exec --semihosting --qemu` from
// the ELF and from the raw image — and compared with qemu-system-aarch64. picolibc's ELF keeps its
// .data at a load address (p_paddr) other than its run address, and its library code needs the
// SIMD&FP unit and Normal memory (picolibc/mmu_on.S).

import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { nvlabInProcess } from "../cli/in_process.ts";
import { qemuForTests } from "../helpers/qemu_required.ts";
import { C_BUILD_DIR, C_GUESTS_DIR } from "../guests/c/c_guests.ts";
import { picolibcForTests } from "./programs_required.ts";

const havePicolibc = picolibcForTests("the picolibc program");
const haveQemu = havePicolibc && qemuForTests("the picolibc program on QEMU");
const elf = join(C_BUILD_DIR, "libc_check.elf");
const bin = join(C_BUILD_DIR, "libc_check.bin");

interface ExecJson {
  stop: { kind: string; code?: number };
  steps: number;
  console: string;
  qemu?: { same: boolean; diff?: string };
}

async function execJson(...args: string[]): Promise<{ status: number; json: ExecJson }> {
  const root = mkdtempSync(join(tmpdir(), "nvlab-libc-check-"));
  const r = await nvlabInProcess("exec", ...args, "--semihosting", "--semihosting-root", root, "--semihosting-cmdline", "one two", "--json");
  expect(r.stderr).toBe("");
  // The program removes the file it wrote: the root is left as it was found.
  expect(readdirSync(root)).toEqual([]);
  return { status: r.status, json: JSON.parse(r.stdout) as ExecJson };
}

describe.runIf(havePicolibc)("picolibc's printf, malloc, strings, libm and fenv under nvlab exec", () => {
  beforeAll(() => {
    const r = spawnSync("make", ["-C", C_GUESTS_DIR, "picolibc"], { encoding: "utf8", timeout: 120_000 });
    if (r.status !== 0) throw new Error(`make -C guests/c picolibc failed:\n${r.stdout}${r.stderr}`);
  }, 120_000);

  it("runs from the ELF and from the raw image to PASS and SYS_EXIT 0, the same console both ways", async () => {
    const fromElf = await execJson(elf);
    const fromBin = await execJson(bin, "--base", "0x40100000");
    for (const r of [fromElf, fromBin]) {
      expect(r.status).toBe(0);
      expect(r.json.stop).toMatchObject({ kind: "semihosting-exit", code: 0 });
      expect(r.json.console).toMatch(/^libc_check: 3 argument\(s\), last "two"\n/);
      expect(r.json.console).toMatch(/^PASS$/m);
      expect(r.json.console).not.toMatch(/FAIL/);
      expect(r.json.console).toContain("0006.283|ab   |2.857143e-01|2e-05|0x1.5555555555555p-2\n");
      expect(r.json.console).toContain('files: 5 lines written, 5 read back, last "line 4: 2.000"\n');
    }
    expect(fromBin.json.console).toBe(fromElf.json.console);
  }, 120_000);

  it.runIf(haveQemu)("prints what qemu-system-aarch64 prints, from the ELF and from the raw image", async () => {
    for (const args of [[elf], [bin, "--base", "0x40100000"]]) {
      const r = await execJson(...args, "--qemu");
      expect(r.json.qemu?.diff ?? "").toBe("");
      expect(r.json.qemu?.same).toBe(true);
      expect(r.status).toBe(0);
    }
  }, 120_000);
});
