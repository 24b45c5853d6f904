// Assembly errors carry the exact source position so the CLI can print them like a compiler does;
// an input file that cannot be read is named with the reason.

// Reading files is the host's business (asm/host_files.ts: node:fs, or an in-memory set in a
// browser); the names stay exported here for the modules that have always found them here.
export { InputFileError } from "./input_file_error.ts";
export { readInputText } from "./host_files.ts";

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
