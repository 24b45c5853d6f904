// Which of L0's counters the chart offers, and under what names. The worker sends the counters
// flattened (`exits.HVC64`, `tlbi.IPAS2E1`, `shadowMmusVisited.samples`, see flattenMetrics);
// exits and TLBIs matter as totals first, so their groups are summed into `exits` and `tlbi`.

/** Summed groups: the total is named after the group. */
const GROUPS = ["exits", "tlbi"] as const;

/** What the chart shows before the reader picks: the shadow paging story in five lines. */
export const DEFAULT_SERIES: readonly string[] = ["exits", "shadowFaults", "canonicalUnmaps", "shadowEntriesRemoved", "tlbi"];

const TITLES: Record<string, string> = {
  exits: "exits (all classes)",
  tlbi: "TLBIs (all kinds)",
  shadowFaults: "shadow faults",
  canonicalUnmaps: "canonical unmaps",
  shadowEntriesRemoved: "shadow leaves unmapped",
  tlbiShadowEntriesRemoved: "shadow leaves unmapped by TLBIs",
  mmusRecycled: "MMUs recycled",
  l1S2Walks: "L1 stage-2 walks",
  faultsInjectedToL1: "faults injected into L1",
  canonicalFaults: "canonical faults",
};

/** The counters with each group's total added (`exits` = Σ `exits.*`). */
export function withTotals(metrics: Readonly<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const g of GROUPS) out[g] = 0;
  for (const [k, v] of Object.entries(metrics)) {
    out[k] = v;
    const dot = k.indexOf(".");
    const group = dot > 0 ? k.slice(0, dot) : "";
    if ((GROUPS as readonly string[]).includes(group)) out[group] = (out[group] ?? 0) + v;
  }
  return out;
}

/** A counter's name for the legend: the words for the well-known ones, the key itself otherwise. */
export function seriesTitle(name: string): string {
  return TITLES[name] ?? name;
}

/** The names to offer: the defaults first (in their order), then the rest alphabetically. */
export function seriesOrder(names: Iterable<string>): string[] {
  const rest = [...new Set(names)].filter((n) => !DEFAULT_SERIES.includes(n)).sort();
  return [...DEFAULT_SERIES, ...rest];
}

/** "1,234,567": toLocaleString would do, but its first call sets up Intl for tens of milliseconds. */
export function groupThousands(v: number): string {
  const text = String(v);
  return Number.isInteger(v) ? text.replace(/\B(?=(\d{3})+(?!\d))/g, ",") : text;
}
