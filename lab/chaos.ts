// Chaos mode: a monitor that, at exits picked by a seeded generator, makes the host misbehave the
// way a loaded machine does — it takes back canonical pages L1 uses (now and then a whole 2M
// range), fails revmap allocations and recycles shadow MMUs. A correct L0 hides all of it from the
// guests (same console, same exit); an unsafe unmap strategy is caught by the invariant checker.
// Every choice comes from the seed and from L0's state, so the same seed gives the same run.

import { SZ_2M, SZ_4K } from "../hypervisor/memslot.ts";
import type { VmMonitor } from "../hypervisor/monitor.ts";
import { SplitMix32 } from "../hypervisor/splitmix32.ts";
import type { KvmVcpu } from "../hypervisor/vcpu.ts";
import type { Kvm } from "../hypervisor/vm.ts";
import { assertInvariants, checkerAttached } from "./check.ts";
import { failRevmapStores, forceRecycle, unmapCanonical } from "./injection.ts";

/** Mean number of exits between two injections when no rate is given. */
export const DEFAULT_CHAOS_RATE = 50;

export interface ChaosOptions {
  seed: number;
  /** Mean exits between injections (≥ 1). */
  rate?: number;
  /** Called after every injection (the CLI attaches the invariant checker here too). */
  afterInjection?: (vcpu: KvmVcpu) => void;
}

export type ChaosAction = "unmap-page" | "unmap-2m" | "revmap-fail" | "recycle";

/** Relative weights of the actions. */
const WEIGHTS: readonly [ChaosAction, number][] = [
  ["unmap-page", 50],
  ["unmap-2m", 8],
  ["revmap-fail", 20],
  ["recycle", 22],
];
const TOTAL_WEIGHT = WEIGHTS.reduce((n, [, w]) => n + w, 0);

export class ChaosMonitor implements VmMonitor {
  private readonly rng: SplitMix32;
  private readonly rate: number;
  private untilNext: number;
  /** Injections done so far, by action. */
  readonly counts: Record<ChaosAction, number> = { "unmap-page": 0, "unmap-2m": 0, "revmap-fail": 0, recycle: 0 };

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
    if (--this.untilNext > 0) return;
    this.untilNext = this.gap();
    this.inject();
    this.opts.afterInjection?.(vcpu);
  }

  private pick(): ChaosAction {
    let r = this.rng.below(TOTAL_WEIGHT);
    for (const [a, w] of WEIGHTS) {
      if (r < w) return a;
      r -= w;
    }
    return "unmap-page";
  }

  /** One injection; an action with nothing to act on (no page mapped yet, no valid MMU) is skipped. */
  inject(): ChaosAction | null {
    const kvm = this.kvm;
    const action = this.pick();
    switch (action) {
      case "unmap-page":
      case "unmap-2m": {
        const page = this.randomCanonicalPage();
        if (page === null) return null;
        if (action === "unmap-page") unmapCanonical(kvm, page, SZ_4K, "chaos");
        else unmapCanonical(kvm, page & ~(SZ_2M - 1n), SZ_2M, "chaos");
        break;
      }
      case "revmap-fail":
        failRevmapStores(kvm, 1 + this.rng.below(3), "chaos");
        break;
      case "recycle": {
        const valid = kvm.nestedMmus.filter((m) => m.valid);
        if (valid.length === 0) return null;
        forceRecycle(kvm, valid[this.rng.below(valid.length)]!.index, "chaos");
        break;
      }
    }
    this.counts[action]++;
    return action;
  }

  /**
   * A random page L1 uses: a random 2M region among those the canonical stage-2 maps anything in,
   * then a random page of that region's leaves (so a region split into 4K pages does not crowd out
   * the others).
   */
  private randomCanonicalPage(): bigint | null {
    const regions = new Map<bigint, { ipa: bigint; size: bigint }[]>();
    for (const leaf of this.kvm.mmu.pgt.leaves()) {
      const r = leaf.ipa & ~(SZ_2M - 1n);
      let list = regions.get(r);
      if (!list) regions.set(r, (list = []));
      list.push({ ipa: leaf.ipa, size: leaf.size });
    }
    if (regions.size === 0) return null;
    const keys = [...regions.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const leaves = regions.get(keys[this.rng.below(keys.length)]!)!;
    const pages = leaves.reduce((n, l) => n + Number(l.size / SZ_4K), 0);
    let k = this.rng.below(pages);
    for (const l of leaves) {
      const n = Number(l.size / SZ_4K);
      if (k < n) return l.ipa + BigInt(k) * SZ_4K;
      k -= n;
    }
    return null;
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
