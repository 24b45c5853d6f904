// The SMP guests (guests/l1/smp.S, smp_shared.S) under several interleavings: the console is the
// same on every schedule (the guests serialise their output), each vCPU runs, the shadow MMUs the
// secondaries use are referenced by them, and the invariant checker holds throughout.

import { describe, expect, it } from "vitest";
import { GUEST_PAIRS } from "../qemu/pairs.ts";
import { runPair } from "./harness.ts";

const SCHEDULES = [
  { policy: "round-robin", quantum: 1 },
  { policy: "round-robin", quantum: 37 },
  { policy: "random", quantum: 50 },
] as const;

describe("SMP guest pairs on several vCPUs", () => {
  for (const pair of GUEST_PAIRS.filter((p) => (p.vcpus ?? 1) > 1)) {
    for (const schedule of SCHEDULES) {
      it(`${pair.name}, ${schedule.policy} quantum ${schedule.quantum}: same console, every vCPU ran, invariants hold`, async () => {
        const vcpus = pair.vcpus!;
        const r = await runPair(pair.l1, pair.l2, { config: { vcpus, schedule, seed: 3, unmap: "accel" }, check: true });
        expect(r.outcome).toEqual({ kind: "system-off", code: pair.exitCode });
        expect(r.console).toBe(pair.expected);
        expect(r.kvm.vcpus.every((v) => v.cpu.steps > 0)).toBe(true);
        expect(r.metrics.vcpusStarted).toBe(vcpus - 1);
        // Nothing leaks: every reference a vCPU took on a shadow MMU is one some vCPU still holds.
        const held = r.kvm.vcpus.filter((v) => v.hwMmu?.isNested).length;
        expect(r.kvm.nestedMmus.reduce((n, m) => n + m.refcnt, 0)).toBe(held);
      }, 60_000);
    }
  }
});
