// bench/cpu_programs.ts: the compiled programs are built, run once each and measured.

import { describe, expect, it } from "vitest";
import { buildCpubench, measureCpuPrograms, PASS_LINE, runProgram } from "../../bench/cpu_programs.ts";
import { crossCompilerForTests, lz4SourcesForTests } from "../programs/programs_required.ts";

const haveCross = crossCompilerForTests("the compiled-program benchmark tests");
const haveLz4 = haveCross && (await lz4SourcesForTests("the LZ4 benchmark test")) !== null;

describe.runIf(haveCross)("the compiled programs of npm run bench:cpu", () => {
  it("measures cpubench and lz4_check: instructions, time, MIPS, passed", async () => {
    const progress: string[] = [];
    const r = await measureCpuPrograms({ rounds: 1, lz4Kib: 1, progress: (m) => progress.push(m) });
    expect(r.measured.map((m) => m.name)).toEqual(haveLz4 ? ["cpubench", "lz4_check"] : ["cpubench"]);
    for (const m of r.measured) {
      expect(m.passed).toBe(true);
      expect(m.instructions).toBeGreaterThan(1_000_000);
      expect(m.seconds).toBeGreaterThan(0);
      expect(m.mips).toBeCloseTo(m.instructions / m.seconds / 1e6, 6);
      if (m.unicorn) expect(m.unicorn.agrees).toBe(true);
    }
    expect(r.measured[0]).toMatchObject({ what: "cpubench_r1.elf" });
    // Each kernel's instructions per call: all nine, in order, and together nearly the whole run.
    const perCall = r.measured[0]!.perCall!;
    expect(perCall.map((k) => k.kernel)).toEqual(["pt_walk", "hash_table", "crc32", "sort", "matmul", "bits", "mem", "interp", "divmod"]);
    const sum = perCall.reduce((a, k) => a + k.instructions, 0);
    expect(Math.min(...perCall.map((k) => k.instructions))).toBeGreaterThan(100_000);
    expect(sum).toBeLessThan(r.measured[0]!.instructions);
    expect(sum).toBeGreaterThan(0.9 * r.measured[0]!.instructions);
    expect(progress.join("\n")).toMatch(/building cpubench/);
  }, 120_000);

  it("runs a raw image at the base it was linked for, with the same instruction count as its ELF", async () => {
    const { elf, bin } = buildCpubench(1);
    const a = await runProgram(elf);
    const b = await runProgram(bin);
    expect(a.console).toMatch(PASS_LINE.cpubench);
    expect(b.console).toBe(a.console);
    expect(b.instructions).toBe(a.instructions);
    expect(b.stop).toEqual(a.stop);
  }, 120_000);
});
