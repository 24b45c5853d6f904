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

import type { CanonicalIpa, NestedIpa } from "../addr.ts";
import { kvmStage2UnmapRange, type KvmS2Mmu, kvmUnmapValidMmus } from "../nested.ts";
import { kvmEvent } from "../events.ts";
import type { Kvm } from "../vm.ts";
import { bigintBTree, type BTree } from "./btree.ts";
import { noRecords } from "./describe.ts";
import type { UnmapStrategy } from "./strategy.ts";
import { RFC_RBTREE_WORDING } from "./wording.ts";

/** What the RFC's rb-tree node held besides its key (the canonical IPA). */
export interface RfcTreeNode {
  nestedIpa: NestedIpa;
  size: bigint;
}

/** The RFC walked the unmapped range in host pages. */
const RFC_WALK_STEP = 0x1000n;


/**
 * The RFC's unmap of one MMU: for each page of [gpa, gpa+size), an exact-key lookup; on a hit the
 * node is removed and its nested range unmapped. Returns the shadow leaves removed.
 */
function rfcTreeUnmap(tree: BTree<bigint, RfcTreeNode>, mmu: KvmS2Mmu, gpa: CanonicalIpa, size: bigint): number {
  let removed = 0;
  for (let page: bigint = gpa; page < gpa + size; page += RFC_WALK_STEP) {
    if (tree.size === 0) break; // nothing left that any later lookup could hit
    const node = tree.get(page);
    if (!node) continue;
    tree.delete(page);
    removed += kvmStage2UnmapRange(mmu, node.nestedIpa, node.size);
  }
  return removed;
}

/** Unmap strategy "rfc-rbtree": per shadow MMU, canonical IPA of each shadow leaf → its nested range. */
export class RfcRbtreeStrategy implements UnmapStrategy {
  readonly name = "rfc-rbtree";
  /** Per shadow MMU, by index. */
  trees: BTree<bigint, RfcTreeNode>[] = [];
  readonly coverage = [];
  readonly mmuNotes;
  readonly mmuRecords;
  readonly vmRecords;
  readonly recordsOf;

  constructor() {
    ({ mmuNotes: this.mmuNotes, mmuRecords: this.mmuRecords, vmRecords: this.vmRecords, recordsOf: this.recordsOf } = noRecords(this.name));
  }

  initNested(kvm: Kvm): void {
    this.trees = kvm.nestedMmus.map(() => bigintBTree<RfcTreeNode>());
  }

  /** The MMU's tree. */
  tree(mmu: KvmS2Mmu): BTree<bigint, RfcTreeNode> {
    return this.trees[mmu.index]!;
  }

  /** Record a shadow leaf; re-adding a canonical IPA replaces its node. */
  shadowMap(mmu: KvmS2Mmu, canonical: CanonicalIpa, nested: NestedIpa, size: bigint): void {
    this.trees[mmu.index]!.set(canonical, { nestedIpa: nested, size });
  }

  canonicalUnmap(kvm: Kvm, gpa: CanonicalIpa, size: bigint): void {
    const { visited, removed } = kvmUnmapValidMmus(kvm, (mmu) => rfcTreeUnmap(this.trees[mmu.index]!, mmu, gpa, size));
    kvmEvent(kvm, { kind: "unmap", scope: "nested", strategy: "rfc-rbtree", start: gpa, size, mmusVisited: visited, removed, wording: RFC_RBTREE_WORDING });
  }

  /** L1's TLBIs leave the nodes in place: the RFC's third flaw. */
  shadowUnmap(): void {}

  mmuFullyUnmapped(mmu: KvmS2Mmu): void {
    this.trees[mmu.index]!.clear();
  }
}
