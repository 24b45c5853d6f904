// Tables as aligned text (stdout) and as Markdown (report.md).

import type { Table } from "./types.ts";

/** Integers get thousands separators; fractions keep four significant digits. */
export function formatCell(v: string | number): string {
  if (typeof v === "string") return v;
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return v.toLocaleString("en-US");
  const abs = Math.abs(v);
  if (abs >= 1000) return Math.round(v).toLocaleString("en-US");
  return String(Number(v.toPrecision(4)));
}

/** Strings benchmarks pre-format as numbers: "1,234", "12.5x", "35%", "348–405", "inf". */
const NUMBER_LIKE = /^(?:[-+]?(?:\d[\d,]*(?:\.\d+)?|\.\d+)(?:e[-+]?\d+)?(?:x|%)?(?:\s*[–-]\s*[-+]?[\d,.]+)?|inf|n\/a|-|—)$/i;

const numberLike = (v: string | number | undefined) => v === undefined || v === "" || typeof v === "number" || NUMBER_LIKE.test(v.trim());

/** A column is right-aligned when every non-empty cell in it is a number or reads as one. */
function numericColumns(t: Table): boolean[] {
  return t.columns.map((_, c) => t.rows.some((r) => r[c] !== undefined && r[c] !== "") && t.rows.every((r) => numberLike(r[c])));
}

function cells(t: Table): string[][] {
  return t.rows.map((r) => t.columns.map((_, c) => (r[c] === undefined ? "" : formatCell(r[c]))));
}

export function renderTable(t: Table): string {
  const body = cells(t);
  const numeric = numericColumns(t);
  const widths = t.columns.map((h, c) => Math.max(h.length, ...body.map((r) => r[c]!.length)));
  const line = (r: string[]) =>
    r
      .map((s, c) => (numeric[c] ? s.padStart(widths[c]!) : s.padEnd(widths[c]!)))
      .join("  ")
      .trimEnd();
  const rule = widths.map((w) => "-".repeat(w)).join("  ");
  return [t.title, line(t.columns), rule, ...body.map(line)].join("\n");
}

const mdEscape = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

export function markdownTable(t: Table): string {
  const numeric = numericColumns(t);
  const head = `| ${t.columns.map(mdEscape).join(" | ")} |`;
  const align = `|${numeric.map((n) => (n ? " ---: " : " --- ")).join("|")}|`;
  const rows = cells(t).map((r) => `| ${r.map(mdEscape).join(" | ")} |`);
  return [head, align, ...rows].join("\n");
}
