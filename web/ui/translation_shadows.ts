// Each valid shadow MMU's entry for the nested IPA, as the page shows it beside the chain: what it
// maps, and the verdict against L1's tables plus the host backing. The verdict is what a shadow
// stage-2 bug looks like (a stale leaf still mapping a page the host took back), so it gets a
// badge of its own rather than a word in a sentence.

import type { ShadowEntry, TranslationReport } from "../../debug/translate.ts";
import { formatSize } from "./maps_format.ts";
import type { AddressLink } from "./translation_spaces.ts";

/** agrees: green; disagrees: red; no-entry: grey (nothing mapped); unchecked: grey (nothing to compare with). */
export type Verdict = "agrees" | "disagrees" | "no-entry" | "unchecked";

export interface ShadowBox {
  mmu: number;
  current: boolean;
  verdict: Verdict;
  /** The badge's text: "agrees", "DISAGREES", "no entry", "unchecked". */
  badge: string;
  nested: AddressLink;
  host: AddressLink | null;
  /** "L3 4K RW-" for a leaf. */
  leaf: string | null;
  /** Why there is no entry, or what L1 and the host backing give instead. */
  detail: string | null;
}

const BADGE: Record<Verdict, string> = { agrees: "agrees", disagrees: "DISAGREES", "no-entry": "no entry", unchecked: "unchecked" };

function verdictOf(s: ShadowEntry): Verdict {
  if (s.walk.output === null) return "no-entry";
  if (s.agrees === null) return "unchecked";
  return s.agrees ? "agrees" : "disagrees";
}

function detailOf(s: ShadowEntry, verdict: Verdict, backingPa: bigint | null): string | null {
  const w = s.walk;
  if (verdict === "no-entry") {
    const last = w.steps[w.steps.length - 1];
    return last ? `level ${last.level}: ${last.meaning}` : w.stopped;
  }
  if (verdict === "disagrees") return `L1 + host backing give ${backingPa === null ? "nothing" : "0x" + backingPa.toString(16)}`;
  return null;
}

export function shadowBox(s: ShadowEntry, backingPa: bigint | null): ShadowBox {
  const w = s.walk;
  const verdict = verdictOf(s);
  const last = w.steps[w.steps.length - 1];
  const leaf = w.output !== null && w.size !== null ? `L${last?.level ?? "?"} ${formatSize(w.size)} ${w.perms ?? ""}`.trim() : null;
  return {
    mmu: s.mmu,
    current: s.current,
    verdict,
    badge: BADGE[verdict],
    nested: { space: "nipa", addr: w.input },
    host: w.output === null ? null : { space: "pa", addr: w.output },
    leaf,
    detail: detailOf(s, verdict, backingPa),
  };
}

export function shadowBoxes(report: TranslationReport): ShadowBox[] {
  return report.shadows.map((s) => shadowBox(s, report.backingPa));
}
