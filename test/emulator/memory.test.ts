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

  it("drops a page's decoded-instruction cache on any write and notifies on removal", () => {
    const m = new PhysMemory();
    m.addRam(0, 0x1000);
    const p = m.page(0)!;
    p.ops = [];
    m.write(0x10, 4, 1n);
    expect(p.ops).toBeNull();
    const removed: number[] = [];
    m.onPageRemoved((pfn) => removed.push(pfn));
    m.removePage(0x800);
    expect(removed).toEqual([0]);
    expect(m.isRam(0)).toBe(false);
  });
});
