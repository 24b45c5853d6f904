import { describe, expect, it } from "vitest";
import { probeRss } from "../../bench/lib/rss_probe.ts";

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
