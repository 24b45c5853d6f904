// Which address space an address a walk names lives in, so every link the page draws asks the
// worker about the right memory: L2's stage-1 tables are at nested IPAs, L1's stage-2 tables at
// canonical IPAs, the canonical and shadow tables at host PAs. The debugger names spaces in words
// (StageWalk.from/to/tablesIn); this is the one place that turns those words into the page's keys.

import type { AddressLevel, AddressSpace } from "./address.ts";

export type Space = AddressSpace;
export type Level = AddressLevel;

/** An address the user can click: the space it lives in, and for a VA whose regime. */
export interface AddressLink {
  space: Space;
  addr: bigint;
  level?: Level;
}

const BY_NAME: Record<string, { space: Space; level?: Level }> = {
  "L2 VA": { space: "va", level: "L2" },
  "L1 VA": { space: "va", level: "L1" },
  "nested IPA": { space: "nipa" },
  "canonical IPA": { space: "ipa" },
  "host PA": { space: "pa" },
};

/** The page's space for a debugger space name ("nested IPA" → "nipa"); null for a name it does not know. */
export function spaceOf(name: string): { space: Space; level?: Level } | null {
  return BY_NAME[name] ?? null;
}

/** A link to `addr` in the space the debugger calls `name`; null when the name is unknown. */
export function linkIn(name: string, addr: bigint): AddressLink | null {
  const s = spaceOf(name);
  if (s === null) return null;
  return s.level === undefined ? { space: s.space, addr } : { space: s.space, addr, level: s.level };
}

/** What the page calls each space in headings. */
export const SPACE_TITLE: Record<Space, string> = {
  va: "VA",
  nipa: "nested IPA",
  ipa: "canonical IPA",
  pa: "host PA",
};
