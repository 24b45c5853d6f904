import { describe, expect, it } from "vitest";
import { evalExpr, MAX_EXPR_NESTING, UndefinedSymbolError, type ExprEnv } from "../../asm/expr.ts";
import { assemble } from "../../asm/assembler.ts";
import { AsmError } from "../../asm/errors.ts";

const loc = { file: "f.S", line: 3, col: 10, sourceLine: "" };
const env: ExprEnv = {
  dot: 0x1000n,
  symbol: (n) => ({ A: 5n, big: 0xffff000000000000n } as Record<string, bigint>)[n],
  local: (n, d) => (n === "1" ? (d === "b" ? 0x800n : 0x2000n) : undefined),
};
const ev = (s: string) => evalExpr(s, loc, env);

describe("expressions", () => {
  it("numbers in every base, characters and C precedence", () => {
    expect(ev("0x10 + 0b101 + 12")).toBe(33n);
    expect(ev("1 + 2 * 3 << 1")).toBe(14n);
    expect(ev("(1 + 2) * 3")).toBe(9n);
    expect(ev("0xf0 | 0x0f & 0x3")).toBe(0xf3n);
    expect(ev("~0 & 0xff")).toBe(0xffn);
    expect(ev("-A + 7 % 4 - 9 / 2")).toBe(-6n);
    expect(ev("6 ^ 3")).toBe(5n);
    expect(ev("'a' + '\\n'")).toBe(107n);
    expect(ev("0x1_0000")).toBe(0x10000n);
  });
  it("symbols, `.` and local labels", () => {
    expect(ev(". + A")).toBe(0x1005n);
    expect(ev("big >> 48")).toBe(0xffffn);
    expect(ev("1f - 1b")).toBe(0x1800n);
  });
  it("reports errors at their column", () => {
    const at = (s: string) => {
      try {
        ev(s);
      } catch (e) {
        return [(e as AsmError).col, (e as AsmError).reason, e instanceof UndefinedSymbolError];
      }
      return null;
    };
    expect(at("1 + nope")).toEqual([14, "undefined symbol 'nope'", true]);
    expect(at("4 / (A - 5)")).toEqual([12, "division by zero", false]);
    expect(at("(1 + 2")).toEqual([16, "expected ')'", false]);
    expect(at("1 @ 2")).toEqual([12, "unexpected character '@' in expression", false]);
    expect(at("2f")).toEqual([10, "undefined local label reference '2f' (no '2:' after this statement)", true]);
    expect(at("12abc")).toEqual([10, "bad number '12abc'", false]);
  });
  it("bounds nesting: a deep expression is an error at its column, not a stack overflow", async () => {
    const n = MAX_EXPR_NESTING;
    expect(ev("(".repeat(n) + "1" + ")".repeat(n))).toBe(1n);
    expect(ev("-".repeat(n) + "1")).toBe(1n);
    const deep = (open: string, close: string) => {
      try {
        ev(open.repeat(20_000) + "1" + close.repeat(20_000));
      } catch (e) {
        return e instanceof AsmError ? [e.col, e.reason] : String(e);
      }
      return null;
    };
    const reason = `expression nested more than ${n} deep (parentheses and unary operators)`;
    expect(deep("(", ")")).toEqual([10 + n, reason]);
    expect(deep("~", "")).toEqual([10 + n, reason]);
    // Through the assembler: file, line and the source line for the caret display.
    const source = `nop\n.quad ${"(".repeat(20_000)}1${")".repeat(20_000)}\n`;
    const err = await assemble(source, { file: "deep.S" }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(AsmError);
    expect((err as AsmError).message).toMatch(/^deep\.S:2:\d+: expression nested more than/);
    expect((err as AsmError).sourceLine.startsWith(".quad (((")).toBe(true);
  });
});
