// cpubench and the LZ4 check as ordinary compiler output: the same sources built without
// -mgeneral-regs-only at -O2 and -O3 (gcc; LZ4 with clang too), so the compiler keeps data in the
// SIMD&FP registers and vectorizes loops. Each image must use the SIMD&FP unit, QEMU must run it
// to PASS, and nvlab must print QEMU's console byte for byte, from the ELF and from the raw image.
// The last check waits, per program, for the instruction classes WAITING_FOR names.

import { describe, expect, it } from "vitest";
import { PASS_LINE } from "../../bench/cpu_programs.ts";
import { qemuForTests } from "../helpers/qemu_required.ts";
import { nvlab } from "../helpers/bin.ts";
import { expectSameAsQemu } from "./exec_qemu.ts";
import { clangForTests, crossCompilerForTests, lz4SourcesForTests } from "./programs_required.ts";
import { type Built, makeProgram, OPT_LEVELS, simdFpInstructionCount, type Toolchain, WAITING_FOR } from "./simd_programs.ts";

const haveCross = crossCompilerForTests("the SIMD&FP builds of cpubench and LZ4");
const lz4Dir = haveCross ? await lz4SourcesForTests("the SIMD&FP builds of LZ4") : null;
const haveClang = haveCross && clangForTests("the clang SIMD&FP builds of LZ4");
const haveQemu = haveCross && qemuForTests("the SIMD&FP builds on QEMU");
const MAX_STEPS = 1_000_000_000;

interface Program {
  tc: Toolchain;
  name: string;
  pass: RegExp;
  vars: () => Record<string, string>;
}

const programs: Program[] = [];
for (const o of OPT_LEVELS) {
  programs.push({ tc: "gcc", name: `cpubench_r1_${o}_simd`, pass: PASS_LINE.cpubench, vars: () => ({}) });
  for (const tc of ["gcc", "clang"] as const) {
    programs.push({ tc, name: `lz4_check_16k_${o}_simd`, pass: PASS_LINE.lz4, vars: () => ({ LZ4_SRC: lz4Dir! }) });
  }
}

const builds = new Map<string, Built>();
const build = (p: Program): Built => {
  const key = `${p.tc} ${p.name}`;
  let b = builds.get(key);
  if (b === undefined) builds.set(key, (b = makeProgram(p.name, p.tc, p.vars())));
  return b;
};

const runnable = (p: Program): boolean => haveCross && (p.tc === "gcc" || haveClang) && (!p.name.startsWith("lz4") || lz4Dir !== null);

for (const p of programs) {
  const key = `${p.tc} ${p.name}`;
  describe.runIf(runnable(p))(`${key} (no -mgeneral-regs-only)`, () => {
    it("is built to use the SIMD&FP registers", () => {
      expect(simdFpInstructionCount(build(p).elf)).toBeGreaterThan(10);
    }, 300_000);

    it.runIf(haveQemu)("runs to PASS on QEMU (its console, through nvlab exec --qemu)", async () => {
      const r = await nvlab("exec", build(p).elf, "--qemu", "--json", "--max-steps", String(MAX_STEPS), "--qemu-timeout", "60");
      const j = JSON.parse(r.stdout) as { qemu: { console: string } };
      expect(j.qemu.console).toMatch(p.pass);
      expect(j.qemu.console).not.toMatch(/FAIL|WRONG|MISMATCH/);
    }, 300_000);

    // Skipped while WAITING_FOR names what nvlab still lacks for this image.
    it.skipIf(WAITING_FOR[key] !== undefined || !haveQemu)("prints QEMU's console on nvlab, from the ELF and from the raw image, and PASS", async () => {
      await expectSameAsQemu(build(p), p.pass, MAX_STEPS, "--qemu-timeout", "60");
    }, 600_000);
  });
}
