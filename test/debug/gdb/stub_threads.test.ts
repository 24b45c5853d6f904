// The stub with four vCPUs: one gdb thread each (vCPU i is thread i + 1), the current thread for
// registers and memory (Hg), the thread a step runs (vCont;s:N, or Hc with a legacy s), and stops
// that name the vCPU that stopped.

import { describe, expect, it } from "vitest";
import { FakeGdb, FakeTarget, MEM_BASE } from "./fake_target.ts";
import { hexToText } from "../../../debug/gdb/packet.ts";

function setup(vcpus = 4) {
  const target = new FakeTarget(vcpus);
  return { target, gdb: new FakeGdb(target) };
}

/** Little-endian hex of the 64-bit pc in a `p20` reply. */
const pcOf = (reply: string) => BigInt("0x" + reply.match(/../g)!.reverse().join(""));

describe("GdbStub: one thread per vCPU", () => {
  it("qfThreadInfo lists every vCPU, qsThreadInfo ends the list, qC names the current one", async () => {
    const { gdb, target } = setup();
    expect(await gdb.ask("qfThreadInfo")).toBe("m01,02,03,04");
    expect(await gdb.ask("qsThreadInfo")).toBe("l");
    expect(await gdb.ask("qC")).toBe("QC01");
    target.current = 2;
    expect(await gdb.ask("qC")).toBe("QC03");
    expect(await gdb.ask("?")).toBe("T05thread:03;nvlab-level:2;");
  });

  it("T says every vCPU's thread is alive, and no other", async () => {
    const { gdb } = setup();
    for (const t of ["1", "2", "3", "4", "04", "p1.4", "-1", "0"]) expect(await gdb.ask(`T${t}`), t).toBe("OK");
    for (const t of ["5", "10", "zz", ""]) expect(await gdb.ask(`T${t}`), t).toBe("E01");
  });

  it("qThreadExtraInfo gives the target's name of that vCPU's thread", async () => {
    const { gdb, target } = setup();
    target.cpus[2]!.level = "L1";
    expect(hexToText(await gdb.ask("qThreadExtraInfo,1"))).toBe("vCPU 0 (L2)");
    expect(hexToText(await gdb.ask("qThreadExtraInfo,3"))).toBe("vCPU 2 (L1)");
    expect(hexToText(await gdb.ask("qThreadExtraInfo,p1.4"))).toBe("vCPU 3 (L2)");
    expect(await gdb.ask("qThreadExtraInfo,5")).toBe("E16");
    expect(await gdb.ask("qThreadExtraInfo,zz")).toBe("E16");
  });

  it("Hg selects the thread whose registers and memory gdb reads; Hg0 and Hg-1 keep the current one", async () => {
    const { gdb, target } = setup();
    expect(pcOf(await gdb.ask("p20"))).toBe(MEM_BASE);
    expect(await gdb.ask("Hg3")).toBe("OK");
    expect(target.current).toBe(2);
    expect(pcOf(await gdb.ask("p20"))).toBe(MEM_BASE + 0x200n);
    expect(await gdb.ask("P1=4200000000000000")).toBe("OK");
    expect(target.cpus[2]!.x[1]).toBe(0x42n);
    expect(target.cpus[0]!.x[1]).toBe(0x100n);
    for (const t of ["0", "-1"]) {
      expect(await gdb.ask(`Hg${t}`)).toBe("OK");
      expect(target.current).toBe(2);
    }
    expect(await gdb.ask("Hgp1.2")).toBe("OK");
    expect(target.current).toBe(1);
  });

  it("H with an unknown thread or operation is an error and changes nothing", async () => {
    const { gdb, target } = setup();
    for (const p of ["Hg5", "Hgzz", "Hg", "Hc9", "Hx1", "H"]) expect(await gdb.ask(p), p).toBe("E16");
    expect(target.current).toBe(0);
  });

  it("vCont;s:N steps vCPU N-1 only (the others stay where they are) and the stop names its thread", async () => {
    const { gdb, target } = setup();
    expect(await gdb.ask("vCont;s:3;c")).toBe("T05thread:03;nvlab-level:2;");
    expect(target.cpus.map((c) => c.pc)).toEqual([MEM_BASE, MEM_BASE + 0x100n, MEM_BASE + 0x204n, MEM_BASE + 0x300n]);
    expect(await gdb.ask("qC")).toBe("QC03");
    expect(await gdb.ask("vCont;s:p1.1")).toBe("T05thread:01;nvlab-level:2;");
    expect(target.cpus.map((c) => c.pc)).toEqual([MEM_BASE + 4n, MEM_BASE + 0x100n, MEM_BASE + 0x204n, MEM_BASE + 0x300n]);
    expect(target.steps).toBe(2);
  });

  it("vCont;s without a thread steps the current thread; a thread that does not exist is an error", async () => {
    const { gdb, target } = setup();
    await gdb.ask("Hg2");
    expect(await gdb.ask("vCont;s")).toBe("T05thread:02;nvlab-level:2;");
    expect(target.cpus[1]!.pc).toBe(MEM_BASE + 0x104n);
    for (const p of ["vCont;s:5", "vCont;s:2;c:9", "vCont;c:5"]) expect(await gdb.ask(p), p).toBe("E16");
    expect(target.steps).toBe(1);
  });

  it("Hc names the thread legacy s steps (and S, with a new pc); c runs every vCPU", async () => {
    const { gdb, target } = setup();
    expect(await gdb.ask("Hc4")).toBe("OK");
    expect(await gdb.ask("s")).toBe("T05thread:04;nvlab-level:2;");
    expect(target.cpus[3]!.pc).toBe(MEM_BASE + 0x304n);
    expect(await gdb.ask(`S05;${(MEM_BASE + 0x800n).toString(16)}`)).toBe("T05thread:04;nvlab-level:2;");
    expect(target.cpus[3]!.pc).toBe(MEM_BASE + 0x804n);
    expect(target.cpus[0]!.pc).toBe(MEM_BASE);
    // After a stop, legacy steps run the thread that stopped again (as QEMU's gdbstub does).
    await gdb.ask("Hg2");
    expect(await gdb.ask("s")).toBe("T05thread:02;nvlab-level:2;");
    expect(await gdb.ask("Hc-1")).toBe("OK");
    expect(await gdb.ask("s")).toBe("T05thread:02;nvlab-level:2;");
  });

  it("continue runs every vCPU; the stop names the one that reached the breakpoint", async () => {
    const { gdb, target } = setup();
    expect(await gdb.ask(`Z0,${(MEM_BASE + 0x220n).toString(16)},4`)).toBe("OK");
    expect((await gdb.request("vCont;c")).at(-1)).toBe("T05swbreak:;thread:03;nvlab-level:2;");
    expect(target.cpus.map((c) => c.pc)).toEqual([MEM_BASE + 0x20n, MEM_BASE + 0x120n, MEM_BASE + 0x220n, MEM_BASE + 0x31cn]);
    expect(await gdb.ask("qC")).toBe("QC03");
  });

  it("after the machine is gone there are no threads; a restart brings all of them back", async () => {
    const { gdb, target } = setup();
    target.exitAt = MEM_BASE + 0x320n;
    await gdb.ask("!");
    expect((await gdb.request("c")).at(-1)).toBe("W07");
    expect(await gdb.ask("qfThreadInfo")).toBe("l");
    expect(await gdb.ask("T2")).toBe("E01");
    expect(await gdb.request("vRun;")).toEqual(["T05thread:01;nvlab-level:2;"]);
    expect(await gdb.ask("qfThreadInfo")).toBe("m01,02,03,04");
  });
});
