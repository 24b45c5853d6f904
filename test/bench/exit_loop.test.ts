// The exit-path benchmark guests run correctly: every loop iteration is the exact number of exits
// to L0 the guests document, and their own checks of the registers they read, wrote and kept pass.
// No timing is asserted.

import { describe, expect, it } from "vitest";
import { runVm } from "../../lab/run.ts";
import { assembleGuest, withWords } from "../../lab/fixtures/guest_images.ts";
import {
  BAR_EXITS_PER_SECOND, exitLoopReport, exitsHandled, HVC_L1, HVC_L2, HVC_EXITS_PER_ROUND_TRIP, runHvcLoop, runSysregLoop, SYSREG_EXITS_PER_ITERATION,
} from "../../bench/lib/exit_loop.ts";

describe("exit loop: EL2 register accesses from L1 (sysreg_l1.S)", () => {
  it("traps four accesses per iteration, reads back what it wrote, and reports ok", async () => {
    const a = await runSysregLoop(100);
    const b = await runSysregLoop(300);
    expect(a.result.console).toBe("sysreg: ok\n");
    expect(b.result.console).toBe("sysreg: ok\n");
    // The loop's exits are all EC 0x18; boot and power-off add the same few in both runs.
    expect(b.result.metrics.exits.SYS64! - a.result.metrics.exits.SYS64!).toBe(200 * SYSREG_EXITS_PER_ITERATION);
    expect(b.exits - a.exits).toBe(200 * SYSREG_EXITS_PER_ITERATION);
    expect(a.result.metrics.exits).toEqual({ IABT_LOW: 1, SYS64: 100 * SYSREG_EXITS_PER_ITERATION + 4, DABT_LOW: 11, SMC64: 1 });
    expect(a.result.metrics.sysregTraps).toBe(100 * SYSREG_EXITS_PER_ITERATION + 4);
    expect(a.exits).toBe(exitsHandled(a.result));
    expect(b.steps - a.steps).toBe(200 * 6);
    expect(a.seconds).toBeGreaterThan(0);
  });
});

describe("exit loop: null HVC round trips from L2 through L1 (hvc_l2.S under hvc_l1.S)", () => {
  it("takes three exits per round trip (HVC, MRS ESR_EL2, ERET), and L2 keeps its registers", async () => {
    const a = await runHvcLoop(50);
    const b = await runHvcLoop(150);
    for (const r of [a, b]) {
      expect(r.result.console).toBe(
        "L1: hvc: 4K granule, lazy 4K pages, fast null HVC\nL1: entering L2 #0 (VMID 1)\nL1: L2 #0 exited with code 0, stage-2 faults: 1\nL1: system off, exit code 0\n",
      );
    }
    const d = (k: string) => b.result.metrics.exits[k]! - a.result.metrics.exits[k]!;
    expect(d("HVC64")).toBe(100);
    expect(d("SYS64")).toBe(100);
    expect(d("ERET")).toBe(100);
    expect(b.exits - a.exits).toBe(100 * HVC_EXITS_PER_ROUND_TRIP);
    expect(a.result.metrics.exits).toEqual({ IABT_LOW: 3, SYS64: 63, DABT_LOW: 156, ERET: 53, HVC64: 52, SMC64: 1 });
    // Every round trip is one injection into vEL2 and one nested ERET back to L2.
    expect((b.result.metrics.injectionsToL1 as number) - (a.result.metrics.injectionsToL1 as number)).toBe(100);
    expect((b.result.metrics.nestedErets as number) - (a.result.metrics.nestedErets as number)).toBe(100);
    expect(a.result.metrics.shadowFaults).toBe(b.result.metrics.shadowFaults);
  });

  it("makes L2 exit with code 1 when L1 does not preserve its registers", async () => {
    // hvc_l1.S with the fast path's restore of x16/x17 replaced by `add sp, sp, #16`: L2 sees ESR
    // and EC values in x16/x17 after its first null HVC, and its final check fails.
    const l1 = withWords(await assembleGuest(HVC_L1, 0x4010_0000n), { bench_restore: 0x910043ff });
    const l2 = withWords(await assembleGuest(HVC_L2, 0x4800_0000n), { hvc_iterations: 5 });
    const r = runVm({ l1, l2: [{ image: l2, ipa: 0x4800_0000n }], config: { memory: 256n << 20n } });
    expect(r.outcome).toEqual({ kind: "system-off", code: 1 });
    expect(r.console).toContain("L1: L2 #0 exited with code 1");
  });
});

describe("exit loop report", () => {
  const s = (median: number) => ({ median, min: median - 1, max: median + 1, runs: [median] });
  it("has one row and one bar per loop, the bar at 1,000,000 exits/s on the median", () => {
    const m = { engine: "jit" as const, sysregIterations: 10, hvcRoundTrips: 10, runs: 1, sysregExits: 57, hvcExits: 209, sysreg: s(1_000_000), hvc: s(999_999) };
    const r = exitLoopReport(m);
    expect(r.table.rows.map((row) => row[0])).toEqual(["exits/s (MSR/MRS from L1)", "exits/s (HVC round trip L2->L1)"]);
    expect(r.table.rows.map((row) => row[2])).toEqual([57, 209]);
    expect(r.bars.map((b) => [b.name, b.pass])).toEqual([
      [`exits/s (MSR/MRS from L1) ≥ ${BAR_EXITS_PER_SECOND.toLocaleString("en-US")}`, true],
      [`exits/s (HVC round trip L2->L1) ≥ ${BAR_EXITS_PER_SECOND.toLocaleString("en-US")}`, false],
    ]);
    expect(BAR_EXITS_PER_SECOND).toBe(1_000_000);
    expect(r.table.title).toContain("jit engine");
  });
});
