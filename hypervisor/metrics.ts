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
  /** Shadow MMUs visited by each canonical unmap, in order (what counts as a visit: Metrics.shadowMmusVisited). */
  shadowMmusVisited: number[];
  [name: string]: number | number[] | Record<string, number>;
}

/** Counters with a dedicated field (hot paths bump these). */
export const SCALAR_COUNTERS = [
  "shadowFaults", "l1S2Walks", "faultsInjectedToL1", "canonicalFaults", "mmusRecycled", "canonicalUnmaps",
  "shadowEntriesRemoved",
] as const;
const SCALARS = SCALAR_COUNTERS;
const SCALAR_SET: ReadonlySet<string> = new Set(SCALARS);

/** Counters kept by name in `other` (snapshots list them in the order first counted). */
export const OTHER_COUNTERS = [
  "tlbiShadowEntriesRemoved", "nestedErets", "injectionsToL1", "sysregTraps", "mmioAccesses", "psciCalls", "vcpusStarted",
  "coalesces", "coalescePagesFreed", "coalesceInvalidTicks", "coalesceFaults", "blockSplits", "unmapReschedPoints",
  "revmap.broken", "revmap.polluted", "revmap.fallbackFullUnmaps", "revmap.directMapErased", "revmap.tlbiErased",
  "accel.storeFailures", "directMap.storeFailures",
  "injected.unmaps", "injected.revmapStoreFailures", "injected.accelStoreFailures", "injected.directMapStoreFailures", "injected.recycles", "injected.tlbis", "injected.splits", "injected.coalesces",
  "memslotsDeleted", "dirtyLog.wrprotected", "dirtyLog.wpFaults", "dirtyLog.pagesDirtied", "stage2.relaxPerms", "stage2.permRemaps",
  "injected.memslotDeletes", "injected.dirtyLogs",
  "injected.skippedTlbis",
  "fpsimd.switches", "fpsimd.saves",
] as const;

/** Per-operation observations (lists of samples). */
export const SAMPLE_NAMES = [
  "shadowMmusVisited", "accel.loopVisits", "revmap.staleEntries", "accel.staleBits", "accel.staleRanges", "coalesceInvalidTicksPerOp", "coalesceFaultsPerOp",
  "dirtyLog.dirtyPages",
] as const;

/** Grouped counters: exits by exception class name, TLBIs by operation name. */
export const COUNTER_GROUPS = ["exits", "tlbi"] as const;

export type ScalarCounter = (typeof SCALAR_COUNTERS)[number];
export type OtherCounter = (typeof OTHER_COUNTERS)[number];
export type GroupCounter = `${(typeof COUNTER_GROUPS)[number]}.${string}`;
/** Every counter name `inc`/`get` take (a typo is a type error). */
export type CounterName = ScalarCounter | OtherCounter | GroupCounter;
export type SampleName = (typeof SAMPLE_NAMES)[number];
/** The injection counters (`injected.<what>`). */
export type InjectionCounter = Extract<OtherCounter, `injected.${string}`> extends `injected.${infer W}` ? W : never;

const COUNTER_SET: ReadonlySet<string> = new Set<string>([...SCALAR_COUNTERS, ...OTHER_COUNTERS]);
const SAMPLE_SET: ReadonlySet<string> = new Set<string>(SAMPLE_NAMES);

/** Reductions of a sample list a scenario expectation may name (`shadowMmusVisited.max`). */
export const SAMPLE_AGGREGATES = ["max", "min", "sum", "count", "last"] as const;

/**
 * Whether `name` is a metric: a counter, a sample list, `exits.<EC>`/`tlbi.<op>` (their keys are
 * checked by `isGroupKey`), or one of those followed by an aggregate (`.max`, `.sum`…).
 */
export function isMetricName(name: string, isGroupKey: (group: string, key: string) => boolean = () => true): boolean {
  if (COUNTER_SET.has(name) || SAMPLE_SET.has(name)) return true;
  const dot = name.indexOf(".");
  if (dot > 0) {
    const group = name.slice(0, dot);
    if ((COUNTER_GROUPS as readonly string[]).includes(group) && dot + 1 < name.length && isGroupKey(group, name.slice(dot + 1))) return true;
  }
  const last = name.lastIndexOf(".");
  if (last > 0 && (SAMPLE_AGGREGATES as readonly string[]).includes(name.slice(last + 1))) return isMetricName(name.slice(0, last), isGroupKey);
  return false;
}

export class Metrics {
  private readonly exitsByName: Record<string, number> = {};
  /** Exits counted by incExit, by exception class, not yet added into exitsByName. */
  private readonly exitsPending = new Float64Array(64);
  private readonly exitNames: (string | undefined)[] = new Array<string | undefined>(64);
  private exitsDirty = false;

  /** Exits by exception class name (in the order first counted). */
  get exits(): Record<string, number> {
    if (this.exitsDirty) {
      this.exitsDirty = false;
      const p = this.exitsPending;
      for (let ec = 0; ec < 64; ec++) {
        if (p[ec] === 0) continue;
        const name = this.exitNames[ec]!;
        this.exitsByName[name] = (this.exitsByName[name] ?? 0) + p[ec]!;
        p[ec] = 0;
      }
    }
    return this.exitsByName;
  }

  readonly tlbi: Record<string, number> = {};
  shadowFaults = 0;
  l1S2Walks = 0;
  faultsInjectedToL1 = 0;
  canonicalFaults = 0;
  mmusRecycled = 0;
  canonicalUnmaps = 0;
  shadowEntriesRemoved = 0;
  /**
   * Shadow MMUs visited by each canonical unmap, in order: the distinct MMUs the strategy's unmap
   * looked at. full, revmap and rfc-rbtree visit every valid MMU; accel visits every MMU of each
   * group whose bit a canonical-tree range intersecting the unmap holds (2^p MMUs per set bit,
   * valid or not), and no other. How often seed 000's loop runs on them (once per range, set bit
   * and MMU of the bit's group, so an MMU two ranges flag counts twice) is the sample
   * `accel.loopVisits`.
   */
  readonly shadowMmusVisited: number[] = [];
  /** Counters without a dedicated field (`nestedErets`, `mmioAccesses`, …). */
  private readonly otherByName: Partial<Record<OtherCounter, number>> = {};
  /** The exit path's own counters (every nested ERET, injection, trapped access), folded into `other` when read. */
  private nestedEretsPending = 0;
  private injectionsToL1Pending = 0;
  private sysregTrapsPending = 0;

  /** Counters without a dedicated field, by name (in the order first counted). */
  get other(): Partial<Record<OtherCounter, number>> {
    const o = this.otherByName;
    if (this.nestedEretsPending) o.nestedErets = (o.nestedErets ?? 0) + this.nestedEretsPending;
    if (this.injectionsToL1Pending) o.injectionsToL1 = (o.injectionsToL1 ?? 0) + this.injectionsToL1Pending;
    if (this.sysregTrapsPending) o.sysregTraps = (o.sysregTraps ?? 0) + this.sysregTrapsPending;
    this.nestedEretsPending = this.injectionsToL1Pending = this.sysregTrapsPending = 0;
    return o;
  }

  /** Add `by` to a counter: a field name, `exits.<EC>`, `tlbi.<kind>`, or another counter. */
  inc(name: CounterName, by = 1): void {
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
    const other = name as OtherCounter;
    this.other[other] = (this.other[other] ?? 0) + by;
  }

  // One method per exit-path counter: no lookup by name on every exit. The first count inserts the
  // name, so `other` keeps the order first counted.
  countNestedEret(): void {
    if (this.nestedEretsPending++ === 0) this.otherByName.nestedErets ??= 0;
  }

  countInjectionToL1(): void {
    if (this.injectionsToL1Pending++ === 0) this.otherByName.injectionsToL1 ??= 0;
  }

  countSysregTrap(): void {
    if (this.sysregTrapsPending++ === 0) this.otherByName.sysregTraps ??= 0;
  }

  /**
   * `inc("exits.<name>")` for an exit of class `ec`, without a lookup by name: the run loop counts
   * every exit. `nameOf` is asked on the class's first exit only.
   */
  incExit(ec: number, nameOf: (ec: number) => string): void {
    if (this.exitNames[ec] === undefined) {
      const n = (this.exitNames[ec] = nameOf(ec));
      this.exitsByName[n] ??= 0; // keeps the order first counted
    }
    this.exitsPending[ec] = this.exitsPending[ec]! + 1;
    this.exitsDirty = true;
  }

  /** The current value of a counter named as for `inc` (0 if never counted). */
  get(name: CounterName): number {
    const dot = name.indexOf(".");
    if (dot > 0) {
      const group = name.slice(0, dot);
      if (group === "exits" || group === "tlbi") return this[group][name.slice(dot + 1)] ?? 0;
    }
    if ((SCALARS as readonly string[]).includes(name)) return this[name as (typeof SCALARS)[number]];
    return this.other[name as OtherCounter] ?? 0;
  }

  /** One canonical unmap visited `n` shadow MMUs. */
  recordUnmapVisit(n: number): void {
    this.shadowMmusVisited.push(n);
  }

  /** Per-operation observations other than shadowMmusVisited. */
  readonly samples: Partial<Record<Exclude<SampleName, "shadowMmusVisited">, number[]>> = {};

  /** Record one observation of a per-operation quantity (`shadowMmusVisited`: per canonical unmap). */
  sample(name: SampleName, value: number): void {
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

/**
 * Add `n` to counter `name` of a VM's metrics (KVM's `kvm->stat.x++`): a Metrics field, `exits.X`,
 * `tlbi.X`, or another counter of the typed set.
 */
export function kvmStat(kvm: { readonly metrics: Metrics }, name: CounterName, n = 1): void {
  kvm.metrics.inc(name, n);
}

/** One canonical unmap of a VM visited `n` shadow MMUs. */
export function kvmStatUnmapVisit(kvm: { readonly metrics: Metrics }, n: number): void {
  kvm.metrics.recordUnmapVisit(n);
}
