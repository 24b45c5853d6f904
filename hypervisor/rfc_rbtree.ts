// Unmap strategy "rfc-rbtree" (seed 003): the 2024 RFC "Optimize the unmapping of shadow S2-MMU
// tables", kept as proposed so its flaws can be shown and measured. Per shadow MMU, an ordered map
// from the canonical IPA a shadow leaf was built from to that leaf's nested range. A canonical
// unmap walks its range one 4K page at a time and looks each page up by EXACT start address; a hit
// unmaps the recorded nested range and frees the node at once.
//
// The flaws, reproduced on purpose:
// - A shadow leaf is found only when the unmapped page is the canonical address its node was keyed
//   by. A 2M shadow leaf (L1 block over a host 2M block) whose canonical range loses a 4K page in
//   its middle is missed and keeps mapping the freed host page.
// - One node per canonical IPA: a second nested mapping of the same canonical IPA in the same MMU
//   overwrites the first, which is then never found.
// - Nodes only go at lookup or when the whole MMU is emptied: L1's IPA TLBIs leave stale nodes, and
//   a later hit on one unmaps whatever the nested range holds by then.

import type { Kvm } from "./vm.ts";
import { kvmStage2UnmapRange, type KvmS2Mmu } from "./nested.ts";
import type { CanonicalIpa } from "./addr.ts";
import { kvmEvent, kvmStat, kvmStatUnmapVisit } from "./stats.ts";
import type { UnmapStrategy } from "./unmap.ts";

/** What the RFC's rb-tree node held besides its key (the canonical IPA). */
export interface RfcTreeNode {
  nestedIpa: bigint;
  size: bigint;
}

/** The RFC walked the unmapped range in host pages. */
const RFC_WALK_STEP = 0x1000n;


/** Record a shadow leaf; re-adding a canonical IPA replaces its node. */
function rfcTreeAdd(mmu: KvmS2Mmu, canonicalIpa: bigint, nestedIpa: bigint, size: bigint): void {
  mmu.rfcTree.set(canonicalIpa, { nestedIpa, size });
}

/**
 * The RFC's unmap of one MMU: for each page of [gpa, gpa+size), an exact-key lookup; on a hit the
 * node is removed and its nested range unmapped. Returns the shadow leaves removed.
 */
function rfcTreeUnmap(mmu: KvmS2Mmu, gpa: bigint, size: bigint): number {
  const tree = mmu.rfcTree;
  let removed = 0;
  for (let page = gpa; page < gpa + size; page += RFC_WALK_STEP) {
    if (tree.size === 0) break; // nothing left that any later lookup could hit
    const node = tree.get(page);
    if (!node) continue;
    tree.delete(page);
    removed += kvmStage2UnmapRange(mmu, node.nestedIpa, node.size);
  }
  return removed;
}

export const rfcRbtreeStrategy: UnmapStrategy = {
  name: "rfc-rbtree",
  onShadowMap(mmu, canonicalIpa, nestedIpa, size) {
    rfcTreeAdd(mmu, canonicalIpa, nestedIpa, size);
  },
  onCanonicalUnmap(kvm: Kvm, gpa, size) {
    let removed = 0;
    let visited = 0;
    for (const mmu of kvm.nestedMmus) {
      if (!mmu.valid) continue;
      visited++;
      removed += rfcTreeUnmap(mmu, gpa, size);
    }
    kvmStat(kvm, "shadowEntriesRemoved", removed);
    kvmStatUnmapVisit(kvm, visited);
    kvmEvent(kvm, { kind: "unmap", scope: "nested", strategy: "rfc-rbtree", start: gpa as CanonicalIpa, size, mmusVisited: visited, removed });
  },
  onMmuFullyUnmapped(mmu) {
    mmu.rfcTree.clear();
  },
};
