// The FP/SIMD CPU loop of `npm run bench:cpu`: vector integer arithmetic on a table of 128-bit
// entries (LD1/ST1, ADD, EOR, SHL, USHR, ADDV, UMOV) beside scalar double-precision arithmetic and
// conversions (FADD, FMADD, SCVTF, FMUL, FCVTZS), the mix compiled C gives a vectorised loop with a
// floating-point accumulator. One timed run on nvlab (EL1, MMU off, FP enabled by CPACR_EL1) or on
// unicorn-engine, with what it left behind so the engines can be checked against each other.

import { Cpu } from "../../emulator/cpu.ts";
import { PhysMemory } from "../../emulator/memory.ts";
import { Unicorn } from "../../lab/oracle/unicorn.ts";
import { BRK0, CODE, type Outcome, TABLE, timedRunToBrk } from "./cpu_loop.ts";

/** 256 entries of 16 bytes. */
const TABLE_BYTES = 4096;

// x0 = iteration count, x10 = table base; every other register starts at 0.
const PROLOGUE = [
  0x1e6f1006, // fmov d6, #1.5
  0x1e6c1007, // fmov d7, #0.5
];

export const FP_LOOP = [
  0x8b0b114c, // loop: add  x12, x10, x11, lsl #4
  0x4c407980, //       ld1  {v0.4s}, [x12]
  0x4ea08421, //       add  v1.4s, v1.4s, v0.4s
  0x6e211c42, //       eor  v2.16b, v2.16b, v1.16b
  0x4f235443, //       shl  v3.4s, v2.4s, #3
  0x6f790464, //       ushr v4.2d, v3.2d, #7
  0x4c007984, //       st1  {v4.4s}, [x12]
  0x1e6628a5, //       fadd d5, d5, d6
  0x1f4720a8, //       fmadd d8, d5, d7, d8
  0x9e620009, //       scvtf d9, x0
  0x1e67092a, //       fmul d10, d9, d7
  0x9e78014d, //       fcvtzs x13, d10
  0x4eb1b82b, //       addv s11, v1.4s
  0x0e043d6e, //       umov w14, v11.s[0]
  0x8b0e01ef, //       add  x15, x15, x14
  0x9100056b, //       add  x11, x11, #1
  0x92401d6b, //       and  x11, x11, #0xff
  0xf1000400, //       subs x0, x0, #1
  0x54fffdc1, //       b.ne loop
];

const EPILOGUE = [
  0x9e660110, // fmov x16, d8
  0x9e6600b1, // fmov x17, d5
];

const WORDS = [...PROLOGUE, ...FP_LOOP, ...EPILOGUE];
const END = BigInt(CODE + 4 * WORDS.length);
/** Registers compared between the engines: the counters, the FP results moved to x16/x17. */
const REGS = 18;

const instructionsFor = (iterations: number): number => PROLOGUE.length + FP_LOOP.length * iterations + EPILOGUE.length;

function code(): Uint8Array {
  const bytes = new Uint8Array(4 * (WORDS.length + 1));
  const dv = new DataView(bytes.buffer);
  [...WORDS, BRK0].forEach((w, i) => dv.setUint32(4 * i, w, true));
  return bytes;
}

function tableSum(bytes: Uint8Array): bigint {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let s = 0n;
  for (let off = 0; off < TABLE_BYTES; off += 8) s = BigInt.asUintN(64, s + dv.getBigUint64(off, true));
  return s;
}

/** A table with varied lanes, so the vector arithmetic is not all zeros. */
function initialTable(): Uint8Array {
  const t = new Uint8Array(TABLE_BYTES);
  for (let i = 0; i < TABLE_BYTES; i++) t[i] = (i * 37 + 11) & 0xff;
  return t;
}

export function runNvlabFp(iterations: number): Outcome {
  const mem = new PhysMemory({ autoAllocate: true });
  mem.writeBytes(CODE, code());
  mem.writeBytes(TABLE, initialTable());
  const cpu = new Cpu(mem, { stopOnBrk: true });
  cpu.resetTo(BigInt(CODE));
  cpu.writeSysReg("CPACR_EL1", 3n << 20n);
  cpu.setX(0, BigInt(iterations));
  cpu.setX(10, BigInt(TABLE));
  const { seconds, instructions } = timedRunToBrk(cpu, END, "the FP loop's final brk");
  const regs = Array.from({ length: REGS }, (_, i) => cpu.getX(i));
  return { seconds, instructions, regs, tableSum: tableSum(mem.readBytes(TABLE, TABLE_BYTES)) };
}

export function runUnicornFp(iterations: number): Outcome {
  const uc = new Unicorn();
  try {
    uc.memMap(BigInt(CODE), 0x1000);
    uc.memMap(BigInt(TABLE), TABLE_BYTES);
    uc.writeCode(BigInt(CODE), code());
    uc.memWrite(BigInt(TABLE), initialTable());
    for (let i = 0; i <= 30; i++) uc.setX(i, 0n);
    uc.setX(0, BigInt(iterations));
    uc.setX(10, BigInt(TABLE));
    const t0 = process.hrtime.bigint();
    uc.run(BigInt(CODE), END);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const regs = Array.from({ length: REGS }, (_, i) => uc.getX(i));
    return { seconds, instructions: instructionsFor(iterations), regs, tableSum: tableSum(uc.memRead(BigInt(TABLE), TABLE_BYTES)) };
  } finally {
    uc.close();
  }
}

export { instructionsFor as fpLoopInstructions };
