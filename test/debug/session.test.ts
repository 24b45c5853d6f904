// The debugging session on real guests: stepping across exits and levels, breakpoints on
// addresses, symbols, exits and L0 events, continue with interruption and budgets, registers and
// memory in every address space, and the guarantee that debugging does not change the run.

import { describe, expect, it } from "vitest";
import { DebugError, DebugSession, describeStop, type Stop } from "../../debug/session.ts";
import { chaosMonitor } from "../../lab/chaos.ts";
import { runVm } from "../../lab/run.ts";
import { HYP, l2, MULTI, openPair, pairOptions } from "./session_fixture.ts";

const HELLO_CONSOLE = "hello from L2";
const MULTI_L2 = ["hello", "touch", "checksum", "hello", "touch", "checksum"].map(l2);

/**
 * Stop at L2's entry once L1 has mapped it: the first arrival faults into L1 (L1 maps L2 lazily),
 * which then returns to the same instruction.
 */
async function reachMappedL2Entry(s: DebugSession): Promise<void> {
  const bp = s.addAddressBreak("hello.S:l2_entry");
  const first = s.resume();
  expect(first.reason).toEqual({ kind: "breakpoint", id: bp.id });
  // Not mapped by L1 yet: the step goes to L1's vector for its stage-2 fault.
  expect(() => s.readMemory("nipa", 0x4000_0000n, 4)).toThrow(/not mapped/);
  const second = s.resume();
  expect(second.reason).toEqual({ kind: "breakpoint", id: bp.id });
  expect(second.location!.pc).toBe(0x4000_0000n);
  s.deleteBreak(bp.id);
}

describe("DebugSession: stepping", () => {
  it("starts at L1's entry, stopped, and steps one instruction at a time", async () => {
    const s = await openPair(HYP, [l2("hello")]);
    const loc = s.location()!;
    expect(loc.level).toBe("L1");
    expect(loc.pc).toBe(0x4010_0000n);
    expect(loc.symbol).toBe("l1_entry");
    expect(loc.text).toBe("L1 0x0000000040100000  <l1_entry>  msr daifset, #0xf");
    const st = s.stepInstruction();
    expect(st.reason).toEqual({ kind: "step" });
    expect(st.steps).toBe(1);
    expect(st.location!.pc).toBe(0x4010_0004n);
    expect(s.stepInstruction(3).location!.pc).toBe(0x4010_0010n);
  });

  it("steps over an instruction L0 retries (a shadow fault) to the next one", async () => {
    const s = await openPair(HYP, [l2("hello")]);
    await reachMappedL2Entry(s);
    // The first L2 fetch takes a shadow fault: the step still ends one instruction later.
    const st = s.stepInstruction();
    expect(st.location!.level).toBe("L2");
    expect(st.location!.pc).toBe(0x4000_0004n);
    expect(st.notes.some((n) => n.includes("shadow-fault"))).toBe(true);
  });

  it("follows an HVC from L2 into L1's vector and says so", async () => {
    const s = await openPair(HYP, [l2("hello")]);
    s.addAddressBreak("l2_puts");
    s.resume();
    let st: Stop = s.stepInstruction();
    for (let i = 0; i < 50 && st.location!.level === "L2"; i++) st = s.stepInstruction();
    expect(st.location!.level).toBe("L1");
    expect(st.location!.symbol).toBe("l1_vectors+0x400");
    expect(st.notes).toContain("L2 -> L1");
  });
});

describe("DebugSession: breakpoints", () => {
  it("an L2 symbol breaks only in its own image, though every L2 runs at the same address", async () => {
    const s = await openPair(MULTI, MULTI_L2);
    const bp = s.addAddressBreak("touch.S@0x49000000:l2_entry");
    expect(bp.va).toBe(0x4000_0000n);
    expect(bp.canonical).toBe(0x4900_0000n);
    const st = s.resume();
    expect(st.reason).toEqual({ kind: "breakpoint", id: bp.id });
    expect(st.location!.symbol).toBe("touch.S@0x49000000:l2_entry");
    // hello ran to the end before touch started.
    expect(s.kvm.console).toContain(HELLO_CONSOLE);
    expect(s.breakpoints()[0]!.hits).toBe(1);
  });

  it("a bare address breaks at any level and any image", async () => {
    const s = await openPair(HYP, [l2("hello"), l2("touch")]);
    s.addAddressBreak("0x40000000");
    const st = s.resume();
    expect(st.location!.symbol).toBe("hello.S:l2_entry");
    expect(s.kvm.console).not.toContain(HELLO_CONSOLE);
  });

  it("breaks at an L1 vector entered by injection (not only by a branch)", async () => {
    const s = await openPair(HYP, [l2("hello")]);
    const bp = s.addAddressBreak({ va: 0x4010_1400n, level: "L1" });
    const st = s.resume();
    expect(st.reason).toEqual({ kind: "breakpoint", id: bp.id });
    expect(st.location!.level).toBe("L1");
    expect(st.location!.symbol).toBe("l1_vectors+0x400");
  });

  it("an exit breakpoint stops after L0 handled the exit, at the guest's next instruction", async () => {
    const s = await openPair(HYP, [l2("hello")]);
    const bp = s.addExitBreak("hvc64");
    const st = s.resume();
    expect(st.reason).toMatchObject({ kind: "exit-break", id: bp.id, ec: 0x16 });
    expect(st.location!.level).toBe("L1");
    expect(describeStop(s, st)).toMatch(/EC 0x16 HVC64/);
    expect(s.vcpu.cpu.el).toBeLessThan(2);
  });

  it("an event breakpoint stops after the L0 action that logged it", async () => {
    const s = await openPair(HYP, [l2("hello")]);
    const bp = s.addEventBreak("shadow fault");
    const st = s.resume();
    expect(st.reason.kind).toBe("event-break");
    if (st.reason.kind !== "event-break") return;
    expect(st.reason.id).toBe(bp.id);
    expect(st.reason.event.kind).toBe("shadow-fault");
    expect(st.reason.event.detail).toMatch(/mmu0 nested 0x40000000 -> canonical 0x48000000/);
    expect(st.location!.level).toBe("L2");
  });

  it("an event breakpoint with fields stops only at an event that has them", async () => {
    const s = await openPair(HYP, [l2("touch")]);
    const bp = s.addEventBreak("shadow-fault nestedIpa=0x40102000 mmu=0");
    expect(bp.label).toBe("event shadow-fault nestedIpa=0x40102000 mmu=0");
    const st = s.resume();
    expect(st.reason.kind).toBe("event-break");
    if (st.reason.kind !== "event-break") return;
    // Three shadow faults came first (0x40000000, 0x40100000, 0x40101000): the filter skipped them.
    expect(st.reason.event.data).toMatchObject({ kind: "shadow-fault", mmu: 0, nestedIpa: 0x40102000n });
    expect(st.reason.event.detail).toMatch(/^mmu0 nested 0x40102000 -> canonical 0x48102000 /);
    expect(s.kvm.events.recent().filter((e) => e.kind === "shadow-fault")).toHaveLength(4);
    expect(() => s.addEventBreak("tlbi opp=IPAS2E1IS")).toThrow(/no field "opp" in tlbi events/);
    expect(() => s.addEventBreak("shadow-fault nestedIpa=near")).toThrow(/nestedIpa=near: expected an integer/);
    // Values as scenarios take them: TLBI names and fixed values in any case; unknown values, words and 2^64 refused.
    expect(s.addEventBreak("tlbi op=ipas2e1is").fields).toEqual({ op: "IPAS2E1IS" });
    expect(s.addEventBreak("inject into=L1-Stage2").fields).toEqual({ into: "l1-stage2" });
    expect(() => s.addEventBreak("tlbi op=ipas2e1iz")).toThrow(/op=ipas2e1iz: not a TLBI operation: "ipas2e1iz"/);
    expect(() => s.addEventBreak("unmap scope=shadow")).toThrow(/scope=shadow: "shadow" is not a value of unmap\.scope \(values: canonical, nested\)/);
    expect(() => s.addEventBreak("exit ec=FOO")).toThrow(/ec=FOO: expected an exception class: a number or a name \(.*HVC64/);
    expect(() => s.addEventBreak("tlbi operand=0x10000000000000000")).toThrow(/operand=0x10000000000000000: 0x10000000000000000 does not fit in 64 bits/);
  });

  it("a TLBI operation filter must name a TLBI operation, in any case (one that no event carries never fires)", async () => {
    const s = await openPair(HYP, [l2("hello")]);
    expect(() => s.addEventBreak("tlbi op=frob")).toThrow('break event tlbi: op=frob: not a TLBI operation: "frob"');
    expect(() => s.addEventBreak("tlbi op=")).toThrow(/op=: not a TLBI operation/);
    const bp = s.addEventBreak("tlbi op=ipas2e1is");
    expect(bp.fields).toEqual({ op: "IPAS2E1IS" });
  });

  it("deleting breakpoints lets the run go to its end", async () => {
    const s = await openPair(HYP, [l2("hello")]);
    const a = s.addExitBreak(0x16);
    s.addEventBreak("unmap");
    expect(s.breakpoints().map((b) => b.id)).toEqual([a.id, a.id + 1]);
    s.deleteBreak(a.id);
    expect(() => s.deleteBreak(99)).toThrow(/no breakpoint 99/);
    s.deleteBreak();
    expect(s.breakpoints()).toEqual([]);
    const st = s.resume();
    expect(st.reason).toMatchObject({ kind: "finished", outcome: { kind: "system-off", code: 0 } });
  });

  it("rejects unknown symbols, exception classes and event kinds with a clear message", async () => {
    const s = await openPair(HYP, [l2("hello")]);
    expect(() => s.addAddressBreak("l2_putz")).toThrow(/no symbol 'l2_putz' \(did you mean .*l2_puts/);
    expect(() => s.addExitBreak("HVC")).toThrow(/no exception class 'HVC'/);
    expect(() => s.addExitBreak(0x40)).toThrow(/out of range/);
    expect(() => s.addEventBreak("bogus")).toThrow(/no event kind 'bogus'/);
    expect(s.breakpoints()).toEqual([]);
  });
});

describe("DebugSession: continue", () => {
  it("a debugged run ends exactly as the plain run does, whatever the stops on the way", async () => {
    const opts = await pairOptions(HYP, [l2("touch")], { check: true, unmap: "revmap" });
    const withChaos = { ...opts, monitors: (kvm: Parameters<typeof chaosMonitor>[0]) => [chaosMonitor(kvm, { seed: 7, rate: 5 })] };
    const plain = runVm(withChaos);
    const s = await DebugSession.open({ vm: withChaos });
    s.addEventBreak("chaos");
    s.addExitBreak("DABT_LOW");
    s.stepInstruction(100);
    let st: Stop;
    let stops = 0;
    do {
      st = s.resume();
      if (stops++ % 3 === 0 && !s.finished) s.stepInstruction(2);
    } while (st.reason.kind !== "finished");
    expect(stops).toBeGreaterThan(10);
    expect(st.reason.outcome).toEqual(plain.outcome);
    expect(s.kvm.console).toBe(plain.console);
    expect(s.kvm.steps).toBe(plain.steps);
    expect(s.kvm.metrics.snapshot()).toEqual(plain.metrics);
  });

  it("stops on the instruction limit and can go on", async () => {
    const s = await openPair(HYP, [l2("hello")]);
    const st = await s.continue({ maxSteps: 1000, chunk: 300 });
    expect(st.reason.kind).toBe("budget");
    expect(st.steps).toBe(1000);
    const end = await s.continue();
    expect(end.reason).toMatchObject({ kind: "finished", outcome: { kind: "system-off", code: 0 } });
    expect(s.finished).toEqual({ kind: "system-off", code: 0 });
    expect(s.kvm.console).toContain(HELLO_CONSOLE);
  });

  it("an abort signal interrupts a guest that runs away, and the session goes on", async () => {
    const s = await openPair(HYP, [l2("hello")]);
    // Spin: L1 branches to itself forever.
    s.writeMemory("va", 0x4010_0000n, new Uint8Array([0x00, 0x00, 0x00, 0x14]));
    const ac = new AbortController();
    let chunks = 0;
    const timer = setInterval(() => {
      if (++chunks === 3) ac.abort();
    }, 0);
    const st = await s.continue({ signal: ac.signal, chunk: 10_000, maxSteps: 1e12 });
    clearInterval(timer);
    expect(st.reason.kind).toBe("interrupt");
    expect(st.location!.text).toMatch(/^L1 0x0000000040100000  <l1_entry>  b #0x40100000$/);
    expect(s.stepInstruction().location!.pc).toBe(0x4010_0000n);
  });

  it("after the end, running is refused and state stays readable", async () => {
    const s = await openPair(HYP, [l2("hello")]);
    await s.continue();
    expect(() => s.stepInstruction()).toThrow(DebugError);
    expect(() => s.resume()).toThrow(/the run is over \(PSCI SYSTEM_OFF, exit code 0\)/);
    await expect(s.continue()).rejects.toThrow(DebugError);
    expect(s.registers().x[1]).toBe(0n);
    expect(s.location()!.level).toBe("L1");
  });
});

describe("DebugSession: L0 failures", () => {
  it("an L0 that runs out of host pages ends the run with a report, and the session stays usable", async () => {
    const s = await openPair(HYP, [l2("touch1000")], { poolPages: 200 });
    const st = await s.continue();
    expect(st.reason.kind).toBe("finished");
    expect(s.finished).toMatchObject({ kind: "guest-error", message: "host error: host page pool exhausted: all 200 pages (800 KiB) in use" });
    expect(describeStop(s, st)).toMatch(/^the run is over: guest error: host error: host page pool exhausted/);
    expect(() => s.stepInstruction()).toThrow(/the run is over/);
    expect(s.registers().level).toBe("L2");
    expect(s.location()!.level).toBe("L2");
  });
});

describe("DebugSession: registers and memory", () => {
  it("reports L1's PSTATE in its virtual EL2 view and the EL1/vEL2 files", async () => {
    const s = await openPair(HYP, [l2("hello")]);
    const r = s.registers();
    expect(r.level).toBe("L1");
    expect(r.cpsr & 0x1fn).toBe(0x9n); // EL2h
    expect(r.pc).toBe(0x4010_0000n);
    expect(Object.keys(r.vel2)).toContain("VTTBR_EL2");
    expect(Object.keys(r.el1)).toContain("SCTLR_EL1");
    s.addAddressBreak("hello.S:l2_entry");
    s.resume();
    const r2 = s.registers();
    expect(r2.level).toBe("L2");
    expect(r2.cpsr & 0x1fn).toBe(0x5n); // EL1h
    expect((r2.vel2.HCR_EL2 ?? 0n) & 1n).toBe(1n); // L1 turned its stage-2 on
  });

  it("register writes take effect, also when stopped right after an exit", async () => {
    const s = await openPair(HYP, [l2("hello")]);
    s.addExitBreak("HVC64");
    s.resume();
    s.setRegister("x9", 0x1234n);
    s.setRegister("cpsr", s.registers().cpsr | (1n << 30n)); // Z
    s.stepInstruction(); // the vector's branch leaves x9 and the flags alone
    expect(s.registers().x[9]).toBe(0x1234n);
    expect((s.registers().cpsr >> 30n) & 1n).toBe(1n);
    const pc = s.registers().pc;
    s.setRegister("pc", pc + 4n);
    expect(s.location()!.pc).toBe(pc + 4n);
    expect(() => s.setRegister("x31", 0n)).toThrow(/cannot write register 'x31'/);
    expect(() => s.setRegister("cpsr", 0n)).toThrow(/mode/);
  });

  it("reads the same bytes through VA, nested IPA, canonical IPA and host PA", async () => {
    const s = await openPair(HYP, [l2("hello")]);
    await reachMappedL2Entry(s);
    s.stepInstruction(); // L0 maps the page in the canonical and shadow stage-2
    const byVa = s.readMemory("va", 0x4000_0000n, 16);
    expect(s.readMemory("nipa", 0x4000_0000n, 16)).toEqual(byVa);
    expect(s.readMemory("ipa", 0x4800_0000n, 16)).toEqual(byVa);
    const pa = s.translate(0x4000_0000n).hostPa!;
    expect(s.readMemory("pa", pa, 16)).toEqual(byVa);
    // A read that crosses a page boundary.
    expect(s.readMemory("ipa", 0x4800_0ffcn, 8)).toHaveLength(8);
  });

  it("writes memory (and the code that runs from it)", async () => {
    const s = await openPair(HYP, [l2("hello")]);
    s.writeMemory("ipa", 0x4800_1000n, new Uint8Array([1, 2, 3, 4]));
    expect(s.readMemory("ipa", 0x4800_1000n, 4)).toEqual(new Uint8Array([1, 2, 3, 4]));
    // mov x1, #7 at L1's entry.
    s.writeMemory("va", 0x4010_0000n, new Uint8Array([0xe1, 0x00, 0x80, 0xd2]));
    s.stepInstruction();
    expect(s.registers().x[1]).toBe(7n);
  });

  it("says which stage an unmapped address stopped at", async () => {
    const s = await openPair(HYP, [l2("hello")]);
    expect(() => s.readMemory("ipa", 0x100n, 4)).toThrow(/^canonical IPA 0x100 is not L1 RAM$/);
    expect(() => s.readMemory("ipa", 0x0900_0000n, 4)).toThrow(/UART/);
    expect(() => s.readMemory("pa", 0x5n, 4)).toThrow(/host PA 0x5 is not host memory/);
    s.addAddressBreak("hello.S:l2_entry");
    s.resume();
    expect(() => s.readMemory("nipa", 0x5000_0000n, 4)).toThrow(/nested IPA 0x50000000 is not mapped: L1 stage-2 .* level \d: invalid descriptor/);
    expect(() => s.readMemory("va", 0x5000_0000n, 4)).toThrow(/L2 VA 0x50000000 is not mapped/);
    expect(() => s.readMemory("ipa", 0x4800_0000n, -1)).toThrow(/out of range/);
  });
});

describe("DebugSession: more than one L2", () => {
  it("symbolizes the L2 that is running, at the same VA", async () => {
    const s = await openPair(MULTI, MULTI_L2);
    s.addAddressBreak("0x40000000");
    const seen: string[] = [];
    // Each L2's first arrival faults into L1, which maps the page and returns to it: two stops.
    for (let i = 0; i < 6; i++) seen.push(s.resume().location!.symbol!);
    expect(seen).toEqual([
      "hello.S@0x48000000:l2_entry", "hello.S@0x48000000:l2_entry",
      "touch.S@0x49000000:l2_entry", "touch.S@0x49000000:l2_entry",
      "checksum.S@0x4a000000:l2_entry", "checksum.S@0x4a000000:l2_entry",
    ]);
  });
});
