import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { unicornAvailable } from "../../lab/oracle/unicorn.ts";
import { PASS_LINE } from "../../bench/cpu_programs.ts";
import { buildIntegerCpubench, runLoop, runProgramOn, withEngine } from "../../bench/lib/speed_runs.ts";
import { crossCompilerForTests } from "../programs/programs_required.ts";

describe("engine runs", () => {
  it("every engine ends the loop in the same state", () => {
    const engines = unicornAvailable().ok ? (["interp", "jit", "unicorn"] as const) : (["interp", "jit"] as const);
    const states = engines.map((e) => runLoop(e, 300).state);
    expect(new Set(states).size).toBe(1);
    expect(runLoop("interp", 300).jit).toBeNull();
  });

  it("withEngine sets NVLAB_ENGINE for the call and restores it after, even on a throw", async () => {
    const saved = process.env.NVLAB_ENGINE;
    process.env.NVLAB_ENGINE = "interp";
    try {
      expect(await withEngine("jit", () => process.env.NVLAB_ENGINE)).toBe("jit");
      expect(process.env.NVLAB_ENGINE).toBe("interp");
      await expect(withEngine("jit", () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
      expect(process.env.NVLAB_ENGINE).toBe("interp");
    } finally {
      if (saved === undefined) delete process.env.NVLAB_ENGINE;
      else process.env.NVLAB_ENGINE = saved;
    }
  });
});

const haveCross = crossCompilerForTests("the speed module's integer-build tests");

describe.runIf(haveCross)("the CoreMark stand-in's integer build", () => {
  it("holds no SIMD&FP instruction, passes its checks and ends alike on every engine", async () => {
    const elf = buildIntegerCpubench(1);
    expect(elf).toMatch(/build\/int\/cpubench_r1\.elf$/);
    // -mgeneral-regs-only: no access to a V, Q, D or S register anywhere in the disassembly.
    const text = execFileSync("aarch64-linux-gnu-objdump", ["-d", "--no-show-raw-insn", elf], { encoding: "utf8" });
    expect(text).toMatch(/\bmadd\b|\bmul\b/);
    expect(text).not.toMatch(/\t\w+\s+.*\b[vqds]\d{1,2}\b/);
    const interp = await runProgramOn("interp", elf, PASS_LINE.cpubench);
    expect(interp.passed).toBe(true);
    const engines = unicornAvailable().ok ? (["jit", "unicorn"] as const) : (["jit"] as const);
    for (const e of engines) {
      const r = await runProgramOn(e, elf, PASS_LINE.cpubench, interp.instructions);
      expect(r.passed).toBe(true);
      expect(r.state).toBe(interp.state);
      expect(r.instructions).toBe(interp.instructions);
    }
  }, 120_000);
});
