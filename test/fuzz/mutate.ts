// Shared by the input-surface fuzz suites: text mutations as fast-check arbitraries, and a wall-time
// guard. A mutation is a list of edits applied to a shipped file, so a failure shrinks to the few
// edits that matter and prints as readable text.

import fc from "fast-check";
import { expect } from "vitest";

/** One edit of a text, as line operations (the unit most input errors are about) or raw characters. */
export type Edit =
  | { op: "delete-line"; at: number }
  | { op: "duplicate-line"; at: number }
  | { op: "swap-lines"; at: number; with: number }
  | { op: "replace-token"; at: number; token: string }
  | { op: "insert-token"; at: number; token: string }
  | { op: "insert-text"; at: number; text: string }
  | { op: "truncate"; at: number };

/** Positions are fractions of the text's size, so an edit stays meaningful on any file. */
export function editArb(tokens: fc.Arbitrary<string>): fc.Arbitrary<Edit> {
  const at = fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true });
  return fc.oneof(
    fc.record({ op: fc.constant("delete-line" as const), at }),
    fc.record({ op: fc.constant("duplicate-line" as const), at }),
    fc.record({ op: fc.constant("swap-lines" as const), at, with: at }),
    { weight: 4, arbitrary: fc.record({ op: fc.constant("replace-token" as const), at, token: tokens }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant("insert-token" as const), at, token: tokens }) },
    fc.record({ op: fc.constant("insert-text" as const), at, text: fc.string({ maxLength: 6, unit: "binary-ascii" }) }),
    fc.record({ op: fc.constant("truncate" as const), at }),
  );
}

const index = (at: number, n: number): number => Math.min(n - 1, Math.floor(at * n));

/** `text` with `edits` applied in order. */
export function applyEdits(text: string, edits: readonly Edit[]): string {
  let t = text;
  for (const e of edits) t = applyEdit(t, e);
  return t;
}

function applyEdit(text: string, e: Edit): string {
  const lines = text.split("\n");
  const n = lines.length;
  switch (e.op) {
    case "delete-line":
      lines.splice(index(e.at, n), 1);
      return lines.join("\n");
    case "duplicate-line": {
      const i = index(e.at, n);
      lines.splice(i, 0, lines[i]!);
      return lines.join("\n");
    }
    case "swap-lines": {
      const i = index(e.at, n);
      const j = index(e.with, n);
      [lines[i], lines[j]] = [lines[j]!, lines[i]!];
      return lines.join("\n");
    }
    case "replace-token": {
      const spans = tokenSpans(text);
      if (spans.length === 0) return text;
      const [s, end] = spans[index(e.at, spans.length)]!;
      return text.slice(0, s) + e.token + text.slice(end);
    }
    case "insert-token": {
      const i = index(e.at, text.length + 1);
      return text.slice(0, i) + e.token + text.slice(i);
    }
    case "insert-text": {
      const i = index(e.at, text.length + 1);
      return text.slice(0, i) + e.text + text.slice(i);
    }
    case "truncate":
      return text.slice(0, index(e.at, text.length + 1));
  }
}

/** [start, end) of each word, number or punctuation run. */
function tokenSpans(text: string): [number, number][] {
  const spans: [number, number][] = [];
  for (const m of text.matchAll(/[\w.$#']+|[^\s\w]/g)) spans.push([m.index, m.index + m[0].length]);
  return spans;
}

/** Numbers that probe the edges: signs, 32/64-bit limits, 2^64 and beyond, floats, odd bases. */
export const EDGE_NUMBERS = [
  "0", "1", "-1", "7", "0x7", "4096", "0x1000", "0xfff", "0x80000000", "0xffffffff", "0x100000000",
  "0x7fffffffffffffff", "0x8000000000000000", "0xffffffffffffffff", "0x10000000000000000",
  "18446744073709551616", "99999999999999999999999", "-9223372036854775809", "1.5", "1e9", "0x", "0b101",
  "0o17", "NaN", "Infinity", "-0", "0x48000001", "0x40000001", "9007199254740993",
];

/**
 * Fail, as a finding, when `fn` took longer than `ms`: a synchronous hang cannot be interrupted,
 * but an input that takes far longer than its peers is a hang in the making (a quadratic pass).
 */
export async function withinWallTime<T>(what: string, ms: number, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const r = await fn();
  const took = performance.now() - t0;
  expect(took, `${what}: took ${Math.round(took)} ms (bound ${ms} ms)`).toBeLessThan(ms);
  return r;
}

/** No JavaScript internals in a message meant for a user. */
export function expectUserMessage(text: string, what: string): void {
  expect(text, what).not.toMatch(/internal error|TypeError|RangeError|ReferenceError|SyntaxError: |Maximum call stack|\n\s+at .+:\d+:\d+\)?|undefined is not|Cannot read propert|is not a function|\[object Object\]/);
}
