// A page's write track (Page.setTrack): every CPU store into the page is reported before it writes,
// with the CPU, PC and VA, on both engines (translated stores leave tracked lines to the
// interpreter); stores elsewhere are not; the track survives invalidation of the page's code and
// goes with setTrack(null).

import { describe, expect, it } from "vitest";
import type { Engine } from "../../emulator/engine.ts";
import { CODE_LINE_SHIFT, CODE_LINE_TRACKED, type Page, type PageWriteTrack, type PhysMemory, type StoreSource } from "../../emulator/memory.ts";
import { runAsm } from "../helpers/machine.ts";

const TRACKED = 0x20_0000;
const OTHER = 0x30_0000;
const LOOPS = 200;

interface Seen {
  off: number;
  size: number;
  cpu: number;
  pc: bigint;
  va: bigint;
  /** The 8 bytes at the store's descriptor when the track was told (before the store). */
  before: bigint;
}

class Recorder implements PageWriteTrack {
  readonly seen: Seen[] = [];
  write(page: Page, off: number, size: number, by: StoreSource | null, vaLo: number, vaHi: number): void {
    if (by === null) return;
    const d = off & ~7;
    this.seen.push({ off, size, cpu: by.index, pc: by.getPC(), va: (BigInt(vaHi) << 32n) | BigInt(vaLo), before: page.dv.getBigUint64(d, true) });
  }
}

// x1 = tracked page, x2 = the other page; x3 counts the iterations (each stores 1, 2, 4, 8 and a
// pair into both pages, so a hot loop is translated under the JIT).
const PROGRAM = `
  mov x3, #0
loop:
  add x3, x3, #1
  strb w3, [x1]
  strh w3, [x1, #8]
  str w3, [x1, #16]
  str x3, [x1, #24]
  stp x3, x3, [x1, #32]
  strb w3, [x2]
  strh w3, [x2, #8]
  str w3, [x2, #16]
  str x3, [x2, #24]
  stp x3, x3, [x2, #32]
  cmp x3, #${LOOPS}
  b.ne loop
  brk #0
`;

async function run(engine: Engine): Promise<{ rec: Recorder; page: Page; mem: PhysMemory; compiles: number }> {
  const rec = new Recorder();
  let page: Page | null = null;
  const r = await runAsm(PROGRAM, {
    cpu: { engine, jit: { hot: 2 } },
    setup: (cpu, mem) => {
      page = mem.page(TRACKED)!;
      mem.page(OTHER);
      page.setTrack(rec);
      cpu.setX(1, BigInt(TRACKED));
      cpu.setX(2, BigInt(OTHER));
    },
  });
  expect(r.stop.kind).toBe("brk");
  return { rec, page: page!, mem: r.mem, compiles: r.cpu.jitStats()?.compiles ?? 0 };
}

describe.each(["interp", "jit"] as const)("a tracked page under %s", (engine) => {
  it("reports every store into it, before it writes, with the CPU, PC and VA; none into the other page", async () => {
    const { rec, compiles } = await run(engine);
    if (engine === "jit") expect(compiles).toBeGreaterThan(0);
    // Five store instructions a loop, the pair as two 8-byte stores.
    expect(rec.seen).toHaveLength(LOOPS * 6);
    const first = rec.seen.slice(0, 6);
    expect(first.map((s) => [s.off, s.size])).toEqual([[0, 1], [8, 2], [16, 4], [24, 8], [32, 8], [40, 8]]);
    expect(first.every((s) => s.cpu === 0 && s.before === 0n)).toBe(true);
    expect(first.map((s) => s.va)).toEqual([0n, 8n, 16n, 24n, 32n, 40n].map((o) => BigInt(TRACKED) + o));
    // The strb is the loop's second instruction (0x80004), each store the next one; the pair's two halves share the stp's PC.
    expect(first.map((s) => s.pc)).toEqual([0x80008n, 0x8000cn, 0x80010n, 0x80014n, 0x80018n, 0x80018n]);
    // Iteration k's 8-byte store is told while iteration k-1's value is still there.
    const x = rec.seen.filter((s) => s.off === 24);
    expect(x.map((s) => s.before)).toEqual(Array.from({ length: LOOPS }, (_, k) => BigInt(k)));
    expect(rec.seen.every((s) => s.va >= BigInt(TRACKED) && s.va < BigInt(TRACKED + 0x1000))).toBe(true);
  });
});

describe("Page.setTrack", () => {
  it("marks the page's lines in the code map; invalidating the page's code keeps them; setTrack(null) clears them", async () => {
    const { rec, page, mem } = await run("interp");
    expect(rec.seen.length).toBeGreaterThan(0);
    const map = mem.codeMap;
    const lines = (): number[] => Array.from(map.subarray(page.off >>> CODE_LINE_SHIFT, (page.off + 0x1000) >>> CODE_LINE_SHIFT));
    expect(lines().every((b) => (b & CODE_LINE_TRACKED) !== 0)).toBe(true);
    expect(page.divert).toBe(true);
    page.invalidate();
    expect(lines().every((b) => b === CODE_LINE_TRACKED)).toBe(true);
    expect(page.divert).toBe(true);
    page.setTrack(null);
    expect(lines().every((b) => b === 0)).toBe(true);
    expect(page.divert).toBe(false);
    // The host's own writes are told with no source.
    page.setTrack(rec);
    const n = rec.seen.length;
    page.written(0, 8);
    expect(rec.seen).toHaveLength(n);
  });
});
