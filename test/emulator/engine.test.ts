// The engine choice: NVLAB_ENGINE as every CPU's default, and the suite's projects (vitest.config.ts)
// really running their tests under the engine they are named for.

import { afterEach, describe, expect, it, vi } from "vitest";
import { Cpu } from "../../emulator/cpu.ts";
import { defaultEngine, isEngine } from "../../emulator/engine.ts";
import { PhysMemory } from "../../emulator/memory.ts";

afterEach(() => {
  vi.unstubAllEnvs();
});

describe("engine choice", () => {
  it("this project's tests run under the engine the project is named for", ({ task }) => {
    const project = task.file.projectName;
    // Only the two engine projects are checked: a run without projects has no name to hold to.
    if (project !== undefined && isEngine(project)) {
      expect(process.env.NVLAB_ENGINE).toBe(project);
      expect(new Cpu(new PhysMemory()).engine).toBe(project);
    }
  });

  it("NVLAB_ENGINE is the default; unset or empty means the translator; anything else is refused by name", () => {
    vi.stubEnv("NVLAB_ENGINE", "interp");
    expect(defaultEngine()).toBe("interp");
    expect(new Cpu(new PhysMemory()).engine).toBe("interp");
    expect(new Cpu(new PhysMemory(), { engine: "jit" }).engine).toBe("jit");
    vi.stubEnv("NVLAB_ENGINE", "");
    expect(defaultEngine()).toBe("jit");
    vi.stubEnv("NVLAB_ENGINE", undefined);
    expect(defaultEngine()).toBe("jit");
    vi.stubEnv("NVLAB_ENGINE", "JIT");
    expect(() => defaultEngine()).toThrow("NVLAB_ENGINE=JIT: expected one of interp, jit");
  });
});
