// SessionTarget's watchpoints (touch.S: L2 stores to fresh pages, so L1 maps each in its stage-2
// on the way): gdb's write, read and access watchpoints on L2 VAs or L1's stage-2 descriptors by
// canonical IPA. A guest's access stops before the instruction, as an Arm watchpoint does (gdb
// steps over it to show the new value); the console line says who accessed what.

import { describe, expect, it } from "vitest";
import { SessionTarget } from "../../../debug/gdb/session_target.ts";
import { DebugError } from "../../../debug/session.ts";
import { hex } from "../../../emulator/types.ts";
import { openAtL2 } from "./session_target_fixture.ts";

/** touch.S's first page, and L1's level-3 descriptor for it (nested IPA 0x40100000: index 0x100). */
const PAGE0 = 0x4010_0000n;
const PAGE0_DESC = 0x4400_2800n;

/** At touch_start: L2 runs, its first page not touched (nor mapped by L1) yet. */
async function openAtTouch() {
  return openAtL2("guests/l2/touch.S", "touch_start");
}

const run = (t: SessionTarget) => t.resume(new AbortController().signal);
const u64 = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true);

describe("SessionTarget: watchpoints", () => {
  it("a write watchpoint on an L2 VA stops before L2's store, with nvlab's account of it; stepping does the store", async () => {
    const { target, session } = await openAtTouch();
    target.insertWatchpoint("watch", PAGE0, 8);
    expect(session.watchpoints()).toMatchObject([{ space: "va", addr: PAGE0, len: 8, access: "w", level: "L2" }]);
    const stop = await run(target);
    expect(stop).toMatchObject({ kind: "signal", level: "L2", thread: 1, watch: { kind: "watch", addr: PAGE0 } });
    const loc = session.location()!;
    expect(loc.insn).toBe("str x3, [x22]");
    // The session's account of the hit (debug/watch.ts), on gdb's console.
    const id = session.watchpoints()[0]!.id;
    expect(stop.message).toMatch(
      new RegExp(`^\\[nvlab\\] watchpoint ${id} .*write of 8 bytes at L2 VA 0x40100000 .*by L2 on vCPU 0 at PC ${hex(loc.pc)} +str x3, \\[x22\\].*old 0x0 -> new 0x55555555$`),
    );
    // Before the store: gdb reads the old value, takes its watchpoints out and steps.
    expect(u64(target.readMemory(PAGE0, 8))).toBe(0n);
    target.removeWatchpoint("watch", PAGE0, 8);
    expect(session.watchpoints()).toEqual([]);
    expect(target.step()).toMatchObject({ kind: "signal", thread: 1 });
    expect(target.registers().pc).toBe(loc.pc + 4n);
    expect(u64(target.readMemory(PAGE0, 8))).toBe(0x5555_5555n);
  });

  it("a watchpoint by canonical IPA on L1's stage-2 descriptor stops at L1's store into it", async () => {
    const { target, session, l1 } = await openAtTouch();
    target.setMemorySpace("ipa");
    expect(u64(target.readMemory(PAGE0_DESC, 8))).toBe(0n);
    target.insertWatchpoint("watch", PAGE0_DESC, 8);
    const stop = await run(target);
    expect(stop).toMatchObject({ kind: "signal", level: "L1", thread: 1, watch: { kind: "watch", addr: PAGE0_DESC } });
    expect(target.registers().pc).toBe(l1.symbols.get("s2_map")! + 0x14n);
    expect(session.location()!.insn).toBe("str x19, [x0]");
    expect(stop.message).toMatch(/^\[nvlab\] watchpoint \d+ .*write of 8 bytes at canonical IPA 0x44002800 by L1 on vCPU 0 at PC 0x[0-9a-f]+ +str x19, \[x0\].*old 0x0 -> new (0x[0-9a-f]+)$/);
    const written = BigInt(/new (0x[0-9a-f]+)$/.exec(stop.message!)![1]!);
    target.removeWatchpoint("watch", PAGE0_DESC, 8);
    target.step();
    // The descriptor L1 wrote maps L2's page 0 to canonical 0x48100000.
    expect(u64(target.readMemory(PAGE0_DESC, 8))).toBe(written);
    expect(written & 0xffff_ffff_f000n).toBe(0x4810_0000n);
  });

  it("L0's walk of L1's stage-2 reaches a read watchpoint: no guest instruction to take back", async () => {
    const { target, session } = await openAtTouch();
    target.setMemorySpace("ipa");
    target.insertWatchpoint("watch", PAGE0_DESC, 8);
    await run(target);
    target.removeWatchpoint("watch", PAGE0_DESC, 8);
    target.insertWatchpoint("rwatch", PAGE0_DESC, 8);
    const stop = await run(target);
    expect(stop).toMatchObject({ kind: "signal", watch: { kind: "rwatch", addr: PAGE0_DESC }, level: "L2" });
    expect(stop.message).toMatch(/read of 8 bytes at canonical IPA 0x44002800 by L0\b/);
    // L2's store L0 was handling the fault of is still to run.
    expect(session.location()!.insn).toBe("str x3, [x22]");
    expect(u64(session.readMemory("va", PAGE0, 8, "L2"))).toBe(0n);
  });

  it("an address the session cannot watch is refused with a DebugError", async () => {
    const { target, session } = await openAtTouch();
    expect(() => target.insertWatchpoint("watch", 0x7fff_f000n, 8)).toThrow(DebugError);
    target.setMemorySpace("pa");
    expect(() => target.insertWatchpoint("awatch", 0x7fff_f000n, 8)).toThrow(DebugError);
    expect(session.watchpoints()).toEqual([]);
  });

  it("put back in while another level runs, a VA keeps the level it was set at, until gdb runs on without it", async () => {
    const { target, session, l1 } = await openAtTouch();
    target.insertWatchpoint("awatch", PAGE0, 8);
    // L2's first store faults to L1 before it is done: stop in L1's handler.
    const handler = l1.symbols.get("s2_map")!;
    target.insertBreakpoint(handler);
    expect(await run(target)).toMatchObject({ level: "L1", swbreak: true });
    // gdb takes everything out at the stop and puts it back before going on.
    target.removeWatchpoint("awatch", PAGE0, 8);
    target.insertWatchpoint("awatch", PAGE0, 8);
    expect(session.watchpoints()).toMatchObject([{ level: "L2", label: "rw L2 VA 0x40100000 (8 bytes) = canonical IPA 0x48100000" }]);
    // Deleted (not put back before running on), then set anew: L1's VA now.
    target.removeWatchpoint("awatch", PAGE0, 8);
    target.removeBreakpoint(handler);
    target.insertBreakpoint(handler + 4n);
    expect(await run(target)).toMatchObject({ level: "L1" });
    target.insertWatchpoint("awatch", PAGE0, 8);
    expect(session.watchpoints()).toMatchObject([{ level: "L1", label: "rw L1 VA 0x40100000 (8 bytes) = canonical IPA 0x40100000" }]);
  });
});
