// The translated engine against the interpreter on programs built to hit the translator's edges:
// hot loops, budgets that end inside blocks, self-modifying code, faults in the middle of a block,
// unaligned and page-crossing accesses, exits to EL2 and a code cache too small to hold anything.

import { describe, expect, it, vi } from "vitest";
import { assemble } from "../../../asm/assembler.ts";
import { loadImage } from "../../../asm/image.ts";
import { Cpu, type Stop } from "../../../emulator/cpu.ts";
import type { Engine } from "../../../emulator/engine.ts";
import { defaultHotThreshold, type JitOptions } from "../../../emulator/jit/cache.ts";
import { PhysMemory } from "../../../emulator/memory.ts";

const BASE = 0x8_0000n;

interface Run {
  cpu: Cpu;
  mem: PhysMemory;
  stops: Stop[];
}

async function machine(source: string, engine: Engine, jit: JitOptions = { hot: 1 }, autoAllocate = true): Promise<{ cpu: Cpu; mem: PhysMemory }> {
  const image = await assemble(source, { base: BASE });
  const mem = new PhysMemory({ autoAllocate });
  if (!autoAllocate) mem.addRam(0x8_0000n as never, 0x10_0000);
  loadImage(image, (b, s) => mem.writeBytes(Number(b), s.bytes));
  const cpu = new Cpu(mem, { stopOnBrk: true, stopOnUnvectoredEl1: true, engine, jit });
  cpu.resetTo(BASE);
  return { cpu, mem };
}

/** Run with the given budgets in turn (the last repeats) until a stop other than the budget. */
async function run(source: string, engine: Engine, budgets: number[], jit?: JitOptions, autoAllocate = true): Promise<Run> {
  const { cpu, mem } = await machine(source, engine, jit, autoAllocate);
  const stops: Stop[] = [];
  for (let i = 0; i < 100_000; i++) {
    const stop = cpu.run(budgets[Math.min(i, budgets.length - 1)]!);
    stops.push(stop);
    if (stop.kind !== "budget") break;
    // What the budget boundary sees must match too.
  }
  return { cpu, mem, stops };
}

function state(r: Run): unknown {
  const c = r.cpu;
  return {
    x: Array.from({ length: 33 }, (_, i) => c.getX(i)),
    pc: c.getPC(),
    nzcv: c.nzcv(),
    el: c.el,
    steps: c.steps,
    esr: c.sr.ESR_EL1,
    far: c.sr.FAR_EL1,
    elr: c.sr.ELR_EL1,
    data: Array.from(r.mem.readBytes(0x9_0000, 0x2010)),
    code: Array.from(r.mem.readBytes(Number(BASE), 0x100)),
  };
}

const show = (v: unknown): string => JSON.stringify(v, (_, x) => (typeof x === "bigint" ? "0x" + x.toString(16) : x));

async function agree(source: string, budgets: number[], jit?: JitOptions, autoAllocate = true): Promise<Run> {
  const a = await run(source, "interp", budgets, undefined, autoAllocate);
  const b = await run(source, "jit", budgets, jit, autoAllocate);
  expect(show(b.stops)).toBe(show(a.stops));
  expect(show(state(b))).toBe(show(state(a)));
  return b;
}

const LOOP = `
  mov x0, #200
  mov x10, #0x90000
  mov x1, #0
1:
  add x1, x1, x0
  eor x2, x1, x0, lsl #3
  ldr x3, [x10, x1, lsl #3]
  add x3, x3, x2
  and x1, x1, #0x3ff
  str x3, [x10, x1, lsl #3]
  stp x1, x2, [x10, #16]!
  ldp x4, x5, [x10], #-16
  subs x0, x0, #1
  b.ne 1b
  brk #0
`;

describe("translated engine: same results as the interpreter", () => {
  it("runs a hot loop in translated code with the interpreter's state and count", async () => {
    const r = await agree(LOOP, [1_000_000]);
    const s = r.cpu.jitStats()!;
    expect(s.compiles).toBeGreaterThan(0);
    expect(s.jitInstructions).toBeGreaterThan(r.cpu.steps * 0.9);
    expect(s.cacheBytes).toBeGreaterThan(0);
  });

  it("stops at every budget exactly, also inside blocks", async () => {
    for (const budgets of [[1], [3], [7], [13, 5, 1], [29]]) await agree(LOOP, budgets);
  });

  it("sees code rewritten by a store, also code it has already translated", async () => {
    // After 10 iterations the loop patches its own `add x5, x5, #1` into `add x5, x5, #2`; every
    // iteration also stores to a data word in the same page (so the page is in the write TLB).
    const r = await agree(
      `
  mov x0, #30
  adr x9, 2f
  adr x7, 5f
  ldr w8, 3f
1:
2:
  add x5, x5, #1
  str x0, [x7]
  cmp x0, #20
  b.ne 4f
  str w8, [x9]
4:
  subs x0, x0, #1
  b.ne 1b
  brk #0
3:
  add x5, x5, #2
  .balign 8
5:
  .quad 0
`,
      [1_000_000],
    );
    // Iterations x0 = 30..20 add 1 (the one at 20 patches after its add), the 19 after add 2.
    expect(r.cpu.getX(5)).toBe(11n + 2n * 19n);
    expect(r.cpu.jitStats()!.compiles).toBeGreaterThan(1);
  });

  it("takes a fault in the middle of a block at the faulting instruction", async () => {
    // Nothing backs 0x4000_0000 (the machine has no auto-allocated RAM): the load is an external abort.
    const r = await agree(
      `
  mov x1, #1
  mov x2, #2
  mov x3, #0x40000000
  add x1, x1, x2
  ldr x4, [x3]
  add x1, x1, #5
  brk #0
`,
      [1_000_000],
      { hot: 1 },
      false,
    );
    expect(r.stops.at(-1)!.kind).toBe("el1-exception");
    expect(r.cpu.sr.ELR_EL1).toBe(BASE + 16n);
    expect(r.cpu.getX(1)).toBe(3n);
  });

  it("does unaligned and page-crossing accesses through the interpreter's path", async () => {
    await agree(
      `
  mov x10, #0x90000
  add x11, x10, #0xffc
  movz x1, #0x1122, lsl #48
  movk x1, #0x3344, lsl #32
  movk x1, #0x5566, lsl #16
  movk x1, #0x7788
  mov x0, #50
1:
  str x1, [x11]
  ldr x2, [x11]
  ldr w3, [x10, #1]
  add x1, x1, x2, lsr #7
  sub x12, x11, #4
  stp x1, x2, [x12]
  ldp x5, x6, [x12]
  subs x0, x0, #1
  b.ne 1b
  brk #0
`,
      [1_000_000],
    );
  });

  it("leaves the loop for an exit to EL2 and comes back into translated code", async () => {
    const source = `
  mov x0, #20
1:
  add x1, x1, #3
  hvc #0
  add x2, x2, x1
  subs x0, x0, #1
  b.ne 1b
  brk #0
`;
    const interp = await machine(source, "interp");
    const jit = await machine(source, "jit");
    const exits: string[][] = [[], []];
    // Instructions the JIT's dispatcher left to the interpreter, at each exit.
    const interpreted: number[] = [];
    for (const [i, m] of [interp, jit].entries()) {
      for (;;) {
        const s = m.cpu.run(1_000_000);
        if (m === jit) interpreted.push(m.cpu.steps - m.cpu.jitStats()!.jitInstructions);
        if (s.kind !== "exit") break;
        exits[i]!.push(show(s.exit));
        m.cpu.eretFromEl2();
      }
    }
    expect(exits[1]).toEqual(exits[0]);
    expect(exits[1]!.length).toBe(20);
    expect(jit.cpu.getX(2)).toBe(interp.cpu.getX(2));
    expect(jit.cpu.steps).toBe(interp.cpu.steps);
    // Only the first block, run before the page was decoded, was interpreted: every HVC after it
    // (and the final BRK) ran from the unit, not from a dispatcher pass.
    expect(interpreted[0]).toBe(3);
    expect(new Set(interpreted)).toEqual(new Set([3]));
  });

  it("keeps working with a code cache too small for one unit (every unit evicted)", async () => {
    const r = await agree(LOOP, [1_000_000], { hot: 1, cacheBytes: 1 });
    expect(r.cpu.jitStats()!.evictions).toBeGreaterThan(0);
    expect(r.cpu.jitStats()!.cacheBytes).toBeLessThanOrEqual(1);
  });

  it("reports no translator counters under the interpreter", async () => {
    const { cpu } = await machine(LOOP, "interp");
    expect(cpu.jitStats()).toBeNull();
  });

  it("takes its threshold from NVLAB_JIT_HOT and refuses anything but a positive integer by name", () => {
    vi.stubEnv("NVLAB_JIT_HOT", "");
    expect(defaultHotThreshold()).toBe(16);
    vi.stubEnv("NVLAB_JIT_HOT", "3");
    expect(defaultHotThreshold()).toBe(3);
    for (const bad of ["0", "-2", "1.5", "hot"]) {
      vi.stubEnv("NVLAB_JIT_HOT", bad);
      expect(() => defaultHotThreshold()).toThrow(`NVLAB_JIT_HOT=${bad}: expected a positive integer`);
    }
    vi.unstubAllEnvs();
  });
});
