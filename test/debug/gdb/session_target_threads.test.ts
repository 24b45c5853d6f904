// SessionTarget with four vCPUs (smp.S, one L2 per vCPU): a thread per vCPU named with its level
// and L2's VMID, selecting one shows its registers, stepping it moves it alone, and a stop names
// the vCPU that stopped.

import { describe, expect, it } from "vitest";
import { SessionTarget } from "../../../debug/gdb/session_target.ts";
import { FakeGdb } from "./fake_target.ts";
import { hexToText } from "../../../debug/gdb/packet.ts";
import { DebugError, DebugSession } from "../../../debug/session.ts";
import { GUEST_PAIRS } from "../../qemu/pairs.ts";
import { pairOptions } from "../session_fixture.ts";

const SMP4 = GUEST_PAIRS.find((p) => p.name === "smp+4")!;
const L2_ENTRY = 0x4000_0000n;

async function open() {
  const session = await DebugSession.open({ vm: await pairOptions(SMP4.l1, SMP4.l2, { vcpus: 4 }) });
  return { session, target: new SessionTarget(session) };
}

/** Run until vCPU 3 reaches its L2's entry (then vCPUs 2 and 3 run L2, 0 and 1 are in L1). */
async function untilFourthL2(target: SessionTarget): Promise<void> {
  target.insertBreakpoint(L2_ENTRY);
  for (let i = 0; i < 10 && target.currentThread() !== 4; i++) await target.resume(new AbortController().signal);
  target.removeBreakpoint(L2_ENTRY);
  expect(target.currentThread()).toBe(4);
}

/** Every thread's pc, each read with that thread selected. */
function pcs(target: SessionTarget): bigint[] {
  const was = target.currentThread();
  const out = target.threads().map((t) => {
    target.selectThread(t.tid);
    return target.registers().pc;
  });
  target.selectThread(was);
  return out;
}

describe("SessionTarget: one thread per vCPU", () => {
  it("lists every vCPU; those PSCI has not started yet are powered off", async () => {
    const { target } = await open();
    expect(target.threads()).toEqual([
      { tid: 1, name: "vCPU 0, L1" },
      { tid: 2, name: "vCPU 1, L1, powered off" },
      { tid: 3, name: "vCPU 2, L1, powered off" },
      { tid: 4, name: "vCPU 3, L1, powered off" },
    ]);
    expect(target.currentThread()).toBe(1);
  });

  it("a stop names the vCPU that stopped; a vCPU running L2 is named with the VMID L1 gave it", async () => {
    const { target, session } = await open();
    target.insertBreakpoint(L2_ENTRY);
    const stop = await target.resume(new AbortController().signal);
    expect(stop).toMatchObject({ kind: "signal", level: "L2", thread: 1, swbreak: true });
    await untilFourthL2(target);
    const names = target.threads().map((t) => t.name);
    expect(names[3]).toBe("vCPU 3, L2, VMID 4");
    // The others as the session has them: L1's VMID for vCPU n's L2 is n + 1 (smp.S).
    for (const v of session.kvm.vcpus) expect(names[v.index]).toBe(v.level === "L2" ? `vCPU ${v.index}, L2, VMID ${v.index + 1}` : `vCPU ${v.index}, L1`);
    expect(names.filter((n) => n.includes("L2")).length).toBeGreaterThanOrEqual(2);
  });

  it("selectThread shows that vCPU's registers; an unknown thread is a DebugError", async () => {
    const { target, session } = await open();
    await untilFourthL2(target);
    target.selectThread(3);
    expect(session.vcpu.index).toBe(2);
    expect(target.currentThread()).toBe(3);
    expect(target.registers().pc).toBe(session.registers().pc);
    expect(target.registers().level).toBe(session.kvm.vcpus[2]!.level);
    expect(() => target.selectThread(5)).toThrow(DebugError);
    expect(() => target.selectThread(0)).toThrow(DebugError);
    expect(target.currentThread()).toBe(3);
  });

  it("a step runs the selected vCPU only; the others stay where they are", async () => {
    const { target, session } = await open();
    await untilFourthL2(target);
    const before = pcs(target);
    const steps = session.kvm.vcpus.map((v) => v.cpu.steps);
    target.selectThread(3);
    const stop = target.step();
    expect(stop).toMatchObject({ kind: "signal", thread: 3 });
    const after = pcs(target);
    expect(after[2]).not.toBe(before[2]);
    expect([after[0], after[1], after[3]]).toEqual([before[0], before[1], before[3]]);
    expect(session.kvm.vcpus.map((v) => v.cpu.steps - steps[v.index]!)).toEqual([0, 0, 1, 0]);
  });

  it("through the stub: qfThreadInfo, qThreadExtraInfo, Hg and vCont;s:N on the vCPUs", async () => {
    const { target, session } = await open();
    await untilFourthL2(target);
    const gdb = new FakeGdb(target);
    expect(await gdb.ask("qfThreadInfo")).toBe("m01,02,03,04");
    expect(await gdb.ask("qC")).toBe("QC04");
    expect(hexToText(await gdb.ask("qThreadExtraInfo,4"))).toBe("vCPU 3, L2, VMID 4");
    expect(await gdb.ask("Hg2")).toBe("OK");
    expect(session.vcpu.index).toBe(1);
    const steps = session.kvm.vcpus.map((v) => v.cpu.steps);
    expect((await gdb.request("vCont;s:3;c")).at(-1)).toMatch(/^T05thread:03;nvlab-level:[12];$/);
    expect(session.kvm.vcpus.map((v) => v.cpu.steps - steps[v.index]!)).toEqual([0, 0, 1, 0]);
  });
});
