import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FakeGdb, FakeTarget, MEM_BASE } from "./fake_target.ts";
import { frame, hexToText, textToHex } from "../../../debug/gdb/packet.ts";
import { OVERSIZE_REPLY, PACKET_SIZE } from "../../../debug/gdb/stub.ts";
import { targetXml } from "../../../debug/gdb/target_xml.ts";
import { GDB_REGISTERS } from "../../../debug/gdb/registers.ts";

function setup() {
  const target = new FakeTarget();
  return { target, gdb: new FakeGdb(target) };
}

const le64 = (v: bigint) => {
  let s = "";
  for (let i = 0; i < 8; i++) s += Number((v >> BigInt(8 * i)) & 0xffn).toString(16).padStart(2, "0");
  return s;
};

/** Each packet in turn must get exactly the string, or a reply matching the pattern. */
async function expectAnswers(gdb: FakeGdb, answers: [packet: string, reply: string | RegExp][]): Promise<void> {
  for (const [packet, reply] of answers) {
    const text = await gdb.ask(packet);
    if (typeof reply === "string") expect(text, packet).toBe(reply);
    else expect(text, packet).toMatch(reply);
  }
}

describe("GdbStub: handshake and acknowledgments", () => {
  it("acks each packet with '+' before the reply until no-ack mode is on", async () => {
    const { gdb } = setup();
    gdb.stub.receive(frame("qSupported:multiprocess+;swbreak+;hwbreak+"));
    await gdb.stub.idle();
    const items = gdb.take();
    expect(items[0]).toEqual({ kind: "ack" });
    expect(items[1]).toEqual({ kind: "packet", data: "PacketSize=4000;qXfer:features:read+;swbreak+;QStartNoAckMode+;ReverseStep+;ReverseContinue+" });

    gdb.stub.receive(frame("QStartNoAckMode"));
    await gdb.stub.idle();
    expect(gdb.take()).toEqual([{ kind: "ack" }, { kind: "packet", data: "OK" }]);

    gdb.stub.receive(frame("?"));
    await gdb.stub.idle();
    expect(gdb.take()).toEqual([{ kind: "packet", data: "T05thread:01;nvlab-level:2;" }]);
  });

  it("answers a bad checksum with '-' and resends its last reply on '-'", async () => {
    const { gdb } = setup();
    gdb.stub.receive("$g#00");
    await gdb.stub.idle();
    expect(gdb.take()).toEqual([{ kind: "nack" }]);
    expect(gdb.logs[0]).toMatch(/bad checksum/);
    await gdb.request("qC");
    gdb.stub.receive("-");
    expect(gdb.take()).toEqual([{ kind: "packet", data: "QC01" }]);
  });

  it("gives the thread and session queries gdb 13 sends on connect", async () => {
    const { gdb } = setup();
    await expectAnswers(gdb, [
      ["vMustReplyEmpty", ""],
      ["Hg0", "OK"],
      ["Hc-1", "OK"],
      ["qTStatus", ""],
      ["qfThreadInfo", "m01"],
      ["qsThreadInfo", "l"],
      ["qAttached", "1"],
      ["qC", "QC01"],
      ["T01", "OK"],
      ["T2", "E01"],
      ["T", "E01"],
    ]);
    expect(hexToText(await gdb.ask("qThreadExtraInfo,1"))).toBe("vCPU 0 (L2)");
    expect(await gdb.ask("vCont?")).toBe("vCont;c;C;s;S");
  });

  it("replies empty to packets it does not implement", async () => {
    const { gdb } = setup();
    for (const p of ["qOffsets", "X40000000,0:", "Z5,40000000,4", "Zconstructor,40000000,4", "vFile:open:", "b", "bx", "bcc", "qXfer:libraries:read::0,100"]) {
      expect(await gdb.ask(p)).toBe("");
    }
  });
});

describe("GdbStub: target.xml", () => {
  it("serves it in chunks: 'm' while more follows, 'l' for the last", async () => {
    const { gdb } = setup();
    const xml = targetXml();
    const first = await gdb.ask("qXfer:features:read:target.xml:0,100");
    expect(first).toBe("m" + xml.slice(0, 0x100));
    const rest = await gdb.ask(`qXfer:features:read:target.xml:100,${(xml.length).toString(16)}`);
    expect(rest).toBe("l" + xml.slice(0x100));
    expect(await gdb.ask("qXfer:features:read:target.xml:0,4000")).toBe("l" + xml);
  });

  it("rejects other annexes and malformed ranges", async () => {
    const { gdb } = setup();
    await expectAnswers(gdb, [
      ["qXfer:features:read:aarch64-fpu.xml:0,100", "E00"],
      ["qXfer:features:read:target.xml:zz,100", "E16"],
      ["qXfer:features:read:target.xml", "E16"],
    ]);
  });
});

describe("GdbStub: registers", () => {
  it("g returns all registers; p one by number", async () => {
    const { gdb } = setup();
    const g = await gdb.ask("g");
    expect(g.slice(0, 16)).toBe(le64(0n));
    expect(g.slice(16, 32)).toBe(le64(0x100n));
    expect(g.slice(31 * 16, 32 * 16)).toBe(le64(0x4000_1ff0n));
    expect(g.slice(32 * 16, 33 * 16)).toBe(le64(MEM_BASE));
    expect(await gdb.ask("p20")).toBe(le64(MEM_BASE));
    expect(await gdb.ask("p21")).toBe("c5030000");
    const hcr = GDB_REGISTERS.find((r) => r.name === "hcr_el2")!.regnum.toString(16);
    expect(await gdb.ask(`p${hcr}`)).toBe(le64(0x8000_0001n));
    const vtcr = GDB_REGISTERS.find((r) => r.name === "vtcr_el2")!.regnum.toString(16);
    expect(await gdb.ask(`p${vtcr}`)).toBe("x".repeat(16));
  });

  it("P and G write the core registers; the system registers are refused", async () => {
    const { gdb, target } = setup();
    expect(await gdb.ask("P1=4200000000000000")).toBe("OK");
    expect(target.x[1]).toBe(0x42n);
    const hcr = GDB_REGISTERS.find((r) => r.name === "hcr_el2")!.regnum.toString(16);
    expect(await gdb.ask(`P${hcr}=0000000000000000`)).toBe("E16");
    expect(target.sys.HCR_EL2).toBe(0x8000_0001n);
    expect(gdb.logs.join("\n")).toMatch(/read-only/);

    const g = await gdb.ask("g");
    const newG = g.slice(0, 2 * 16) + le64(0x77n) + g.slice(3 * 16);
    expect(await gdb.ask("G" + newG)).toBe("OK");
    expect(target.x[2]).toBe(0x77n);
    expect(target.x[3]).toBe(0x300n);
  });

  it("malformed register packets get E16 and change nothing", async () => {
    const { gdb, target } = setup();
    const before = target.registers();
    for (const p of ["p", "pzz", "p999", "P1", "P1=42", "P1=zz00000000000000", "P999=0000000000000000", "G", "G1234", "Gzz"]) {
      expect(await gdb.ask(p)).toBe("E16");
    }
    expect(target.registers()).toEqual(before);
  });
});

describe("GdbStub: memory", () => {
  it("m reads, M writes", async () => {
    const { gdb, target } = setup();
    target.mem.set([0xde, 0xad, 0xbe, 0xef], 0x10);
    expect(await gdb.ask("m40000010,4")).toBe("deadbeef");
    expect(await gdb.ask("M40000020,3:010203")).toBe("OK");
    expect([...target.mem.slice(0x20, 0x23)]).toEqual([1, 2, 3]);
    expect(await gdb.ask("m40000020,0")).toBe("");
    expect((await gdb.ask("m40000000,2000")).length).toBe(0x4000); // the largest transfer: half a packet
  });

  it("a read running into unmapped memory returns the mapped prefix; wholly unmapped is E14", async () => {
    const { gdb } = setup();
    await expectAnswers(gdb, [
      ["m40001ffc,8", "00000000"],
      ["m3ffffffc,4", "E14"],
      ["m0,40", "E14"],
      ["M50000000,1:00", "E14"],
    ]);
  });

  it("malformed memory packets get E16", async () => {
    const { gdb } = setup();
    for (const p of ["m", "mzz,4", "m40000000", "m40000000,zz", "m40000000,2001", "M40000000,2:01", "M40000000,1:zz", "M40000000,1"]) {
      expect(await gdb.ask(p)).toBe("E16");
    }
  });
});

describe("GdbStub: running", () => {
  it("s and vCont;s step one instruction and report SIGTRAP with the level", async () => {
    const { gdb, target } = setup();
    expect(await gdb.ask("s")).toBe("T05thread:01;nvlab-level:2;");
    expect(target.pc).toBe(MEM_BASE + 4n);
    expect(await gdb.ask("vCont;s:1;c")).toBe("T05thread:01;nvlab-level:2;");
    expect(target.pc).toBe(MEM_BASE + 8n);
    expect(await gdb.ask(`s${(MEM_BASE + 0x100n).toString(16)}`)).toBe("T05thread:01;nvlab-level:2;");
    expect(target.pc).toBe(MEM_BASE + 0x104n);
    expect(await gdb.ask("S05")).toBe("T05thread:01;nvlab-level:2;");
    expect(target.steps).toBe(4);
  });

  it("says on gdb's console when the level changes, and marks the stop reply", async () => {
    const { gdb, target } = setup();
    target.switchAt = MEM_BASE + 4n;
    const replies = await gdb.request("vCont;s:1");
    expect(replies.length).toBe(2);
    expect(replies[0]![0]).toBe("O");
    expect(hexToText(replies[0]!.slice(1))).toBe("now in L1\n");
    expect(replies[1]).toBe("T05thread:01;nvlab-level:1;");
  });

  it("Z0 / continue stops at the breakpoint with swbreak; z0 removes it", async () => {
    const { gdb, target } = setup();
    expect(await gdb.ask("Z0,40000020,4")).toBe("OK");
    const replies = await gdb.request("vCont;c");
    expect(replies.at(-1)).toBe("T05swbreak:;thread:01;nvlab-level:2;");
    expect(hexToText(replies[0]!.slice(1))).toBe("breakpoint at 40000020\n");
    expect(target.pc).toBe(0x4000_0020n);
    expect(await gdb.ask("z0,40000020,4")).toBe("OK");
    expect(target.breaks.size).toBe(0);
    expect(await gdb.ask("z0,40000020,4")).toBe("OK"); // removing twice is harmless
    expect(await gdb.ask("Z1,40000040,4")).toBe("OK");
    expect((await gdb.request("c")).at(-1)).toBe("T05swbreak:;thread:01;nvlab-level:2;");
    expect(target.pc).toBe(0x4000_0040n);
  });

  it("a breakpoint the target refuses, or a malformed one, is an error", async () => {
    const { gdb, target } = setup();
    await expectAnswers(gdb, [
      ["Z0,40000022,4", "E16"],
      ["Z0,zz,4", "E16"],
      ["Z0,40000020", "E16"],
    ]);
    expect(target.breaks.size).toBe(0);
  });

  it("Ctrl-C (0x03) while continuing stops the guest with SIGINT", async () => {
    const { gdb, target } = setup();
    gdb.stub.receive(frame("vCont;c"));
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(target.steps).toBeGreaterThan(0);
    gdb.stub.receive("\x03");
    await gdb.stub.idle();
    const packets = gdb.take().flatMap((i) => (i.kind === "packet" ? [i.data] : []));
    expect(packets.at(-1)).toBe("T02thread:01;nvlab-level:2;");
    const steps = target.steps;
    await new Promise((r) => setImmediate(r));
    expect(target.steps).toBe(steps); // really stopped
  });

  it("packets that arrive while the guest runs are answered after the stop, in order", async () => {
    const { gdb, target } = setup();
    target.exitAt = MEM_BASE + 0x400n;
    gdb.stub.receive(frame("c") + frame("qC"));
    await gdb.stub.idle();
    const packets = gdb.take().flatMap((i) => (i.kind === "packet" ? [i.data] : []));
    expect(packets.map((p) => (p.startsWith("O") ? hexToText(p.slice(1)) : p))).toEqual(["system off\n", "W07", "QC01"]);
    expect(await gdb.request("?")).toEqual(["W07"]); // no console line before the answer to '?'
  });

  it("W carries the exit status nvlab run would give: a code above 127 or one of nvlab's own is 123 (0x7b)", async () => {
    for (const [code, w] of [[0, "W00"], [7, "W07"], [127, "W7f"], [256, "W7b"], [300, "W7b"], [1, "W7b"], [124, "W7b"]] as const) {
      const { gdb, target } = setup();
      target.exitAt = MEM_BASE + 0x40n;
      target.exitCode = code;
      expect(await gdb.request("c"), `code ${code}`).toEqual([expect.stringMatching(/^O/), w]);
      expect(await gdb.request("?")).toEqual([w]);
    }
  });

  it("C/S with a signal and vCont with other threads or actions", async () => {
    const { gdb, target } = setup();
    target.exitAt = MEM_BASE + 0x40n;
    await expectAnswers(gdb, [
      ["vCont;s:2", "E16"],
      ["vCont;t", "E16"],
      ["vCont;r40000000,40000010:1", "E16"],
      ["vCont;S05:p1.1", "T05thread:01;nvlab-level:2;"],
      ["Czz", "E16"],
      ["czz", "E16"],
    ]);
    expect((await gdb.request("C05;40000010")).at(-1)).toBe("W07");
  });
});

describe("GdbStub: reverse execution", () => {
  /** The console line (O packet) and the stop reply a reverse packet gets. */
  async function back(gdb: FakeGdb, packet: string): Promise<{ note: string | null; reply: string }> {
    const r = await gdb.request(packet);
    expect(r.length, JSON.stringify(r)).toBeLessThanOrEqual(2);
    return { note: r.length === 2 ? hexToText(r[0]!.slice(1)) : null, reply: r.at(-1)! };
  }

  it("bs goes back one instruction and replies as a step does, with the console line first", async () => {
    const { gdb, target } = setup();
    target.switchAt = MEM_BASE + 8n;
    await gdb.request("s");
    await gdb.request("s");
    expect(target.level).toBe("L1");
    expect(await back(gdb, "bs")).toEqual({ note: "back to 40000004\n", reply: "T05thread:01;nvlab-level:2;" });
    expect(target.pc).toBe(MEM_BASE + 4n);
    expect(await back(gdb, "bs")).toEqual({ note: "back to 40000000\n", reply: "T05thread:01;nvlab-level:2;" });
    expect(target.steps).toBe(0);
  });

  it("bs at the start of history is gdb's 'no more reverse-execution history' stop", async () => {
    const { gdb, target } = setup();
    expect(await back(gdb, "bs")).toEqual({ note: "at the start\n", reply: "T05replaylog:begin;thread:01;nvlab-level:2;" });
    expect(target.pc).toBe(MEM_BASE);
  });

  it("bc goes back to the latest breakpoint gdb inserted (swbreak), then to the start (replaylog:begin)", async () => {
    const { gdb, target } = setup();
    target.exitAt = MEM_BASE + 0x100n;
    expect(await gdb.ask("Z0,40000020,4")).toBe("OK");
    expect((await gdb.request("c")).at(-1)).toBe("T05swbreak:;thread:01;nvlab-level:2;");
    for (let i = 0; i < 3; i++) await gdb.request("s");
    expect(await back(gdb, "bc")).toEqual({ note: "breakpoint at 40000020\n", reply: "T05swbreak:;thread:01;nvlab-level:2;" });
    expect(target.pc).toBe(0x4000_0020n);
    // The breakpoint where it stands is not "before" it.
    expect(await back(gdb, "bc")).toEqual({ note: "at the start\n", reply: "T05replaylog:begin;thread:01;nvlab-level:2;" });
    expect(target.pc).toBe(MEM_BASE);
    // And forward again to the same breakpoint.
    expect((await gdb.request("vCont;c")).at(-1)).toBe("T05swbreak:;thread:01;nvlab-level:2;");
    expect(target.pc).toBe(0x4000_0020n);
  });

  it("the thread gdb was told had exited lives again once a stop says so (bs back into the run)", async () => {
    const { gdb, target } = setup();
    target.exitAt = MEM_BASE + 0x10n;
    expect((await gdb.request("c")).at(-1)).toBe("W07");
    expect(await gdb.ask("qfThreadInfo")).toBe("l");
    expect(await gdb.ask("T01")).toBe("E01");
    expect((await gdb.request("bs")).at(-1)).toBe("T05thread:01;nvlab-level:2;");
    expect(target.pc).toBe(MEM_BASE + 0xcn);
    expect(await gdb.ask("qfThreadInfo")).toBe("m01");
    expect(await gdb.ask("T01")).toBe("OK");
  });
});

describe("GdbStub: extended mode (target extended-remote)", () => {
  it("'!' turns it on; after the guest exits there is no thread until vRun restarts it", async () => {
    const { gdb, target } = setup();
    target.exitAt = MEM_BASE + 0x10n;
    expect(await gdb.ask("R00")).toBe(""); // R is extended mode's only
    expect(target.restarts).toBe(0);
    expect(await gdb.ask("!")).toBe("OK");
    expect(await gdb.request("c")).toEqual([expect.stringMatching(/^O/), "W07"]);
    expect(await gdb.ask("qfThreadInfo")).toBe("l");
    expect(await gdb.ask("T01")).toBe("E01");
    // The reply to vRun is the stop itself: no console line may come before it.
    expect(await gdb.request("vRun;")).toEqual(["T05thread:01;nvlab-level:2;"]);
    expect(target.restarts).toBe(1);
    expect(target.pc).toBe(MEM_BASE);
    expect(target.exited).toBe(false);
    expect(await gdb.ask("qfThreadInfo")).toBe("m01");
    expect(await gdb.ask("T01")).toBe("OK");
  });

  it("vKill ends the process but not the VM in extended mode (gdb kills before each run); R restarts without a reply", async () => {
    const { gdb, target } = setup();
    await gdb.ask("!");
    await gdb.request("s");
    expect(await gdb.ask("vKill;1")).toBe("OK");
    expect(gdb.killed).toBe(0);
    expect(await gdb.ask("qfThreadInfo")).toBe("l");
    expect(await gdb.request("R00")).toEqual([]);
    expect(target.restarts).toBe(1);
    expect(target.steps).toBe(0);
    expect(await gdb.ask("qfThreadInfo")).toBe("m01");
  });
});

describe("GdbStub: monitor, kill, detach, disconnect", () => {
  it("qRcmd runs a monitor command and returns its output hex-encoded", async () => {
    const { gdb, target } = setup();
    expect(hexToText(await gdb.ask("qRcmd," + textToHex("level")))).toBe("L2\n");
    expect(await gdb.ask("qRcmd," + textToHex("quiet"))).toBe("OK");
    expect(hexToText(await gdb.ask("qRcmd," + textToHex("frobnicate")))).toBe("error: unknown monitor command 'frobnicate'\n");
    expect(await gdb.ask("qRcmd,zz")).toBe("E16");
    expect(target.monitorLog).toEqual(["level", "quiet", "frobnicate"]);
  });

  it("k kills without a reply; vKill replies OK; D detaches", async () => {
    const { gdb } = setup();
    expect(await gdb.request("k")).toEqual([]);
    expect(gdb.killed).toBe(1);
    expect(await gdb.ask("vKill;a410")).toBe("OK");
    expect(gdb.killed).toBe(2);
    expect(await gdb.ask("D")).toBe("OK");
    expect(gdb.detached).toBe(1);
  });

  it("a disconnect mid-continue stops the guest and removes the client's breakpoints", async () => {
    const { gdb, target } = setup();
    await gdb.ask("Z0,40001000,4");
    target.breaks.add(0x4000_0f00n); // someone else's: must stay
    target.pc = 0x4000_1004n; // past the client's breakpoint: it will not be hit soon
    gdb.stub.receive(frame("c"));
    await new Promise((r) => setImmediate(r));
    await gdb.stub.disconnect();
    const steps = target.steps;
    expect(steps).toBeGreaterThan(0);
    await new Promise((r) => setImmediate(r));
    expect(target.steps).toBe(steps);
    expect([...target.breaks]).toEqual([0x4000_0f00n]);
    gdb.stub.receive(frame("s"));
    await gdb.stub.idle();
    expect(target.steps).toBe(steps); // nothing is served after a disconnect
  });

  it("an exception from the target becomes an error reply, and the stub keeps serving", async () => {
    const { gdb, target } = setup();
    target.registers = () => {
      throw new Error("boom");
    };
    expect(await gdb.ask("g")).toBe("E01");
    expect(gdb.logs.join("\n")).toMatch(/boom/);
    expect(await gdb.ask("qC")).toBe("QC01");
  });
});

describe("GdbStub: arbitrary input", () => {
  it("answers any packet without throwing, and line noise changes nothing", async () => {
    const chars = fc.constantFrom(..."?gGpPmMcCsSzZHTqQvkDX0123456789abcdefxyz,:;=.-_ ".split(""));
    await fc.assert(
      fc.asyncProperty(fc.array(chars, { maxLength: 40 }).map((a) => a.join("")), async (data) => {
        const { gdb, target } = setup();
        target.exitAt = MEM_BASE + 0x100n; // a continue ends soon
        const replies = await gdb.request(data);
        // One reply (a stop may be preceded by a console line); `k` alone has none.
        expect(replies.length).toBeLessThanOrEqual(2);
        if (!data.startsWith("k")) expect(replies.length).toBeGreaterThan(0);
        expect(gdb.logs.filter((l) => /TypeError|RangeError|undefined/.test(l))).toEqual([]);
        // Still serving.
        expect(await gdb.ask("qC")).toBe("QC01");
      }),
      { seed: 7, numRuns: 400 },
    );
    const { gdb } = setup();
    gdb.stub.receive("\r\n%%garbage\x00\xff#12");
    await gdb.stub.idle();
    expect(gdb.take()).toEqual([]);
  });
});

describe("GdbStub: packet size", () => {
  /** The PacketSize qSupported advertises, as a number. */
  async function advertised(gdb: FakeGdb): Promise<number> {
    const m = /(?:^|;)PacketSize=([0-9a-f]+)(?:;|$)/.exec(await gdb.ask("qSupported:swbreak+"));
    expect(m).not.toBeNull();
    return parseInt(m![1]!, 16);
  }

  it("advertises PacketSize in hex and takes a packet of exactly that size; one byte more is refused with an error", async () => {
    const { gdb } = setup();
    const size = await advertised(gdb);
    expect(size).toBe(PACKET_SIZE);
    // The largest memory write gdb then sends: 'M', address, length, two hex digits per byte.
    const head = `M${MEM_BASE.toString(16)},`;
    const room = size - head.length - 5;
    const len = Math.floor(room / 2);
    const write = `${head}${len.toString(16).padStart(4, "0")}:${"5a".repeat(len)}`;
    expect(write.length).toBeLessThanOrEqual(size);
    expect(await gdb.ask(write)).toBe("OK");
    expect(await gdb.ask(`m${MEM_BASE.toString(16)},${len.toString(16)}`)).toBe("5a".repeat(len));
    // Unsupported packets of exactly the limit, and one over.
    expect(await gdb.ask("j" + "0".repeat(size - 1))).toBe("");
    expect(await gdb.ask("j" + "0".repeat(size))).toBe(OVERSIZE_REPLY);
    expect(OVERSIZE_REPLY).toMatch(/^E\.[^$#}*]+$/);
    expect(OVERSIZE_REPLY).toContain(`PacketSize (0x${size.toString(16)} bytes)`);
    expect(gdb.logs.at(-1)).toBe(`refused a packet longer than PacketSize (${size} bytes)`);
  });

  it("answers a 1 MB packet with the error, acked so gdb does not resend it, then answers '?'", async () => {
    const { gdb } = setup();
    const wire = frame("X40000000,100000:" + "a".repeat(1 << 20));
    for (let at = 0; at < wire.length; at += 65536) gdb.stub.receive(wire.slice(at, at + 65536));
    await gdb.stub.idle();
    expect(gdb.take()).toEqual([{ kind: "ack" }, { kind: "packet", data: OVERSIZE_REPLY }]);
    expect(await gdb.ask("?")).toBe("T05thread:01;nvlab-level:2;");
    // Nothing is resent on a nack but the error (the packet itself is gone).
    gdb.stub.receive("-");
    expect(gdb.take()).toEqual([{ kind: "packet", data: "T05thread:01;nvlab-level:2;" }]);
  });

  it("answers a packet that never ends as soon as it passes the limit, holding none of it; later packets are answered in order", async () => {
    const { gdb } = setup();
    expect(await gdb.ask("QStartNoAckMode")).toBe("OK");
    gdb.stub.receive("$");
    const junk = "q".repeat(1 << 20);
    for (let i = 0; i < 4; i++) gdb.stub.receive(junk);
    await gdb.stub.idle();
    expect(gdb.take()).toEqual([{ kind: "packet", data: OVERSIZE_REPLY }]);
    gdb.stub.receive(frame("qC") + frame("qAttached"));
    await gdb.stub.idle();
    expect(gdb.take()).toEqual([{ kind: "packet", data: "QC01" }, { kind: "packet", data: "1" }]);
  });
});
