// The self-checking CPU benchmark (guests/c/bench) built with the cross compiler and run by
// `nvlab exec` from its ELF and from its raw image: every kernel's checksum must equal the one a
// native build of the same sources computed (expected.h), and the console must equal QEMU's.

import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildCpubench, nativeCpubenchExpected, PASS_LINE, type ProgramFiles, runProgram, runProgramOnUnicorn } from "../../bench/cpu_programs.ts";
import { execExitCode, execProgram } from "../../cli/exec.ts";
import { qemuForTests } from "../helpers/qemu_required.ts";
import { expectSameAsQemu } from "./exec_qemu.ts";
import { unicornForTests, crossCompilerForTests, hostCompilerForTests } from "./programs_required.ts";

const haveCross = crossCompilerForTests("the cpubench tests");
const haveQemu = haveCross && qemuForTests("cpubench on QEMU");
const haveUnicorn = haveCross && unicornForTests("cpubench on unicorn");
const KERNELS = ["pt_walk", "hash_table", "crc32", "sort", "matmul", "bits", "mem", "interp", "divmod"];
const MAX_STEPS = 200_000_000;

let built: ProgramFiles | null = null;
const program = (): ProgramFiles => (built ??= buildCpubench(1));

describe.runIf(haveCross)("cpubench under nvlab exec", () => {
  it("expected.h holds what the same sources compute when built natively for the host", () => {
    if (!hostCompilerForTests("the check that guests/c/bench/expected.h is what a native build computes")) return;
    const committed = readFileSync("guests/c/bench/expected.h", "utf8");
    expect(nativeCpubenchExpected()).toBe(committed);
  }, 60_000);

  it("runs from the ELF and from the raw image: every kernel ok, PASS, brk #0", async () => {
    const { elf, bin } = program();
    const fromElf = await execProgram({ file: elf, maxSteps: MAX_STEPS });
    const fromBin = await execProgram({ file: bin, base: 0x4010_0000n, maxSteps: MAX_STEPS });
    for (const r of [fromElf, fromBin]) {
      expect(r.console).toMatch(PASS_LINE.cpubench);
      for (const k of KERNELS) expect(r.console).toMatch(new RegExp(`^  ${k} +[0-9a-f]{16}  ok$`, "m"));
      expect(r.stop).toMatchObject({ kind: "brk", imm: 0 });
      expect(execExitCode(r.stop)).toBe(0);
    }
    expect(fromBin.console).toBe(fromElf.console);
    expect(fromBin.steps).toBe(fromElf.steps);
    expect(fromElf.image.symbols.has("k_pt_walk")).toBe(true);
  }, 120_000);

  it("reports a wrong checksum: the kernel is WRONG, the last line FAIL, brk #1 (exec status 3)", async () => {
    const { bin } = program();
    // expected[0] is pt_walk's checksum; flip one bit of it in a copy of the raw image.
    const header = readFileSync("guests/c/bench/expected.h", "utf8");
    const first = /0x([0-9a-f]{16})ULL/.exec(header)![1]!;
    const needle = Buffer.alloc(8);
    needle.writeBigUInt64LE(BigInt(`0x${first}`));
    const bytes = readFileSync(bin);
    const at = bytes.indexOf(needle);
    expect(at).toBeGreaterThan(0);
    bytes[at] = bytes[at]! ^ 1;
    const bad = join(mkdtempSync(join(tmpdir(), "nvlab-cpubench-")), "bad.bin");
    writeFileSync(bad, bytes);
    const r = await execProgram({ file: bad, maxSteps: MAX_STEPS });
    expect(r.console).toMatch(/^  pt_walk +[0-9a-f]{16}  WRONG$/m);
    expect(r.console).toMatch(/^  divmod +[0-9a-f]{16}  ok$/m);
    expect(r.console).toMatch(/^cpubench: FAIL \(1 of 9 kernels\)$/m);
    expect(r.stop).toMatchObject({ kind: "brk", imm: 1 });
    expect(execExitCode(r.stop)).toBe(3);
  }, 120_000);

  it.runIf(haveQemu)("prints the same as QEMU, from the ELF and from the raw image (nvlab exec --qemu)", async () => {
    await expectSameAsQemu(program(), PASS_LINE.cpubench, MAX_STEPS);
  }, 120_000);

  it.runIf(haveUnicorn)("ends on unicorn-engine as on nvlab: at bare_pass, with the same x0 and the same RAM", async () => {
    const { elf } = program();
    const nv = await runProgram(elf);
    const uc = await runProgramOnUnicorn(elf);
    expect(uc.error).toBeNull();
    expect(uc.passed).toBe(true);
    expect(uc.x0).toBe(nv.x0);
    expect(uc.ram).toBe(nv.ram);
  }, 300_000);
});
