import { describe, expect, it } from "vitest";
import { sysRegIss } from "../../../emulator/exception.ts";
import { tlbiByName } from "../../../emulator/tlbi.ts";
import { kvmHandleGuestAbort, kvmUnmapGfnRange } from "../../../hypervisor/mmu.ts";
import { type KvmS2Mmu, kvmVcpuLoadHwMmu, kvmVcpuPutHwMmu } from "../../../hypervisor/nested.ts";
import { forceRecycle } from "../../../lab/injection.ts";
import { RfcRbtreeStrategy } from "../../../hypervisor/unmap/rfc_rbtree.ts";
import { kvmHandleSysTlbi } from "../../../hypervisor/tlbi.ts";
import { L1Stage2, s2Abort, useL1Stage2 } from "../../../lab/fixtures/l1_stage2.ts";
import { type Fixture, makeVm } from "../stage2_fixture.ts";

const SZ_4K = 0x1000n;
const SZ_2M = 0x20_0000n;

const tlbiIss = (name: string) => {
  const op = tlbiByName(name)!;
  return sysRegIss(1, op.op1, op.crn, op.crm, op.op2, 0, false);
};

/** A VM on the rfc-rbtree strategy with vCPU 0 running L2 under L1's stage-2 (VMID 3). */
function setup(blocks: boolean, vcpus = 1): { f: Fixture; s2: L1Stage2; mmu: KvmS2Mmu } {
  const f = makeVm({ vcpus, unmap: "rfc-rbtree", blocks });
  const s2 = new L1Stage2(f.slot, 0x4100_0000n);
  useL1Stage2(f.vcpus[0]!, s2, 3);
  kvmVcpuLoadHwMmu(f.vcpu());
  return { f, s2, mmu: f.vcpus[0]!.hwMmu! };
}

/** The RFC tree of `mmu`. */
const rfcTree = (mmu: KvmS2Mmu) => (mmu.kvm.unmap as RfcRbtreeStrategy).tree(mmu);
const nodes = (mmu: KvmS2Mmu) => rfcTree(mmu).toArray().map(([c, n]) => [c, n.nestedIpa, n.size]);

describe("rfc-rbtree unmap strategy", () => {
  it("is registered and selected by config unmap = rfc-rbtree", () => {
    const { f } = setup(false);
    expect(f.kvm.unmap).toBeInstanceOf(RfcRbtreeStrategy);
  });

  it("records each shadow leaf under its canonical IPA", () => {
    const { f, s2, mmu } = setup(false);
    s2.map(0x8000_0000n, 0x4020_0000n, SZ_4K);
    s2.map(0x8000_1000n, 0x4020_3000n, SZ_4K);
    kvmHandleGuestAbort(f.vcpu(), s2Abort(0x8000_0000n));
    kvmHandleGuestAbort(f.vcpu(), s2Abort(0x8000_1000n));
    expect(nodes(mmu)).toEqual([
      [0x4020_0000n, 0x8000_0000n, SZ_4K],
      [0x4020_3000n, 0x8000_1000n, SZ_4K],
    ]);
  });

  it("an unmapped page equal to a node's start removes the shadow leaf and frees the node", () => {
    const { f, s2, mmu } = setup(false, 2);
    s2.map(0x8000_0000n, 0x4020_0000n, SZ_4K);
    s2.map(0x8000_1000n, 0x4020_3000n, SZ_4K);
    kvmHandleGuestAbort(f.vcpu(), s2Abort(0x8000_0000n));
    kvmHandleGuestAbort(f.vcpu(), s2Abort(0x8000_1000n));
    kvmUnmapGfnRange(f.kvm, 0x4020_0000n, SZ_4K);
    expect(mmu.pgt.getLeaf(0x8000_0000n)).toBeNull();
    expect(mmu.pgt.getLeaf(0x8000_1000n)).not.toBeNull();
    expect(nodes(mmu)).toEqual([[0x4020_3000n, 0x8000_1000n, SZ_4K]]);
    expect(f.kvm.metrics.shadowEntriesRemoved).toBe(1);
    // Four shadow MMUs, one valid: only its tree is looked up.
    expect(f.kvm.metrics.shadowMmusVisited).toEqual([1]);
  });

  it("walks a multi-page unmap page by page, hitting 4K leaves inside an L1 2M block", () => {
    // Host pages are 4K (no canonical blocks), so each shadow leaf is 4K and keyed by its own page.
    const { f, s2, mmu } = setup(false);
    s2.map(0x8000_0000n, 0x4020_0000n, SZ_2M);
    kvmHandleGuestAbort(f.vcpu(), s2Abort(0x8000_5000n));
    kvmHandleGuestAbort(f.vcpu(), s2Abort(0x8001_f000n));
    expect(mmu.pgt.leafCount).toBe(2);
    kvmUnmapGfnRange(f.kvm, 0x4020_0000n, SZ_2M);
    expect(mmu.pgt.leafCount).toBe(0);
    expect(rfcTree(mmu).size).toBe(0);
    expect(f.kvm.metrics.shadowEntriesRemoved).toBe(2);
  });

  it("misses a 2M shadow leaf when a 4K page in its middle is unmapped: the leaf maps a freed page", () => {
    // L1 maps 2M and the host backs it with a 2M block, so the shadow leaf is 2M, keyed by the
    // block's canonical start. The host then takes back one page inside it.
    const { f, s2, mmu } = setup(true);
    s2.map(0x8000_0000n, 0x4020_0000n, SZ_2M);
    kvmHandleGuestAbort(f.vcpu(), s2Abort(0x8000_5000n));
    const leaf = mmu.pgt.getLeaf(0x8000_5000n)!;
    expect(leaf.size).toBe(SZ_2M);
    expect(nodes(mmu)).toEqual([[0x4020_0000n, 0x8000_0000n, SZ_2M]]);

    kvmUnmapGfnRange(f.kvm, 0x4020_5000n, SZ_4K);

    expect(f.kvm.mmu.pgt.getLeaf(0x4020_5000n)).toBeNull(); // the canonical side did unmap it
    const stale = mmu.pgt.getLeaf(0x8000_5000n);
    expect(stale).not.toBeNull();
    expect(stale!.pa).toBe(leaf.pa);
    expect(f.pool.isPoisoned(Number(leaf.pa + 0x5000n))).toBe(true); // freed page, still reachable
    expect(f.pool.isPoisoned(Number(leaf.pa + 0x4000n))).toBe(false);
    expect(f.kvm.metrics.shadowEntriesRemoved).toBe(0);
    expect(f.kvm.metrics.shadowMmusVisited).toEqual([1]);
    expect(rfcTree(mmu).size).toBe(1); // the node survives: its key was never looked up
  });

  it("keeps one node per canonical IPA, the first: a second nested alias is dropped and missed", () => {
    const { f, s2, mmu } = setup(false);
    s2.map(0x8000_0000n, 0x4020_0000n, SZ_4K);
    s2.map(0x8010_0000n, 0x4020_0000n, SZ_4K);
    kvmHandleGuestAbort(f.vcpu(), s2Abort(0x8000_0000n));
    kvmHandleGuestAbort(f.vcpu(), s2Abort(0x8010_0000n));
    expect(nodes(mmu)).toEqual([[0x4020_0000n, 0x8000_0000n, SZ_4K]]);
    const pa = mmu.pgt.getLeaf(0x8010_0000n)!.pa;

    kvmUnmapGfnRange(f.kvm, 0x4020_0000n, SZ_4K);

    expect(mmu.pgt.getLeaf(0x8000_0000n)).toBeNull();
    expect(mmu.pgt.getLeaf(0x8010_0000n)?.pa).toBe(pa);
    expect(f.pool.isPoisoned(Number(pa))).toBe(true);
  });

  it("moves on by the node's size on a hit: a 2M node's range is not looked up page by page", () => {
    const { f, s2, mmu } = setup(true, 2);
    s2.map(0x8000_0000n, 0x4020_0000n, SZ_2M);
    kvmHandleGuestAbort(f.vcpu(), s2Abort(0x8000_5000n));
    expect(nodes(mmu)).toEqual([[0x4020_0000n, 0x8000_0000n, SZ_2M]]);
    const tree = rfcTree(mmu);
    const lookedUp: bigint[] = [];
    const get = tree.get.bind(tree);
    tree.get = (k: bigint) => (lookedUp.push(k), get(k));
    kvmUnmapGfnRange(f.kvm, 0x4020_0000n, SZ_2M + SZ_4K);
    expect(mmu.pgt.leafCount).toBe(0);
    // A hit at the start, then the walk resumes after the node's 2M.
    expect(lookedUp[0]).toBe(0x4020_0000n);
    expect(lookedUp.length).toBe(1);
  });

  it("leaves nodes behind on L1's IPA TLBIs; a later hit unmaps whatever the nested range holds now", () => {
    const { f, s2, mmu } = setup(false);
    s2.map(0x8000_0000n, 0x4020_0000n, SZ_4K);
    kvmHandleGuestAbort(f.vcpu(), s2Abort(0x8000_0000n));
    // L1 moves nested 0x8000_0000 to another canonical page, with the TLBI it owes.
    s2.map(0x8000_0000n, 0x4030_0000n, SZ_4K);
    kvmHandleSysTlbi(f.vcpu(), tlbiIss("IPAS2E1IS"), 0x8000_0000n >> 12n);
    expect(mmu.pgt.getLeaf(0x8000_0000n)).toBeNull();
    expect(rfcTree(mmu).has(0x4020_0000n)).toBe(true);
    kvmHandleGuestAbort(f.vcpu(), s2Abort(0x8000_0000n));

    kvmUnmapGfnRange(f.kvm, 0x4020_0000n, SZ_4K);

    // The stale node names nested 0x8000_0000, now built from 0x4030_0000, which is still mapped.
    expect(mmu.pgt.getLeaf(0x8000_0000n)).toBeNull();
    expect(f.kvm.metrics.shadowEntriesRemoved).toBe(1);
    expect(nodes(mmu)).toEqual([[0x4030_0000n, 0x8000_0000n, SZ_4K]]);
  });

  it("keeps its nodes when the whole MMU is unmapped: only kvm_init_nested_s2_mmu resets the tree", () => {
    const { f, s2, mmu } = setup(false);
    s2.map(0x8000_0000n, 0x4020_0000n, SZ_4K);
    kvmHandleGuestAbort(f.vcpu(), s2Abort(0x8000_0000n));
    expect(rfcTree(mmu).size).toBe(1);
    kvmHandleSysTlbi(f.vcpu(), tlbiIss("ALLE1IS"), 0n);
    expect(mmu.pgt.leafCount).toBe(0);
    expect(nodes(mmu)).toEqual([[0x4020_0000n, 0x8000_0000n, SZ_4K]]);
  });

  it("a node that survives a recycle hides the new context's leaf of the same canonical IPA", () => {
    const { f, s2, mmu } = setup(false);
    s2.map(0x8000_0000n, 0x4020_0000n, SZ_4K);
    kvmHandleGuestAbort(f.vcpu(), s2Abort(0x8000_0000n));
    kvmVcpuPutHwMmu(f.vcpu());
    forceRecycle(f.kvm, mmu.index);
    expect(mmu.pgt.leafCount).toBe(0);
    expect(nodes(mmu)).toEqual([[0x4020_0000n, 0x8000_0000n, SZ_4K]]);
    // The MMU's next context maps the same canonical page at another nested IPA.
    const next = new L1Stage2(f.slot, 0x4180_0000n);
    next.map(0x9000_0000n, 0x4020_0000n, SZ_4K);
    useL1Stage2(f.vcpus[0]!, next, 4);
    f.kvm.nestedMmusNext = mmu.index; // round-robin lands on the recycled MMU
    kvmVcpuLoadHwMmu(f.vcpu());
    expect(f.vcpus[0]!.hwMmu).toBe(mmu);
    kvmHandleGuestAbort(f.vcpu(), s2Abort(0x9000_0000n));
    expect(nodes(mmu)).toEqual([[0x4020_0000n, 0x8000_0000n, SZ_4K]]);
    const pa = mmu.pgt.getLeaf(0x9000_0000n)!.pa;
    kvmUnmapGfnRange(f.kvm, 0x4020_0000n, SZ_4K);
    expect(mmu.pgt.getLeaf(0x9000_0000n)?.pa).toBe(pa);
    expect(f.pool.isPoisoned(Number(pa))).toBe(true);
  });
});
