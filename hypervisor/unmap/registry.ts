// The canonical-unmap strategies by name, for the CLI's `--unmap`, a scenario's `vm.unmap` and the
// VM's construction: `full` (seed 004), `revmap` (seed 001), `accel` (seed 000, on top of the
// revmap) and `rfc-rbtree` (seed 003). Option `directMap` adds the nested IPA direct map to
// revmap and accel.

import { HostError } from "../errors.ts";
import { AccelStrategy } from "./accel.ts";
import { fullUnmapStrategy } from "./full.ts";
import { RevmapStrategy } from "./revmap.ts";
import { RfcRbtreeStrategy } from "./rfc_rbtree.ts";
import type { UnmapStrategy, UnmapStrategyFactory } from "./strategy.ts";

/** The registered names, in the order the CLI lists them. */
export const UNMAP_STRATEGIES = ["full", "revmap", "accel", "rfc-rbtree"] as const;
export type UnmapStrategyName = (typeof UNMAP_STRATEGIES)[number];

const FACTORIES = new Map<string, UnmapStrategyFactory>([
  ["full", fullUnmapStrategy],
  ["revmap", (o) => new RevmapStrategy(o.directMap)],
  ["accel", (o) => new AccelStrategy(o.directMap)],
  ["rfc-rbtree", () => new RfcRbtreeStrategy()],
]);

/** A new strategy named `name` for one VM. */
export function createUnmapStrategy(name: string, options: { directMap: boolean }): UnmapStrategy {
  const f = FACTORIES.get(name);
  if (!f) throw new HostError(`unknown unmap strategy "${name}"`);
  return f(options);
}
