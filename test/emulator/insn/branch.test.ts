import { describe, expect, test } from "vitest";
import { Cpu } from "../../../emulator/cpu.ts";
import { PhysMemory } from "../../../emulator/memory.ts";
import { rawAssemble, runAsm } from "../../helpers/machine.ts";
import { expectUndefined } from "./undefined.ts";

const BASE = 0x80000n;

async function run(src: string, setup?: (cpu: Cpu) => void, maxSteps?: number): Promise<Cpu> {
  const p = await runAsm(src, { setup: (cpu) => setup?.(cpu), maxSteps });
  expect(p.stop.kind).toBe("brk");
  return p.cpu;
}

const regs =
  (vals: Record<number, bigint>, nzcv?: number) =>
  (cpu: Cpu): void => {
    for (const [n, v] of Object.entries(vals)) cpu.setX(Number(n), BigInt.asUintN(64, v));
    if (nzcv !== undefined) cpu.setNzcv(nzcv);
  };

/** `brk #imm` stop immediate: which exit a program took. */
async function exitTaken(src: string, setup?: (cpu: Cpu) => void): Promise<number> {
  const p = await runAsm(src, { setup: (cpu) => setup?.(cpu) });
  if (p.stop.kind !== "brk") throw new Error(`stopped with ${p.stop.kind}`);
  return p.stop.imm;
}

describe("B/BL", () => {
  test("forward and backward branches, BL links the next instruction", async () => {
    const cpu = await run(
      `b fwd
       brk #1
       back: movz x1, #2
       bl sub
       brk #0
       fwd: movz x0, #1
       b back
       brk #2
       sub: movz x2, #3
       ret`,
    );
    expect(cpu.getX(0)).toBe(1n);
    expect(cpu.getX(1)).toBe(2n);
    expect(cpu.getX(2)).toBe(3n);
    expect(cpu.getX(30)).toBe(BASE + 16n);
    expect(cpu.getPC()).toBe(BASE + 16n);
  });

  test("a loop counts down with SUBS and B.NE", async () => {
    const cpu = await run(
      `movz x0, #1000
       movz x1, #0
       loop: add x1, x1, #3
       subs x0, x0, #1
       b.ne loop
       brk #0`,
    );
    expect(cpu.getX(0)).toBe(0n);
    expect(cpu.getX(1)).toBe(3000n);
    expect(cpu.steps).toBe(2 + 3 * 1000);
  });

  test.each([
    { name: "BL with the largest forward offset carries into the PC's high half", start: 0xffff_fff8, word: 0x95ffffff, off: 0x7fffffc, link: true }, // bl .+0x7fffffc
    { name: "B with the largest backward offset", start: 0x1000_0000, word: 0x16000000, off: -0x800_0000, link: false }, // b .-0x8000000
    { name: "B backwards across a 4 GiB boundary borrows from the high half", start: 0x1_0000_0000, word: 0x17fffffe, off: -8, link: false }, // b .-8
  ])("$name", async ({ start, word, off, link }) => {
    const mem = new PhysMemory({ autoAllocate: true });
    mem.writeBytes(start, new Uint8Array(new Uint32Array([word]).buffer));
    mem.writeBytes(start + off, await rawAssemble("brk #0"));
    const m = new Cpu(mem, { stopOnBrk: true, stopOnUnvectoredEl1: true });
    m.resetTo(BigInt(start));
    expect(m.run(10).kind).toBe("brk");
    expect(m.getPC()).toBe(BigInt(start) + BigInt(off));
    if (link) expect(m.getX(30)).toBe(BigInt(start) + 4n);
  });
});

const CONDS = ["eq", "ne", "cs", "cc", "mi", "pl", "vs", "vc", "hi", "ls", "ge", "lt", "gt", "le", "al", "nv"];

/** Condition table from the Arm ARM (C1.2.4). */
function condRef(cond: number, f: number): boolean {
  const n = (f >> 3) & 1;
  const z = (f >> 2) & 1;
  const c = (f >> 1) & 1;
  const v = f & 1;
  const base = [z === 1, c === 1, n === 1, v === 1, c === 1 && z === 0, n === v, n === v && z === 0, true][cond >> 1]!;
  return cond & 1 && cond !== 15 ? !base : base;
}

describe("B.cond", () => {
  test("all 16 conditions under all 16 flag values", async () => {
    for (let c = 0; c < 16; c++) {
      const bytes = await rawAssemble(`b.${CONDS[c]} taken\nbrk #1\ntaken: brk #2`);
      for (let f = 0; f < 16; f++) {
        const mem = new PhysMemory({ autoAllocate: true });
        mem.writeBytes(0x80000, bytes);
        const cpu = new Cpu(mem, { stopOnBrk: true, stopOnUnvectoredEl1: true });
        cpu.resetTo(BASE);
        cpu.setNzcv(f);
        const stop = cpu.run(10);
        expect(stop.kind === "brk" && stop.imm, `b.${CONDS[c]} nzcv=${f}`).toBe(condRef(c, f) ? 2 : 1);
      }
    }
  });

  test("backward conditional branch", async () => {
    const cpu = await run(
      `movz x0, #5
       back: sub x0, x0, #1
       cmp x0, #2
       b.gt back
       brk #0`,
    );
    expect(cpu.getX(0)).toBe(2n);
  });
});

describe("CBZ/CBNZ", () => {
  test.each([
    ["cbz x0", 0n, true],
    ["cbz x0", 1n << 40n, false],
    ["cbz w0", 1n << 40n, true],
    ["cbz w0", 0x8000_0000n, false],
    ["cbnz x0", 1n << 63n, true],
    ["cbnz x0", 0n, false],
    ["cbnz w0", 0xffff_ffff_0000_0000n, false],
    ["cbnz w0", 1n, true],
    ["cbz xzr", 0n, true],
  ] as const)("%s with x0=%s", async (insn, x0, taken) => {
    expect(await exitTaken(`${insn}, taken\nbrk #1\ntaken: brk #2`, regs({ 0: x0 }))).toBe(taken ? 2 : 1);
  });

  test("backward CBNZ loop", async () => {
    const cpu = await run(`movz x0, #7\nmovz x1, #0\nl: add x1, x1, #1\nsub x0, x0, #1\ncbnz x0, l\nbrk #0`);
    expect(cpu.getX(1)).toBe(7n);
  });
});

describe("TBZ/TBNZ", () => {
  test.each([0, 1, 15, 31, 32, 33, 62, 63])("bit %i", async (bit) => {
    const one = 1n << BigInt(bit);
    const reg = bit < 32 ? "w0" : "x0";
    expect(await exitTaken(`tbz ${reg}, #${bit}, taken\nbrk #1\ntaken: brk #2`, regs({ 0: one }))).toBe(1);
    expect(await exitTaken(`tbz ${reg}, #${bit}, taken\nbrk #1\ntaken: brk #2`, regs({ 0: ~one }))).toBe(2);
    expect(await exitTaken(`tbnz ${reg}, #${bit}, taken\nbrk #1\ntaken: brk #2`, regs({ 0: one }))).toBe(2);
    expect(await exitTaken(`tbnz ${reg}, #${bit}, taken\nbrk #1\ntaken: brk #2`, regs({ 0: ~one }))).toBe(1);
  });

  test("backward TBZ", async () => {
    const cpu = await run(`movz x0, #0\nl: add x0, x0, #1\ntbz x0, #3, l\nbrk #0`);
    expect(cpu.getX(0)).toBe(8n);
  });
});

describe("BR/BLR/RET", () => {
  test("BR and RET through arbitrary registers", async () => {
    const cpu = await run(
      `adr x5, t1
       br x5
       brk #1
       t1: adr x6, t2
       ret x6
       brk #1
       t2: adr x30, t3
       ret
       brk #1
       t3: brk #0`,
    );
    expect(cpu.getPC()).toBe(BASE + 36n);
  });

  test("BLR links PC+4; BLR X30 reads the target before writing X30", async () => {
    const cpu = await run(
      `adr x1, f
       blr x1
       mov x3, x30
       adr x30, g
       blr x30
       brk #0
       f: movz x2, #1
       ret
       g: mov x4, x30
       brk #0`,
    );
    expect(cpu.getX(2)).toBe(1n);
    expect(cpu.getX(3)).toBe(BASE + 8n);
    expect(cpu.getX(4)).toBe(BASE + 20n);
    expect(cpu.getPC()).toBe(BASE + 36n);
  });

  test("BR to a 64-bit address sets both PC halves", async () => {
    const mem = new PhysMemory({ autoAllocate: true });
    mem.writeBytes(0x80000, await rawAssemble("br x0"));
    mem.writeBytes(0x1_0000_2000, await rawAssemble("brk #0"));
    const cpu = new Cpu(mem, { stopOnBrk: true, stopOnUnvectoredEl1: true });
    cpu.resetTo(BASE);
    cpu.setX(0, 0x1_0000_2000n);
    expect(cpu.run(5).kind).toBe("brk");
    expect(cpu.getPC()).toBe(0x1_0000_2000n);
  });
});

describe("unallocated branch encodings are UNDEFINED", () => {
  test.each([
    ["BR with op4 != 0", 0xd61f0001],
    ["BR with op3 != 0 (PAC form)", 0xd61f0c00],
    ["branch register opc=0011", 0xd67f0000],
    ["B.cond with o0=1", 0x54000010],
  ])("%s (%s)", (_name, word) => expectUndefined(word));
});
