// The vector FP rows assemble and disassemble: for random words of every row of the vector FP
// tables, capstone's text assembles (embedded keystone) back to the very same word.

import { beforeAll, describe, expect, it } from "vitest";
import { assemble } from "../../../asm/assembler.ts";
import { disassemble, loadDisassembler } from "../../../asm/disassembler.ts";
import { SIMD_FP_TABLE } from "../../../emulator/insn/simd_fp.ts";
import { SIMD_FP_ELEM_TABLE } from "../../../emulator/insn/simd_fp_elem.ts";
import { SIMD_FP_FIXED_TABLE } from "../../../emulator/insn/simd_fp_fixed.ts";
import { SIMD_FP_MISC_TABLE } from "../../../emulator/insn/simd_fp_misc.ts";
import { Rng } from "../../oracle/gen.ts";
import { FP_ROW_NAMES, randomFpWord } from "./fp_gen.ts";

const ROWS = [...SIMD_FP_TABLE, ...SIMD_FP_MISC_TABLE, ...SIMD_FP_ELEM_TABLE, ...SIMD_FP_FIXED_TABLE].map((e) => e.name);
const PER_ROW = 6;

describe("vector FP rows: capstone text assembles back to the same word", () => {
  beforeAll(loadDisassembler);

  it(`${ROWS.length} rows x ${PER_ROW} words round-trip`, async () => {
    const rng = new Rng(0x5f0, 1);
    const words: number[] = [];
    for (const name of ROWS) {
      const row = FP_ROW_NAMES.indexOf(name);
      expect(row, name).toBeGreaterThanOrEqual(0);
      for (let i = 0; i < PER_ROW; i++) words.push(randomFpWord(rng, 0, row));
    }
    const texts = words.map((w) => disassemble(w, 0n).text);
    expect(texts.filter((t) => t.startsWith(".word"))).toEqual([]);
    const image = await assemble(texts.join("\n") + "\n");
    const bytes = image.sections[0]!.bytes;
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const bad = words.flatMap((w, i) => {
      const back = dv.getUint32(4 * i, true);
      return back === w ? [] : [`${texts[i]}: ${w.toString(16)} -> ${back.toString(16)}`];
    });
    expect(bad).toEqual([]);
  });
});
