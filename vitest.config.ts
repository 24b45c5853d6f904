import { defineConfig, type TestProjectInlineConfiguration } from "vitest/config";

/**
 * The tests that run guest code, run a second time under the JIT (project "jit"); the rest
 * (assembler, fuzzed input surfaces, benchmarks' harness, README) do not depend on the engine.
 */
const ENGINE_SENSITIVE = ["emulator", "hypervisor", "scenarios", "e2e", "guests", "programs", "debug", "oracle", "qemu", "cli", "lab"];
/** Compares the two engines itself, whichever NVLAB_ENGINE names: once is enough. */
const ENGINE_NEUTRAL = ["test/emulator/jit/differential.test.ts"];

const ALL = ["test/**/*.test.ts"];
const engine = process.env.NVLAB_ENGINE;

/**
 * Each project sets NVLAB_ENGINE, the engine every Cpu gets unless it names one (emulator/engine.ts).
 * With NVLAB_ENGINE set outside, only that engine runs, on the whole suite. The jit project runs
 * after the interp one (groupOrder), so the two never build the same guests at the same time.
 */
const projects: TestProjectInlineConfiguration[] =
  engine !== undefined && engine !== ""
    ? [{ extends: true, test: { name: engine, include: ALL, env: { NVLAB_ENGINE: engine } } }]
    : [
        { extends: true, test: { name: "interp", include: ALL, env: { NVLAB_ENGINE: "interp" }, sequence: { groupOrder: 0 } } },
        {
          extends: true,
          test: {
            name: "jit",
            include: ENGINE_SENSITIVE.map((d) => `test/${d}/**/*.test.ts`),
            exclude: ENGINE_NEUTRAL,
            env: { NVLAB_ENGINE: "jit" },
            sequence: { groupOrder: 1 },
          },
        },
      ];

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: "forks",
    projects,
  },
});
