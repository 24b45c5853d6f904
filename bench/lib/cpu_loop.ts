// The standard CPU loop shared by the CPU benchmarks: its words, and one timed run of it on nvlab's
// interpreter (EL1, MMU off, flat memory) or on unicorn-engine, with what the run left behind so
// both engines can be checked against each other.

import { Cpu } from "../../emulator/cpu.ts";
import type { Engine } from "../../emulator/engine.ts";
import { PhysMemory } from "../../emulator/memory.ts";
import { Unicorn } from "../../lab/oracle/unicorn.ts";

export const CODE = 0x80000;
export const TABLE = 0x200000;
export const TABLE_ENTRIES = 256;

// x0 = iteration count, x10 = table base; every other register starts at 0.
export const LOOP = [
  0x8b000021, // loop: add  x1, x1, x0
  0xd1000c42, //       sub  x2, x2, #3
  0xca010063, //       eor  x3, x3, x1
  0x92009c64, //       and  x4, x3, #0x00ff00ff00ff00ff
  0xd37df025, //       lsl  x5, x1, #3
  0xaa421ca6, //       orr  x6, x5, x2, lsr #7
  0xf86b7947, //       ldr  x7, [x10, x11, lsl #3]
  0x8b0600e7, //       add  x7, x7, x6
  0xf82b7947, //       str  x7, [x10, x11, lsl #3]
  0x9100056b, //       add  x11, x11, #1
  0x92401d6b, //       and  x11, x11, #0xff
  0xf1000400, //       subs x0, x0, #1
  0x54fffe81, //       b.ne loop
];
export const BRK0 = 0xd4200000;
export const END = BigInt(CODE + 4 * LOOP.length);

export function code(): Uint8Array {
  const bytes = new Uint8Array(4 * (LOOP.length + 1));
  const dv = new DataView(bytes.buffer);
  [...LOOP, BRK0].forEach((w, i) => dv.setUint32(4 * i, w, true));
  return bytes;
}

/** What a run leaves behind, to check that both engines computed the same thing. */
export interface Outcome {
  seconds: number;
  instructions: number;
  regs: bigint[];
  tableSum: bigint;
}

export function tableSum(bytes: Uint8Array): bigint {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let s = 0n;
  for (let i = 0; i < TABLE_ENTRIES; i++) s = BigInt.asUintN(64, s + dv.getBigUint64(8 * i, true));
  return s;
}

/** `engine`: the Cpu's engine (default: NVLAB_ENGINE, else the translator). */
export function runNvlab(iterations: number, engine?: Engine): Outcome {
  const mem = new PhysMemory({ autoAllocate: true });
  mem.writeBytes(CODE, code());
  mem.writeBytes(TABLE, new Uint8Array(8 * TABLE_ENTRIES));
  const cpu = new Cpu(mem, { stopOnBrk: true, ...(engine === undefined ? {} : { engine }) });
  cpu.resetTo(BigInt(CODE));
  cpu.setX(0, BigInt(iterations));
  cpu.setX(10, BigInt(TABLE));
  const { seconds, instructions } = timedRunToBrk(cpu, END, "the final brk");
  const regs = Array.from({ length: 12 }, (_, i) => cpu.getX(i));
  return { seconds, instructions, regs, tableSum: tableSum(mem.readBytes(TABLE, 8 * TABLE_ENTRIES)) };
}

/** Run `cpu` until its `brk` at `end` (anything else is an error naming `what`), timed. */
export function timedRunToBrk(cpu: Cpu, end: bigint, what: string): { seconds: number; instructions: number } {
  const before = cpu.steps;
  const t0 = process.hrtime.bigint();
  const stop = cpu.run(Number.MAX_SAFE_INTEGER);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (stop.kind !== "brk" || stop.pc !== end) {
    throw new Error(`nvlab did not reach ${what}: stopped with ${JSON.stringify(stop, (_, v) => (typeof v === "bigint" ? "0x" + v.toString(16) : v))}`);
  }
  return { seconds, instructions: cpu.steps - before };
}

export function runUnicorn(iterations: number): Outcome {
  const uc = new Unicorn();
  try {
    uc.memMap(BigInt(CODE), 0x1000);
    uc.memMap(BigInt(TABLE), 0x1000);
    uc.writeCode(BigInt(CODE), code());
    for (let i = 0; i <= 30; i++) uc.setX(i, 0n);
    uc.setX(0, BigInt(iterations));
    uc.setX(10, BigInt(TABLE));
    const t0 = process.hrtime.bigint();
    uc.run(BigInt(CODE), END);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const regs = Array.from({ length: 12 }, (_, i) => uc.getX(i));
    return { seconds, instructions: LOOP.length * iterations, regs, tableSum: tableSum(uc.memRead(BigInt(TABLE), 8 * TABLE_ENTRIES)) };
  } finally {
    uc.close();
  }
}

export interface Stats {
  median: number;
  min: number;
  max: number;
  runs: number[];
}

export function stats(values: number[]): Stats {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median, min: s[0]!, max: s[s.length - 1]!, runs: values };
}

