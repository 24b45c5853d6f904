// Shared helpers of the load/store tests: run a snippet on the flat test machine and inspect how it
// ended (its final `brk #0`, or an exception taken to EL1).

import { expect } from "vitest";
import type { Cpu } from "../../../emulator/cpu.ts";
import { ecOf, issOf } from "../../../emulator/exception.ts";
import type { PhysMemory } from "../../../emulator/memory.ts";
import { type Program, runAsm } from "../../helpers/machine.ts";

export const BASE = 0x80000;
/** Where tests keep their data (flat, auto-allocated memory). */
export const DATA = 0x10000;
export const MASK64 = (1n << 64n) - 1n;

export type Setup = (cpu: Cpu, mem: PhysMemory) => void;

/** Run `code` followed by `brk #0`, then `data` (literal pools, words that must not execute). */
export async function run(code: string, setup?: Setup, data = ""): Promise<Program> {
  return runAsm(`${code}\nbrk #0\n${data}`, { setup });
}

/** Address of the `brk #0` that ends the code of `run` (code is `n` instructions long). */
export const endOf = (n: number): bigint => BigInt(BASE + 4 * n);

/** The program ran to its final `brk #0` at `end`. */
export function expectCompleted(p: Program, end: bigint): void {
  expect(p.stop).toMatchObject({ kind: "brk", pc: end });
}

export interface TakenException {
  ec: number;
  iss: number;
  far: bigint;
  elr: bigint;
}

/** The run stopped on a synchronous exception to EL1 (no vector table installed). */
export function exceptionOf(p: Program): TakenException {
  expect(p.stop.kind).toBe("el1-exception");
  if (p.stop.kind !== "el1-exception") throw new Error("no exception");
  return { ec: ecOf(p.stop.esr), iss: issOf(p.stop.esr), far: p.stop.far, elr: p.stop.elr };
}

/** Seed registers: index → value (bigint, taken modulo 2^64). */
export function setRegs(cpu: Cpu, regs: Record<number, bigint>): void {
  for (const [n, v] of Object.entries(regs)) cpu.setX(Number(n), BigInt.asUintN(64, v));
}

/** Fill [pa, pa+len) with one byte value. */
export function fill(mem: PhysMemory, pa: number, len: number, byte: number): void {
  mem.writeBytes(pa, new Uint8Array(len).fill(byte));
}

export const hexBytes = (b: Uint8Array): string => Buffer.from(b).toString("hex");
