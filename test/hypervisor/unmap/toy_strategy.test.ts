// How to add a canonical-unmap strategy: implement UnmapStrategy (hypervisor/unmap/strategy.ts),
// keep your state inside the object, and hand it to the VM. This toy keeps, per shadow MMU, a
// plain list of the canonical ranges its shadow leaves were built from; it runs on the real fault,
// TLBI and MMU-notifier paths and passes the invariant checker, which verifies S on its own and R
// through the toy's `coverage`. To make it selectable by name, add it to unmap/registry.ts.

import { describe, expect, it } from "vitest";
import type { CanonicalIpa, NestedIpa } from "../../../hypervisor/addr.ts";
import { checkInvariants } from "../../../lab/check.ts";
import { kvmUnmapGfnRange } from "../../../hypervisor/mmu.ts";
import { checkNestedVcpuRequests, kvmStage2UnmapRange, type KvmS2Mmu } from "../../../hypervisor/nested.ts";
import { kvmStatUnmapVisit } from "../../../hypervisor/metrics.ts";
import type { Kvm } from "../../../hypervisor/vm.ts";
import { noRecords } from "../../../hypervisor/unmap/describe.ts";
import type { UnmapStrategy } from "../../../hypervisor/unmap/strategy.ts";
import { CANON, canonicalPa, NESTED, PAGE, shadowLeavesMapping, strategyRig } from "./strategy_fixture.ts";

interface Rec { canonical: CanonicalIpa; nested: NestedIpa; size: bigint }

class ListStrategy implements UnmapStrategy {
  readonly name = "toy-list";
  lists: Rec[][] = [];
  readonly coverage = [{
    invariant: "R" as const,
    exempt: () => false,
    covers: (mmu: KvmS2Mmu, c: CanonicalIpa, n: NestedIpa) => {
      const r = this.lists[mmu.index]!.find((x) => x.canonical <= c && c < x.canonical + x.size && x.nested + (c - x.canonical) === n);
      return r ? { covered: true as const, last: (r.canonical + r.size - 1n) as CanonicalIpa } : { covered: false as const, reason: "no list entry", range: null };
    },
  }];
  readonly records; readonly mmuNotes; readonly mmuRecords; readonly vmRecords; readonly recordsOf;

  constructor() {
    ({ records: this.records, mmuNotes: this.mmuNotes, mmuRecords: this.mmuRecords, vmRecords: this.vmRecords, recordsOf: this.recordsOf } = noRecords(this.name));
  }
  initNested(kvm: Kvm): void {
    this.lists = kvm.nestedMmus.map(() => []);
  }
  shadowMap(mmu: KvmS2Mmu, canonical: CanonicalIpa, nested: NestedIpa, size: bigint): void {
    this.lists[mmu.index]!.push({ canonical, nested, size });
  }
  canonicalUnmap(kvm: Kvm, gpa: CanonicalIpa, size: bigint): void {
    let visited = 0;
    for (const mmu of kvm.nestedMmus) {
      if (!mmu.valid) continue;
      visited++;
      const hit = (r: Rec) => r.canonical < gpa + size && gpa < r.canonical + r.size;
      const list = this.lists[mmu.index]!;
      // Unmapping may call back into shadowUnmap, which edits the list: work on what was there.
      const doomed = list.filter(hit);
      this.lists[mmu.index] = list.filter((r) => !hit(r));
      for (const r of doomed) kvmStage2UnmapRange(mmu, r.nested, r.size);
    }
    kvmStatUnmapVisit(kvm, visited);
  }
  shadowUnmap(mmu: KvmS2Mmu, nested: NestedIpa, size: bigint): void {
    // Leaves partly in the range went whole, but a record only partly inside may still describe
    // a leaf of a later split: keep it (a stale record costs an extra unmap, never safety).
    this.lists[mmu.index] = this.lists[mmu.index]!.filter((r) => r.nested < nested || r.nested + r.size > nested + size);
  }
  mmuFullyUnmapped(mmu: KvmS2Mmu): void {
    this.lists[mmu.index] = [];
  }
}

describe("a toy strategy plugged into the VM", () => {
  it("keeps S and R through shadow faults, L1 TLBIs, recycles and canonical unmaps", () => {
    const toy = new ListStrategy();
    const r = strategyRig({ nestedMmus: 2 }, toy);
    expect(r.kvm.unmap).toBe(toy);
    const a = r.use(1);
    for (let i = 0n; i < 6n; i++) r.touch(NESTED + i * PAGE);
    r.use(2);
    r.touch(NESTED + 2n * PAGE);
    r.tlbi("IPAS2E1IS", (NESTED + 2n * PAGE) >> 12n);
    expect(checkInvariants(r.kvm)).toBeNull();
    const pa = canonicalPa(r, CANON + 3n * PAGE);
    kvmUnmapGfnRange(r.kvm, CANON + 3n * PAGE, PAGE);
    expect(shadowLeavesMapping(r, pa)).toEqual([]);
    expect(a.pgt.leafCount).toBe(5);
    expect(checkInvariants(r.kvm)).toBeNull();
    expect(r.use(3)).toBe(a); // recycled (round-robin): its list goes with its table
    checkNestedVcpuRequests(r.vcpu());
    expect(toy.lists[a.index]).toEqual([]);
    r.touch(NESTED);
    expect(checkInvariants(r.kvm)).toBeNull();
  });

  it("a toy that forgets to record is caught by its own coverage (invariant R)", () => {
    const toy = Object.assign(new ListStrategy(), { shadowMap() {} });
    const r = strategyRig({}, toy);
    r.use(1);
    r.touch(NESTED);
    expect(checkInvariants(r.kvm)?.invariant).toBe("R");
  });
});
