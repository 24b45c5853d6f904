// An image as one raw binary: the bytes from its lowest section's load address to the end of its
// highest, gaps zero-filled (`objcopy -O binary`), for loaders that take a file and an address
// (QEMU's `-device loader,file=…,addr=…,force-raw=on`).

import { hex } from "../emulator/types.ts";
import type { Image } from "./image.ts";

/** Largest raw binary made: sections far apart would make a file of mostly zeros. */
export const RAW_BINARY_MAX_BYTES = 64 << 20;

export interface RawBinary {
  /** Load address of bytes[0]. */
  base: bigint;
  bytes: Uint8Array;
  entry: bigint;
}

/** Why an image cannot be one raw binary. */
export class RawBinaryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RawBinaryError";
  }
}

/** The image's sections laid out at their load addresses relative to the lowest one. */
export function rawBinary(image: Image, maxBytes = RAW_BINARY_MAX_BYTES): RawBinary {
  if (image.sections.length === 0) throw new RawBinaryError(`${image.file}: the image is empty (no section has any bytes)`);
  let base = image.sections[0]!.base;
  let end = base;
  for (const s of image.sections) {
    if (s.base < base) base = s.base;
    const e = s.base + BigInt(s.bytes.length);
    if (e > end) end = e;
  }
  const size = end - base;
  if (size > BigInt(maxBytes)) {
    throw new RawBinaryError(
      `${image.file}: its sections span ${hex(base)}..${hex(end)} (${size} bytes), more than ${maxBytes} bytes of one raw binary; ` +
        "keep the sections together",
    );
  }
  const bytes = new Uint8Array(Number(size));
  for (const s of image.sections) bytes.set(s.bytes, Number(s.base - base));
  return { base, bytes, entry: image.entry };
}
