import { describe, expect, it } from "vitest";
import { unicornAvailable } from "../../lab/oracle/unicorn.ts";
import { probeRss } from "../../bench/lib/rss_probe.ts";
import { runLoop, withEngine } from "../../bench/lib/speed_runs.ts";

describe("peak-RSS probe (a real child process)", () => {
  it("runs the loop on nvlab in a child and reports a peak at or above the baseline", async () => {
    const r = await probeRss({ kind: "loop", engine: "interp", iterations: 1000 });
    expect(r.instructions).toBe(13 * 1000);
    expect(r.baselineKiB).toBeGreaterThan(10 * 1024);
    expect(r.peakKiB).toBeGreaterThanOrEqual(r.baselineKiB);
    expect(r.seconds).toBeGreaterThan(0);
  }, 60_000);

  it("a child that fails rejects rather than reporting numbers", async () => {
    await expect(probeRss({ kind: "program", engine: "interp", elf: "/nonexistent.elf", pass: "PASS" })).rejects.toThrow();
  }, 60_000);
});

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
