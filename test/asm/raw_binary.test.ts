// One raw binary per image: sections at their offsets from the lowest load address, gaps zeroed.

import { describe, expect, it } from "vitest";
import { assemble } from "../../asm/assembler.ts";
import { rawBinary, RawBinaryError } from "../../asm/raw_binary.ts";

describe("rawBinary", () => {
  it("lays sections out at their load addresses from the lowest, with zeros between", async () => {
    const image = await assemble(
      ".section .hi, 0x40100010\n.word 0x22222222\n.section .lo, 0x40100000\nstart: .word 0x11111111\n.entry start\n",
      { base: 0x4010_0000n },
    );
    const raw = rawBinary(image);
    expect(raw.base).toBe(0x4010_0000n);
    expect(raw.entry).toBe(0x4010_0000n);
    expect([...raw.bytes]).toEqual([0x11, 0x11, 0x11, 0x11, ...Array<number>(12).fill(0), 0x22, 0x22, 0x22, 0x22]);
  });

  it("a one-section image is exactly its bytes", async () => {
    const image = await assemble("mov x0, #1\nbrk #0\n", { base: 0x4800_0000n });
    const raw = rawBinary(image);
    expect(raw.base).toBe(0x4800_0000n);
    expect(raw.bytes).toEqual(image.sections[0]!.bytes);
  });

  it("refuses an empty image and sections too far apart, naming the file", async () => {
    const empty = await assemble("// nothing\n", { base: 0n });
    expect(() => rawBinary(empty)).toThrow(RawBinaryError);
    expect(() => rawBinary(empty)).toThrow(/the image is empty/);
    const far = await assemble(".section .a, 0x40000000\n.word 1\n.section .b, 0x80000000\n.word 2\n", { base: 0n });
    expect(() => rawBinary(far, 1 << 20)).toThrow(/sections span 0x40000000\.\.0x80000004 \(1073741828 bytes\), more than 1048576 bytes of one raw binary/);
  });
});
