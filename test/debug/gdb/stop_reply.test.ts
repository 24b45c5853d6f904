import { describe, expect, it } from "vitest";
import { stopReplyPacket } from "../../../debug/gdb/stop_reply.ts";
import { SIGINT, SIGTRAP } from "../../../debug/gdb/target.ts";

describe("stop replies", () => {
  it("name the thread that stopped and its level", () => {
    expect(stopReplyPacket({ kind: "signal", signal: SIGTRAP, level: "L2", thread: 3 })).toBe("T05thread:03;nvlab-level:2;");
    expect(stopReplyPacket({ kind: "signal", signal: SIGINT, level: "L1", thread: 17 })).toBe("T02thread:11;nvlab-level:1;");
  });

  it("give a watchpoint's kind and the address the access touched, before the other fields", () => {
    const at = { signal: SIGTRAP, level: "L2", thread: 1 } as const;
    expect(stopReplyPacket({ kind: "signal", ...at, watch: { kind: "watch", addr: 0x4010_0000n } })).toBe("T05watch:40100000;thread:01;nvlab-level:2;");
    expect(stopReplyPacket({ kind: "signal", ...at, watch: { kind: "rwatch", addr: 0x44002800n } })).toBe("T05rwatch:44002800;thread:01;nvlab-level:2;");
    expect(stopReplyPacket({ kind: "signal", ...at, thread: 2, watch: { kind: "awatch", addr: 0xffff_0000_0000_0008n } })).toBe("T05awatch:ffff000000000008;thread:02;nvlab-level:2;");
  });

  it("mark software breakpoints and the start of history; an exit is W with nvlab run's status", () => {
    expect(stopReplyPacket({ kind: "signal", signal: SIGTRAP, level: "L1", thread: 1, swbreak: true })).toBe("T05swbreak:;thread:01;nvlab-level:1;");
    expect(stopReplyPacket({ kind: "signal", signal: SIGTRAP, level: "L1", thread: 1, historyStart: true })).toBe("T05replaylog:begin;thread:01;nvlab-level:1;");
    expect(stopReplyPacket({ kind: "exited", code: 7 })).toBe("W07");
    expect(stopReplyPacket({ kind: "exited", code: 300 })).toBe("W7b");
  });
});
