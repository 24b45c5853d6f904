// L0's counters (what `nvlab run` prints): exits by exception class, shadow and canonical faults,
// walks of L1's stage-2, injections into L1, TLBIs by kind, MMU recycling and canonical unmaps.
// Counters are plain numbers, so hot paths bump a field; grouped counters (exits, tlbi) are keyed
// by name and can also be addressed as `exits.HVC64` / `tlbi.IPAS2E1`.

export interface MetricsSnapshot {
  exits: Record<string, number>;
  tlbi: Record<string, number>;
  shadowFaults: number;
  l1S2Walks: number;
  faultsInjectedToL1: number;
  canonicalFaults: number;
  mmusRecycled: number;
  canonicalUnmaps: number;
  shadowEntriesRemoved: number;
  /** Shadow MMUs visited by each canonical unmap, in order. */
  shadowMmusVisited: number[];
  [name: string]: number | number[] | Record<string, number>;
}

const SCALARS = [
  "shadowFaults", "l1S2Walks", "faultsInjectedToL1", "canonicalFaults", "mmusRecycled", "canonicalUnmaps",
  "shadowEntriesRemoved",
] as const;
const SCALAR_SET: ReadonlySet<string> = new Set(SCALARS);

export class Metrics {
  readonly exits: Record<string, number> = {};
  readonly tlbi: Record<string, number> = {};
  shadowFaults = 0;
  l1S2Walks = 0;
  faultsInjectedToL1 = 0;
  canonicalFaults = 0;
  mmusRecycled = 0;
  canonicalUnmaps = 0;
  shadowEntriesRemoved = 0;
  readonly shadowMmusVisited: number[] = [];
  /** Counters without a dedicated field (`nestedErets`, `mmioAccesses`, …). */
  readonly other: Record<string, number> = {};

  /** Add `by` to a counter: a field name, `exits.<EC>`, `tlbi.<kind>`, or any other name. */
  inc(name: string, by = 1): void {
    // Every shadow fault bumps a few counters: the dedicated fields first, without a scan.
    if (SCALAR_SET.has(name)) {
      this[name as (typeof SCALARS)[number]] += by;
      return;
    }
    const dot = name.indexOf(".");
    if (dot > 0) {
      const group = name.slice(0, dot);
      const key = name.slice(dot + 1);
      if (group === "exits" || group === "tlbi") {
        const g = this[group];
        g[key] = (g[key] ?? 0) + by;
        return;
      }
    }
    if ((SCALARS as readonly string[]).includes(name)) {
      this[name as (typeof SCALARS)[number]] += by;
      return;
    }
    this.other[name] = (this.other[name] ?? 0) + by;
  }

  /** The current value of a counter named as for `inc` (0 if never counted). */
  get(name: string): number {
    const dot = name.indexOf(".");
    if (dot > 0) {
      const group = name.slice(0, dot);
      if (group === "exits" || group === "tlbi") return this[group][name.slice(dot + 1)] ?? 0;
    }
    if ((SCALARS as readonly string[]).includes(name)) return this[name as (typeof SCALARS)[number]];
    return this.other[name] ?? 0;
  }

  /** One canonical unmap visited `n` shadow MMUs. */
  recordUnmapVisit(n: number): void {
    this.shadowMmusVisited.push(n);
  }

  /** Per-operation observations other than shadowMmusVisited. */
  readonly samples: Record<string, number[]> = {};

  /** Record one observation of a per-operation quantity (`shadowMmusVisited`: per canonical unmap). */
  sample(name: string, value: number): void {
    if (name === "shadowMmusVisited") this.shadowMmusVisited.push(value);
    else (this.samples[name] ??= []).push(value);
  }

  /** A plain, JSON-ready copy. */
  snapshot(): MetricsSnapshot {
    const s: MetricsSnapshot = {
      exits: { ...this.exits },
      tlbi: { ...this.tlbi },
      shadowFaults: this.shadowFaults,
      l1S2Walks: this.l1S2Walks,
      faultsInjectedToL1: this.faultsInjectedToL1,
      canonicalFaults: this.canonicalFaults,
      mmusRecycled: this.mmusRecycled,
      canonicalUnmaps: this.canonicalUnmaps,
      shadowEntriesRemoved: this.shadowEntriesRemoved,
      shadowMmusVisited: [...this.shadowMmusVisited],
    };
    for (const [k, v] of Object.entries(this.other)) s[k] = v;
    for (const [k, v] of Object.entries(this.samples)) s[k] = [...v];
    return s;
  }

  toJSON(): MetricsSnapshot {
    return this.snapshot();
  }
}
