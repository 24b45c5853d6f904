// Reading assembled images in tests: the first section, and its bytes as little-endian words.

import type { Image, Section } from "../../asm/image.ts";
import { itemAt } from "../../emulator/item_at.ts";

export function firstSection(img: Image): Section {
  return itemAt(img.sections, 0, "section");
}

export function words(bytes: Uint8Array): number[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Array.from({ length: bytes.length >> 2 }, (_, i) => dv.getUint32(i * 4, true));
}

/** The `i`th little-endian word of `bytes`. */
export function wordAt(bytes: Uint8Array, i: number): number {
  return itemAt(words(bytes), i, "word");
}
