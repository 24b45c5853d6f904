// gdb-multiarch on four vCPUs (smp.S: vCPU n runs L2 #n with VMID n + 1): `info threads` lists
// every vCPU with its level and L2's VMID, `thread N` + `stepi` moves that vCPU only, a stop names
// the vCPU that reached it; and gdb's `x` at host physical addresses (monitor phys, QEMU's
// PhyMemMode packet) or canonical IPAs (monitor space ipa) reads the shadow and L1's stage-2 tables.

import { afterEach, describe, expect, it } from "vitest";
import { hex } from "../../../emulator/types.ts";
import { DebugSession } from "../../../debug/session.ts";
import { GUEST_PAIRS } from "../../qemu/pairs.ts";
import { pairOptions } from "../session_fixture.ts";
import { cleanup, expectInOrder, gdb, gdbTitle, hasGdb, serveSession, withoutMonitorLines } from "./gdb_harness.ts";

const SMP4 = GUEST_PAIRS.find((p) => p.name === "smp+4")!;
const L2_ENTRY = 0x4000_0000n;

afterEach(cleanup);

async function open(): Promise<DebugSession> {
  return DebugSession.open({ vm: await pairOptions(SMP4.l1, SMP4.l2, { vcpus: 4 }) });
}

/** gdb's `x/2gx` line for the two words at `addr`. */
function words(addr: bigint, bytes: Uint8Array): string {
  const dv = new DataView(bytes.buffer, bytes.byteOffset);
  return `${hex(addr)}:\t${hex(dv.getBigUint64(0, true), 16)}\t${hex(dv.getBigUint64(8, true), 16)}`;
}

/** `pc T 0x…` lines printed for threads 1-4, in order, as thread → pc. */
function printedPcs(out: string): Map<number, bigint>[] {
  const rounds: Map<number, bigint>[] = [];
  for (const m of out.matchAll(/^pc (\d) (0x[0-9a-f]+)$/gm)) {
    const t = Number(m[1]);
    if (t === 1) rounds.push(new Map());
    rounds.at(-1)!.set(t, BigInt(m[2]!));
  }
  return rounds;
}

const printPcs = [1, 2, 3, 4].flatMap((t) => [`thread ${t}`, 'printf "pc %d %#lx\\n", $_thread, $pc']);

describe.skipIf(!hasGdb)(gdbTitle("gdb-multiarch on four vCPUs"), () => {
  it("info threads lists every vCPU with its level and VMID; thread 3 + stepi moves vCPU 2 only", async () => {
    const s = await serveSession(await open());
    const { code, out } = await gdb(s, [
      "info threads",
      // Each vCPU's L2 starts at L2 VA 0x40000000: stop when vCPU 3's does.
      `break *${hex(L2_ENTRY)} thread 4`,
      "continue",
      "info threads",
      ...printPcs,
      // With no breakpoint left where thread 4 stopped, gdb need not step it over one first.
      "delete",
      "thread 3",
      "monitor snapshot before",
      "stepi",
      "monitor snapshot after",
      ...printPcs,
      "thread 3",
      "detach",
    ]);
    expect(code).toBe(0);
    expectInOrder(out, [
      // Before anything ran: vCPU 0 at L1's entry, the others not started.
      /\* 1 +Thread 1 \(vCPU 0, L1\) +0x0000000040100000 in l1_entry \(\)/,
      /\n +2 +Thread 2 \(vCPU 1, L1, powered off\) /,
      /\n +4 +Thread 4 \(vCPU 3, L1, powered off\) /,
      "[Switching to Thread 4]",
      /Thread 4 hit Breakpoint 1, 0x0000000040000000 in /,
      /\n +1 +Thread 1 \(vCPU 0, L[12](, VMID 1)?\) /,
      /\n +2 +Thread 2 \(vCPU 1, L[12](, VMID 2)?\) /,
      /\n +3 +Thread 3 \(vCPU 2, L[12](, VMID 3)?\) /,
      /\n\* 4 +Thread 4 \(vCPU 3, L2, VMID 4\) +0x0000000040000000 in /,
      "[Switching to thread 3 (Thread 3)]",
    ]);
    const [before, after] = printedPcs(out);
    expect(before?.size).toBe(4);
    expect(after?.size).toBe(4);
    // Exactly one instruction of the VM ran, and it was vCPU 2's (gdb's thread 3).
    const stepAt = (name: string) => Number(new RegExp(`snapshot ${name} at step (\\d+)`).exec(out)![1]);
    expect(stepAt("after") - stepAt("before")).toBe(1);
    for (const t of [1, 2, 4]) expect(after!.get(t), `thread ${t}`).toBe(before!.get(t));
    expect(after!.get(3)).not.toBe(before!.get(3));
    // What gdb printed is the VM's state.
    for (const v of s.session.kvm.vcpus) {
      s.session.selectVcpu(v.index);
      expect(s.session.registers().pc, `vCPU ${v.index}`).toBe(after!.get(v.index + 1));
    }
  });

  it("monitor phys / Qqemu.PhyMemMode: x reads a shadow stage-2 table by host PA; monitor space ipa: L1's stage-2 by canonical IPA", async () => {
    const session = await open();
    // To vCPU 3's L2 (touch.S) at touch_start, past its first shadow fault, before gdb connects.
    session.addAddressBreak({ va: L2_ENTRY + 8n, level: "L2" });
    while (session.vcpu.index !== 3) await session.continue();
    session.deleteBreak();
    const shadow = session.vcpu.hwMmu!;
    expect(shadow.isNested).toBe(true);
    const root = BigInt(shadow.pgt.pgdPa);
    const l1Root = session.registers().vel2.VTTBR_EL2! & 0xffff_ffff_fffen;
    const s = await serveSession(session);
    const { code, out } = await gdb(s, [
      "info threads",
      "monitor phys on",
      `x/2gx ${hex(root)}`,
      "maintenance packet qqemu.PhyMemMode",
      "monitor phys off",
      `x/2gx ${hex(root)}`,
      "maintenance packet Qqemu.PhyMemMode:1",
      `x/2gx ${hex(root)}`,
      "maintenance packet Qqemu.PhyMemMode:0",
      "monitor space ipa",
      "x/2gx $vttbr_el2 & 0xfffffffffffe",
      "monitor space",
      "monitor space va",
      "detach",
    ]);
    expect(code).toBe(0);
    const shadowWords = words(root, session.readMemory("pa", root, 16));
    const l1Words = words(l1Root, session.readMemory("ipa", l1Root, 16));
    expect(shadowWords).not.toMatch(/\t0x0{16}\t0x0{16}$/); // the table maps L2's page
    const monitorLines = [
      "gdb's memory accesses are now in: pa (host PA)",
      "gdb's memory accesses are now in: va (L2 VA, the running level's)",
      "gdb's memory accesses are now in: ipa (canonical IPA)",
      "gdb's memory accesses are in: ipa (canonical IPA)",
    ];
    for (const line of monitorLines) expect(out).toContain(line);
    const rest = withoutMonitorLines(out, monitorLines);
    expectInOrder(rest, [
      /\* 4 +Thread 4 \(vCPU 3, L2, VMID 4\) /,
      shadowWords,
      'received: "1"',
      'received: "OK"',
      shadowWords,
      'received: "OK"',
      l1Words,
      "[Inferior 1 (Remote target) detached]",
    ]);
    // Between phys off and PhyMemMode:1 the same address is a VA: nothing there (an error, out of order too).
    expect(rest).toContain(`Cannot access memory at address ${hex(root)}`);
    expect(rest.split(shadowWords).length).toBe(3);
    expect(l1Words).not.toMatch(/\t0x0{16}\t0x0{16}$/);
  });
});
