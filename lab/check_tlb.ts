// Invariant T (TLB): no CPU TLB entry tagged with a shadow MMU's hardware VMID translates through
// a shadow leaf that no longer exists. L0 must invalidate a shadow VMID's TLB entries whenever it
// removes or changes a shadow leaf; a missed invalidation leaves L2 reading through the old leaf.
//
// Entries are only ever filled from leaves that exist, so only a leaf that went away can leave a
// stale entry: the check looks at the entries overlapping the leaves gone since the last check,
// and compares each with the shadow table as it is now. (The CPU's fast translation cache is
// flushed together with its TLB everywhere, and at every exit, so the TLB stands for both.)

import { STAGE2, type TlbEntry } from "../emulator/mmu/tlb.ts";
import type { KvmS2Mmu } from "../hypervisor/nested.ts";
import type { Kvm } from "../hypervisor/vm.ts";
import type { VanishedLeaf } from "./check_truth.ts";

/** A TLB entry that translates through a shadow leaf that is gone. */
export interface TlbFinding {
  mmu: KvmS2Mmu;
  cpu: number;
  entry: TlbEntry;
  /** The leaf that went away. */
  gone: VanishedLeaf;
  /** Offset in the entry of the first page the shadow table no longer maps so. */
  off: bigint;
  /** What the shadow table maps there now (host PA), or null. */
  nowMaps: bigint | null;
}

const entryBytes = (e: TlbEntry): bigint => 1n << BigInt(e.shift);

/** Where the entry and the shadow table disagree: the first offset, and what the table maps there. */
function staleAt(mmu: KvmS2Mmu, e: TlbEntry): { off: bigint; nowMaps: bigint | null } | null {
  const size = entryBytes(e);
  const pa = BigInt(e.pa);
  for (let off = 0n; off < size; ) {
    const leaf = mmu.pgt.getLeaf(e.ipa + off);
    if (!leaf) return { off, nowMaps: null };
    const now = leaf.pa + (e.ipa + off - leaf.ipa);
    if (now !== pa + off) return { off, nowMaps: now };
    off = leaf.ipa + leaf.size - e.ipa;
  }
  return null;
}

/** T over the TLB entries that may have translated through the leaves gone since the last check. */
export function checkTlb(kvm: Kvm, vanished: readonly VanishedLeaf[]): TlbFinding | null {
  if (vanished.length === 0) return null;
  const byVmid = new Map<number, VanishedLeaf[]>();
  for (const v of vanished) {
    const list = byVmid.get(v.mmu.hwVmid);
    if (list) list.push(v);
    else byVmid.set(v.mmu.hwVmid, [v]);
  }
  for (const vcpu of kvm.vcpus) {
    for (const e of vcpu.cpu.tlb) {
      if ((e.stages & STAGE2) === 0) continue;
      const gone = byVmid.get(e.vmid);
      if (!gone) continue;
      const end = e.ipa + entryBytes(e);
      for (const g of gone) {
        if (!(g.truth.ipa < end && e.ipa < g.truth.ipa + g.truth.size)) continue;
        const s = staleAt(g.mmu, e);
        if (s) return { mmu: g.mmu, cpu: vcpu.index, entry: e, gone: g, ...s };
      }
    }
  }
  return null;
}
