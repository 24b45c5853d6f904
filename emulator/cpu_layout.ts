// Where one CPU's state lives in the machine's host memory (memory.ts): the register file and the
// fast translation caches are there, not in JS objects, so translated code (jit/) reads and writes
// them with plain loads and stores, and the interpreter sees every change at once.

import { PAGE_SIZE } from "./memory.ts";

/** Host frames per CPU state block. */
export const CPU_STATE_FRAMES = 3;
export const CPU_STATE_BYTES = CPU_STATE_FRAMES * PAGE_SIZE;

/** General registers, 68 slots of 32 bits (reg_slots.ts): slot i as one i64 at OFF_X + 8i. */
export const OFF_X = 0;
/** NZCV as bits 3..0, handed to and from translated code at its entry and exit. */
export const OFF_NZCV = 544;
/** The PC translated code leaves at its exit (i64). */
export const OFF_PC = 552;
/** Fast TLB tags (f64 VA page numbers, -1 empty) for reads, writes and fetches: 256 entries each. */
export const OFF_RTAG = 1024;
export const OFF_WTAG = OFF_RTAG + 2048;
export const OFF_XTAG = OFF_WTAG + 2048;
/** Host byte offsets (i32) of the pages behind the read and write tags. */
export const OFF_ROFF = OFF_XTAG + 2048;
export const OFF_WOFF = OFF_ROFF + 1024;
export const FAST_BITS = 8;
export const FAST_SIZE = 1 << FAST_BITS;
