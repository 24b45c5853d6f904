// Smoke tests of the shadow-fault and CPU-speed drivers: they exercise the real L0 path and real
// guests, and leave the state the fault path would. No timing is asserted.

import { describe, expect, it } from "vitest";
import { faultRig, releaseRig, timePhases, timeShadowFaults } from "../../bench/lib/fault_driver.ts";
import { runPair } from "../../bench/lib/fault_driver_pair.ts";
import { LOOP } from "../../bench/lib/cpu_loop.ts";
import { revmapOf } from "../../hypervisor/unmap/revmap.ts";

const leavesOf = (rig: ReturnType<typeof faultRig>) => [...rig.mmu.pgt.leaves()].map((l) => ({ ipa: l.ipa, size: l.size }));

describe("fault driver", () => {
  it.each(["full", "revmap", "accel"] as const)("installs one shadow leaf per distinct page through kvmHandleGuestAbort (%s)", (strategy) => {
    const rig = faultRig(64, strategy);
    expect(timeShadowFaults(rig, 64)).toBeGreaterThan(0);
    expect(rig.injected()).toBe(0);
    expect(rig.kvm.metrics.shadowFaults).toBe(64);
    expect(rig.kvm.metrics.l1S2Walks).toBe(64);
    // A nested fault maps the shadow stage-2 only (user_mem_abort on a shadow MMU).
    expect(rig.kvm.metrics.canonicalFaults).toBe(0);
    expect(leavesOf(rig)).toEqual(Array.from({ length: 64 }, (_, i) => ({ ipa: rig.nested(i), size: 0x1000n })));
    releaseRig(rig);
  });

  it("leaves the same shadow leaves and host backing whether host pages are recycled or first-touch", () => {
    const recycled = faultRig(48, "accel", "recycled");
    const fresh = faultRig(48, "accel", "first-touch");
    // Recycled: every free pool page is RAM and poisoned before any fault; first-touch: only the
    // pages in use are RAM.
    const pool = (rig: ReturnType<typeof faultRig>) => Array.from({ length: rig.kvm.pool.total }, (_, i) => rig.kvm.pool.basePa + i * 0x1000);
    expect(pool(recycled).every((pa) => recycled.kvm.mem.isRam(pa))).toBe(true);
    expect(pool(recycled).filter((pa) => recycled.kvm.pool.isPoisoned(pa)).length).toBe(recycled.kvm.pool.total - recycled.kvm.pool.used);
    expect(pool(fresh).filter((pa) => fresh.kvm.mem.isRam(pa)).length).toBe(fresh.kvm.pool.used);
    timeShadowFaults(recycled, 48);
    timeShadowFaults(fresh, 48);
    expect(leavesOf(recycled)).toEqual(leavesOf(fresh));
    const backing = (rig: ReturnType<typeof faultRig>) => Array.from({ length: 48 }, (_, i) => rig.slot.hostPa(rig.canonical(i)));
    expect(backing(recycled)).toEqual(backing(fresh));
    expect(backing(recycled).every((pa) => pa !== null)).toBe(true);
    expect(recycled.kvm.metrics.canonicalFaults).toBe(0);
    expect(fresh.kvm.metrics.canonicalFaults).toBe(0);
  });

  it("times each phase on the same pages and leaves what the whole path leaves", () => {
    // Each shadow leaf maps nested page i onto the host page backing canonical page i.
    const shape = (rig: ReturnType<typeof faultRig>) =>
      [...rig.mmu.pgt.leaves()].map((l, i) => [l.ipa === rig.nested(i), Number(l.pa) === rig.slot.hostPa(rig.canonical(i))]);
    const whole = faultRig(32, "accel");
    timeShadowFaults(whole, 32);
    const split = faultRig(32, "accel");
    const p = timePhases(split, 32);
    for (const s of [p.walk, p.faultIn, p.install, p.record]) expect(s).toBeGreaterThan(0);
    expect(split.kvm.metrics.canonicalFaults).toBe(0);
    expect(shape(split)).toEqual(Array.from({ length: 32 }, () => [true, true]));
    expect(shape(whole)).toEqual(shape(split));
    // The strategy record ran: accel's revmap knows every page.
    expect(Array.from({ length: 32 }, (_, i) => (revmapOf(split.mmu)?.revmap?.load(split.canonical(i)) ?? null) !== null)).toEqual(Array.from({ length: 32 }, () => true));
  });
});

describe("guest pairs", () => {
  it("counts one installed shadow leaf per page touched by L2 (hyp + touch)", async () => {
    const run = await runPair("guests/l1/hyp.S", "guests/l2/touch.S", { symbol: "touch_pages", value: 20 }, { unmap: "accel" }, { countInstalls: true });
    expect(run.result.console).toContain("touch: 20 pages written and read back, 0 errors");
    // 20 data pages and L2's code page; each first takes a fault L1 handles.
    expect(run.installs).toBe(21);
    expect(run.result.metrics.shadowFaults).toBe(run.installs! + run.result.metrics.faultsInjectedToL1);
  });

  it("runs the standard loop as L2 to a clean exit, touching only its code and table pages", async () => {
    const n = 2000;
    const run = await runPair("guests/l1/hyp.S", "bench/guests/loop_l2.S", { symbol: "loop_iterations", value: n }, { unmap: "accel" }, { countInstalls: true });
    expect(run.result.console).toContain("L2 #0 exited with code 0");
    expect(run.installs).toBe(2);
    expect(run.result.steps).toBeGreaterThan(LOOP.length * n);
    expect(run.result.steps).toBeLessThan(LOOP.length * n + 20_000);
    expect(run.l2Window).toBeNull();
  });

  it("times L2 from L1's first ERET into it to its exit call, L1's boot outside the window", async () => {
    const n = 2000;
    const run = await runPair("guests/l1/hyp.S", "bench/guests/loop_l2.S", { symbol: "loop_iterations", value: n }, { unmap: "accel" }, { timeL2: true });
    const w = run.l2Window!;
    expect(w).not.toBeNull();
    // The loop and its few lines around it, plus L1's lazy fill of L2's two pages.
    expect(w.steps).toBeGreaterThan(LOOP.length * n);
    expect(w.steps).toBeLessThan(LOOP.length * n + 2_000);
    // L1's boot (console, stage-2 set-up) retires instructions before the window opens.
    expect(run.result.steps - w.steps).toBeGreaterThan(500);
    expect(w.seconds).toBeGreaterThan(0);
    expect(w.seconds).toBeLessThan(run.seconds);
  });
});
