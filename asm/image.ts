// An assembled program: sections with load addresses, the symbol table and the entry point.

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

/**
 * Hand every section to `write` at its load address plus `offset` (flat memory for `nvlab exec`,
 * L1's RAM through the memslots for a VM). Returns the entry point at its final address.
 */
export function loadImage(image: Image, write: (base: bigint, section: Section) => void, offset = 0n): bigint {
  for (const s of image.sections) write(s.base + offset, s);
  return image.entry + offset;
}

/** The load address of the image's lowest section. */
export function lowestBase(image: Image): bigint {
  return image.sections.reduce((m, s) => (s.base < m ? s.base : m), image.sections[0]!.base);
}

/** The section holding `address`, if any. */
export function sectionAt(image: Image, address: bigint): Section | undefined {
  return image.sections.find((s) => address >= s.base && address < s.base + BigInt(s.bytes.length));
}
