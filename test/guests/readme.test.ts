// guests/README.md's L1 library tables name only symbols the library defines, in the files named.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../qemu/pairs.ts";

const LIB = join(REPO_ROOT, "guests/l1/lib");
const README = readFileSync(join(REPO_ROOT, "guests/README.md"), "utf8");

/** Whether `file` (in guests/l1/lib) defines `symbol` as a label or a constant. */
function defines(file: string, symbol: string): boolean {
  const text = readFileSync(join(LIB, file), "utf8");
  const name = symbol.replace(/[.$]/g, "\\$&");
  return new RegExp(`^\\s*${name}:|^\\s*\\.equ\\s+${name}\\s*,`, "m").test(text);
}

/** The rows of the markdown tables in the README section under `heading`, as cells. */
function tableRows(heading: string): string[][] {
  const at = README.indexOf(heading);
  expect(at, heading).toBeGreaterThanOrEqual(0);
  const section = README.slice(at, README.indexOf("\n#", at + heading.length));
  return section
    .split("\n")
    .filter((l) => l.startsWith("| `"))
    .map((l) => l.split(/(?<!\\)\|/).slice(1, -1).map((c) => c.trim()));
}

const ticked = (cell: string): string[] => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);

describe("guests/README.md's L1 library contract", () => {
  const rows = tableRows("### The L1 library's contract");

  it("each helper row names symbols defined in every file it lists", () => {
    const helpers = rows.filter((r) => r.length === 5);
    expect(helpers.length).toBeGreaterThan(10);
    for (const [symbolCell, fileCell] of helpers) {
      const files = ticked(fileCell!);
      expect(files.length, symbolCell).toBeGreaterThan(0);
      for (const symbol of ticked(symbolCell!)) {
        for (const file of files) expect(defines(file, symbol), `${symbol} in ${file}`).toBe(true);
      }
    }
  });

  it("each variable row names a variable of data.S (or, for SMP words, smp_data.S or smp_defs.S)", () => {
    const vars = rows.filter((r) => r.length === 2 && !r[0]!.startsWith("`VTCR"));
    expect(vars.length).toBeGreaterThan(3);
    for (const [symbolCell, what] of vars) {
      for (const symbol of ticked(symbolCell!)) expect(defines("data.S", symbol), `${symbol} in data.S`).toBe(true);
      // SMP names mentioned in the description: this_percpu, PC_L2, PC_FAULTS, NUM_ROOTS
      for (const smp of ticked(what!).filter((n) => /^(PC_|NUM_ROOTS|this_percpu)/.test(n))) {
        expect(defines("smp_defs.S", smp) || defines("smp_main.S", smp), smp).toBe(true);
      }
    }
  });

  it("the granule constants are those of defs.S, with TG0's encodings", () => {
    const defs = readFileSync(join(LIB, "defs.S"), "utf8");
    for (const [name, value] of [["VTCR_TG0_4K", "0"], ["VTCR_TG0_64K", "1"], ["VTCR_TG0_16K", "2"]]) {
      expect(defs).toMatch(new RegExp(`\\.equ ${name},\\s+${value} << 14`));
      expect(README).toContain(`\`${name}\` (0b${Number(value).toString(2).padStart(2, "0")})`);
    }
  });
});
