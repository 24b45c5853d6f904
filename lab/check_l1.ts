// Invariant L (L1 consistency): once L0 has handled a stage-2 TLBI of L1, every shadow leaf that
// the TLBI covers agrees with what L1's stage-2 maps there now (walk it → canonical IPA → the host
// page backing it, permissions no wider than L1's), or is gone. A shadow MMU caches L1's stage-2
// as a TLB would, so the range is the architecture's: an IPA TLBI removes every cached translation
// containing an address of its range, and the translation L1's TLB would hold is L1's leaf (a 2M
// block even when L0 splintered it into 4K shadow leaves), recorded when the checker first saw the
// shadow leaf. VMALLS12E1 covers the VMID, ALLE1 every VMID. Shadow leaves outside the range may
// stay stale, as TLB entries may.
//
// A TTL hint that does not match L1's leaf requires nothing (the architecture invalidates nothing
// for certain then), so such leaves are not checked.
//
// KVM's RIPAS2E1 handling (handle_ripas2e1is) unmaps exactly the range and does not widen it to
// L1's blocks, so when L0 splintered an L1 block into smaller shadow leaves (4K host backing), the
// leaves of the block outside the range survive: L in its architectural form reports that. The
// "kvm" scope checks range TLBIs only over the shadow leaves they overlap (what KVM promises), for
// runs that test something else on a faithful L0.

/** How far a range TLBI reaches: L1's leaves (the architecture), or the shadow leaves (KVM). */
export type RangeTlbiScope = "architecture" | "kvm";

import { KVM_PGTABLE_PROT_R, KVM_PGTABLE_PROT_W, KVM_PGTABLE_PROT_X, type Leaf } from "../hypervisor/pgtable.ts";
import { getVmid, type KvmS2Mmu } from "../hypervisor/nested.ts";
import { decodeRangeTlbi, ipas2e1Base, tlbiTtl, ttlToSize } from "../hypervisor/tlbi_range.ts";
import type { Kvm } from "../hypervisor/vm.ts";
import { hex } from "../emulator/types.ts";
import { type CheckerState, firstUnbacked, type HandledTlbi, hostBacking, type LeafTruth, translateNested } from "./check_truth.ts";

/** A shadow leaf a TLBI covered that still maps something L1 no longer maps. */
export interface L1Finding {
  mmu: KvmS2Mmu;
  leaf: Leaf;
  truth: LeafTruth;
  /** Offset in the leaf of the first disagreeing byte. */
  off: bigint;
  reason: string;
  tlbi: HandledTlbi;
  /** The canonical IPA L1's stage-2 maps the page to now (null: nothing). */
  l1Maps: bigint | null;
}

/** Which cached translations of an MMU a TLBI must have removed. */
interface Span {
  /** null: every translation. */
  start: bigint | null;
  end: bigint;
  /** L1 leaf size the TTL hint names (0: no hint). */
  ttlSize: bigint;
  /** L1 leaf level a range TTL names (0: any). */
  ttlLevel: number;
  /** Only the shadow leaves the range overlaps (KVM's range TLBI), not L1's leaves. */
  shadowOnly: boolean;
}

function spanOf(t: HandledTlbi, scope: RangeTlbiScope): Span {
  switch (t.kind) {
    case "IPAS2E1": {
      const base = ipas2e1Base(t.operand);
      return { start: base, end: base + 1n, ttlSize: ttlToSize(tlbiTtl(t.operand)), ttlLevel: 0, shadowOnly: false };
    }
    case "RIPAS2E1": {
      const r = decodeRangeTlbi(t.operand);
      return { start: r.base, end: r.base + r.size, ttlSize: 0n, ttlLevel: Number((t.operand >> 37n) & 3n), shadowOnly: scope === "kvm" };
    }
    default:
      return { start: null, end: 0n, ttlSize: 0n, ttlLevel: 0, shadowOnly: false };
  }
}

/** Whether the TLBI must have removed the translation L1's TLB would cache for this leaf. */
function covers(s: Span, t: LeafTruth): boolean {
  if (s.start === null) return true;
  if (s.ttlSize !== 0n && s.ttlSize !== t.l1Size) return false;
  if (s.ttlLevel !== 0 && t.l1Level !== null && s.ttlLevel !== t.l1Level) return false;
  if (s.shadowOnly) return t.ipa < s.end && s.start < t.ipa + t.size;
  const lo = t.l1Ipa < t.ipa ? t.l1Ipa : t.ipa;
  const l1End = t.l1Ipa + t.l1Size;
  const hi = l1End > t.ipa + t.size ? l1End : t.ipa + t.size;
  return lo < s.end && s.start < hi;
}

/** The MMUs a handled TLBI applied to (kvm_s2_mmu_iterate_by_vmid; ALLE1: all). */
function mmusOf(mmus: readonly KvmS2Mmu[], t: HandledTlbi): KvmS2Mmu[] {
  return t.vmid === null || t.kind === "ALLE1" ? [...mmus] : mmus.filter((m) => getVmid(m.tlbVttbr) === t.vmid);
}

/** Does the leaf agree with L1's stage-2 now? The first disagreement, or null. */
function disagreement(kvm: Kvm, mmu: KvmS2Mmu, leaf: Leaf): { off: bigint; reason: string; l1Maps: bigint | null } | null {
  for (let off = 0n; off < leaf.size; ) {
    const t = translateNested(kvm, mmu, leaf.ipa + off);
    if (!t.ok) return { off, reason: `the shadow leaf survived L1's TLBI, but ${t.error}`, l1Maps: null };
    const chunk = t.base + t.size - (leaf.ipa + off);
    const len = chunk < leaf.size - off ? chunk : leaf.size - off;
    const bad = firstUnbacked(kvm, t.canonical, leaf.pa + off, len);
    if (bad !== null) {
      const c = t.canonical + bad;
      const host = hostBacking(kvm, c);
      const now = host === null ? "no host page" : `host PA ${hex(host)}`;
      return { off: off + bad, reason: `the shadow leaf survived L1's TLBI, but L1's stage-2 now maps canonical IPA ${hex(c)} (${now})`, l1Maps: c };
    }
    const tr = t.trans;
    if (tr) {
      const wider =
        ((leaf.prot & KVM_PGTABLE_PROT_R) !== 0 && !tr.readable) ||
        ((leaf.prot & KVM_PGTABLE_PROT_W) !== 0 && !tr.writable) ||
        ((leaf.prot & KVM_PGTABLE_PROT_X) !== 0 && !tr.executable);
      if (wider) return { off, reason: "the shadow leaf survived L1's TLBI with permissions wider than L1's stage-2 now gives", l1Maps: t.canonical };
    }
    off += len;
  }
  return null;
}

/** L over the TLBIs handled since the last check: the first finding, or null. */
export function checkL1Consistency(
  kvm: Kvm,
  state: CheckerState,
  mmus: readonly KvmS2Mmu[],
  tlbis: readonly HandledTlbi[],
  scope: RangeTlbiScope = "architecture",
): L1Finding | null {
  for (const tlbi of tlbis) {
    const span = spanOf(tlbi, scope);
    for (const mmu of mmusOf(mmus, tlbi)) {
      for (const { leaf, truth } of state.leavesOf(mmu)) {
        if (!covers(span, truth)) continue;
        const d = disagreement(kvm, mmu, leaf);
        if (d) return { mmu, leaf, truth, tlbi, ...d };
      }
    }
  }
  return null;
}

/** The TLBI as a report names it: mnemonic, operand, VMID. */
export function describeTlbi(t: HandledTlbi): string {
  return `TLBI ${t.name} ${hex(t.operand)}${t.vmid === null ? " (every VMID)" : ` (L1 VMID ${t.vmid})`}`;
}
