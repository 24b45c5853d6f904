// Watchpoints through the stub: Z2/Z3/Z4 insert write, read and access watchpoints of any length
// in the target's memory space, z2/z3/z4 remove them, a refused one is an `E.` error with the
// reason, the stop names the watchpoint's kind, the address touched and the thread, and a
// client's watchpoints go when it does.

import { describe, expect, it } from "vitest";
import { FakeGdb, FakeTarget, MEM_BASE, PHYS_BASE } from "./fake_target.ts";
import { hexToText } from "../../../debug/gdb/packet.ts";

function setup(vcpus = 1) {
  const target = new FakeTarget(vcpus);
  return { target, gdb: new FakeGdb(target) };
}

const DATA = MEM_BASE + 0x1000n;
const h = (v: bigint) => v.toString(16);

describe("GdbStub: watchpoints", () => {
  it("Z2, Z3, Z4 insert write, read and access watchpoints of the length gdb gives; z2..z4 remove them", async () => {
    const { gdb, target } = setup();
    expect(await gdb.ask(`Z2,${h(DATA)},8`)).toBe("OK");
    expect(await gdb.ask(`Z3,${h(DATA + 0x10n)},1`)).toBe("OK");
    expect(await gdb.ask(`Z4,${h(DATA + 0x20n)},3`)).toBe("OK");
    expect(target.watches).toEqual([
      { kind: "watch", space: "va", addr: DATA, len: 8 },
      { kind: "rwatch", space: "va", addr: DATA + 0x10n, len: 1 },
      { kind: "awatch", space: "va", addr: DATA + 0x20n, len: 3 },
    ]);
    // gdb inserts again what it has inserted before without a removal in between: no double.
    expect(await gdb.ask(`Z2,${h(DATA)},8`)).toBe("OK");
    expect(target.watches.length).toBe(3);
    expect(await gdb.ask(`z3,${h(DATA + 0x10n)},1`)).toBe("OK");
    expect(await gdb.ask(`z2,${h(DATA)},8`)).toBe("OK");
    expect(await gdb.ask(`z2,${h(DATA)},8`)).toBe("OK"); // twice: harmless
    expect(target.watches).toEqual([{ kind: "awatch", space: "va", addr: DATA + 0x20n, len: 3 }]);
  });

  it("a watchpoint the target refuses is an E. error carrying its reason; malformed ones are E16", async () => {
    const { gdb, target } = setup();
    expect(await gdb.ask("Z2,7ffff000,8")).toBe("E.unmapped: va 7ffff000");
    expect(gdb.logs.at(-1)).toBe("unmapped: va 7ffff000");
    for (const p of [`Z2,${h(DATA)},0`, `Z2,${h(DATA)}`, `Z2,zz,8`, `Z3,${h(DATA)},zz`, `Z4,${h(DATA)},100000001`]) expect(await gdb.ask(p), p).toBe("E16");
    expect(target.watches).toEqual([]);
  });

  it("the stop reply names the watchpoint's kind, the watched address the access touched and the thread", async () => {
    const { gdb, target } = setup(2);
    target.accesses.set(MEM_BASE + 0x10n, { space: "va", addr: DATA + 4n, len: 4, write: true, bytes: [1, 2, 3, 4] });
    target.accesses.set(MEM_BASE + 0x120n, { space: "va", addr: DATA + 0x40n, len: 8, write: false });
    expect(await gdb.ask(`Z2,${h(DATA)},8`)).toBe("OK");
    const replies = await gdb.request("vCont;c");
    expect(hexToText(replies[0]!.slice(1))).toBe(`write of ${h(DATA + 4n)}\n`);
    expect(replies.at(-1)).toBe(`T05watch:${h(DATA + 4n)};thread:01;nvlab-level:2;`);
    expect([...target.mem.slice(0x1004, 0x1008)]).toEqual([1, 2, 3, 4]);
    // A read reaches a read watchpoint, on the other vCPU, where the watch starts inside the access.
    expect(await gdb.ask(`Z3,${h(DATA + 0x44n)},2`)).toBe("OK");
    expect((await gdb.request("vCont;c")).at(-1)).toBe(`T05rwatch:${h(DATA + 0x44n)};thread:02;nvlab-level:2;`);
    expect(await gdb.ask(`Z4,${h(DATA + 0x40n)},1`)).toBe("OK");
    await gdb.ask(`z3,${h(DATA + 0x44n)},2`);
    target.cpus[1]!.pc = MEM_BASE + 0x120n;
    expect((await gdb.request("vCont;s:2")).at(-1)).toBe(`T05awatch:${h(DATA + 0x40n)};thread:02;nvlab-level:2;`);
  });

  it("a write does not stop a read watchpoint, nor a read a write watchpoint", async () => {
    const { gdb, target } = setup();
    target.exitAt = MEM_BASE + 0x100n;
    target.accesses.set(MEM_BASE + 0x10n, { space: "va", addr: DATA, len: 8, write: true, bytes: [9] });
    target.accesses.set(MEM_BASE + 0x20n, { space: "va", addr: DATA + 0x10n, len: 8, write: false });
    expect(await gdb.ask(`Z3,${h(DATA)},8`)).toBe("OK");
    expect(await gdb.ask(`Z2,${h(DATA + 0x10n)},8`)).toBe("OK");
    expect((await gdb.request("c")).at(-1)).toBe("W07");
  });

  it("a client's watchpoints are removed when it disconnects; others' stay", async () => {
    const { gdb, target } = setup();
    await gdb.ask(`Z2,${h(DATA)},8`);
    await gdb.ask(`Z4,${h(DATA + 8n)},8`);
    target.watches.push({ kind: "watch", space: "va", addr: DATA + 0x100n, len: 4 });
    await gdb.stub.disconnect();
    expect(target.watches).toEqual([{ kind: "watch", space: "va", addr: DATA + 0x100n, len: 4 }]);
  });

  it("watchpoint addresses are in the memory space gdb chose (here host physical)", async () => {
    const { gdb, target } = setup();
    expect(await gdb.ask("Qqemu.PhyMemMode:1")).toBe("OK");
    expect(await gdb.ask(`Z2,${h(PHYS_BASE + 0x800n)},8`)).toBe("OK");
    expect(await gdb.ask(`Z2,${h(DATA)},8`)).toBe(`E.unmapped: pa ${h(DATA)}`);
    expect(target.watches).toEqual([{ kind: "watch", space: "pa", addr: PHYS_BASE + 0x800n, len: 8 }]);
    target.accesses.set(MEM_BASE + 8n, { space: "pa", addr: PHYS_BASE + 0x804n, len: 4, write: true, bytes: [7, 7, 7, 7] });
    expect((await gdb.request("c")).at(-1)).toBe(`T05watch:${h(PHYS_BASE + 0x804n)};thread:01;nvlab-level:2;`);
  });
});
