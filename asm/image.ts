// An assembled program: sections with load addresses, the symbol table and the entry point.

import type { PhysMemory } from "../emulator/memory.ts";
import { pa } from "../emulator/types.ts";

export interface Section {
  name: string;
  /** Load address of bytes[0]. */
  base: bigint;
  bytes: Uint8Array;
}

export interface Image {
  /** Main source file (or the name given to `assemble`). */
  file: string;
  /** Non-empty sections in the order they were first declared. */
  sections: Section[];
  /** Labels (addresses); local numeric labels are not included. */
  symbols: Map<string, bigint>;
  /** `.equ` / `=` constants. */
  constants: Map<string, bigint>;
  entry: bigint;
}

/** Write every section at its load address plus `offset`. */
export function loadImage(mem: PhysMemory, image: Image, offset = 0n): void {
  for (const s of image.sections) mem.writeBytes(pa(s.base + offset), s.bytes);
}

/** The section holding `address`, if any. */
export function sectionAt(image: Image, address: bigint): Section | undefined {
  return image.sections.find((s) => address >= s.base && address < s.base + BigInt(s.bytes.length));
}
