// Reverse execution in the debugger: every step back lands where the forward run was, at the right
// level and vCPU; `goto` reaches exactly the state a forward run has at that step; reverse-continue
// finds the forward run's stops in reverse order; the timeline forks where the user changes the run.

import { describe, expect, it } from "vitest";
import { DebugSession, type Stop } from "../../debug/session.ts";
import { describeVmState } from "../../lab/snapshot/vm_snapshot.ts";
import { GUEST_PAIRS } from "../qemu/pairs.ts";
import { HYP, l2, pairOptions } from "./session_fixture.ts";

const stateOf = (s: DebugSession): string[] => {
  const out: string[] = [];
  describeVmState(s.kvm, (l) => out.push(l));
  return out;
};

/** The first line where two states differ, or null. */
function firstDifference(a: string[], b: string[]): string | null {
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) return `line ${i}:\n  ${a[i]?.slice(0, 300)}\n  ${b[i]?.slice(0, 300)}`;
  return null;
}

interface Position {
  time: number;
  text: string;
}

const at = (st: Stop): Position => ({ time: st.time, text: st.location!.text });

describe("reverse-step", () => {
  it("lands on the instruction before, at the right level, over every kind of instruction that exits to L0", async () => {
    const vm = await pairOptions(HYP, [l2("uart")]);
    const s = await DebugSession.open({ vm, timeline: { every: 700 } });
    const positions: Position[] = [{ time: 0, text: s.location()!.text }];
    const exits = new Map<number, string>();
    let ec = "";
    const off = s.kvm.events.subscribe((e) => {
      if (e.kind === "exit") ec = e.detail.split(" ")[0]!;
    });
    while (!s.finished) {
      ec = "";
      const st = s.stepInstruction();
      if (s.finished) break;
      positions.push(at(st));
      if (ec) exits.set(positions.length - 2, ec);
    }
    off();
    const kinds = new Set(exits.values());
    // HVC, ERET, trapped EL2 register accesses and TLBIs, MMIO and shadow-fault data aborts, instruction aborts.
    for (const k of ["HVC64", "ERET", "SYS64", "DABT_LOW", "IABT_LOW"]) expect(kinds, [...kinds].join(" ")).toContain(k);
    // One position before each exiting instruction of each kind (the first 3 of a kind), then step back over it.
    const seen = new Map<string, number>();
    for (const [i, kind] of exits) {
      const n = seen.get(kind) ?? 0;
      if (n >= 3) continue;
      seen.set(kind, n + 1);
      s.goto(positions[i + 1]!.time);
      expect(s.location()!.text).toBe(positions[i + 1]!.text);
      const back = s.reverseStep();
      expect(back.reason.kind).toBe("reverse-step");
      expect(at(back), `back over ${kind} at step ${positions[i]!.time}`).toEqual(positions[i]);
    }
  });

  it("goes back from the end of the run, which then can run again", async () => {
    const vm = await pairOptions(HYP, [l2("hello")]);
    const s = await DebugSession.open({ vm });
    const end = await s.continue();
    expect(end.reason.kind).toBe("finished");
    const back = s.reverseStep(5);
    expect(back.time).toBe(end.time - 5);
    expect(s.finished).toBeNull();
    const again = await s.continue();
    expect(again.reason).toEqual(end.reason);
    expect(at(again)).toEqual(at(end));
  });
});

describe("goto", () => {
  it("reaches exactly the state a forward run has at that step, backwards and forwards", async () => {
    const vm = await pairOptions(HYP, [l2("touch")]);
    const s = await DebugSession.open({ vm, timeline: { every: 1500 } });
    await s.continue();
    const end = s.kvm.steps;
    for (const step of [end - 1, 1, 1500, 1501, Math.floor(end / 2), 0, end - 700]) {
      s.goto(step);
      const fresh = await DebugSession.open({ vm });
      fresh.goto(step);
      expect(s.kvm.steps).toBe(step);
      expect(firstDifference(stateOf(s), stateOf(fresh)), `goto ${step}`).toBeNull();
      expect(s.kvm.console).toBe(fresh.kvm.console);
    }
  });

  it("refuses a step that is not a non-negative integer", async () => {
    const s = await DebugSession.open({ vm: await pairOptions(HYP, [l2("hello")]) });
    expect(() => s.goto(-1)).toThrow(/non-negative integer/);
    expect(() => s.goto(1.5)).toThrow(/non-negative integer/);
  });
});

describe("reverse-continue", () => {
  it("finds the forward run's stops in reverse order across L1/L2 switches, then the start", async () => {
    const vm = await pairOptions(HYP, [l2("hello")]);
    const s = await DebugSession.open({ vm, timeline: { every: 500 } });
    s.addAddressBreak("l2_puts");
    s.addExitBreak("HVC64");
    s.addAddressBreak("console_puts");
    const forward: Position[] = [];
    for (;;) {
      const st = await s.continue();
      if (st.reason.kind === "finished") break;
      forward.push(at(st));
    }
    expect(new Set(forward.map((p) => p.text.split(" ")[0])).size).toBe(2); // both levels
    expect(forward.length).toBeGreaterThan(4);
    for (const want of forward.reverse()) expect(at(s.reverseContinue())).toEqual(want);
    const start = s.reverseContinue();
    expect(start.reason.kind).toBe("history-start");
    expect(start.time).toBe(0);
  });

  it("goes back across vCPU switches on several vCPUs", async () => {
    const smp = GUEST_PAIRS.find((p) => p.name === "smp+2")!;
    const vm = await pairOptions(smp.l1, smp.l2, { vcpus: 2 });
    const s = await DebugSession.open({ vm, timeline: { every: 3000 } });
    s.addExitBreak("HVC64");
    const forward: Position[] = [];
    for (;;) {
      const st = await s.continue();
      if (st.reason.kind === "finished") break;
      forward.push(at(st));
    }
    expect(new Set(forward.map((p) => p.text.slice(0, 6)))).toEqual(new Set(["vCPU 0", "vCPU 1"]));
    for (const want of forward.reverse()) expect(at(s.reverseContinue())).toEqual(want);
  });
});

describe("the timeline", () => {
  it("forks where the user changes the run: goto follows the changed run, running on from before the change does not", async () => {
    const vm = await pairOptions(HYP, [l2("hello")]);
    const s = await DebugSession.open({ vm, timeline: { every: 400 } });
    s.goto(900);
    const at900 = stateOf(s);
    s.goto(1000);
    const x19 = s.registers().x[19]!;
    s.setRegister("x19", 0x1234n);
    const changed1000 = stateOf(s);
    s.goto(1300);
    const changed1300 = stateOf(s);
    expect(s.kvm.console).toContain("L2 #4660");
    s.goto(900);
    expect(firstDifference(stateOf(s), at900)).toBeNull();
    s.goto(1000);
    expect(firstDifference(stateOf(s), changed1000)).toBeNull();
    s.goto(1300);
    // Replayed from the point of the change, not from the run as first recorded.
    expect(firstDifference(stateOf(s), changed1300)).toBeNull();
    // Running on from before the change is a run without it.
    s.goto(900);
    s.stepInstruction(100);
    expect(s.registers().x[19]).toBe(x19);
    s.goto(1300);
    expect(s.kvm.console).not.toContain("L2 #4660");
  });

  it("keeps named snapshots with their past, and thins automatic ones to its memory bound", async () => {
    const vm = await pairOptions(HYP, [l2("touch")]);
    const s = await DebugSession.open({ vm, timeline: { every: 100, maxBytes: 1 << 20 } });
    s.goto(2000);
    const mid = stateOf(s);
    const snap = s.snapshot("mid");
    expect(snap.at.snap.steps).toBe(2000);
    await s.continue();
    const stats = s.timeline!.stats();
    expect(stats.bytes).toBeLessThanOrEqual(1 << 20);
    expect(stats.count).toBeLessThan(s.kvm.steps / 100);
    const r = s.restore("mid");
    expect(r.reason).toEqual({ kind: "restored", name: "mid" });
    expect(firstDifference(stateOf(s), mid)).toBeNull();
    expect(() => s.restore("nope")).toThrow(/no snapshot 'nope' \(snapshots: mid\)/);
    expect(() => s.snapshot("1bad")).toThrow(/snapshot name/);
    s.goto(1000);
    const fresh = await DebugSession.open({ vm });
    fresh.goto(1000);
    expect(firstDifference(stateOf(s), stateOf(fresh))).toBeNull();
  });
});
