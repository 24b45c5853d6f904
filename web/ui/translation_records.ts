// The revmap/accelerator lines of a report are the debugger's text ("mmu0 revmap: canonical
// 0x40100000..0x40100fff → nested IPA 0x1000"). The page keeps the words and turns each address
// into a link; the word before an address says its space, and the end of a range "A..B" is in
// A's space.

import type { Space } from "./translation_spaces.ts";

export type RecordPart = { text: string } | { text: string; space: Space; addr: bigint };

/** The words that name a space, longest first so "nested IPA" wins over "nested". */
const SPACE_WORDS: [RegExp, Space][] = [
  [/nested IPA\s*$/, "nipa"],
  [/canonical IPA\s*$/, "ipa"],
  [/host PA\s*$/, "pa"],
  [/nested\s*$/, "nipa"],
  [/canonical\s*$/, "ipa"],
];

const HEX = /0x[0-9a-f_]+/gi;

function spaceBefore(text: string): Space | null {
  for (const [re, space] of SPACE_WORDS) if (re.test(text)) return space;
  return null;
}

/** A record line split into text and address links; addresses whose space the line does not say stay text. */
export function recordParts(line: string): RecordPart[] {
  const parts: RecordPart[] = [];
  let at = 0;
  let previous: Space | null = null;
  for (const m of line.matchAll(HEX)) {
    const start = m.index;
    const before = line.slice(at, start);
    const space: Space | null = before.endsWith("..") ? previous : spaceBefore(before);
    if (before !== "") parts.push({ text: before });
    const text = m[0];
    if (space === null) parts.push({ text });
    else parts.push({ text, space, addr: BigInt(text.replace(/_/g, "")) });
    previous = space;
    at = start + text.length;
  }
  if (at < line.length) parts.push({ text: line.slice(at) });
  return parts;
}
