// Guest-error reports name the vCPU whose state they show: with several vCPUs the level alone does
// not say whose registers and exit these are.

import { describe, expect, it } from "vitest";
import { formatGuestReport } from "../../hypervisor/errors.ts";
import { OFF, bootL1 } from "./l0_harness.ts";

const CPU_ON = (mpidr: number, entry: string): string =>
  `mov64 x0, 0xc4000003\n mov64 x1, ${mpidr}\n adr x2, ${entry}\n mov x3, #0\n smc #0`;

describe("guest-error reports", () => {
  it("name the vCPU that failed: the secondary's bad load is vCPU 1's", async () => {
    const r = await bootL1(
      `${CPU_ON(1, "secondary")}
      1: b 1b
      secondary:
        mov x7, #0x77
        mov x1, #0x1000
        ldr x2, [x1]
        ${OFF()}`,
      { config: { vcpus: 2 } },
    );
    expect(r.outcome.kind).toBe("guest-error");
    if (r.outcome.kind !== "guest-error") return;
    const rep = r.outcome.report;
    expect(rep.reason).toMatch(/access to canonical IPA 0x1000/);
    expect(rep.vcpu).toBe(1);
    expect(rep.regs?.x7).toBe("0x0000000000000077");
    expect(formatGuestReport(rep).split("\n")[0]).toMatch(/^\[L1 on vCPU 1\] read access to canonical IPA 0x1000/);
  });

  it("name vCPU 0 on a single-vCPU VM, and in a step-budget report", async () => {
    const err = await bootL1(`mov x1, #0x1000\n ldr x2, [x1]\n ${OFF()}`);
    expect(err.outcome.kind === "guest-error" && err.outcome.report.vcpu).toBe(0);
    const spin = await bootL1("1: b 1b", { maxSteps: 1000 });
    expect(spin.outcome.kind === "budget" && spin.outcome.report.vcpu).toBe(0);
  });
});
