// Integer expressions in operands and directives: numbers, symbols, `.`, local label references
// (`1b`/`1f`), character literals, C operators and precedence. Values are unbounded bigints; users
// of a value decide how it must fit.

import { AsmError, shift, type SourceLoc } from "./errors.ts";

export interface ExprEnv {
  /** Value of a named symbol, or undefined when it is not (yet) defined. */
  symbol(name: string): bigint | undefined;
  /** Address of the current statement (`.`). */
  dot: bigint;
  /** Value of local label `n` searching backwards (`b`) or forwards (`f`). */
  local(n: string, dir: "b" | "f"): bigint | undefined;
}

/** Raised for a symbol that has no value yet; pass 1 uses it to defer `.equ` definitions. */
export class UndefinedSymbolError extends AsmError {
  constructor(
    loc: SourceLoc,
    readonly symbol: string,
    reason = `undefined symbol '${symbol}'`,
  ) {
    super(loc, reason);
  }
}

type Tok =
  | { k: "num"; v: bigint; at: number }
  | { k: "sym"; name: string; at: number }
  | { k: "local"; n: string; dir: "b" | "f"; at: number }
  | { k: "op"; op: string; at: number }
  | { k: "end"; at: number };

const IDENT = /[A-Za-z_.$][\w.$]*/y;
const HEX = /0[xX][0-9a-fA-F_]+/y;
const BIN = /0[bB][01_]+(?![\w.$])/y;
const LOCAL = /(\d+)([bf])(?![\w.$])/y;
const DEC = /\d+(?![\w.$])/y;
const OPS = ["<<", ">>", "+", "-", "*", "/", "%", "&", "|", "^", "~", "(", ")"];
const ESCAPES: Record<string, number> = { n: 10, t: 9, r: 13, "0": 0, "\\": 92, "'": 39, '"': 34, a: 7, b: 8, f: 12, v: 11 };

function sticky(re: RegExp, text: string, i: number): string | null {
  re.lastIndex = i;
  const m = re.exec(text);
  return m ? m[0] : null;
}

/** Characters that end an expression embedded in an operand list. */
const STOP = new Set([",", "]", "!", "}"]);

function tokenize(text: string, start: number, loc: SourceLoc): { toks: Tok[]; end: number } {
  const toks: Tok[] = [];
  let i = start;
  let depth = 0;
  for (;;) {
    while (i < text.length && (text[i] === " " || text[i] === "\t")) i++;
    const c = text[i];
    if (c === undefined || (depth === 0 && STOP.has(c))) break;
    let m: string | null;
    if ((m = sticky(HEX, text, i))) {
      toks.push({ k: "num", v: BigInt(m.replace(/_/g, "")), at: i });
    } else if ((m = sticky(BIN, text, i))) {
      toks.push({ k: "num", v: BigInt(m.replace(/_/g, "")), at: i });
    } else if ((m = sticky(LOCAL, text, i))) {
      toks.push({ k: "local", n: m.slice(0, -1), dir: m.endsWith("b") ? "b" : "f", at: i });
    } else if ((m = sticky(DEC, text, i))) {
      toks.push({ k: "num", v: BigInt(m), at: i });
    } else if (/\d/.test(c)) {
      throw new AsmError(shift(loc, i), `bad number '${text.slice(i).match(/^[\w.$]+/)?.[0] ?? c}'`);
    } else if (c === "'") {
      const { value, len } = charLiteral(text, i, loc);
      toks.push({ k: "num", v: BigInt(value), at: i });
      i += len;
      continue;
    } else if ((m = sticky(IDENT, text, i))) {
      toks.push({ k: "sym", name: m, at: i });
    } else {
      const op = OPS.find((o) => text.startsWith(o, i));
      if (!op) throw new AsmError(shift(loc, i), `unexpected character '${c}' in expression`);
      if (op === "(") depth++;
      if (op === ")") depth--;
      m = op;
      toks.push({ k: "op", op, at: i });
    }
    i += m.length;
  }
  toks.push({ k: "end", at: i });
  return { toks, end: i };
}

function charLiteral(text: string, i: number, loc: SourceLoc): { value: number; len: number } {
  let j = i + 1;
  let value: number;
  if (text[j] === "\\") {
    const e = text[j + 1];
    const escaped = e === undefined ? undefined : ESCAPES[e];
    if (escaped === undefined) throw new AsmError(shift(loc, j), "bad escape in character literal");
    value = escaped;
    j += 2;
  } else {
    if (j >= text.length) throw new AsmError(shift(loc, i), "unterminated character literal");
    value = text.charCodeAt(j);
    j += 1;
  }
  // GNU as also accepts a lone opening quote ('a); take the closing one when present.
  if (text[j] === "'") j++;
  return { value, len: j - i };
}

/**
 * How deeply parentheses and unary operators may nest. The parser recurses once per level; a bound
 * far below the JavaScript stack turns a pathological expression into an error at its position.
 */
export const MAX_EXPR_NESTING = 256;

class Parser {
  private p = 0;
  /** Open parentheses and unary operators around the token being parsed. */
  private nesting = 0;
  constructor(
    private readonly toks: Tok[],
    private readonly loc: SourceLoc,
    private readonly env: ExprEnv,
  ) {}

  /** The current token; the list always ends with an `end` token, which no rule steps over. */
  private peek(): Tok {
    const t = this.toks[this.p];
    if (t === undefined) throw new Error("expression parser: read past the end token");
    return t;
  }

  private next(): Tok {
    const t = this.peek();
    this.p++;
    return t;
  }

  private peekOp(): string | null {
    const t = this.peek();
    return t.k === "op" ? t.op : null;
  }

  private err(t: Tok, msg: string): AsmError {
    return new AsmError(shift(this.loc, t.at), msg);
  }

  parse(): bigint {
    const v = this.binary(0);
    const t = this.peek();
    if (t.k !== "end") throw this.err(t, "unexpected token in expression");
    return v;
  }

  private static readonly LEVELS: string[][] = [["|"], ["^"], ["&"], ["<<", ">>"], ["+", "-"], ["*", "/", "%"]];

  private binary(level: number): bigint {
    const ops = Parser.LEVELS[level];
    if (ops === undefined) return this.unary();
    let v = this.binary(level + 1);
    for (;;) {
      const op = this.peekOp();
      if (!op || !ops.includes(op)) return v;
      const opTok = this.next();
      const r = this.binary(level + 1);
      v = this.apply(op, v, r, opTok);
    }
  }

  private apply(op: string, a: bigint, b: bigint, at: Tok): bigint {
    switch (op) {
      case "|": return a | b;
      case "^": return a ^ b;
      case "&": return a & b;
      case "<<":
      case ">>":
        if (b < 0n || b > 127n) throw this.err(at, `shift amount ${b} out of range`);
        return op === "<<" ? a << b : a >> b;
      case "+": return a + b;
      case "-": return a - b;
      case "*": return a * b;
      default:
        if (b === 0n) throw this.err(at, "division by zero");
        return op === "/" ? a / b : a % b;
    }
  }

  private unary(): bigint {
    const t = this.peek();
    if (t.k === "op" && (t.op === "-" || t.op === "~" || t.op === "+")) {
      this.p++;
      this.enter(t);
      const v = this.unary();
      this.nesting--;
      return t.op === "-" ? -v : t.op === "~" ? ~v : v;
    }
    return this.primary();
  }

  /** One level deeper at `t`: refused past MAX_EXPR_NESTING. */
  private enter(t: Tok): void {
    if (++this.nesting > MAX_EXPR_NESTING) {
      throw this.err(t, `expression nested more than ${MAX_EXPR_NESTING} deep (parentheses and unary operators)`);
    }
  }

  private primary(): bigint {
    const t = this.next();
    switch (t.k) {
      case "num":
        return t.v;
      case "sym": {
        if (t.name === ".") return this.env.dot;
        const v = this.env.symbol(t.name);
        if (v === undefined) throw new UndefinedSymbolError(shift(this.loc, t.at), t.name);
        return v;
      }
      case "local": {
        const v = this.env.local(t.n, t.dir);
        if (v === undefined) {
          const where = t.dir === "b" ? "before" : "after";
          const reason = `undefined local label reference '${t.n}${t.dir}' (no '${t.n}:' ${where} this statement)`;
          throw new UndefinedSymbolError(shift(this.loc, t.at), `${t.n}${t.dir}`, reason);
        }
        return v;
      }
      case "op":
        if (t.op === "(") {
          this.enter(t);
          const v = this.binary(0);
          const close = this.peek();
          if (close.k !== "op" || close.op !== ")") throw this.err(close, "expected ')'");
          this.p++;
          this.nesting--;
          return v;
        }
        throw this.err(t, `unexpected '${t.op}' in expression`);
      case "end":
        throw this.err(t, "expected an expression");
    }
  }
}

/**
 * Evaluate the expression starting at `text[start]`, stopping at a top-level `,`, `]`, `!` or the
 * end of the text. `loc` is the location of `text[0]`. Returns the value and the stop index.
 */
export function evalExprAt(text: string, start: number, loc: SourceLoc, env: ExprEnv): { value: bigint; end: number } {
  const { toks, end } = tokenize(text, start, loc);
  return { value: new Parser(toks, loc, env).parse(), end };
}

/** Evaluate all of `text` (located at `loc`) as one expression. */
export function evalExpr(text: string, loc: SourceLoc, env: ExprEnv): bigint {
  const { value, end } = evalExprAt(text, 0, loc, env);
  if (end < text.length) throw new AsmError(shift(loc, end), `unexpected '${text[end]}' after expression`);
  return value;
}
