// Every Advanced SIMD integer row of simd_int_table.ts round-trips through the toolchain: random
// words of the row disassemble (capstone) to text that the embedded assembler (keystone) turns
// back into the same word.

import { beforeAll, describe, expect, it } from "vitest";
import { disassemble, loadDisassembler } from "../../../asm/disassembler.ts";
import { ksAssemble, loadKeystoneEngine } from "../../../asm/keystone.ts";
import { SIMD_INT_TABLE } from "../../../emulator/insn/simd_int_table.ts";
import { Rng } from "../../oracle/gen.ts";
import { FP_ROW_NAMES, randomFpWord } from "../fp/fp_gen.ts";

const PER_ROW = 8;

beforeAll(async () => {
  await loadDisassembler();
  await loadKeystoneEngine();
});

describe("Advanced SIMD integer rows assemble and disassemble", () => {
  it(`${SIMD_INT_TABLE.length} rows x ${PER_ROW} words round-trip`, () => {
    const rng = new Rng(0x51d, 0);
    const bad: string[] = [];
    for (const enc of SIMD_INT_TABLE) {
      const row = FP_ROW_NAMES.indexOf(enc.name);
      expect(row, enc.name).toBeGreaterThanOrEqual(0);
      for (let i = 0; i < PER_ROW; i++) {
        const word = randomFpWord(rng, 0, row);
        const text = disassemble(word, 0n).text;
        const back = ksAssemble(text, 0n);
        const got = back.ok && back.bytes.length === 4 ? new DataView(back.bytes.buffer, back.bytes.byteOffset).getUint32(0, true) : null;
        if (text.startsWith(".word")) bad.push(`${enc.name}: ${word.toString(16)} does not disassemble`);
        else if (got !== word) bad.push(`${enc.name}: ${word.toString(16).padStart(8, "0")} "${text}" -> ${got === null ? "error" : got.toString(16).padStart(8, "0")}`);
      }
    }
    expect(bad).toEqual([]);
  });
});
