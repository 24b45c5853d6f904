// PSCI calls from vEL2 over SMC.

import { describe, expect, it } from "vitest";
import { PSCI_RET_NOT_SUPPORTED } from "../../hypervisor/psci.ts";
import { OFF, bootL1 } from "./l0_harness.ts";

describe("kvmPsciCall", () => {
  it("SYSTEM_OFF ends the run with x1 as the exit code", async () => {
    const r = await bootL1(`mov x9, #1\n ${OFF(42)}\n mov x9, #2`);
    expect(r.outcome).toEqual({ kind: "system-off", code: 42 });
    expect(r.x(9)).toBe(1n);
    expect(r.metrics.exits.SMC64).toBe(1);
  });

  it("PSCI_VERSION is 1.0; CPU_ON and unknown functions are NOT_SUPPORTED; the SMC is skipped", async () => {
    const r = await bootL1(`
      mov64 x0, 0x84000000
      smc #0
      mov x20, x0
      mov64 x0, 0xc4000003
      mov x1, #1
      smc #0
      mov x21, x0
      mov64 x0, 0x8400000a
      mov64 x1, 0x84000008
      smc #0
      mov x22, x0
      mov64 x0, 0x8400000a
      mov64 x1, 0xc4000003
      smc #0
      mov x23, x0
      mov64 x0, 0x84000055
      smc #0
      mov x24, x0
      ${OFF()}`);
    expect(r.outcome.kind).toBe("system-off");
    expect(r.x(20)).toBe(0x10000n);
    expect(r.x(21)).toBe(PSCI_RET_NOT_SUPPORTED);
    expect(r.x(22)).toBe(0n);
    expect(r.x(23)).toBe(PSCI_RET_NOT_SUPPORTED);
    expect(r.x(24)).toBe(PSCI_RET_NOT_SUPPORTED);
    expect(r.metrics.psciCalls).toBe(6);
    expect(r.kvm.events.recent().filter((e) => e.kind === "psci").map((e) => e.detail)[1]).toMatch(/CPU_ON mpidr=0x1 -> NOT_SUPPORTED/);
  });
});
