// Assembly errors carry the exact source position so the CLI can print them like a compiler does;
// an input file that cannot be read is named with the reason.

import { readFile } from "node:fs/promises";

/** A position in a source file: 1-based line and column, plus the line's text for the caret display. */
export interface SourceLoc {
  file: string;
  line: number;
  col: number;
  sourceLine: string;
}

export class AsmError extends Error {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly sourceLine: string;
  /** The message without the location prefix. */
  readonly reason: string;

  constructor(loc: SourceLoc, rawReason: string) {
    // Reasons quote the input; a control character in it would garble the terminal they go to.
    const reason = escapeControls(rawReason);
    super(`${loc.file}:${loc.line}:${loc.col}: ${reason}`);
    this.name = "AsmError";
    this.file = loc.file;
    this.line = loc.line;
    this.col = loc.col;
    this.sourceLine = loc.sourceLine;
    this.reason = reason;
  }

  /** `file:line:col: error: reason`, the source line, and a caret under the offending column. */
  format(): string {
    // Keep tabs in the caret line so the caret lines up however the terminal expands them.
    const pad = this.sourceLine
      .slice(0, Math.max(0, this.col - 1))
      .replace(/[^\t]/g, " ");
    return `${this.file}:${this.line}:${this.col}: error: ${this.reason}\n    ${this.sourceLine}\n    ${pad}^`;
  }
}

const CONTROL_ESCAPES: Record<string, string> = { "\t": "\\t", "\n": "\\n", "\r": "\\r" };

/** `text` with each control character written as an escape (`\r`, `\x00`), as in a string literal. */
export function escapeControls(text: string): string {
  return text.replace(/[\x00-\x1f\x7f]/g, (c) => CONTROL_ESCAPES[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

/** The location `delta` columns to the right of `loc` on the same line. */
export function shift(loc: SourceLoc, delta: number): SourceLoc {
  return { ...loc, col: loc.col + delta };
}

/** What a failed read of an input file means to its user, from the system's error code. */
const READ_FAILURES: Record<string, string> = {
  ENOENT: "no such file",
  EISDIR: "is a directory",
  ENOTDIR: "a component of the path is not a directory",
  EACCES: "permission denied",
  EPERM: "permission denied",
  ELOOP: "too many symbolic links",
  ENAMETOOLONG: "the name is too long",
};

/** An input file (a source, a scenario) that cannot be read; the message names it and says why. */
export class InputFileError extends Error {
  constructor(
    readonly file: string,
    readonly code: string,
  ) {
    // An empty name (`nvlab exec ""`) would print as "cannot open : no such file".
    super(file === "" ? 'cannot open "": the file name is empty' : `cannot ${code === "ENOENT" ? "open" : "read"} ${file}: ${READ_FAILURES[code] ?? code}`);
    this.name = "InputFileError";
  }
}

/** The text of the file at `path`; a failure of the file system is an InputFileError naming `path`. */
export async function readInputText(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException | null)?.code;
    if (typeof code === "string" && code.startsWith("E")) throw new InputFileError(path, code);
    throw e;
  }
}
