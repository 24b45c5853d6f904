// The debugger on several vCPUs: continue runs them all, a stop names the vCPU that reached it,
// stepping runs the vCPU shown, and the run ends as a plain run of the same VM does.

import { describe, expect, it } from "vitest";
import { runVm } from "../../lab/run.ts";
import { DebugSession } from "../../debug/session.ts";
import { GUEST_PAIRS } from "../qemu/pairs.ts";
import { pairOptions } from "./session_fixture.ts";

const SMP2 = GUEST_PAIRS.find((p) => p.name === "smp+2")!;

describe("DebugSession with two vCPUs", () => {
  it("stops on vCPU 1 at the secondary entry, steps it, and finishes like a plain run", async () => {
    const vm = await pairOptions(SMP2.l1, SMP2.l2, { vcpus: 2 });
    const s = await DebugSession.open({ vm });
    expect(s.location()!.text).toMatch(/^vCPU 0 L1 /);
    s.addAddressBreak("smp_secondary_entry");
    const stop = await s.continue();
    expect(stop.reason.kind).toBe("breakpoint");
    expect(s.vcpu.index).toBe(1);
    expect(stop.location!.text).toMatch(/^vCPU 1 L1 0x[0-9a-f]+ {2}<smp_secondary_entry>/);
    const pc = s.registers().pc;
    const step = s.stepInstruction();
    expect(step.reason.kind).toBe("step");
    expect(s.vcpu.index).toBe(1);
    expect(s.registers().pc).toBe(pc + 4n);
    s.deleteBreak();
    const end = await s.continue();
    expect(end.reason.kind).toBe("finished");
    expect(s.finished).toEqual({ kind: "system-off", code: 0 });
    const plain = runVm(await pairOptions(SMP2.l1, SMP2.l2, { vcpus: 2 }));
    expect(s.kvm.console).toBe(plain.console);
    expect(s.kvm.console).toBe(SMP2.expected);
  });
});
