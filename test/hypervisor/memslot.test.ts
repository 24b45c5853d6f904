import { describe, expect, it } from "vitest";
import { PhysMemory } from "../../emulator/memory.ts";
import { HostError } from "../../hypervisor/errors.ts";
import { Memslot, SZ_2M, SZ_4K } from "../../hypervisor/memslot.ts";
import { HostPagePool } from "../../hypervisor/pool.ts";

const BASE = 0x4000_0000n;
const POOL = 0x10_0000_0000;

function setup(size = 8n << 20n, poolPages = 4096) {
  const mem = new PhysMemory();
  const pool = new HostPagePool(mem, POOL, poolPages);
  return { mem, pool, slot: new Memslot(BASE, size, mem, pool) };
}

const bytes = (...v: number[]) => Uint8Array.from(v);

describe("Memslot", () => {
  it("reads aligned 64-bit words the same from saved, resident and never-written pages", () => {
    const { slot } = setup();
    const data = Uint8Array.from({ length: 0x3000 }, (_, i) => (i * 37 + 11) & 0xff);
    slot.writeBytes(BASE, data); // three saved pages
    slot.faultIn(BASE + 0x1000n, false); // the middle one resident
    const viaBytes = (ipa: bigint): bigint => {
      const b = slot.readBytes(ipa, 8);
      let v = 0n;
      for (let i = 7; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
      return v;
    };
    for (let off = 0n; off < 0x4000n; off += 0x1f8n) {
      expect(slot.read(BASE + off, 8)).toBe(viaBytes(BASE + off));
    }
    expect(slot.read(BASE + 0x1ff8n, 8)).toBe(viaBytes(BASE + 0x1ff8n));
    expect(slot.read(BASE + 0x3ff8n, 8)).toBe(0n);
    expect(() => slot.read(BASE + (8n << 20n), 8)).toThrow(HostError);
    // read64: the same words, unaligned ones through the byte path, null outside the slot.
    for (let off = 0n; off < 0x4000n; off += 0x1f5n) expect(slot.read64(BASE + off)).toBe(viaBytes(BASE + off));
    expect(slot.read64(BASE - 8n)).toBeNull();
    expect(slot.read64(BASE - 4n)).toBeNull();
    expect(slot.read64(BASE + (8n << 20n) - 8n)).toBe(0n);
    expect(slot.read64(BASE + (8n << 20n) - 4n)).toBeNull();
    expect(slot.read64(BASE + (8n << 20n))).toBeNull();
  });

  it("keeps image data written before any page is resident and hands it over at fault-in", () => {
    const { mem, pool, slot } = setup();
    slot.writeBytes(BASE + 0x1ffen, bytes(1, 2, 3, 4)); // straddles two pages
    expect(slot.readBytes(BASE + 0x1ffen, 4)).toEqual(bytes(1, 2, 3, 4));
    expect(slot.read(BASE + 0x3000n, 8)).toBe(0n); // never written: zero
    expect(pool.used).toBe(0);

    const b = slot.faultIn(BASE + 0x1000n + 0x123n, false);
    expect(b.ipa).toBe(BASE + 0x1000n);
    expect(b.size).toBe(SZ_4K);
    expect(pool.used).toBe(1);
    expect(mem.readBytes(Number(b.pa) + 0xffe, 2)).toEqual(bytes(1, 2));
    // The other half is still saved contents, and reads combine both.
    expect(slot.readBytes(BASE + 0x1ffen, 4)).toEqual(bytes(1, 2, 3, 4));
    // Writes go to the host page once resident.
    slot.writeBytes(BASE + 0x1000n, bytes(0xaa));
    expect(mem.read(Number(b.pa), 1)).toBe(0xaan);
    expect(slot.hostPa(BASE + 0x1fffn)).toBe(Number(b.pa));
    // A second fault-in returns the same page.
    expect(slot.faultIn(BASE + 0x1008n, false).pa).toBe(b.pa);
  });

  it("rejects accesses outside the slot", () => {
    const { slot } = setup(1n << 20n);
    expect(() => slot.readBytes(BASE + (1n << 20n) - 2n, 4)).toThrow(HostError);
    expect(() => slot.faultIn(BASE - 0x1000n, false)).toThrow(HostError);
    expect(slot.contains(BASE + (1n << 20n))).toBe(false);
  });

  it("release preserves contents, frees and poisons the host page; the next fault-in gets the data back", () => {
    const { pool, slot } = setup();
    slot.writeBytes(BASE + 0x5010n, bytes(9, 8, 7));
    const first = slot.faultIn(BASE + 0x5000n, false);
    slot.writeBytes(BASE + 0x5020n, bytes(6)); // written while resident
    const freed = slot.release(BASE + 0x5000n, SZ_4K);
    expect(freed).toEqual([Number(first.pa)]);
    expect(pool.isPoisoned(Number(first.pa))).toBe(true);
    expect(pool.used).toBe(0);
    expect(slot.hostPa(BASE + 0x5000n)).toBeNull();
    expect(slot.readBytes(BASE + 0x5010n, 3)).toEqual(bytes(9, 8, 7));
    // Another allocation takes the freed page, so the next fault-in lands elsewhere.
    const other = pool.alloc();
    const again = slot.faultIn(BASE + 0x5000n, false);
    expect(again.pa).not.toBe(first.pa);
    expect(other).toBe(Number(first.pa));
    expect(slot.readBytes(BASE + 0x5010n, 3)).toEqual(bytes(9, 8, 7));
    expect(slot.read(BASE + 0x5020n, 1)).toBe(6n);
  });

  it("backs a 2M region wholly inside the slot with one aligned pool block when blocks are allowed", () => {
    const { pool, slot } = setup();
    slot.writeBytes(BASE + SZ_2M + 0x3000n, bytes(0x42));
    const b = slot.faultIn(BASE + SZ_2M + 0x7000n, true);
    expect(b).toEqual({ ipa: BASE + SZ_2M, size: SZ_2M, pa: b.pa });
    expect(b.pa % SZ_2M).toBe(0n);
    expect(pool.used).toBe(512);
    expect(slot.isBlockBacked(BASE + SZ_2M)).toBe(true);
    expect(slot.hostPa(BASE + SZ_2M + 0x3000n)).toBe(Number(b.pa) + 0x3000);
    expect(slot.read(BASE + SZ_2M + 0x3000n, 1)).toBe(0x42n);
    // Any page of the region resolves to the same block.
    expect(slot.faultIn(BASE + SZ_2M + 0x1ff000n, true).pa).toBe(b.pa);
  });

  it("does not use a block for a region that sticks out of the slot", () => {
    const { slot } = setup(SZ_2M + 0x10_0000n);
    const b = slot.faultIn(BASE + SZ_2M + 0x1000n, true);
    expect(b.size).toBe(SZ_4K);
  });

  it("falls back to 4K pages in a block region after part of it is released", () => {
    const { pool, slot } = setup();
    const b = slot.faultIn(BASE, true);
    slot.writeBytes(BASE + 0x4000n, bytes(5));
    const freed = slot.release(BASE + 0x4000n, SZ_4K);
    expect(freed).toEqual([Number(b.pa) + 0x4000]);
    expect(pool.isPoisoned(Number(b.pa) + 0x4000)).toBe(true);
    expect(pool.used).toBe(511);
    expect(slot.isBlockBacked(BASE)).toBe(false);
    // The rest of the block stays resident where it was.
    expect(slot.hostPa(BASE + 0x5000n)).toBe(Number(b.pa) + 0x5000);
    expect(slot.faultIn(BASE + 0x5000n, true)).toEqual({ ipa: BASE + 0x5000n, size: SZ_4K, pa: b.pa + 0x5000n });
    // The released page comes back as a 4K page with its contents.
    const again = slot.faultIn(BASE + 0x4000n, true);
    expect(again.size).toBe(SZ_4K);
    expect(slot.read(BASE + 0x4000n, 1)).toBe(5n);
  });

  it("uses 4K pages when the pool has no free 2M-aligned run", () => {
    const { slot } = setup(8n << 20n, 600);
    expect(slot.faultIn(BASE, true).size).toBe(SZ_2M);
    expect(slot.faultIn(BASE + SZ_2M, true).size).toBe(SZ_4K);
  });
});

describe("Memslot.read64Halves", () => {
  const halves = (slot: Memslot, ipa: bigint): bigint | null => {
    const out = new Uint32Array(2);
    return slot.read64Halves(Number(ipa), out) ? (BigInt(out[1]!) << 32n) | BigInt(out[0]!) : null;
  };

  it("answers as read64 does, from resident, saved and never-written pages, and outside the slot", () => {
    const { slot } = setup();
    const data = Uint8Array.from({ length: 0x3000 }, (_, i) => (i * 37 + 11) & 0xff);
    slot.writeBytes(BASE, data);
    slot.faultIn(BASE + 0x1000n, false);
    for (let off = 0n; off < 0x4000n; off += 0x1f8n) expect(halves(slot, BASE + off)).toBe(slot.read64(BASE + off));
    expect(halves(slot, BASE - 8n)).toBeNull();
    expect(halves(slot, BASE + (8n << 20n) - 4n)).toBeNull();
  });

  it("sees a page's new contents after the page was released and faulted back in (its cached host page is dropped)", () => {
    const { slot } = setup();
    const word = (v: bigint) => {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setBigUint64(0, v, true);
      return b;
    };
    // Sixteen pages apart: the same entry of the table-page cache.
    const a = BASE + 0x1000n;
    const b = BASE + 0x11000n;
    slot.writeBytes(a, word(0x1111n));
    slot.writeBytes(b, word(0x2222n));
    slot.faultIn(a, false);
    slot.faultIn(b, false);
    expect(halves(slot, b)).toBe(0x2222n);
    expect(halves(slot, a)).toBe(0x1111n); // a's host page is the cached one now
    slot.release(a, SZ_4K);
    slot.writeBytes(a, word(0x3333n));
    expect(halves(slot, a)).toBe(0x3333n);
    slot.faultIn(a, false);
    slot.writeBytes(a, word(0x4444n));
    expect(halves(slot, a)).toBe(0x4444n);
    expect(halves(slot, b)).toBe(0x2222n);
    // b released while cached: its host page is poisoned and must not be read.
    slot.release(b, SZ_4K);
    expect(halves(slot, b)).toBe(0x2222n);
  });
});
