import { describe, expect, it } from "vitest";
import { assembleFile } from "../../../asm/assembler.ts";
import { type MonitorContext, REFRESH_HINT, monitorCommandNames, runMonitorCommand } from "../../../debug/gdb/monitor.ts";
import { type AddressSpace, DebugSession } from "../../../debug/session.ts";

const L2_IPA = 0x4800_0000n;

async function open() {
  const l1 = await assembleFile("guests/l1/hyp.S", { base: 0x4010_0000n });
  const l2 = await assembleFile("guests/l2/hello.S", { base: L2_IPA });
  return DebugSession.open({ vm: { l1, l2: [{ image: l2, ipa: L2_IPA }] } });
}

describe("gdb monitor commands", () => {
  it("help lists every command; an empty line is help too", async () => {
    const s = await open();
    const help = runMonitorCommand(s, "help");
    for (const name of monitorCommandNames()) expect(help).toContain(`monitor ${name}`);
    expect(runMonitorCommand(s, "  ")).toBe(help);
  });

  it("help says how to have gdb read the registers again after a move in time", async () => {
    const help = runMonitorCommand(await open(), "help");
    for (const c of ["reset", "goto STEP", "snapshot [NAME]", "restore NAME", "snapshots", "why ADDR"]) expect(help).toContain(`monitor ${c}`);
    expect(help).toContain("maintenance flush register-cache");
    expect(help).toContain("reverse-stepi, reverse-continue and reverse-finish");
  });

  it("help lists the memory-space commands", async () => {
    const help = runMonitorCommand(await open(), "help");
    expect(help).toContain("monitor phys on|off");
    expect(help).toContain("Qqemu.PhyMemMode:1");
    expect(help).toContain("monitor space [va|nipa|ipa|pa]");
  });

  it("phys on|off and space set and show the space of gdb's memory accesses", async () => {
    const s = await open();
    let space: AddressSpace = "va";
    const ctx: MonitorContext = { describe: () => "", space: { get: () => space, set: (x) => (space = x) } };
    expect(runMonitorCommand(s, "space", ctx)).toBe("gdb's memory accesses are in: va (L1 VA, the running level's)\n");
    expect(runMonitorCommand(s, "phys on", ctx)).toBe("gdb's memory accesses are now in: pa (host PA)\n");
    expect(space).toBe("pa");
    expect(runMonitorCommand(s, "space", ctx)).toBe("gdb's memory accesses are in: pa (host PA)\n");
    expect(runMonitorCommand(s, "PHYS OFF", ctx)).toBe("gdb's memory accesses are now in: va (L1 VA, the running level's)\n");
    expect(space).toBe("va");
    expect(runMonitorCommand(s, "space ipa", ctx)).toBe("gdb's memory accesses are now in: ipa (canonical IPA)\n");
    expect(runMonitorCommand(s, "space NIPA", ctx)).toBe("gdb's memory accesses are now in: nipa (nested IPA)\n");
    expect(space).toBe("nipa");
    expect(() => runMonitorCommand(s, "phys", ctx)).toThrow(/usage: monitor phys on\|off/);
    for (const bad of ["phys maybe", "phys constructor", "phys on off"]) expect(() => runMonitorCommand(s, bad, ctx)).toThrow(/usage: monitor phys on\|off/);
    expect(() => runMonitorCommand(s, "space hpa", ctx)).toThrow(/'hpa' is not an address space \(va, nipa, ipa, pa\)/);
    expect(() => runMonitorCommand(s, "space va pa", ctx)).toThrow(/usage: monitor space/);
    expect(space).toBe("nipa");
  });

  it("phys and space need a gdb connection to have a space", async () => {
    const s = await open();
    expect(() => runMonitorCommand(s, "phys on")).toThrow(/only gdb's memory accesses have an address space/);
    expect(() => runMonitorCommand(s, "space")).toThrow(/only gdb's memory accesses have an address space/);
  });

  it("goto, reset, snapshot, restore move the VM in time and say where it landed", async () => {
    const s = await open();
    s.addAddressBreak("l2_puts");
    const at = (await s.continue()).time;
    expect(runMonitorCommand(s, "snapshots")).toBe("no saved snapshots (monitor snapshot [NAME] saves one)\n");
    expect(runMonitorCommand(s, "snapshot")).toBe(`snapshot s1 at step ${at}\n`);
    expect(runMonitorCommand(s, "snapshot mine")).toBe(`snapshot mine at step ${at}\n`);
    expect(runMonitorCommand(s, "snapshots")).toBe(`s1  step ${at}\nmine  step ${at}\n`);
    const goto = runMonitorCommand(s, "goto 5");
    expect(goto).toMatch(/^at step 5: L1 0x0000000040100014  <l1_entry\+0x14>  \S.*\n/);
    expect(goto).toContain(REFRESH_HINT);
    expect(s.kvm.steps).toBe(5);
    expect(runMonitorCommand(s, "reset")).toMatch(/^at step 0: L1 0x0000000040100000  <l1_entry>/);
    expect(s.kvm.steps).toBe(0);
    expect(runMonitorCommand(s, "restore mine")).toMatch(/^restored snapshot mine \(step \d+\): L2 0x0000000040000038  <l2_puts>/);
    expect(s.kvm.steps).toBe(at);
    // The context's description is what is shown (the gdb target's console lines).
    expect(runMonitorCommand(s, "goto 7", { describe: (st) => `landed at ${st.time}` })).toBe(`landed at 7\n${REFRESH_HINT}\n`);
    expect(() => runMonitorCommand(s, "goto")).toThrow(/usage: monitor goto STEP/);
    expect(() => runMonitorCommand(s, "goto -1")).toThrow(/usage: monitor goto STEP/);
    expect(() => runMonitorCommand(s, "reset now")).toThrow(/usage: monitor reset \(no arguments\)/);
    expect(() => runMonitorCommand(s, "restore")).toThrow(/usage: monitor restore NAME/);
    expect(() => runMonitorCommand(s, "restore nope")).toThrow(/no snapshot 'nope'/);
    expect(() => runMonitorCommand(s, "snapshot 1bad")).toThrow(/snapshot name '1bad'/);
  });

  it("why answers from L0's history, with the steps monitor goto takes", async () => {
    const s = await open();
    s.addAddressBreak("l2_puts");
    await s.continue();
    const why = runMonitorCommand(s, "why 0x40000000 nipa");
    expect(why).toMatch(/^why 0x40000000 \(nested IPA\):\n/);
    expect(why).toMatch(/\n +\d+ +shadow-fault +mmu0 nested 0x40000000 -> canonical 0x48000000/);
    const step = Number(/\n +(\d+) +shadow-fault/.exec(why)![1]);
    runMonitorCommand(s, `goto ${step - 1}`);
    // Before the shadow fault was handled, its history did not have it yet.
    expect(runMonitorCommand(s, "why 0x40000000 nipa")).not.toMatch(/shadow-fault +mmu0/);
    expect(() => runMonitorCommand(s, "why")).toThrow(/usage: why ADDR/);
    expect(() => runMonitorCommand(s, "why 0x1000 sideways")).toThrow(/'sideways' is not a space/);
  });

  it("level names the running level and the location", async () => {
    const s = await open();
    expect(runMonitorCommand(s, "level")).toMatch(/^L1: L1 0x0000000040100000  <l1_entry>  /);
    s.addAddressBreak("l2_puts");
    await s.continue();
    expect(runMonitorCommand(s, "LEVEL")).toMatch(/^L2: L2 0x0000000040000038  <l2_puts>  mov x1, x0/);
  });

  it("pt translates a VA of the current level or the named one", async () => {
    const s = await open();
    s.addAddressBreak("l2_puts");
    await s.continue();
    const pt = runMonitorCommand(s, "pt 0x40000038");
    expect(pt).toMatch(/^L2 VA 0x40000038/);
    expect(pt).toMatch(/→ canonical IPA 0x48000038/);
    expect(runMonitorCommand(s, "pt 0x40100000 L1")).toMatch(/^L1 VA 0x40100000/);
    expect(() => runMonitorCommand(s, "pt")).toThrow(/usage: monitor pt ADDR/);
    expect(() => runMonitorCommand(s, "pt 0x1000 L3")).toThrow(/'L3' is not a level/);
    expect(() => runMonitorCommand(s, "pt nowhere")).toThrow(/not a number/);
  });

  it("mmus, revmap, accel and metrics show L0's side", async () => {
    const s = await open();
    s.addAddressBreak("l2_puts");
    await s.continue();
    const mmus = runMonitorCommand(s, "mmus");
    expect(mmus).toMatch(/^mmu  valid  vmid\(L1\)/);
    expect(mmus).toMatch(/\nmmu0 +yes .*in use/);
    expect(mmus.endsWith("\n")).toBe(true);
    expect(runMonitorCommand(s, "revmap 0")).toMatch(/^mmu0 revmap/);
    expect(runMonitorCommand(s, "accel")).toMatch(/^accelerator: /);
    expect(runMonitorCommand(s, "metrics")).toMatch(/shadowFaults +[1-9]/);
    expect(() => runMonitorCommand(s, "revmap")).toThrow(/usage: monitor revmap MMU/);
    expect(() => runMonitorCommand(s, "revmap 99")).toThrow(/no shadow MMU '99'/);
    expect(() => runMonitorCommand(s, "mmus 1")).toThrow(/usage: monitor mmus \(no arguments\)/);
  });

  it("break exit / break event add L0-side breakpoints; breakpoints lists; delete removes", async () => {
    const s = await open();
    expect(runMonitorCommand(s, "break exit HVC64")).toMatch(/^nvlab breakpoint 1: exit HVC64 \(EC 0x16\)/);
    expect(runMonitorCommand(s, "break event shadow-fault")).toMatch(/^nvlab breakpoint 2: event shadow-fault/);
    const stop = await s.continue();
    expect(["exit-break", "event-break"]).toContain(stop.reason.kind);
    expect(runMonitorCommand(s, "breakpoints")).toMatch(/ {2}1 {2}exit HVC64 \(EC 0x16\) {2}hits \d+\n {2}2 {2}event shadow-fault {2}hits \d+\n/);
    expect(runMonitorCommand(s, "delete 1")).toBe("deleted 1 breakpoint\n");
    expect(runMonitorCommand(s, "delete")).toBe("deleted 1 breakpoint\n");
    expect(runMonitorCommand(s, "breakpoints")).toBe("no breakpoints\n");
    expect(runMonitorCommand(s, "break event tlbi op=IPAS2E1IS")).toMatch(/^nvlab breakpoint \d+: event tlbi op=IPAS2E1IS/);
    expect(runMonitorCommand(s, "delete")).toBe("deleted 1 breakpoint\n");
    expect(() => runMonitorCommand(s, "break exit NOPE")).toThrow(/no exception class 'NOPE'/);
    expect(() => runMonitorCommand(s, "break event nope")).toThrow(/no event kind 'nope'/);
    expect(() => runMonitorCommand(s, "break sideways 1")).toThrow(/usage: monitor break/);
    expect(() => runMonitorCommand(s, "delete 99")).toThrow(/no breakpoint 99/);
    expect(() => runMonitorCommand(s, "frob")).toThrow(/unknown monitor command 'frob'/);
    expect(() => runMonitorCommand(s, "constructor")).toThrow(/unknown monitor command 'constructor'/);
  });
});
