import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { assembleFile } from "../../../asm/assembler.ts";
import { SessionTarget } from "../../../debug/gdb/session_target.ts";
import { SIGINT, SIGSEGV, SIGTRAP } from "../../../debug/gdb/target.ts";
import { DebugSession } from "../../../debug/session.ts";
import { hex } from "../../../emulator/types.ts";

const L2_IPA = 0x4800_0000n;

async function open(l1File = "guests/l1/hyp.S", l2File = "guests/l2/hello.S") {
  const l1 = await assembleFile(l1File, { base: 0x4010_0000n });
  const l2 = await assembleFile(l2File, { base: L2_IPA });
  const session = await DebugSession.open({ vm: { l1, l2: [{ image: l2, ipa: L2_IPA }] } });
  const puts = l2.symbols.get("l2_puts")! - L2_IPA + 0x4000_0000n;
  return { session, target: new SessionTarget(session), l1, l2, puts };
}

describe("SessionTarget", () => {
  it("starts stopped at L1's entry with L1's registers and the vEL2 / EL1 system registers", async () => {
    const { target, l1 } = await open();
    expect(target.haltReason()).toEqual({ kind: "signal", signal: SIGTRAP, level: "L1", thread: 1 });
    const r = target.registers();
    expect(r.level).toBe("L1");
    expect(r.pc).toBe(l1.entry);
    expect(r.cpsr & 0xfn).toBe(0x9n); // EL2h as L1 sees itself
    expect(r.sys).toHaveProperty("HCR_EL2");
    expect(r.sys).toHaveProperty("SCTLR_EL1");
    expect(target.threads()).toEqual([{ tid: 1, name: "vCPU 0, L1" }]);
    expect(target.currentThread()).toBe(1);
  });

  it("stops at a gdb breakpoint in L2 with swbreak and a console line naming the level", async () => {
    const { target, session, puts } = await open();
    target.insertBreakpoint(puts);
    const stop = await target.resume(new AbortController().signal);
    expect(stop).toMatchObject({ kind: "signal", signal: SIGTRAP, swbreak: true, level: "L2" });
    expect(stop.message).toBe(`[nvlab] breakpoint: L2 ${hex(puts, 16)}  <l2_puts>  mov x1, x0`);
    expect(target.registers().pc).toBe(puts);
    target.removeBreakpoint(puts);
    expect(session.breakpoints()).toEqual([]);
    target.removeBreakpoint(puts); // twice: harmless
  });

  it("steps silently within a level and explains a step that switches level", async () => {
    const { target, puts } = await open();
    target.insertBreakpoint(puts);
    await target.resume(new AbortController().signal);
    target.removeBreakpoint(puts);
    expect(target.step()).toEqual({ kind: "signal", signal: SIGTRAP, swbreak: false, level: "L2", thread: 1 });
    target.step(); // mov x0, #2
    const hvc = target.step();
    expect(hvc).toMatchObject({ kind: "signal", signal: SIGTRAP, level: "L1" });
    expect(hvc.message).toMatch(/\[nvlab\] L2 -> L1\n\[nvlab\] now in L1: L1 0x0000000040101400  <l1_vectors\+0x400>/);
    expect(target.threads()).toEqual([{ tid: 1, name: "vCPU 0, L1" }]);
  });

  it("reads and writes memory and registers of the running level", async () => {
    const { target, l1 } = await open();
    const word = target.readMemory(l1.entry, 4);
    expect(word).toEqual(l1.sections[0]!.bytes.slice(0, 4));
    target.writeMemory(0x4400_1000n, Uint8Array.from([1, 2, 3, 4]));
    expect(target.readMemory(0x4400_1000n, 4)).toEqual(Uint8Array.from([1, 2, 3, 4]));
    target.setRegister("x5", 0x1234n);
    expect(target.registers().x[5]).toBe(0x1234n);
    expect(() => target.readMemory(0x1_0000_0000n, 4)).toThrow();
    expect(() => target.setRegister("hcr_el2", 0n)).toThrow(/cannot write register/);
  });

  it("a powered-off machine is an exit with its code, and stays one", async () => {
    const { target } = await open();
    const stop = await target.resume(new AbortController().signal);
    expect(stop).toEqual({ kind: "exited", code: 0, message: "[nvlab] the run is over: PSCI SYSTEM_OFF, exit code 0" });
    expect(target.step()).toMatchObject({ kind: "exited", code: 0 });
    expect(await target.resume(new AbortController().signal)).toMatchObject({ kind: "exited", code: 0 });
    expect(target.haltReason()).toMatchObject({ kind: "exited", code: 0 });
  });

  it("an exit code that cannot be the status says so after the run-over line", async () => {
    const dir = mkdtempSync(join(tmpdir(), "nvlab-st-"));
    const off = join(dir, "off300.S");
    writeFileSync(off, "        mov32   x0, 0x84000008\n        mov     x1, #300\n        smc     #0\n");
    const { target } = await open(off);
    const stop = await target.resume(new AbortController().signal);
    expect(stop).toEqual({
      kind: "exited",
      code: 300,
      message:
        "[nvlab] the run is over: PSCI SYSTEM_OFF, exit code 300\n" +
        "[nvlab] exit status 123: the guest's code 300 is above 127, so it cannot be the status itself",
    });
  });

  it("a guest error is a SIGSEGV stop whose state can still be read", async () => {
    const dir = mkdtempSync(join(tmpdir(), "nvlab-st-"));
    const bad = join(dir, "bad.S");
    writeFileSync(bad, "l1_entry:\n        mov x1, #0x1000\n        ldr x0, [x1]\n        b l1_entry\n");
    const { target } = await open(bad);
    const stop = await target.resume(new AbortController().signal);
    expect(stop).toMatchObject({ kind: "signal", signal: SIGSEGV, level: "L1" });
    expect(stop.message).toMatch(/^\[nvlab\] the run is over: guest error: /);
    expect(target.registers().x[1]).toBe(0x1000n);
    expect(target.step()).toMatchObject({ kind: "signal", signal: SIGSEGV });
  });

  it("an aborted continue is a SIGINT stop", async () => {
    const { target } = await open();
    const ctl = new AbortController();
    ctl.abort();
    const stop = await target.resume(ctl.signal);
    expect(stop).toMatchObject({ kind: "signal", signal: SIGINT, level: "L1" });
    expect(stop.message).toMatch(/^\[nvlab\] interrupted: L1 0x0000000040100000  <l1_entry>/);
  });

  it("reverseStep goes back one instruction across the L2 → L1 switch and says so as a forward step does", async () => {
    const { target, session, puts, l1 } = await open();
    target.insertBreakpoint(puts);
    await target.resume(new AbortController().signal);
    const atPuts = session.kvm.steps;
    target.removeBreakpoint(puts);
    for (let i = 0; i < 3; i++) target.step();
    const vector = l1.symbols.get("l1_vectors")! + 0x400n;
    expect(target.registers()).toMatchObject({ pc: vector, level: "L1" });
    const back = target.reverseStep();
    expect(back).toMatchObject({ kind: "signal", signal: SIGTRAP, level: "L2", swbreak: false });
    expect(back.message).toBe(`[nvlab] now in L2, at step ${atPuts + 2}: L2 ${hex(puts + 8n, 16)}  <l2_puts+0x8>  hvc #0`);
    expect(target.registers()).toMatchObject({ pc: puts + 8n, level: "L2" });
    // Within a level, as quiet as a forward step.
    expect(target.reverseStep()).toEqual({ kind: "signal", signal: SIGTRAP, swbreak: false, level: "L2", thread: 1 });
    expect(target.registers().pc).toBe(puts + 4n);
    expect(target.threads()).toEqual([{ tid: 1, name: "vCPU 0, L2, VMID 1" }]);
  });

  it("reverseStep at step 0 is the start of history", async () => {
    const { target, l1 } = await open();
    const stop = target.reverseStep();
    expect(stop).toMatchObject({ kind: "signal", signal: SIGTRAP, level: "L1", historyStart: true });
    expect(stop.message).toMatch(/^\[nvlab\] at the start of the run, nothing before it: L1 0x0000000040100000  <l1_entry>/);
    expect(target.registers().pc).toBe(l1.entry);
  });

  it("reverseContinue stops at the latest gdb breakpoint before now (swbreak), else at the start (historyStart)", async () => {
    const { target, session, puts } = await open();
    target.insertBreakpoint(puts);
    await target.resume(new AbortController().signal);
    const atPuts = session.kvm.steps;
    for (let i = 0; i < 3; i++) target.step();
    const stop = target.reverseContinue();
    expect(stop).toMatchObject({ kind: "signal", signal: SIGTRAP, level: "L2", swbreak: true });
    expect(stop).not.toHaveProperty("historyStart");
    expect(stop.message).toBe(`[nvlab] breakpoint: L2 ${hex(puts, 16)}  <l2_puts>  mov x1, x0`);
    expect(session.kvm.steps).toBe(atPuts);
    const start = target.reverseContinue();
    expect(start).toMatchObject({ kind: "signal", level: "L1", historyStart: true, swbreak: false });
    expect(start.message).toMatch(/^\[nvlab\] no earlier break: at the start of the run: L1 0x0000000040100000  <l1_entry>/);
    expect(session.kvm.steps).toBe(0);
  });

  it("restart after the machine powered off: the run is alive again and reaches the same breakpoint", async () => {
    const { target, session, puts, l1 } = await open();
    expect(await target.resume(new AbortController().signal)).toMatchObject({ kind: "exited", code: 0 });
    const stop = target.restart();
    expect(stop).toMatchObject({ kind: "signal", signal: SIGTRAP, level: "L1" });
    expect(stop.message).toMatch(/^\[nvlab\] at the start of the run \(step 0\): L1 0x0000000040100000  <l1_entry>/);
    expect(target.haltReason()).toEqual({ kind: "signal", signal: SIGTRAP, level: "L1", thread: 1 });
    expect(target.registers().pc).toBe(l1.entry);
    target.insertBreakpoint(puts);
    expect(await target.resume(new AbortController().signal)).toMatchObject({ kind: "signal", swbreak: true, level: "L2" });
    expect(session.finished).toBeNull();
  });

  it("monitor reset / goto / restore tell where they landed as a stop does, and how to have gdb read the registers again", async () => {
    const { target, session, puts } = await open();
    target.insertBreakpoint(puts);
    await target.resume(new AbortController().signal);
    expect(target.monitor("snapshot at_puts")).toBe(`snapshot at_puts at step ${session.kvm.steps}\n`);
    const goto = target.monitor("goto 5");
    expect(goto).toMatch(/^\[nvlab\] now in L1, at step 5: L1 0x[0-9a-f]{16}  <l1_entry\+0x14>  \S/);
    expect(goto).toContain("'maintenance flush register-cache'");
    expect(target.registers().pc).toBe(session.location()!.pc);
    expect(target.monitor("reset")).toMatch(/^\[nvlab\] at the start of the run \(step 0\): L1 0x0000000040100000  <l1_entry>/);
    expect(session.kvm.steps).toBe(0);
    expect(target.monitor("restore at_puts")).toMatch(/^\[nvlab\] restored snapshot at_puts \(step \d+\): L2 0x0000000040000038  <l2_puts>  mov x1, x0\n/);
    expect(target.registers()).toMatchObject({ pc: puts, level: "L2" });
    expect(target.monitor("goto")).toMatch(/^error: usage: monitor goto STEP/);
  });

  it("monitor commands run on the session; bad ones come back as an error line", async () => {
    const { target } = await open();
    expect(target.monitor("level")).toMatch(/^L1: L1 0x0000000040100000  <l1_entry>  \S+/);
    expect(target.monitor("nonsense")).toBe("error: unknown monitor command 'nonsense' (try: monitor help)\n");
    expect(target.monitor("pt zz")).toMatch(/^error: address: 'zz' is not a number/);
  });
});
