// Canonical-unmap strategies: how L0 finds the shadow stage-2 entries that may map a canonical
// range the host is taking back. Every strategy hears about shadow mappings as they are made and
// about shadow ranges as they go, so bookkeeping designs (reverse maps, accelerators) can be added
// beside the baseline without touching the fault and TLBI paths.

import { HostError } from "./errors.ts";
import type { Kvm } from "./vm.ts";
import { KVM_PHYS_SIZE, kvmStage2UnmapRange, type KvmS2Mmu } from "./nested.ts";
import { kvmEvent, kvmStat, kvmStatUnmapVisit } from "./stats.ts";

export interface UnmapStrategy {
  readonly name: string;
  /** A shadow leaf now maps nested [nestedIpa, +size) to canonical [canonicalIpa, +size). */
  onShadowMap(mmu: KvmS2Mmu, canonicalIpa: bigint, nestedIpa: bigint, size: bigint): void;
  /** The canonical range [gpa, +size) is gone: remove every shadow leaf that may map it. */
  onCanonicalUnmap(kvm: Kvm, gpa: bigint, size: bigint): void;
  /** The MMU's table was emptied (recycle, pending unmap, ALLE1, VMALLS12E1, full unmap). */
  onMmuFullyUnmapped(mmu: KvmS2Mmu): void;
  /** Part of the MMU's nested IPA space was unmapped (L1's IPA TLBIs). */
  onShadowUnmap?(mmu: KvmS2Mmu, nestedIpa: bigint, size: bigint): void;
}

/**
 * kvm_nested_s2_unmap: empty every valid shadow MMU, whatever changed. Records the shadow
 * entries removed and the MMUs visited for this canonical unmap.
 */
export function kvmNestedS2Unmap(kvm: Kvm): number {
  let removed = 0;
  let visited = 0;
  for (const mmu of kvm.nestedMmus) {
    if (!mmu.valid) continue;
    visited++;
    removed += kvmStage2UnmapRange(mmu, 0n, KVM_PHYS_SIZE);
  }
  kvmStat(kvm, "shadowEntriesRemoved", removed);
  kvmStatUnmapVisit(kvm, visited);
  kvmEvent(kvm, { kind: "unmap", scope: "nested", strategy: "full", mmusVisited: visited, removed });
  return removed;
}

/** Upstream today (seed 004): no reverse map, every valid shadow MMU is unmapped in full. */
export const fullUnmapStrategy: UnmapStrategy = {
  name: "full",
  onShadowMap() {},
  onCanonicalUnmap(kvm) {
    kvmNestedS2Unmap(kvm);
  },
  onMmuFullyUnmapped() {},
};

const STRATEGIES = new Map<string, UnmapStrategy>([[fullUnmapStrategy.name, fullUnmapStrategy]]);

/** Make a strategy selectable by name (config `unmap`). */
export function registerUnmapStrategy(s: UnmapStrategy): void {
  STRATEGIES.set(s.name, s);
}

/** The strategy the VM is configured with. */
export function unmapStrategy(kvm: Kvm): UnmapStrategy {
  const s = STRATEGIES.get(kvm.config.unmap);
  if (!s) throw new HostError(`unknown unmap strategy "${kvm.config.unmap}"`);
  return s;
}
