// Unmap strategy "rfc-rbtree" (seed 003): the 2024 RFC "Optimize the unmapping of shadow S2-MMU
// tables", kept as proposed so its flaws can be shown and measured. Per shadow MMU, an ordered map
// from the canonical IPA a shadow leaf was built from to that leaf's nested range. A canonical
// unmap walks its range from its start, looks each address up by EXACT start address, and on a
// hit unmaps the recorded nested range, frees the node at once and moves on by the node's size;
// on a miss it moves on by one 4K page.
//
// The flaws, reproduced on purpose:
// - A shadow leaf is found only when the walk lands on the canonical address its node was keyed
//   by. A 2M shadow leaf (L1 block over a host 2M block) whose canonical range loses a 4K page in
//   its middle is missed and keeps mapping the freed host page.
// - One node per canonical IPA, and the first one stays: the insert of a second nested mapping of
//   the same canonical IPA in the same MMU finds the key taken and frees the new node, so the new
//   mapping is never found.
// - Nodes only go at lookup: L1's IPA TLBIs leave stale nodes, and a later hit on one unmaps
//   whatever the nested range holds by then. The tree is made empty only in
//   kvm_init_nested_s2_mmu, which KVM runs when it creates the MMU array, not when it recycles an
//   MMU: nodes of an old context survive the recycle, and each one then shadows (by the rule
//   above) the key of the new context's leaf that maps the same canonical IPA.

import type { CanonicalIpa, NestedIpa } from "../addr.ts";
import { kvmStage2UnmapRange, type KvmS2Mmu, kvmUnmapValidMmus } from "../nested.ts";
import { kvmEvent } from "../events.ts";
import type { Kvm } from "../vm.ts";
import { bigintBTree, type BTree } from "./btree.ts";
import { mmuRecordLines, noRecords, vmRecordLines } from "./describe.ts";
import { shadowMappingLive } from "./shadow_live.ts";
import type { MmuRecords, RevmapRange, StrategyRecords, UnmapStrategy } from "./strategy.ts";
import { RFC_RBTREE_WORDING } from "./wording.ts";

/** What the RFC's rb-tree node held besides its key (the canonical IPA). */
export interface RfcTreeNode {
  nestedIpa: NestedIpa;
  size: bigint;
}

/** On a miss, the RFC's walk of the unmapped range moves on by one host page. */
const RFC_WALK_STEP = 0x1000n;


/**
 * The RFC's unmap of one MMU: from gpa to gpa+size, an exact-key lookup; on a hit the node is
 * removed, its nested range unmapped, and the walk moves on by the node's size; on a miss by one
 * page. Returns the shadow leaves removed.
 */
function rfcTreeUnmap(tree: BTree<bigint, RfcTreeNode>, mmu: KvmS2Mmu, gpa: CanonicalIpa, size: bigint): number {
  let removed = 0;
  const end = gpa + size;
  let at: bigint = gpa;
  while (at < end) {
    if (tree.size === 0) break; // nothing left that any later lookup could hit
    const node = tree.get(at);
    if (!node) {
      at += RFC_WALK_STEP;
      continue;
    }
    tree.delete(at);
    removed += kvmStage2UnmapRange(mmu, node.nestedIpa, node.size);
    at += node.size;
  }
  return removed;
}

/**
 * Unmap strategy "rfc-rbtree": per shadow MMU, canonical IPA of each shadow leaf → its nested
 * range. The debugger shows the nodes where the other strategies show their reverse maps.
 */
export class RfcRbtreeStrategy implements UnmapStrategy {
  readonly name = "rfc-rbtree";
  /** Per shadow MMU, by index. */
  trees: BTree<bigint, RfcTreeNode>[] = [];
  readonly coverage = [];
  readonly mmuNotes;
  readonly recordsOf;

  constructor() {
    ({ mmuNotes: this.mmuNotes, recordsOf: this.recordsOf } = noRecords(this.name));
  }

  /** The MMU's nodes as reverse-map ranges (they may overlap), each judged live or stale. */
  mmuRecordsOf(mmu: KvmS2Mmu): MmuRecords {
    const revmap: RevmapRange[] = [];
    for (const [canonical, node] of this.trees[mmu.index]!.entries()) {
      const start = canonical as CanonicalIpa;
      const stale = !shadowMappingLive(mmu, start, node.nestedIpa, node.size);
      revmap.push({ start, last: (canonical + node.size - 1n) as CanonicalIpa, nested: node.nestedIpa, stale });
    }
    return { mmu: mmu.index, broken: false, revmap, directMap: [] };
  }

  records(kvm: Kvm): StrategyRecords {
    return { strategy: this.name, mmus: kvm.nestedMmus.map((m) => this.mmuRecordsOf(m)), accel: null };
  }

  mmuRecords(mmu: KvmS2Mmu, limit: number): string[] {
    return mmuRecordLines(this.mmuRecordsOf(mmu), limit);
  }

  vmRecords(kvm: Kvm, limit: number): string[] {
    return vmRecordLines(kvm, this.name, null, limit);
  }

  initNested(kvm: Kvm): void {
    this.trees = kvm.nestedMmus.map(() => bigintBTree<RfcTreeNode>());
  }

  /** The MMU's tree. */
  tree(mmu: KvmS2Mmu): BTree<bigint, RfcTreeNode> {
    return this.trees[mmu.index]!;
  }

  /** Record a shadow leaf; a canonical IPA already in the tree keeps its first node. */
  shadowMap(mmu: KvmS2Mmu, canonical: CanonicalIpa, nested: NestedIpa, size: bigint): void {
    const tree = this.trees[mmu.index]!;
    if (!tree.has(canonical)) tree.set(canonical, { nestedIpa: nested, size });
  }

  canonicalUnmap(kvm: Kvm, gpa: CanonicalIpa, size: bigint): void {
    const { visited, removed } = kvmUnmapValidMmus(kvm, (mmu) => rfcTreeUnmap(this.trees[mmu.index]!, mmu, gpa, size));
    kvmEvent(kvm, { kind: "unmap", scope: "nested", strategy: "rfc-rbtree", start: gpa, size, mmusVisited: visited, removed, wording: RFC_RBTREE_WORDING });
  }

  /** L1's TLBIs leave the nodes in place: the RFC's third flaw. */
  shadowUnmap(): void {}

  /** Emptying or recycling the MMU leaves its nodes: only kvm_init_nested_s2_mmu (initNested) resets them. */
  mmuFullyUnmapped(): void {}
}
