// Which SIMD&FP instructions of a compiled image nvlab's decoder does not know yet (they execute as
// UNDEFINED), by mnemonic and operand shape (`fmla 4s,4s,s`: arrangements, scalar register
// kinds, `#` for an immediate, `M` for a memory operand). The disassembly is binutils' objdump.
// Run as a script for a report: `npx tsx test/programs/undecoded.ts ELF...`.

import { execFileSync } from "node:child_process";
import { Decoder } from "../../emulator/decode.ts";
import { A64_TABLE } from "../../emulator/insn/table.ts";

const decoder = new Decoder(A64_TABLE, () => {
  throw new Error("unreachable: only match() is used");
});

/** An instruction line of `objdump -d`: address, the word, mnemonic, operands (data lines have no tab-separated mnemonic). */
const INSN = /^\s+[0-9a-f]+:\t([0-9a-f]{8}) \t([a-z][a-z0-9.]*)\t?([^/<]*)/;
const FP_OPERAND = /\b(v\d+(\.\d*[bhsdq])?|[qdshb]\d+)\b|\bfp[sc]r\b/;

/** `ldr q0, [x1, #16]` -> `ldr q,M`; `fmla v0.4s, v1.4s, v2.s[1]` -> `fmla 4s,4s,s`. */
export function operandShape(mnemonic: string, operands: string): string {
  const shapes = operands
    .replace(/\[.*?\]!?/g, "M")
    .split(",")
    .map((t) => t.trim())
    .filter((t) => t !== "")
    .map((t) => {
      const v = /^\{?v\d+\.(\d*[bhsdq])/.exec(t);
      if (v) return v[1]!;
      const r = /^([qdshbxw])(\d+|zr)$/.exec(t);
      if (r) return r[1]!;
      if (t.startsWith("#")) return "#";
      return t.replace(/\d+/g, "");
    });
  return `${mnemonic} ${shapes.join(",")}`.trim();
}

export interface SimdFpCensus {
  /** SIMD&FP instructions in the image. */
  total: number;
  /** Those nvlab does not decode, counted by shape. */
  undecoded: Map<string, number>;
}

export function simdFpCensus(elf: string): SimdFpCensus {
  const text = execFileSync("aarch64-linux-gnu-objdump", ["-d", elf], { encoding: "utf8", maxBuffer: 1 << 28 });
  const undecoded = new Map<string, number>();
  let total = 0;
  for (const line of text.split("\n")) {
    const m = INSN.exec(line);
    if (m === null) continue;
    const [, hex, mnemonic, operands] = m as unknown as [string, string, string, string];
    if (!FP_OPERAND.test(operands) && !mnemonic.startsWith("f")) continue;
    total++;
    if (decoder.match(parseInt(hex, 16)) !== null) continue;
    const shape = operandShape(mnemonic, operands);
    undecoded.set(shape, (undecoded.get(shape) ?? 0) + 1);
  }
  return { total, undecoded };
}

if (process.argv[1]?.endsWith("undecoded.ts")) {
  for (const elf of process.argv.slice(2)) {
    const c = simdFpCensus(elf);
    const list = [...c.undecoded].sort().map(([k, n]) => `${k} ${n}`);
    console.log(`${elf}: ${c.total} SIMD&FP instructions, ${c.undecoded.size} kinds not decoded${list.length ? `: ${list.join(" | ")}` : ""}`);
  }
}
