// The canonical-unmap strategies by name, for the CLI's `--unmap`, a scenario's `vm.unmap` and the
// VM's construction: `full` (seed 004), `revmap` (seed 001), `accel` (seed 000, on top of the
// revmap) and `rfc-rbtree` (seed 003). Option `directMap` adds the nested IPA direct map to
// revmap and accel; option `revmapTlbi` says what L1's TLBIs do to their records (strategy.ts).

import { HostError } from "../errors.ts";
import { AccelStrategy } from "./accel.ts";
import { fullUnmapStrategy } from "./full.ts";
import { RevmapStrategy } from "./revmap.ts";
import { RfcRbtreeStrategy } from "./rfc_rbtree.ts";
import type { RevmapTlbi, UnmapStrategy, UnmapStrategyFactory, UnmapStrategyOptions } from "./strategy.ts";

/** The registered names, in the order the CLI lists them. */
export const UNMAP_STRATEGIES = ["full", "revmap", "accel", "rfc-rbtree"] as const;
export type UnmapStrategyName = (typeof UNMAP_STRATEGIES)[number];

const FACTORIES = new Map<string, UnmapStrategyFactory>([
  ["full", fullUnmapStrategy],
  ["revmap", (o) => new RevmapStrategy(o.directMap, revmapTlbiOf(o))],
  ["accel", (o) => new AccelStrategy(o.directMap, revmapTlbiOf(o))],
  ["rfc-rbtree", () => new RfcRbtreeStrategy()],
]);

/**
 * The TLBI behaviour `options` ask for: v3 when the direct map is on (it exists to speed up v3's
 * removals), else the seeds'. The direct map with the seeds' TLBIs would be kept and never used.
 */
export function revmapTlbiOf(options: UnmapStrategyOptions): RevmapTlbi {
  const mode = options.revmapTlbi ?? (options.directMap ? "v3" : "seed");
  if (mode === "seed" && options.directMap) throw new HostError('directMap needs revmapTlbi "v3": the seeds\' TLBIs never consult it');
  return mode;
}

/** A new strategy named `name` for one VM. */
export function createUnmapStrategy(name: string, options: UnmapStrategyOptions): UnmapStrategy {
  const f = FACTORIES.get(name);
  if (!f) throw new HostError(`unknown unmap strategy "${name}"`);
  return f(options);
}
