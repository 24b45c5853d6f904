// Source text → statements with exact locations. Handles comments (`//`, `/* */`), the `;`
// statement separator, labels, `NAME = expr` and `.include`. Everything else is interpreted later.

import { itemAt } from "../emulator/item_at.ts";
import { AsmError, InputFileError, type SourceLoc } from "./errors.ts";
import { readInputText } from "./host_files.ts";
import { dirname, join, isAbsolute } from "./source_path.ts";

export interface Label {
  name: string;
  loc: SourceLoc;
}

export interface Statement {
  labels: Label[];
  /** Lowercased mnemonic or directive (directives keep their leading dot); null for a label-only line. */
  op: string | null;
  opLoc: SourceLoc;
  /** Operand text with comments blanked out; columns match the source line. */
  args: string;
  argsLoc: SourceLoc;
  /** `NAME = expr`: op is "=", the name is `assignName`. */
  assignName?: string;
}

const UTF8 = new TextEncoder();
// A leading byte-order mark stays part of the name, as it always has.
const UTF8_NAME = new TextDecoder("utf-8", { ignoreBOM: true });

const LABEL = /([A-Za-z_.$][\w.$]*|\d+)[ \t]*:/y;
const WORD = /[A-Za-z_.$][\w.$]*/y;

/**
 * Blank out comments (keeping columns) across the whole file; returns the cleaned lines.
 * Strings and character literals are copied verbatim so `;` or `//` inside them survive.
 */
function stripComments(text: string): { lines: string[]; openAt: [number, number] | null } {
  const out: string[] = [];
  let inBlock = false;
  let openAt: [number, number] | null = null;
  for (const line of text.split(/\r?\n/)) {
    let s = "";
    let i = 0;
    while (i < line.length) {
      const c = line[i];
      if (inBlock) {
        if (line.startsWith("*/", i)) {
          inBlock = false;
          s += "  ";
          i += 2;
        } else {
          s += c === "\t" ? "\t" : " ";
          i++;
        }
      } else if (line.startsWith("//", i)) {
        break;
      } else if (line.startsWith("/*", i)) {
        inBlock = true;
        openAt = [out.length + 1, i + 1];
        s += "  ";
        i += 2;
      } else if (c === '"') {
        let j = i + 1;
        while (j < line.length && line[j] !== '"') j += line[j] === "\\" ? 2 : 1;
        s += line.slice(i, j + 1);
        i = j + 1;
      } else if (c === "'") {
        const j = i + (line[i + 1] === "\\" ? 3 : 2);
        const end = line[j] === "'" ? j + 1 : j;
        s += line.slice(i, end);
        i = end;
      } else {
        s += c;
        i++;
      }
    }
    out.push(s);
  }
  return { lines: out, openAt: inBlock ? openAt : null };
}

/** Split a cleaned line at `;` outside strings; yields [start index, segment text]. */
function splitStatements(line: string): Array<[number, string]> {
  const segs: Array<[number, string]> = [];
  let start = 0;
  let i = 0;
  while (i < line.length) {
    const c = line[i];
    if (c === '"') {
      i++;
      while (i < line.length && line[i] !== '"') i += line[i] === "\\" ? 2 : 1;
      i++;
    } else if (c === "'") {
      i += line[i + 1] === "\\" ? 3 : 2;
      if (line[i] === "'") i++;
    } else if (c === ";") {
      segs.push([start, line.slice(start, i)]);
      start = ++i;
    } else i++;
  }
  segs.push([start, line.slice(start)]);
  return segs;
}

function skipSpace(s: string, i: number): number {
  while (i < s.length && (s[i] === " " || s[i] === "\t")) i++;
  return i;
}

/** Parse the statements of one file's text (no include processing). */
export function parseStatements(text: string, file: string): Statement[] {
  const raw = text.split(/\r?\n/);
  const cleaned = stripComments(text);
  const stmts: Statement[] = [];
  cleaned.lines.forEach((clean, idx) => {
    const sourceLine = itemAt(raw, idx, "source line");
    const at = (i: number): SourceLoc => ({ file, line: idx + 1, col: i + 1, sourceLine });
    for (const [start, seg] of splitStatements(clean)) {
      const full = clean.slice(0, start + seg.length);
      let i = skipSpace(full, start);
      const labels: Label[] = [];
      for (;;) {
        LABEL.lastIndex = i;
        const m = LABEL.exec(full);
        if (!m) break;
        labels.push({ name: itemAt(m, 1, "label name"), loc: at(i) });
        i = skipSpace(full, i + m[0].length);
      }
      if (i >= full.length) {
        if (labels.length) stmts.push({ labels, op: null, opLoc: at(i), args: "", argsLoc: at(i) });
        continue;
      }
      WORD.lastIndex = i;
      const w = WORD.exec(full);
      if (!w) throw new AsmError(at(i), `expected a mnemonic or directive, found '${full[i]}'`);
      const opLoc = at(i);
      let j = skipSpace(full, i + w[0].length);
      if (full[j] === "=" && full[j + 1] !== "=") {
        j = skipSpace(full, j + 1);
        stmts.push({ labels, op: "=", opLoc, args: full.slice(j).trimEnd(), argsLoc: at(j), assignName: w[0] });
        continue;
      }
      const op = w[0].toLowerCase();
      stmts.push({ labels, op, opLoc, args: full.slice(j).trimEnd(), argsLoc: at(j) });
    }
  });
  if (cleaned.openAt) {
    const [line, col] = cleaned.openAt;
    throw new AsmError({ file, line, col, sourceLine: itemAt(raw, line - 1, "source line") }, "unterminated /* comment");
  }
  return stmts;
}

/** Decode a double-quoted string literal starting at `args[i]`; returns its bytes and end index. */
export function parseString(args: string, i: number, loc: SourceLoc): { bytes: number[]; end: number } {
  const here = (k: number): SourceLoc => ({ ...loc, col: loc.col + k });
  if (args[i] !== '"') throw new AsmError(here(i), "expected a string in double quotes");
  const bytes: number[] = [];
  let j = i + 1;
  for (;;) {
    if (j >= args.length) throw new AsmError(here(i), "unterminated string");
    const c = itemAt(args, j, "string character");
    if (c === '"') break;
    if (c !== "\\") {
      // One UTF-16 unit at a time, as always: a lone surrogate half encodes as U+FFFD.
      for (const b of UTF8.encode(c)) bytes.push(b);
      j++;
      continue;
    }
    const e = args[j + 1];
    const simple: Record<string, number> = { n: 10, t: 9, r: 13, a: 7, b: 8, f: 12, v: 11, "\\": 92, '"': 34, "'": 39 };
    const simpleByte = e === undefined ? undefined : simple[e];
    if (simpleByte !== undefined) {
      bytes.push(simpleByte);
      j += 2;
    } else if (e === "x" || e === "X") {
      const m = /^[0-9a-fA-F]{1,2}/.exec(args.slice(j + 2));
      if (!m) throw new AsmError(here(j), "bad \\x escape");
      bytes.push(parseInt(m[0], 16));
      j += 2 + m[0].length;
    } else if (e !== undefined && /[0-7]/.test(e)) {
      const m = /^[0-7]{1,3}/.exec(args.slice(j + 1))!;
      bytes.push(parseInt(m[0], 8) & 0xff);
      j += 1 + m[0].length;
    } else throw new AsmError(here(j), `bad escape '\\${e ?? ""}' in string`);
  }
  return { bytes, end: j + 1 };
}

/** Read a source file and splice `.include "file"` statements (paths relative to the including file). */
export async function loadSource(text: string, file: string, includeStack: string[] = []): Promise<Statement[]> {
  const out: Statement[] = [];
  for (const st of parseStatements(text, file)) {
    if (st.op !== ".include") {
      out.push(st);
      continue;
    }
    if (st.labels.length) out.push({ ...st, op: null, args: "" });
    const { bytes, end } = parseString(st.args, 0, st.argsLoc);
    if (st.args.slice(end).trim()) throw new AsmError({ ...st.argsLoc, col: st.argsLoc.col + end }, "unexpected text after .include file name");
    const name = UTF8_NAME.decode(new Uint8Array(bytes));
    const path = isAbsolute(name) ? name : join(dirname(file), name);
    if (includeStack.includes(path) || path === file) throw new AsmError(st.argsLoc, `recursive .include of '${name}'`);
    let sub: string;
    try {
      sub = await readInputText(path);
    } catch (e) {
      if (e instanceof InputFileError) throw new AsmError(st.argsLoc, `.include: ${e.message}`);
      throw e;
    }
    out.push(...(await loadSource(sub, path, [...includeStack, file])));
  }
  return out;
}
