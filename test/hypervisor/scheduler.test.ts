// The vCPU scheduler: interleaving, the global exclusive monitor across slices, the shared
// shareability domain, and host tasks that take ticks.

import { describe, expect, it } from "vitest";
import { tlbiByName, executeTlbi } from "../../emulator/tlbi.ts";
import { VcpuScheduler } from "../../hypervisor/scheduler.ts";
import { Kvm } from "../../hypervisor/vm.ts";
import { OFF, bootL1 } from "./l0_harness.ts";

/** Two vCPUs add 1 to a shared counter N times each with LDXR/STXR; vCPU 0 waits and reads it. */
const COUNTER = (n: number) => `
  mov64 x0, 0xc4000003
  mov64 x1, 0x80000001
  adr x2, worker
  mov x3, #0
  smc #0
  bl add_n
  adr x5, done
1:ldar x6, [x5]
  cbz x6, 1b
  adr x5, counter
  ldr x20, [x5]
  ${OFF()}
worker:
  bl add_n
  adr x5, done
  mov x6, #1
  stlr x6, [x5]
2:b 2b
add_n:
  mov x9, #${n}
  adr x5, counter
3:ldxr x6, [x5]
  add x6, x6, #1
  stxr w7, x6, [x5]
  cbnz w7, 3b
  subs x9, x9, #1
  b.ne 3b
  ret
.balign 8
counter: .quad 0
done: .quad 0
`;

describe("kvmRunVcpus", () => {
  it("loses no LDXR/STXR increment when slices cut through the exclusive pairs", async () => {
    for (const [policy, quantum, seed] of [["random", 3, 1], ["random", 2, 9], ["round-robin", 3, 0], ["round-robin", 4, 0]] as const) {
      const r = await bootL1(COUNTER(300), { config: { vcpus: 2, schedule: { policy, quantum }, seed }, maxSteps: 400_000 });
      expect(r.outcome, `${policy}/${quantum}`).toEqual({ kind: "system-off", code: 0 });
      expect(r.x(20), `${policy}/${quantum}`).toBe(600n);
    }
  });

  it("puts every vCPU in one shareability domain: IS TLBIs reach the others, local ones do not", () => {
    const kvm = new Kvm({ memory: 16n << 20n, vcpus: 3 });
    const [a, b, c] = kvm.vcpus.map((v) => v.cpu) as [typeof kvm.vcpus[0]["cpu"], typeof kvm.vcpus[0]["cpu"], typeof kvm.vcpus[0]["cpu"]];
    executeTlbi(a, tlbiByName("VMALLE1IS")!, 0n);
    expect(b.tlb.lastInvalidation).not.toBeNull();
    expect(c.tlb.lastInvalidation).not.toBeNull();
    b.tlb.lastInvalidation = null;
    executeTlbi(a, tlbiByName("VMALLE1")!, 0n);
    expect(b.tlb.lastInvalidation).toBeNull();
  });

  it("ticks host tasks once per slice, and in L0 alone when every vCPU waits for one", () => {
    const kvm = new Kvm({ memory: 16n << 20n, vcpus: 2 });
    let ticks = 0;
    const task = { done: false, tick: () => (task.done = ++ticks >= 5) };
    kvm.addHostTask(task);
    const sched = kvm.scheduler;
    // Both vCPUs stopped: nobody runs; the task still finishes in L0 time.
    expect(sched.pick()).toBeNull();
    for (let i = 0; i < 10 && kvm.hostTasks.length > 0; i++) sched.tickHostTasks();
    expect(ticks).toBe(5);
    expect(kvm.hostTasks).toEqual([]);
    // A vCPU waiting on an unfinished operation is not runnable; it is once the operation is done.
    const v = kvm.vcpus[1]!;
    v.mpState = "runnable";
    const op = { done: false };
    v.waitingOn = op;
    expect(VcpuScheduler.runnable(v)).toBe(false);
    op.done = true;
    expect(VcpuScheduler.runnable(v)).toBe(true);
    expect(v.waitingOn).toBeNull();
  });

  it("draws random slice lengths in 1..2q-1 from the seed, the same for the same seed", () => {
    const lengths = (seed: number) => {
      const kvm = new Kvm({ memory: 16n << 20n, vcpus: 2, seed, schedule: { policy: "random", quantum: 10 } });
      return Array.from({ length: 200 }, () => kvm.scheduler.sliceLength());
    };
    const a = lengths(4);
    expect(lengths(4)).toEqual(a);
    expect(lengths(5)).not.toEqual(a);
    expect(Math.min(...a)).toBeGreaterThanOrEqual(1);
    expect(Math.max(...a)).toBeLessThanOrEqual(19);
    const mean = a.reduce((x, y) => x + y, 0) / a.length;
    expect(mean).toBeGreaterThan(8);
    expect(mean).toBeLessThan(12);
  });

  it("rejects a quantum that is not a positive integer", () => {
    expect(() => new Kvm({ memory: 16n << 20n, schedule: { policy: "round-robin", quantum: 0 } })).toThrow(/quantum/);
  });
});
