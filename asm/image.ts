// An assembled program: sections with load addresses, the symbol table and the entry point.

export interface Section {
  name: string;
  /** Load address of bytes[0]. */
  base: bigint;
  bytes: Uint8Array;
  /**
   * An ELF segment holding only the ELF headers and notes: gcc's default build-id note, which GNU
   * ld puts at 0x400000 when no linker script places it. Loaders name it when it does not fit.
   */
  headersAndNotes?: boolean;
  /** How many of its first bytes are the ELF file's own headers (a segment from file offset 0). */
  headerBytes?: number;
}

/** What to do about a headers-and-notes segment that is in the way. */
export const BUILD_ID_HINT =
  "it holds only the ELF headers and notes (gcc's .note.gnu.build-id, which GNU ld places at its default 0x400000 " +
  "when no linker script does): link with -Wl,--build-id=none, or with a linker script that places .note.gnu.build-id beside the code";

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
  /** Why `entry` cannot be where the CPU starts (an ELF whose e_entry is in no executable segment). */
  entryProblem?: string;
  /** Where it came from when not assembled: an ELF executable or a raw binary file. */
  format?: "elf" | "raw";
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

/** The whole image moved by `offset`: sections, labels and entry point (constants stay). */
export function relocateImage(image: Image, offset: bigint): Image {
  if (offset === 0n) return image;
  const move = (a: bigint): bigint => BigInt.asUintN(64, a + offset);
  return {
    ...image,
    sections: image.sections.map((s) => ({ ...s, base: move(s.base) })),
    symbols: new Map([...image.symbols].map(([k, v]) => [k, move(v)])),
    entry: move(image.entry),
  };
}

/** An image file (an ELF, a raw binary) that cannot be loaded; the message names the file. */
export class ImageFileError extends Error {
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`${file}: ${reason}`);
    this.name = "ImageFileError";
  }
}
