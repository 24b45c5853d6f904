// No two rows of the A64 decode table claim the same word (except the hint aliases, whose specific
// row must come first): with rows added by many hands, an overlap would make the table's order, not
// the encoding, decide what an instruction does.

import { describe, expect, it } from "vitest";
import { compilePattern, extractFields, type CompiledEncoding } from "../../../emulator/decode.ts";
import { A64_TABLE } from "../../../emulator/insn/table.ts";
import { Rng } from "../../oracle/gen.ts";

/** Pairs that overlap on purpose: [specific row, general row]; the specific one must be first. */
const ALIASES: readonly (readonly [string, string])[] = [["WFE", "HINT"], ["WFI", "HINT"]];
const WORDS_PER_ROW = 300;

function accepts(r: CompiledEncoding, w: number): boolean {
  if (((w & r.mask) >>> 0) !== r.value) return false;
  const f = extractFields(r, w);
  const e = r.enc;
  if (e.data) Object.assign(f, e.data);
  if (e.format?.prepare && e.format.prepare(f as never, w) === false) return false;
  return !(e.prepare && e.prepare(f as never, w) === false);
}

describe("the A64 decode table", () => {
  const rows = A64_TABLE.map(compilePattern);

  it(`has no two rows accepting the same word (${WORDS_PER_ROW} random words of each of its rows)`, () => {
    const rng = new Rng(0x0ddba11, 0);
    const found = new Set<string>();
    for (const r of rows) {
      for (let i = 0; i < WORDS_PER_ROW; i++) {
        const w = (r.value | (rng.u32() & ~r.mask)) >>> 0;
        if (!accepts(r, w)) continue;
        for (const o of rows) if (o !== r && accepts(o, w)) found.add([r.enc.name, o.enc.name].sort().join(" + "));
      }
    }
    const allowed = new Set(ALIASES.map((p) => [...p].sort().join(" + ")));
    expect([...found].filter((p) => !allowed.has(p))).toEqual([]);
  });

  it("puts each alias row before the general row it narrows", () => {
    const at = (name: string): number => rows.findIndex((r) => r.enc.name === name);
    for (const [specific, general] of ALIASES) {
      expect(at(specific)).toBeGreaterThanOrEqual(0);
      expect(at(specific)).toBeLessThan(at(general));
    }
  });
});
