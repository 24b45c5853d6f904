import { describe, expect, it } from "vitest";
import { PhysMemory } from "../../emulator/memory.ts";
import { HostError } from "../../hypervisor/errors.ts";
import { HostPagePool, POISON } from "../../hypervisor/pool.ts";

const BASE = 0x10_0000_0000;
const SZ_2M = 0x20_0000;

function makePool(pages = 2048, base = BASE): { mem: PhysMemory; pool: HostPagePool } {
  const mem = new PhysMemory();
  return { mem, pool: new HostPagePool(mem, base, pages) };
}

describe("HostPagePool", () => {
  it("hands out the lowest free page, zeroed and backed by RAM, and counts it", () => {
    const { mem, pool } = makePool(16);
    expect(pool.total).toBe(16);
    expect(pool.used).toBe(0);
    expect(mem.isRam(BASE)).toBe(false); // backed lazily
    const a = pool.alloc();
    const b = pool.alloc();
    expect([a, b]).toEqual([BASE, BASE + 0x1000]);
    expect(mem.isRam(a)).toBe(true);
    expect(mem.read(b + 0xff8, 8)).toBe(0n);
    expect(pool.used).toBe(2);
    expect(pool.isAllocated(a)).toBe(true);
    expect(pool.isAllocated(BASE + 0x2000)).toBe(false);
  });

  it("a freed page that host memory dropped is backed again when handed out, never reused stale", () => {
    const { mem, pool } = makePool(4);
    const a = pool.alloc();
    pool.free(a);
    mem.removePage(a);
    expect(mem.isRam(a)).toBe(false);
    expect(pool.alloc()).toBe(a);
    expect(mem.isRam(a)).toBe(true);
    mem.write(a + 8, 8, 7n);
    expect(mem.read(a + 8, 8)).toBe(7n);
    pool.free(a);
    expect(mem.read(a + 8, 8)).toBe(POISON);
  });

  it("fills a freed page with POISON, keeps it RAM, and zeroes it when handed out again", () => {
    const { mem, pool } = makePool(16);
    const a = pool.alloc();
    pool.alloc();
    mem.write(a + 0x10, 8, 0x1122334455667788n);
    expect(pool.isPoisoned(a)).toBe(false);
    pool.free(a);
    expect(pool.used).toBe(1);
    expect(mem.isRam(a)).toBe(true);
    for (const off of [0, 0x10, 0x808, 0xff8]) expect(mem.read(a + off, 8)).toBe(POISON);
    expect(mem.read(a + 4, 4)).toBe(0xdeadbeefn);
    expect(pool.isPoisoned(a)).toBe(true);
    // Lowest free first: the freed page comes back before any fresh one.
    expect(pool.alloc()).toBe(a);
    expect(pool.isPoisoned(a)).toBe(false);
    expect(mem.read(a + 0x10, 8)).toBe(0n);
  });

  it("drops decoded instructions cached for a freed page", () => {
    const { mem, pool } = makePool(4);
    const a = pool.alloc();
    const page = mem.page(a)!;
    page.ops = [];
    pool.free(a);
    expect(page.ops).toBeNull();
  });

  it("allocation order is the lowest free page whatever the order of frees", () => {
    const { pool } = makePool(8);
    const pages = Array.from({ length: 6 }, () => pool.alloc());
    pool.free(pages[4]!);
    pool.free(pages[1]!);
    pool.free(pages[3]!);
    expect([pool.alloc(), pool.alloc(), pool.alloc(), pool.alloc()]).toEqual([pages[1], pages[3], pages[4], BASE + 6 * 0x1000]);
  });

  it("a double free, a foreign page and an unaligned address are host errors", () => {
    const { pool } = makePool(8);
    const a = pool.alloc();
    pool.free(a);
    expect(() => pool.free(a)).toThrow(HostError);
    expect(() => pool.free(a)).toThrow(/double free/);
    expect(() => pool.free(BASE + 0x1000)).toThrow(/double free/); // never allocated
    expect(() => pool.free(BASE + 8 * 0x1000)).toThrow(/outside the pool/);
    expect(() => pool.free(0x4000_0000)).toThrow(HostError);
    const b = pool.alloc();
    expect(() => pool.free(b + 8)).toThrow(/unaligned/);
    expect(pool.used).toBe(1);
  });

  it("throws a HostError when exhausted, and recovers after a free", () => {
    const { pool } = makePool(4);
    const got = [pool.alloc(), pool.alloc(), pool.alloc(), pool.alloc()];
    expect(pool.used).toBe(4);
    expect(() => pool.alloc()).toThrow(HostError);
    expect(() => pool.alloc()).toThrow(/exhausted/);
    pool.free(got[2]!);
    expect(pool.alloc()).toBe(got[2]);
    expect(pool.peak).toBe(4);
  });

  it("allocBlock(512) returns a 2M-aligned contiguous zeroed run, skipping fragmented ones", () => {
    const { mem, pool } = makePool(2048); // 8 MiB: four 2M runs
    const first = pool.alloc(); // breaks the first run
    const block = pool.allocBlock(512);
    expect(block).toBe(BASE + SZ_2M);
    expect(block % SZ_2M).toBe(0);
    expect(pool.used).toBe(513);
    for (let i = 0; i < 512; i++) expect(pool.isAllocated(block + i * 0x1000)).toBe(true);
    expect(mem.read(block + SZ_2M - 8, 8)).toBe(0n);
    // Single pages still come from the lowest free slot, below the block.
    expect(pool.alloc()).toBe(first + 0x1000);
    const second = pool.allocBlock(512);
    expect(second).toBe(BASE + 2 * SZ_2M);
    pool.freeBlock(block, 512);
    expect(pool.used).toBe(514);
    expect(pool.isPoisoned(block)).toBe(true);
    expect(pool.isPoisoned(block + SZ_2M - 0x1000)).toBe(true);
    expect(pool.allocBlock(512)).toBe(block);
  });

  it("aligns blocks in absolute host PA even when the pool base is not aligned", () => {
    const base = BASE + 3 * 0x1000;
    const { pool } = makePool(1024, base);
    const block = pool.allocBlock(512);
    expect(block % SZ_2M).toBe(0);
    expect(block).toBe(BASE + SZ_2M);
    // The remaining 509 + 3 pages never form an aligned 2M run.
    expect(() => pool.allocBlock(512)).toThrow(HostError);
    expect(pool.allocBlock(8) % (8 * 0x1000)).toBe(0);
  });

  it("a block request that no aligned free run can satisfy is a HostError even with pages free", () => {
    const { pool } = makePool(1024);
    pool.alloc();
    const mid = pool.allocBlock(512);
    expect(mid).toBe(BASE + SZ_2M);
    expect(pool.available).toBe(511);
    expect(() => pool.allocBlock(512)).toThrow(/no free .*run of 512 pages/);
    expect(() => pool.allocBlock(3)).toThrow(/power of two/);
    expect(pool.used).toBe(513);
  });

  it("single pages of a block may be freed one by one; freeBlock checks every page first", () => {
    const { pool } = makePool(1024);
    const block = pool.allocBlock(512);
    pool.free(block + 5 * 0x1000);
    expect(() => pool.freeBlock(block, 512)).toThrow(/double free/);
    expect(pool.used).toBe(511); // nothing freed by the failed call
    expect(pool.isPoisoned(block)).toBe(false);
    expect(() => pool.freeBlock(block + 1000 * 0x1000, 512)).toThrow(/past the pool/);
  });

  it("rejects a bad geometry", () => {
    const mem = new PhysMemory();
    expect(() => new HostPagePool(mem, BASE + 8, 4)).toThrow(HostError);
    expect(() => new HostPagePool(mem, BASE, 0)).toThrow(HostError);
  });
});
