// Chaos mode: a monitor that, at exits picked by a seeded generator, makes the host misbehave the
// way a loaded machine does — it takes back canonical pages L1 uses, fails the unmap strategy's
// non-sleeping stores (the revmap's, and the direct map's when it is on) and recycles shadow MMUs.
// The accelerator's own store is not failed here: seed 000 does not survive it (a finding shown by
// scenarios/accel_store_failure.yaml), so every accel run would stop at its first failure. A correct L0 hides all of it from the guests (same console, same exit); an
// unsafe unmap strategy is caught by the invariant checker. Every choice comes from the seed and
// from L0's state, so the same seed gives the same run.
//
// A canonical unmap only tests an unmap strategy if some shadow leaf maps the range, so the targets
// are biased toward live shadow mappings: a page a shadow leaf maps now, the 2M block around one, a
// range straddling the edge of one; then L1's own pages (canonical stage-2 leaves) and a small share
// of uniformly random pages of L1's RAM. The report says how many unmaps hit a live shadow mapping
// and how many shadow entries they removed, per kind of target.

import { SZ_2M, SZ_4K } from "../hypervisor/memslot.ts";
import type { VmMonitor } from "../hypervisor/monitor.ts";
import { SplitMix32 } from "../hypervisor/splitmix32.ts";
import type { KvmVcpu } from "../hypervisor/vcpu.ts";
import type { Kvm } from "../hypervisor/vm.ts";
import { assertInvariants, checkerAttached } from "./check.ts";
import { failStores, forceRecycle, type Store, unmapCanonical } from "./injection.ts";

/** Mean number of exits between two injections when no rate is given. */
export const DEFAULT_CHAOS_RATE = 50;

export interface ChaosOptions {
  seed: number;
  /** Mean exits between injections (≥ 1). */
  rate?: number;
  /** Called after every injection (the CLI attaches the invariant checker here too). */
  afterInjection?: (vcpu: KvmVcpu) => void;
}

export type ChaosAction = "unmap" | "store-fail" | "recycle";

/**
 * What a canonical unmap aims at. `shadow`: one 4K page a live shadow leaf maps; `block-2m`: the
 * whole 2M block around a live shadow mapping (an L1 page when there is none); `straddle`: 2–8 pages
 * across the start or end of a live shadow mapping or an L1 leaf; `l1-page`: one page of a
 * canonical stage-2 leaf (L1's own pages, whether or not L2 uses them); `random`: any page of L1's RAM.
 */
export type ChaosTarget = "shadow" | "block-2m" | "straddle" | "l1-page" | "random";

export const CHAOS_TARGETS: readonly ChaosTarget[] = ["shadow", "block-2m", "straddle", "l1-page", "random"];

/** Relative weights of the actions (the unmap share is split among the targets below). */
const ACTION_WEIGHTS: readonly (readonly [ChaosAction, number])[] = [
  ["unmap", 58],
  ["store-fail", 20],
  ["recycle", 22],
];

const TARGET_WEIGHTS: readonly (readonly [ChaosTarget, number])[] = [
  ["shadow", 24],
  ["block-2m", 10],
  ["straddle", 12],
  ["l1-page", 8],
  ["random", 4],
];

/** Where a target kind goes when it has nothing to aim at (no shadow leaf yet, no canonical leaf). */
const FALLBACK: Partial<Record<ChaosTarget, ChaosTarget>> = { shadow: "l1-page", "block-2m": "l1-page", straddle: "l1-page", "l1-page": "random" };

/** Canonical [start, start+size) some leaf maps. */
interface Span {
  readonly start: bigint;
  readonly size: bigint;
}

export interface ChaosUnmapStats {
  /** Canonical unmaps injected. */
  injections: number;
  /** Of those, how many overlapped a live shadow mapping at injection time. */
  hits: number;
  /** Shadow entries the unmaps removed (as the nested unmap events count them). */
  removed: number;
}

/** One canonical unmap the monitor injected. */
export interface ChaosUnmapRecord {
  readonly target: ChaosTarget;
  readonly start: bigint;
  readonly size: bigint;
  readonly hit: boolean;
  readonly removed: number;
}

/**
 * One injection as a scenario timeline entry would make it: after exit number `exits` (counted over
 * every vCPU, as a timeline's `at: {exits: N}` counts them), the concrete action. A failing chaos run
 * replays as a scenario whose timeline is its log.
 */
export interface ChaosInjection {
  readonly exits: number;
  readonly action:
    | { readonly unmapCanonical: { readonly ipa: bigint; readonly size: bigint } }
    | { readonly failStores: { readonly store: Store; readonly count: number } }
    | { readonly recycle: { readonly mmu: number } };
}

export interface ChaosReport {
  readonly seed: number;
  readonly rate: number;
  /** Every injection, by action. */
  readonly injections: number;
  readonly byAction: Readonly<Record<ChaosAction, number>>;
  /** store-fail injections, by store (each fails the next 1–3 stores of it). */
  readonly storeFailures: Readonly<Partial<Record<Store, number>>>;
  readonly unmaps: ChaosUnmapStats & { readonly byTarget: Readonly<Record<ChaosTarget, ChaosUnmapStats>> };
}

function pickWeighted<T>(rng: SplitMix32, table: readonly (readonly [T, number])[]): T {
  const total = table.reduce((n, [, w]) => n + w, 0);
  let r = rng.below(total);
  for (const [v, w] of table) {
    if (r < w) return v;
    r -= w;
  }
  return table[0]![0];
}

/** The canonical ranges the shadow leaves of every MMU map right now (their recorded origins). */
export function liveShadowSpans(kvm: Kvm): Span[] {
  const out: Span[] = [];
  for (const mmu of kvm.nestedMmus) {
    for (const leaf of mmu.pgt.leaves()) {
      const origin = mmu.shadowOrigin.get(leaf.ipa);
      if (origin !== undefined) out.push({ start: origin, size: leaf.size });
    }
  }
  return out;
}

function overlapsAny(spans: readonly Span[], start: bigint, size: bigint): boolean {
  const end = start + size;
  return spans.some((s) => s.start < end && start < s.start + s.size);
}

export class ChaosMonitor implements VmMonitor {
  private readonly rng: SplitMix32;
  private readonly rate: number;
  private untilNext: number;
  /** Injections done so far, by action. */
  readonly counts: Record<ChaosAction, number> = { unmap: 0, "store-fail": 0, recycle: 0 };
  /** store-fail injections so far, by store. */
  private readonly storeFailures: Partial<Record<Store, number>> = {};
  /** Every canonical unmap injected, in order. */
  readonly unmaps: ChaosUnmapRecord[] = [];
  /** Every injection done, in order, as a timeline entry would do it. */
  readonly log: ChaosInjection[] = [];
  /** Exits handled so far, over every vCPU. */
  private exits = 0;

  constructor(
    private readonly kvm: Kvm,
    private readonly opts: ChaosOptions,
  ) {
    this.rng = new SplitMix32(opts.seed);
    this.rate = Math.max(1, Math.floor(opts.rate ?? DEFAULT_CHAOS_RATE));
    this.untilNext = this.gap();
  }

  /** Exits until the next injection: uniform in [1, 2·rate − 1], so the mean is `rate`. */
  private gap(): number {
    return 1 + this.rng.below(2 * this.rate - 1);
  }

  afterExit(vcpu: KvmVcpu): void {
    this.exits++;
    if (--this.untilNext > 0) return;
    this.untilNext = this.gap();
    this.inject();
    this.opts.afterInjection?.(vcpu);
  }

  /** One injection; an action with nothing to act on (no valid MMU to recycle) is skipped. */
  inject(): ChaosAction | null {
    const kvm = this.kvm;
    const action = pickWeighted(this.rng, ACTION_WEIGHTS);
    switch (action) {
      case "unmap":
        this.unmap();
        break;
      case "store-fail":
        this.failStores();
        break;
      case "recycle": {
        const valid = kvm.nestedMmus.filter((m) => m.valid);
        if (valid.length === 0) return null;
        const mmu = valid[this.rng.below(valid.length)]!.index;
        this.log.push({ exits: this.exits, action: { recycle: { mmu } } });
        forceRecycle(kvm, mmu, "chaos");
        break;
      }
    }
    this.counts[action]++;
    return action;
  }

  /**
   * Fail the next 1–3 stores of one structure the strategy keeps and survives failing: the revmap,
   * or (with the direct map on) the revmap or the direct map, drawn from the seed.
   */
  private failStores(): void {
    const n = 1 + this.rng.below(3);
    const store: Store = this.kvm.config.directMap && this.rng.below(2) === 1 ? "directMap" : "revmap";
    this.log.push({ exits: this.exits, action: { failStores: { store, count: n } } });
    failStores(this.kvm, store, n, "chaos");
    this.storeFailures[store] = (this.storeFailures[store] ?? 0) + 1;
  }

  /** A canonical unmap at a target drawn from the seed, recorded with whether it hit and what it removed. */
  private unmap(): void {
    const live = liveShadowSpans(this.kvm);
    let target: ChaosTarget | undefined = pickWeighted(this.rng, TARGET_WEIGHTS);
    let range: Span | null = null;
    while (target !== undefined && (range = this.aim(target, live)) === null) target = FALLBACK[target];
    if (target === undefined || range === null) return;
    const hit = overlapsAny(live, range.start, range.size);
    const before = this.kvm.events.total;
    this.log.push({ exits: this.exits, action: { unmapCanonical: { ipa: range.start, size: range.size } } });
    unmapCanonical(this.kvm, range.start, range.size, "chaos");
    this.unmaps.push({ target, start: range.start, size: range.size, hit, removed: this.nestedRemovedSince(before) });
  }

  /** Shadow entries removed by the nested unmap events logged since event number `before`. */
  private nestedRemovedSince(before: number): number {
    const log = this.kvm.events;
    let removed = 0;
    for (const e of log.recent(Math.min(log.total - before, log.capacity))) {
      if (e.data.kind === "unmap" && e.data.scope === "nested") removed += e.data.removed;
    }
    return removed;
  }

  /** The canonical range a target kind aims at now, or null when it has nothing to aim at. */
  private aim(target: ChaosTarget, live: readonly Span[]): Span | null {
    switch (target) {
      case "shadow":
        return live.length === 0 ? null : this.pageOf(this.pickSpan(live));
      case "block-2m": {
        const anchor = live.length > 0 ? this.pickSpan(live) : this.canonicalLeaf();
        if (!anchor) return null;
        return { start: this.pageOf(anchor).start & ~(SZ_2M - 1n), size: SZ_2M };
      }
      case "straddle": {
        // Mostly the edge of a shadow mapping; now and then the edge of one of L1's leaves.
        const anchor = live.length > 0 && this.rng.below(4) < 3 ? this.pickSpan(live) : (this.canonicalLeaf() ?? (live.length > 0 ? this.pickSpan(live) : null));
        return anchor ? this.straddle(anchor) : null;
      }
      case "l1-page": {
        const leaf = this.canonicalLeaf();
        return leaf ? this.pageOf(leaf) : null;
      }
      case "random":
        return this.randomRamPage();
    }
  }

  private pickSpan(spans: readonly Span[]): Span {
    return spans[this.rng.below(spans.length)]!;
  }

  /** A random 4K page of a span. */
  private pageOf(s: Span): Span {
    return { start: s.start + BigInt(this.rng.below(Number(s.size / SZ_4K))) * SZ_4K, size: SZ_4K };
  }

  /** 1–4 pages inside the span and 1–4 outside, across its start or its end. */
  private straddle(s: Span): Span {
    const inside = BigInt(1 + this.rng.below(Math.min(4, Number(s.size / SZ_4K)))) * SZ_4K;
    const outside = BigInt(1 + this.rng.below(4)) * SZ_4K;
    if (this.rng.below(2) === 0 || s.start < outside) return { start: s.start + s.size - inside, size: inside + outside };
    return { start: s.start - outside, size: outside + inside };
  }

  /**
   * A random leaf of the canonical stage-2: a random 2M region among those it maps anything in, then
   * a random leaf weighted by its pages (so a region split into 4K pages does not crowd out others).
   */
  private canonicalLeaf(): Span | null {
    const regions = new Map<bigint, Span[]>();
    for (const leaf of this.kvm.mmu.pgt.leaves()) {
      const r = leaf.ipa & ~(SZ_2M - 1n);
      let list = regions.get(r);
      if (!list) regions.set(r, (list = []));
      list.push({ start: leaf.ipa, size: leaf.size });
    }
    if (regions.size === 0) return null;
    const keys = [...regions.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const leaves = regions.get(keys[this.rng.below(keys.length)]!)!;
    let k = this.rng.below(leaves.reduce((n, l) => n + Number(l.size / SZ_4K), 0));
    for (const l of leaves) {
      const n = Number(l.size / SZ_4K);
      if (k < n) return l;
      k -= n;
    }
    return null;
  }

  /** A page of L1's RAM drawn uniformly, mapped or not. */
  private randomRamPage(): Span | null {
    const slots = this.kvm.memslots;
    let k = this.rng.below(slots.reduce((n, s) => n + Number(s.size / SZ_4K), 0));
    for (const s of slots) {
      const n = Number(s.size / SZ_4K);
      if (k < n) return { start: s.base + BigInt(k) * SZ_4K, size: SZ_4K };
      k -= n;
    }
    return null;
  }

  /** What the monitor did: injections by action, and the unmaps' hits and removals by target. */
  report(): ChaosReport {
    const zero = (): ChaosUnmapStats => ({ injections: 0, hits: 0, removed: 0 });
    const byTarget = Object.fromEntries(CHAOS_TARGETS.map((t) => [t, zero()])) as Record<ChaosTarget, ChaosUnmapStats>;
    const all = zero();
    for (const u of this.unmaps) {
      for (const s of [byTarget[u.target], all]) {
        s.injections++;
        if (u.hit) s.hits++;
        s.removed += u.removed;
      }
    }
    const injections = this.counts.unmap + this.counts["store-fail"] + this.counts.recycle;
    return {
      seed: this.opts.seed, rate: this.rate, injections, byAction: { ...this.counts }, storeFailures: { ...this.storeFailures }, unmaps: { ...all, byTarget },
    };
  }
}

/** Chaos on a VM whose checker is on: every injection is checked at once. */
export function chaosMonitor(kvm: Kvm, chaos: { seed: number; rate?: number }): ChaosMonitor {
  return new ChaosMonitor(kvm, {
    seed: chaos.seed,
    rate: chaos.rate,
    afterInjection: () => {
      if (checkerAttached(kvm)) assertInvariants(kvm);
    },
  });
}

/** The chaos monitor attached to a VM, if any. */
export function chaosOf(kvm: Kvm): ChaosMonitor | null {
  return kvm.monitors.find((m): m is ChaosMonitor => m instanceof ChaosMonitor) ?? null;
}

/** " (revmap 3, directMap 2)": the stores failed, when any. */
function formatStores(by: Partial<Record<Store, number>>): string {
  const parts = Object.entries(by).map(([store, n]) => `${store} ${n}`);
  return parts.length ? ` (${parts.join(", ")})` : "";
}

/** The report as text: one line of totals, then a table of the unmaps by target. */
export function formatChaosReport(r: ChaosReport): string {
  const lines = [
    `chaos: seed ${r.seed}, rate ${r.rate}: ${r.injections} injections (${r.byAction.unmap} canonical unmaps, ` +
      `${r.byAction["store-fail"]} store failures${formatStores(r.storeFailures)}, ${r.byAction.recycle} recycles)`,
    `  ${"unmap target".padEnd(14)}${"unmaps".padStart(8)}${"hit live shadow".padStart(17)}${"shadow entries removed".padStart(24)}`,
  ];
  const row = (name: string, s: ChaosUnmapStats): string =>
    `  ${name.padEnd(14)}${String(s.injections).padStart(8)}${String(s.hits).padStart(17)}${String(s.removed).padStart(24)}`;
  for (const t of CHAOS_TARGETS) lines.push(row(t, r.unmaps.byTarget[t]));
  lines.push(row("all", r.unmaps));
  return lines.join("\n");
}
