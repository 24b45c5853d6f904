// A real C code base the repository does not hold: the LZ4 library (lz4, lz4hc, lz4frame, xxhash:
// about 9,000 lines) from the `lz4` npm package, fetched once per clone and checked against its
// pinned integrity (lab/third_party.ts), built with the cross compiler together with
// guests/c/lz4/lz4_check.c, and run by `nvlab exec` from its ELF and its raw image: every round
// trip must pass and the console must equal QEMU's.

import { describe, expect, it } from "vitest";
import { buildLz4Check, nativeLz4CheckConsole, PASS_LINE, type ProgramFiles, runProgram, runProgramOnUnicorn } from "../../bench/cpu_programs.ts";
import { execExitCode, execProgram } from "../../cli/exec.ts";
import { qemuForTests } from "../helpers/qemu_required.ts";
import { expectSameAsQemu } from "./exec_qemu.ts";
import { unicornForTests, crossCompilerForTests, hostCompilerForTests, lz4SourcesForTests } from "./programs_required.ts";

const haveCross = crossCompilerForTests("the LZ4 tests");
const lz4Dir = haveCross ? await lz4SourcesForTests("the LZ4 tests") : null;
const haveQemu = lz4Dir !== null && qemuForTests("LZ4 on QEMU");
const haveUnicorn = lz4Dir !== null && unicornForTests("LZ4 on unicorn");
const MAX_STEPS = 1_000_000_000;
const KIB = 16;

let built: Promise<ProgramFiles> | null = null;
const program = (): Promise<ProgramFiles> => (built ??= buildLz4Check(KIB, lz4Dir!));

describe.runIf(lz4Dir !== null)("LZ4 (fetched from npm) under nvlab exec", () => {
  it("runs from the ELF and from the raw image: 28 round trips, PASS, brk #0", async () => {
    const { elf, bin } = await program();
    const fromElf = await execProgram({ file: elf, maxSteps: MAX_STEPS });
    const fromBin = await execProgram({ file: bin, base: 0x4010_0000n, maxSteps: MAX_STEPS });
    for (const r of [fromElf, fromBin]) {
      expect(r.console).toMatch(/^lz4_check: LZ4 1\.9\.2, 4 inputs x 7 methods, 16384 bytes each$/m);
      expect(r.console).toMatch(PASS_LINE.lz4);
      expect(r.console).not.toMatch(/MISMATCH/);
      expect(r.stop).toMatchObject({ kind: "brk", imm: 0 });
      expect(execExitCode(r.stop)).toBe(0);
      // Large enough to matter: tens of millions of instructions through the whole library.
      expect(r.steps).toBeGreaterThan(50_000_000);
    }
    expect(fromBin.console).toBe(fromElf.console);
    expect(fromBin.steps).toBe(fromElf.steps);
    for (const sym of ["LZ4_compress_default", "LZ4_compress_HC", "LZ4F_compressFrame", "LZ4F_decompress", "XXH64"]) {
      expect(fromElf.image.symbols.has(sym)).toBe(true);
    }
  }, 300_000);

  it("prints what the same sources print when built natively for the host (no emulator involved)", async () => {
    if (!hostCompilerForTests("the native LZ4 comparison")) return;
    const { elf } = await program();
    const nv = await execProgram({ file: elf, maxSteps: MAX_STEPS });
    expect(await nativeLz4CheckConsole(KIB, lz4Dir!)).toBe(nv.console);
  }, 300_000);

  it.runIf(haveQemu)("prints the same as QEMU, from the ELF and from the raw image (nvlab exec --qemu)", async () => {
    await expectSameAsQemu(await program(), PASS_LINE.lz4, MAX_STEPS, "--qemu-timeout", "60");
  }, 300_000);

  it.runIf(haveUnicorn)("ends on unicorn-engine as on nvlab: at bare_pass, with the same x0 and the same RAM", async () => {
    const { elf } = await program();
    const nv = await runProgram(elf);
    const uc = await runProgramOnUnicorn(elf);
    expect(uc.error).toBeNull();
    expect(uc.passed).toBe(true);
    expect(uc.x0).toBe(nv.x0);
    expect(uc.ram).toBe(nv.ram);
  }, 300_000);
});
