// Fuzzing the assembler's input: token soup and mutations of the shipped guests. Every input either
// assembles or fails with an AsmError that names file:line:col and quotes that very line; never a
// JavaScript error, never a hang. Mutated programs that assemble also run under `nvlab exec`'s
// machine for a bounded number of steps and end in a stop or a clear error.

import fc from "fast-check";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { assemble } from "../../asm/assembler.ts";
import { AsmError, InputFileError } from "../../asm/errors.ts";
import { execProgram } from "../../cli/exec.ts";
import { UsageError } from "../../cli/errors.ts";
import { FUZZ_SEED, fuzzRuns, Tally } from "./tally.ts";
import { applyEdits, EDGE_NUMBERS, editArb, expectUserMessage, withinWallTime } from "./mutate.ts";

const REPO = resolve(import.meta.dirname, "../..");

/** Every shipped source, top-level guests and their libraries, as [path, text]. */
function shippedSources(): [string, string][] {
  const out: [string, string][] = [];
  for (const dir of ["guests/demo", "guests/l1", "guests/l2", "guests/bad", "guests/l1/lib", "guests/l2/lib", "guests/bad/lib"]) {
    for (const f of readdirSync(join(REPO, dir)).filter((n) => n.endsWith(".S")).sort()) {
      const path = join(REPO, dir, f);
      out.push([path, readFileSync(path, "utf8")]);
    }
  }
  return out;
}

const SOURCES = shippedSources();

const MNEMONICS = [
  "mov", "movz", "movk", "add", "sub", "subs", "cmp", "b", "bl", "br", "ret", "cbz", "cbnz", "b.ne", "b.eq", "adr", "adrp",
  "ldr", "str", "ldrb", "strb", "ldp", "stp", "msr", "mrs", "tlbi", "dsb", "isb", "eret", "hvc", "smc", "svc", "brk", "wfi",
  "nop", "at", "dc", "ic", "mov64", "mov32", "and", "orr", "lsl", "ubfx", "bfi", "tbz", "tbnz", "csel", "ldxr", "stxr",
];
const DIRECTIVES = [
  ".equ", ".set", ".quad", ".word", ".hword", ".byte", ".ascii", ".asciz", ".string", ".space", ".fill", ".balign", ".align",
  ".p2align", ".org", ".section", ".text", ".data", ".global", ".include", ".inst", ".if", ".endif", ".macro", ".rept",
];
const OPERANDS = [
  "x0", "x1", "w2", "x30", "xzr", "wzr", "sp", "x31", "w32", "x99", "v0", "q1", "#0", "#1", "#-1", "#4096", "#0x10000",
  "[x0]", "[x1, #8]", "[x2], #16", "[sp, #-16]!", "lsl #12", "lsl #64", "hcr_el2", "vttbr_el2", "SCTLR_EL1", "s3_4_c1_c1_0",
  "ipas2e1is", "vmalls12e1is", "daifset", "ish", "1f", "1b", "2f", "9b", "label", "l2_entry", "start", "message", "UART",
  ".", ". + 4", "'A'", "'\\n'", '"str"', '"unterminated', "\\x41",
];
const PUNCT = ["$", "@", ",", ":", ";", "//", "/*", "*/", "(", ")", "((((", "))))", "[", "]", "!", "#", "=", "+", "-", "*", "/", "%", "<<", ">>", "~", "&", "|", "^", "\n", "\t", "\0", "\u00e9", "\ud83d"];

const TOKEN = fc.oneof(
  fc.constantFrom(...MNEMONICS),
  fc.constantFrom(...DIRECTIVES),
  fc.constantFrom(...OPERANDS),
  fc.constantFrom(...PUNCT),
  fc.constantFrom(...EDGE_NUMBERS),
  fc.constantFrom(...EDGE_NUMBERS).map((n) => "#" + n),
  fc.constantFrom("(".repeat(300) + "1" + ")".repeat(300), "-".repeat(400) + "1", "~".repeat(400) + "0", "x".repeat(5000)),
);

/** A line of soup: a label maybe, then a mnemonic or directive and a few operands or anything. */
const SOUP_LINE = fc
  .tuple(fc.option(fc.constantFrom("l:", "1:", "start:", ".L0:", "x0:", "a b:")), fc.array(TOKEN, { maxLength: 8 }), fc.constantFrom(" ", ", ", ""))
  .map(([label, toks, sep]) => (label ? label + " " : "") + toks.join(sep));
const SOUP = fc.array(SOUP_LINE, { minLength: 1, maxLength: 12 }).map((ls) => ls.join("\n"));

/** Bound per input: the largest shipped guest assembles in well under a second. */
const WALL_MS = 10_000;

/**
 * Assemble and judge: "ok", or "asm-error" when the error names a position inside the input and
 * quotes the line at that position. Anything else fails the property.
 */
async function judgeAssembly(text: string, file: string, tally: Tally): Promise<void> {
  const outcome = await withinWallTime(`assembling ${basename(file)}`, WALL_MS, async () => {
    try {
      await assemble(text, { file });
      return "ok";
    } catch (e) {
      if (!(e instanceof AsmError)) throw e;
      checkAsmError(e, text, file);
      return "asm-error";
    }
  });
  tally.count(outcome);
}

function checkAsmError(e: AsmError, text: string, file: string): void {
  expectUserMessage(e.message, "AsmError message");
  expect(e.line, e.message).toBeGreaterThanOrEqual(1);
  expect(e.col, e.message).toBeGreaterThanOrEqual(1);
  // The quoted line is the named file's line (an error inside an .include names the included file).
  const lines = (e.file === file ? text : readFileSync(e.file, "utf8")).split(/\r?\n/);
  expect(e.line, e.message).toBeLessThanOrEqual(Math.max(1, lines.length));
  expect(e.sourceLine, e.message).toBe(lines[e.line - 1] ?? "");
  // A control character quoted raw would garble the terminal the message is printed on.
  expect(e.reason, e.message).not.toMatch(/[\x00-\x08\x0a-\x1f\x7f]/);
  expect(e.col, e.message).toBeLessThanOrEqual(e.sourceLine.length + 1);
}

describe("fuzz: assembler input", () => {
  it("token soup: a result or an AsmError naming file:line:col and the line", async () => {
    const tally = new Tally();
    await fc.assert(
      fc.asyncProperty(SOUP, async (text) => judgeAssembly(text, join(REPO, "soup.S"), tally)),
      { seed: FUZZ_SEED, numRuns: fuzzRuns(800) },
    );
    tally.report("assembler:soup");
  });

  it("mutations of the shipped guests: a result or an AsmError naming file:line:col and the line", async () => {
    const tally = new Tally();
    const edits = editArb(TOKEN);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...SOURCES), fc.array(edits, { minLength: 1, maxLength: 4 }), async ([path, text], es) =>
        judgeAssembly(applyEdits(text, es), path, tally),
      ),
      { seed: FUZZ_SEED, numRuns: fuzzRuns(800) },
    );
    tally.report("assembler");
  });
});

/** Guests small enough to run flat under exec: the demo and the L2s (they stop at their first hvc). */
const EXEC_SOURCES = SOURCES.filter(([p]) => /guests\/(demo|l2|bad)\/[^/]+\.S$/.test(p));
const EXEC_STEPS = 20_000;

describe("fuzz: assembler through nvlab exec", () => {
  const tmp = mkdtempSync(join(tmpdir(), "nvlab-fuzz-exec-"));
  // `.include "lib/x.S"` resolves against the mutated file's directory: give it the real libraries.
  for (const d of ["demo", "l2", "bad"]) {
    mkdirSync(join(tmp, d));
    symlinkSync(join(REPO, "guests", d, "lib"), join(tmp, d, "lib"));
  }

  it("a mutated program that assembles runs to a stop or a clear error within its step bound", async () => {
    const tally = new Tally();
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...EXEC_SOURCES),
        fc.array(editArb(fc.constantFrom(...MNEMONICS, ...OPERANDS, ...EDGE_NUMBERS)), { minLength: 1, maxLength: 3 }),
        async ([path, text], es) => {
          const file = join(tmp, basename(dirname(path)), `m${n++}.S`);
          writeFileSync(file, applyEdits(text, es));
          const outcome = await withinWallTime(`exec ${file}`, WALL_MS, async () => {
            try {
              const r = await execProgram({ file, maxSteps: EXEC_STEPS });
              expect(r.steps).toBeLessThanOrEqual(EXEC_STEPS);
              expect(r.stop.message, "stop message").toBeTruthy();
              expectUserMessage(r.stop.message, "stop message");
              return `stop:${r.stop.kind}`;
            } catch (e) {
              if (e instanceof AsmError) return "asm-error";
              if (e instanceof UsageError || e instanceof InputFileError) {
                expectUserMessage(e.message, "usage error");
                return "usage-error";
              }
              throw e;
            }
          });
          tally.count(outcome);
        },
      ),
      { seed: FUZZ_SEED, numRuns: fuzzRuns(300) },
    );
    tally.report("assembler:exec");
  });
});
