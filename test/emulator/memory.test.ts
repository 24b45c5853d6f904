import { describe, expect, it } from "vitest";
import { HostMemoryError, PhysMemory } from "../../emulator/memory.ts";
import { Pl011 } from "../../emulator/pl011.ts";

describe("PhysMemory", () => {
  it("reads back little-endian values of every size, across page boundaries", () => {
    const m = new PhysMemory();
    m.addRam(0x4000_0000, 0x2000);
    m.write(0x4000_0ffc, 8, 0x1122334455667788n);
    expect(m.read(0x4000_0ffc, 8)).toBe(0x1122334455667788n);
    expect(m.read(0x4000_0ffc, 4)).toBe(0x55667788n);
    expect(m.read(0x4000_1000, 4)).toBe(0x11223344n);
    expect(m.read(0x4000_0ffc, 1)).toBe(0x88n);
    expect(m.read(0x4000_0ffe, 2)).toBe(0x5566n);
  });

  it("adds single RAM pages zeroed, keeps a page that is already RAM, and refuses unaligned ones", () => {
    const m = new PhysMemory();
    m.addRamPage(0x10_0000_0000);
    expect(m.isRam(0x10_0000_0fff)).toBe(true);
    expect(m.isRam(0x10_0000_1000)).toBe(false);
    expect(m.read(0x10_0000_0800, 8)).toBe(0n);
    m.write(0x10_0000_0800, 8, 0xabcdn);
    m.addRamPage(0x10_0000_0000);
    expect(m.read(0x10_0000_0800, 8)).toBe(0xabcdn);
    expect(() => m.addRamPage(0x10_0000_0800)).toThrow(/not page aligned/);
  });

  it("refuses host accesses to unbacked physical addresses unless auto-allocating", () => {
    const m = new PhysMemory();
    expect(() => m.read(0x1000, 4)).toThrow(HostMemoryError);
    const flat = new PhysMemory({ autoAllocate: true });
    expect(flat.read(0x1234_5000, 8)).toBe(0n);
    expect(flat.pageCount).toBe(1);
  });

  it("routes MMIO ranges to their handler with offsets and rejects overlaps", () => {
    const m = new PhysMemory({ autoAllocate: true });
    const uart = new Pl011();
    m.addMmio(0x0900_0000, 0x1000, "pl011", uart);
    for (const ch of "hi\n") m.write(0x0900_0000, 1, BigInt(ch.charCodeAt(0)));
    expect(uart.text()).toBe("hi\n");
    expect(m.read(0x0900_0018, 4) & 0x10n).toBe(0x10n); // RXFE: nothing to read
    expect(m.page(0x0900_0000)).toBeNull();
    expect(() => m.addMmio(0x0900_0800, 0x1000, "other", uart)).toThrow(/overlaps/);
  });

  it("drops decoded instructions in the 64-byte lines written, keeps the rest, and tells the page's code owner", () => {
    const m = new PhysMemory();
    m.addRam(0, 0x1000);
    const p = m.page(0)!;
    const ops: unknown[] = new Array<unknown>(1024);
    let told = 0;
    p.cacheOps(ops);
    p.code = { written: () => void told++ };
    ops[4] = "at 0x10";
    p.markCode(0x10);
    ops[20] = "at 0x50";
    p.markCode(0x50);
    m.write(0x80, 8, 1n); // a line with no decoded instruction
    expect(told).toBe(0);
    expect(ops[4]).toBe("at 0x10");
    m.write(0x1c, 4, 1n); // the line of 0x10
    expect(told).toBe(1);
    expect(ops[4]).toBeUndefined();
    expect(ops[20]).toBe("at 0x50");
    expect(m.codeMap[(p.off + 0x40) >> 6]).toBe(1);
    expect(m.codeMap[p.off >> 6]).toBe(0);
    m.write(0x3e, 4, 1n); // straddles into the line of 0x50
    expect(ops[20]).toBeUndefined();
    expect(told).toBe(2);
    m.writeBytes(0, new Uint8Array(16)); // nothing cached there any more
    expect(told).toBe(2);
    p.invalidate();
    expect(p.ops).toBeNull();
    expect(p.code).toBeNull(); // the translated code went with the decoded instructions
    const removed: number[] = [];
    m.onPageRemoved((pfn) => removed.push(pfn));
    m.removePage(0x800);
    expect(removed).toEqual([0]);
    expect(m.isRam(0)).toBe(false);
  });
});
