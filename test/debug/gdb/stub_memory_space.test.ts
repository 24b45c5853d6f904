// gdb's memory accesses in another address space: QEMU's Qqemu.PhyMemMode switches m/M (and
// watchpoint addresses) to host physical addresses and back, qqemu.PhyMemMode says which is on,
// qqemu.Supported offers it; a new client starts with VAs again.

import { describe, expect, it } from "vitest";
import { FakeGdb, FakeTarget, PHYS_BASE } from "./fake_target.ts";

function setup() {
  const target = new FakeTarget();
  return { target, gdb: new FakeGdb(target) };
}

describe("GdbStub: memory spaces", () => {
  it("Qqemu.PhyMemMode:1 has m and M use host physical addresses, :0 the VAs again", async () => {
    const { gdb, target } = setup();
    target.mem.set([0x11, 0x22], 0x10);
    target.phys.set([0xaa, 0xbb], 0x10);
    expect(await gdb.ask("qqemu.PhyMemMode")).toBe("0");
    expect(await gdb.ask("m40000010,2")).toBe("1122");
    expect(await gdb.ask("Qqemu.PhyMemMode:1")).toBe("OK");
    expect(target.space).toBe("pa");
    expect(await gdb.ask("qqemu.PhyMemMode")).toBe("1");
    expect(await gdb.ask(`m${(PHYS_BASE + 0x10n).toString(16)},2`)).toBe("aabb");
    expect(await gdb.ask("m40000010,2")).toBe("E14");
    expect(await gdb.ask(`M${(PHYS_BASE + 0x20n).toString(16)},2:0102`)).toBe("OK");
    expect([...target.phys.slice(0x20, 0x22)]).toEqual([1, 2]);
    expect(await gdb.ask("Qqemu.PhyMemMode:0")).toBe("OK");
    expect(target.space).toBe("va");
    expect(await gdb.ask("m40000010,2")).toBe("1122");
  });

  it("any non-zero value turns it on (as QEMU reads it); a missing or malformed one is an error", async () => {
    const { gdb, target } = setup();
    expect(await gdb.ask("Qqemu.PhyMemMode:2")).toBe("OK");
    expect(target.space).toBe("pa");
    for (const p of ["Qqemu.PhyMemMode:", "Qqemu.PhyMemMode:zz"]) expect(await gdb.ask(p), p).toBe("E16");
    expect(target.space).toBe("pa");
  });

  it("reports a space chosen by other means (monitor space) as physical only when it is the host's", async () => {
    const { gdb, target } = setup();
    target.space = "ipa";
    expect(await gdb.ask("qqemu.PhyMemMode")).toBe("0");
    target.space = "pa";
    expect(await gdb.ask("qqemu.PhyMemMode")).toBe("1");
  });

  it("offers PhyMemMode among QEMU's extensions, as QEMU does (not in qSupported)", async () => {
    const { gdb } = setup();
    expect(await gdb.ask("qqemu.Supported")).toBe("PhyMemMode");
    expect(await gdb.ask("qSupported:swbreak+")).not.toContain("PhyMemMode");
  });

  it("the next client starts with VAs", async () => {
    const { gdb, target } = setup();
    await gdb.ask("Qqemu.PhyMemMode:1");
    await gdb.stub.disconnect();
    expect(target.space).toBe("va");
  });
});
