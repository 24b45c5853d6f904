// Shared check of the instruction-class tests: an unallocated encoding is UNDEFINED, i.e. it takes
// an EC 0x00 exception at its own address (0x80000, where runAsm places the program).

import { expect } from "vitest";
import { runAsm } from "../../helpers/machine.ts";

export async function expectUndefined(word: number): Promise<void> {
  const p = await runAsm(`.word ${word}\nbrk #0`);
  expect(p.stop.kind).toBe("el1-exception");
  if (p.stop.kind !== "el1-exception") return;
  expect(p.stop.esr >> 26n).toBe(0n);
  expect(p.stop.elr).toBe(0x80000n);
}
