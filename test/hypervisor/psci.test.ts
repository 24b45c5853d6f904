// PSCI calls from vEL2 over SMC: version, features, SYSTEM_OFF, and bringing up secondary vCPUs.

import { describe, expect, it } from "vitest";
import { hex } from "../../emulator/types.ts";
import { PSCI_RET_ALREADY_ON, PSCI_RET_INVALID_PARAMS, PSCI_RET_NOT_SUPPORTED } from "../../hypervisor/psci.ts";
import { physicalMpidr } from "../../emulator/sysreg_table.ts";
import { Kvm, KVM_MAX_VCPUS } from "../../hypervisor/vm.ts";
import { OFF, bootL1 } from "./l0_harness.ts";

const CPU_ON = (mpidr: number, entry: string, context: number): string =>
  `mov64 x0, 0xc4000003\n mov64 x1, ${mpidr}\n adr x2, ${entry}\n mov64 x3, ${context}\n smc #0`;

describe("kvmPsciCall", () => {
  it("SYSTEM_OFF ends the run with x1 as the exit code", async () => {
    const r = await bootL1(`mov x9, #1\n ${OFF(42)}\n mov x9, #2`);
    expect(r.outcome).toEqual({ kind: "system-off", code: 42 });
    expect(r.x(9)).toBe(1n);
    expect(r.metrics.exits.SMC64).toBe(1);
  });

  it("PSCI_VERSION is 1.0; FEATURES lists what is implemented; unknown functions are NOT_SUPPORTED; the SMC is skipped", async () => {
    // One SMC per row; L1 keeps each result in x20, x21, …
    const calls = [
      { call: "PSCI_VERSION", x0: 0x8400_0000, returns: 0x10000n },
      { call: "FEATURES(SYSTEM_OFF)", x0: 0x8400_000a, x1: 0x8400_0008, returns: 0n },
      { call: "FEATURES(CPU_ON)", x0: 0x8400_000a, x1: 0xc400_0003, returns: 0n },
      { call: "FEATURES(SYSTEM_RESET)", x0: 0x8400_000a, x1: 0x8400_0009, returns: PSCI_RET_NOT_SUPPORTED },
      { call: "unknown function 0x84000055", x0: 0x8400_0055, returns: PSCI_RET_NOT_SUPPORTED },
    ];
    const smcs = calls.map((c, i) => `mov64 x0, ${hex(c.x0)}\n ${c.x1 === undefined ? "" : `mov64 x1, ${hex(c.x1)}\n`} smc #0\n mov x${20 + i}, x0`);
    const r = await bootL1(`${smcs.join("\n")}\n ${OFF()}`);
    expect(r.outcome.kind).toBe("system-off");
    for (const [i, c] of calls.entries()) expect(r.x(20 + i), c.call).toBe(c.returns);
    expect(r.metrics.psciCalls).toBe(6);
  });

  it("CPU_ON of a vCPU that does not exist is INVALID_PARAMETERS", async () => {
    const r = await bootL1(`${CPU_ON(0x80000001, "1f", 0)}\n mov x21, x0\n ${OFF()}\n1: b .`);
    expect(r.x(21)).toBe(PSCI_RET_INVALID_PARAMS);
    expect(r.kvm.events.recent().some((e) => e.kind === "psci" && /no such vCPU -> INVALID_PARAMETERS/.test(e.detail))).toBe(true);
  });
});

/** L1 for two vCPUs: vCPU 1 starts at `secondary` with x0 = context, stores it, and turns itself off. */
const TWO_CPUS = `
  ${CPU_ON(0x80000001, "secondary", 0x1234)}
  mov x21, x0
  ${CPU_ON(0x80000001, "secondary", 0x1234)}
  mov x22, x0
  adr x5, flag
1:ldar x6, [x5]
  cbz x6, 1b
  mov x23, x6
  adr x5, release
  mov x6, #1
  stlr x6, [x5]
  // AFFINITY_INFO(vCPU 1, level 0) until it reports OFF (1).
2:mov64 x0, 0xc4000004
  mov64 x1, 0x80000001
  mov x2, #0
  smc #0
  cmp x0, #1
  b.ne 2b
  mrs x24, mpidr_el1
  ${OFF(7)}
secondary:
  adr x5, flag
  mrs x7, mpidr_el1
  mrs x8, CurrentEL
  add x6, x0, x7, lsl #16
  stlr x6, [x5]
  adr x5, release
3:ldar x6, [x5]
  cbz x6, 3b
  mov64 x0, 0x84000002
  smc #0
  b .
.balign 8
flag: .quad 0
release: .quad 0
`;

describe("secondary vCPUs", () => {
  it("CPU_ON starts vCPU 1 at the entry in vEL2 with the context in x0; ALREADY_ON; CPU_OFF; AFFINITY_INFO", async () => {
    const r = await bootL1(TWO_CPUS, { config: { vcpus: 2 }, maxSteps: 200_000 });
    expect(r.outcome).toEqual({ kind: "system-off", code: 7 });
    expect(r.x(21)).toBe(0n);
    expect(r.x(22)).toBe(PSCI_RET_ALREADY_ON);
    // context 0x1234 + (MPIDR of vCPU 1 << 16)
    expect(r.x(23)).toBe(0x1234n + (0x80000001n << 16n));
    expect(r.x(24) & 0xffn).toBe(0n);
    const cpu1 = r.kvm.vcpus[1]!.cpu;
    expect(cpu1.getX(8)).toBe(2n << 2n); // CurrentEL reads EL2 at vEL2
    expect(r.kvm.vcpus[1]!.mpState).toBe("stopped");
    expect(r.metrics.vcpusStarted).toBe(1);
    expect(cpu1.steps).toBeGreaterThan(0);
  });

  it("vCPUs from 256 up have Aff1 set: CPU_ON and AFFINITY_INFO find vCPU 257 by MPIDR 0x80000101, not vCPU 1", async () => {
    const r = await bootL1(TWO_CPUS.replaceAll("0x80000001", "0x80000101").replaceAll(String(0x8000_0001), String(0x8000_0101)), { config: { vcpus: 258 }, maxSteps: 200_000 });
    expect(r.outcome).toEqual({ kind: "system-off", code: 7 });
    expect(r.x(21)).toBe(0n);
    expect(r.x(22)).toBe(PSCI_RET_ALREADY_ON);
    // The MPIDR vCPU 257 reads: Aff1 = 1, Aff0 = 1.
    expect(r.x(23)).toBe(0x1234n + (0x80000101n << 16n));
    expect(r.kvm.vcpus[257]!.mpState).toBe("stopped");
    expect(r.kvm.vcpus[257]!.cpu.steps).toBeGreaterThan(0);
    expect(r.kvm.vcpus[1]!.cpu.steps).toBe(0);
    expect(r.kvm.vcpus.map((v) => physicalMpidr(v.cpu)).filter((m, i, all) => all.indexOf(m) !== i)).toEqual([]);
  });

  it("at most KVM_MAX_VCPUS (512) vCPUs", () => {
    expect(() => new Kvm({ vcpus: KVM_MAX_VCPUS + 1 })).toThrow(`vcpus must be 1..512 (got 513)`);
    expect(physicalMpidr(new Kvm({ vcpus: KVM_MAX_VCPUS }).vcpus[KVM_MAX_VCPUS - 1]!.cpu)).toBe(0x8000_01ffn);
  });

  it("the interleaving depends only on the schedule and seed", async () => {
    const run = (schedule: { policy: "round-robin" | "random"; quantum: number }, seed = 0) =>
      bootL1(TWO_CPUS, { config: { vcpus: 2, schedule, seed }, maxSteps: 200_000 });
    const steps = async (s: Parameters<typeof run>[0], seed = 0) => {
      const r = await run(s, seed);
      expect(r.outcome).toEqual({ kind: "system-off", code: 7 });
      return r.kvm.vcpus.map((v) => v.cpu.steps);
    };
    const rr = await steps({ policy: "round-robin", quantum: 7 });
    expect(await steps({ policy: "round-robin", quantum: 7 })).toEqual(rr);
    const a = await steps({ policy: "random", quantum: 5 }, 1);
    expect(await steps({ policy: "random", quantum: 5 }, 1)).toEqual(a);
    // vCPU 0 polls while vCPU 1 runs: how long it polls depends on the interleaving.
    const others = [await steps({ policy: "random", quantum: 5 }, 2), await steps({ policy: "random", quantum: 5 }, 3), await steps({ policy: "round-robin", quantum: 50 })];
    expect(others.some((o) => o[0] !== a[0]), JSON.stringify({ rr, a, others })).toBe(true);
  });

  it("a run where every vCPU turned itself off is a guest error that says so", async () => {
    const r = await bootL1(`mov64 x0, 0x84000002\n smc #0\n b .`);
    expect(r.outcome.kind).toBe("guest-error");
    if (r.outcome.kind === "guest-error") expect(r.outcome.message).toMatch(/every vCPU is off/);
  });
});
