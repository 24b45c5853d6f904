// Unmap strategy "full" (seed 004, upstream today): no reverse map; a canonical unmap empties every
// valid shadow MMU (kvm_nested_s2_unmap).

import { kvmNestedS2Unmap } from "../nested.ts";
import { noRecords } from "./describe.ts";
import type { UnmapStrategy } from "./strategy.ts";

export function fullUnmapStrategy(): UnmapStrategy {
  return {
    name: "full",
    ...noRecords("full"),
    initNested() {},
    shadowMap() {},
    canonicalUnmap(kvm) {
      kvmNestedS2Unmap(kvm);
    },
    shadowUnmap() {},
    mmuFullyUnmapped() {},
    coverage: [],
  };
}
