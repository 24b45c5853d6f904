// Operand text handling for instructions: split at commas with positions, and replace nvlab
// expressions (symbols, `.equ` constants, `:lo12:`) by plain numbers before keystone sees them.

import { AsmError, type SourceLoc } from "./errors.ts";
import { evalExprAt, type ExprEnv } from "./expr.ts";

/** One comma-separated operand: its text and its offset in the statement's operand string. */
export interface Piece {
  text: string;
  at: number;
}

/** Split at commas outside parentheses and quotes. Brackets/braces are not grouped on purpose: */
/** `[x1, #8]` becomes `[x1` and `#8]`, so each part keeps its own column. */
export function splitOperands(args: string): Piece[] {
  if (!args.trim()) return [];
  const pieces: Piece[] = [];
  let depth = 0;
  let start = 0;
  const push = (end: number) => {
    const raw = args.slice(start, end);
    const lead = raw.length - raw.trimStart().length;
    pieces.push({ text: raw.trim(), at: start + lead });
  };
  for (let i = 0; i < args.length; i++) {
    const c = args[i];
    if (c === "(") depth++;
    else if (c === ")") depth--;
    else if (c === "'") i += args[i + 1] === "\\" ? 2 : 1;
    else if (c === "," && depth === 0) {
      push(i);
      start = i + 1;
    }
  }
  push(args.length);
  return pieces;
}

const REGISTER =
  /^(?:[xw](?:[0-9]|[12][0-9]|30)|[vbhsdqz](?:[0-9]|[12][0-9]|3[01])|sp|wsp|xzr|wzr|lr|fp)$/i;

/** Names that are registers in A64 operands and so cannot be symbols. */
export function isRegisterName(name: string): boolean {
  return REGISTER.test(name);
}

/** A register-looking token with an impossible number (x31, w45, v32…). */
export function isBadRegisterName(name: string): boolean {
  const m = /^([xwvbhsdq])(\d+)$/i.exec(name);
  if (!m) return false;
  const n = Number(m[2]);
  return /^[xw]/i.test(name) ? n > 30 : n > 31;
}

/** The operand text without memory-operand punctuation around it (`[x1` → `x1`, `#8]!` → `#8`). */
export function bare(text: string): string {
  return text.replace(/^[[{]\s*/, "").replace(/\s*[\]}]?!?$/, "");
}

export function formatImm(v: bigint): string {
  return v < 0n ? `-0x${(-v).toString(16)}` : `0x${v.toString(16)}`;
}

/** An operand rewritten for keystone; `imms` are the source offsets of its immediates, in order. */
export interface Rewritten {
  text: string;
  imms: number[];
}

const FLOAT = /^[-+]?\d+\.\d*(?:[eE][-+]?\d+)?|^[-+]?\d+[eE][-+]?\d+/;
const STARTS_EXPR = /^(?:[-~(']|\d)/;
const IDENT = /^[A-Za-z_.$][\w.$]*/;

/**
 * Replace `#expr`, `:lo12:expr` and bare expression operands by numbers. `known` says whether an
 * identifier is a user symbol (only those start a bare expression; `lsl`, `eq`, `vttbr_el2` stay).
 */
export function rewriteOperand(p: Piece, args: string, argsLoc: SourceLoc, env: ExprEnv, known: (name: string) => boolean): Rewritten {
  const imms: number[] = [];
  let out = "";
  let i = 0;
  const t = p.text;
  const evalAt = (k: number) => evalExprAt(args, p.at + k, argsLoc, env);
  const firstIdent = IDENT.exec(t)?.[0];
  if (t.startsWith("[") || t.startsWith("{")) {
    out += t[0];
    i = 1;
    while (t[i] === " " || t[i] === "\t") out += t[i++];
  }
  const rest = t.slice(i);
  const leadIdent = IDENT.exec(rest)?.[0];
  const bareExpr =
    (STARTS_EXPR.test(rest) && !FLOAT.test(rest)) ||
    (leadIdent !== undefined && leadIdent !== "." && known(leadIdent) && !isRegisterName(leadIdent)) ||
    (leadIdent === "." && (rest.length === 1 || /^\.\s*[-+]/.test(rest))) ||
    /^\d+[bf]\b/.test(rest);
  if (bareExpr && !(firstIdent && isRegisterName(firstIdent))) {
    const { value, end } = evalAt(i);
    imms.push(p.at + i);
    out += "#" + formatImm(value);
    i = end - p.at;
  }
  while (i < t.length) {
    const c = t[i];
    if (c === "#" || t.startsWith(":lo12:", i)) {
      let k = i;
      if (c === "#") k++;
      const lo12 = t.startsWith(":lo12:", k);
      if (lo12) k += 6;
      if (!lo12 && FLOAT.test(t.slice(k))) {
        const f = FLOAT.exec(t.slice(k))![0];
        imms.push(p.at + i);
        out += t.slice(i, k) + f;
        i = k + f.length;
        continue;
      }
      const { value, end } = evalAt(k);
      imms.push(p.at + i);
      out += "#" + formatImm(lo12 ? BigInt.asUintN(64, value) & 0xfffn : value);
      i = end - p.at;
    } else if (c === ":") {
      const m = /^:(\w+):/.exec(t.slice(i));
      throw new AsmError({ ...argsLoc, col: argsLoc.col + p.at + i }, m ? `unsupported relocation modifier ':${m[1]}:' (only :lo12: is supported)` : "unexpected ':'");
    } else {
      out += c;
      i++;
    }
  }
  return { text: out, imms };
}
