// The checker's own ground truth (independent of the fault path): what each shadow leaf ought to
// map, computed by the checker itself. When the checker first sees a shadow leaf — checks run after
// every L0 action, so that is right after the fault that installed it, while L1's tables are as
// the fault saw them — it walks L1's stage-2 for that MMU in L1 memory to get the canonical IPA,
// and from then on the leaf must map the host page that backs that canonical IPA (the memslot's
// resident page). Nothing the fault path records (shadowOrigin, the strategy's revmap) is read.
//
// Records are keyed by (MMU, leaf IPA) and carried from check to check while the leaf stays the
// same (IPA, size, PA). A leaf that is a piece of a recorded leaf at the same offset (a block split
// by a partial unmap) inherits the piece of its record; any other new leaf is first seen and
// walked. Records of leaves that disappeared are dropped (and reported to the TLB invariant), and
// an MMU that took a new context (VTTBR, VTCR, stage-2 enable) once emptied starts afresh.
//
// The state also listens to the event log for L1's stage-2 TLBIs, which the L invariant checks at
// the next check (check_l1.ts).

import { tlbiByName, type TlbiKind } from "../emulator/tlbi.ts";
import type { KvmEvent } from "../hypervisor/events.ts";
import { gfnToMemslot, kvmReadGuest } from "../hypervisor/mmu.ts";
import type { KvmS2Mmu } from "../hypervisor/nested.ts";
import { type KvmS2Trans, type S2WalkInfo, vtcrToWalkInfo, walkNestedS2Pgd } from "../hypervisor/nested_walk.ts";
import type { Leaf } from "../hypervisor/pgtable.ts";
import type { Kvm } from "../hypervisor/vm.ts";
import { hex } from "../emulator/types.ts";

const PAGE = 0x1000n;
const SZ_2M = 0x20_0000n;
const SZ_1G = 0x4000_0000n;
const SCTLR_EE = 1n << 25n;
/** TLBIs kept for the L invariant between two checks (a run that never checks keeps no more). */
const MAX_PENDING_TLBIS = 1024;

/** What a shadow leaf must map, as the checker computed it when it first saw the leaf. */
export interface LeafTruth {
  /** The leaf's identity. */
  readonly ipa: bigint;
  readonly size: bigint;
  readonly pa: bigint;
  /** Canonical IPA of the leaf's first byte; null when L1's stage-2 did not translate it. */
  readonly canonical: bigint | null;
  /** Why there is no canonical IPA, or why the leaf cannot be what L1 maps (e.g. larger than L1's leaf). */
  readonly error: string | null;
  /** L1's leaf at first sight: the translation a TLB of L1's stage-2 would cache (nested base, size, level). */
  readonly l1Ipa: bigint;
  readonly l1Size: bigint;
  /** L1's walk level, or null when L1's stage-2 translation is off (nested IPA = canonical IPA). */
  readonly l1Level: number | null;
}

/** A current shadow leaf and its record. */
export interface TrackedLeaf {
  readonly mmu: KvmS2Mmu;
  readonly leaf: Leaf;
  readonly truth: LeafTruth;
}

/** A shadow leaf that is gone since the previous check (or changed what it maps). */
export interface VanishedLeaf {
  readonly mmu: KvmS2Mmu;
  readonly truth: LeafTruth;
}

/** A stage-2 TLBI L1 issued that L0 handled, as the event log reported it. */
export interface HandledTlbi {
  readonly name: string;
  readonly kind: TlbiKind;
  readonly operand: bigint;
  /** L1's VMID it applied to; null for ALLE1 (every VMID). */
  readonly vmid: number | null;
}

interface MmuState {
  vttbr: bigint;
  vtcr: bigint;
  s2: boolean;
  leaves: Map<bigint, TrackedLeaf>;
}

/** The result of walking L1's stage-2 for one nested IPA of a shadow MMU. */
export type L1Translation =
  | { ok: true; canonical: bigint; size: bigint; base: bigint; level: number | null; trans: KvmS2Trans | null }
  | { ok: false; error: string };

export class CheckerState {
  private readonly mmus = new Map<KvmS2Mmu, MmuState>();
  private vanishedSinceCheck: VanishedLeaf[] = [];
  private pending: HandledTlbi[] = [];

  constructor(readonly kvm: Kvm) {
    kvm.events.subscribe((e) => this.onEvent(e));
  }

  private onEvent(e: KvmEvent): void {
    const d = e.data;
    if (d.kind !== "tlbi" || d.target !== "stage2") return;
    const op = tlbiByName(d.op);
    if (!op) return;
    if (this.pending.length >= MAX_PENDING_TLBIS) this.pending.shift();
    this.pending.push({ name: d.op, kind: op.kind, operand: d.operand, vmid: d.vmid });
  }

  /** The stage-2 TLBIs handled since the last call (each is checked once). */
  takeTlbis(): HandledTlbi[] {
    const t = this.pending;
    this.pending = [];
    return t;
  }

  /** Shadow leaves gone since the last call. */
  takeVanished(): VanishedLeaf[] {
    const v = this.vanishedSinceCheck;
    this.vanishedSinceCheck = [];
    return v;
  }

  /** The tracked leaves of a valid shadow MMU, as of the last refresh. */
  leavesOf(mmu: KvmS2Mmu): Iterable<TrackedLeaf> {
    return this.mmus.get(mmu)?.leaves.values() ?? [];
  }

  /** Bring the records up to date with every shadow MMU's table; returns every valid MMU's leaves. */
  refresh(): TrackedLeaf[] & { mmus: KvmS2Mmu[] } {
    const out = [] as unknown as TrackedLeaf[] & { mmus: KvmS2Mmu[] };
    out.mmus = [];
    for (const mmu of this.kvm.nestedMmus) {
      const prev = this.mmus.get(mmu);
      if (!mmu.valid) {
        if (prev) this.drop(mmu, prev.leaves.values());
        this.mmus.delete(mmu);
        continue;
      }
      const st = this.contextOf(mmu, prev);
      const next = new Map<bigint, TrackedLeaf>();
      for (const leaf of mmu.pgt.leaves()) {
        const old = st.leaves.get(leaf.ipa);
        let truth: LeafTruth;
        if (old && old.truth.size === leaf.size && old.truth.pa === leaf.pa) truth = old.truth;
        else truth = inherit(st.leaves, leaf) ?? firstSight(this.kvm, mmu, leaf);
        const t = { mmu, leaf, truth };
        next.set(leaf.ipa, t);
        out.push(t);
      }
      for (const t of st.leaves.values()) {
        const now = next.get(t.truth.ipa);
        if (!now || now.truth !== t.truth) this.vanishedSinceCheck.push({ mmu, truth: t.truth });
      }
      st.leaves = next;
      this.mmus.set(mmu, st);
      out.mmus.push(mmu);
    }
    return out;
  }

  private drop(mmu: KvmS2Mmu, leaves: Iterable<TrackedLeaf>): void {
    for (const t of leaves) this.vanishedSinceCheck.push({ mmu, truth: t.truth });
  }

  /**
   * The MMU's state for its current context. A new context starts with no records once the MMU
   * was emptied; while it waits to be emptied (pendingUnmap), its leaves are the old context's.
   */
  private contextOf(mmu: KvmS2Mmu, prev: MmuState | undefined): MmuState {
    const same = prev && prev.vttbr === mmu.tlbVttbr && prev.vtcr === mmu.tlbVtcr && prev.s2 === mmu.nestedStage2Enabled;
    if (prev && (same || mmu.pendingUnmap)) return prev;
    if (prev) this.drop(mmu, prev.leaves.values());
    return { vttbr: mmu.tlbVttbr, vtcr: mmu.tlbVtcr, s2: mmu.nestedStage2Enabled, leaves: new Map() };
  }
}

const states = new WeakMap<Kvm, CheckerState>();

/** The checker's state for a VM if it has one (snapshots save it with the VM). */
export function existingCheckerState(kvm: Kvm): CheckerState | null {
  return states.get(kvm) ?? null;
}

/** The checker's state for a VM, made on first use (it then follows the VM's events). */
export function checkerState(kvm: Kvm): CheckerState {
  let s = states.get(kvm);
  if (!s) states.set(kvm, (s = new CheckerState(kvm)));
  return s;
}

/** A new leaf that is a piece, at the same offset, of a leaf recorded before: its part of that record. */
function inherit(prev: Map<bigint, TrackedLeaf>, leaf: Leaf): LeafTruth | null {
  for (const size of [SZ_2M, SZ_1G]) {
    if (size <= leaf.size) continue;
    const parent = prev.get(leaf.ipa & ~(size - 1n))?.truth;
    if (!parent || parent.size !== size) continue;
    const off = leaf.ipa - parent.ipa;
    if (parent.pa + off !== leaf.pa) continue;
    return { ...parent, ipa: leaf.ipa, size: leaf.size, pa: leaf.pa, canonical: parent.canonical === null ? null : parent.canonical + off };
  }
  return null;
}

/** Walk L1's stage-2 now for a shadow leaf's first sight and record what it must map. */
function firstSight(kvm: Kvm, mmu: KvmS2Mmu, leaf: Leaf): LeafTruth {
  const t = translateNested(kvm, mmu, leaf.ipa);
  const id = { ipa: leaf.ipa, size: leaf.size, pa: leaf.pa };
  if (!t.ok) return { ...id, canonical: null, error: t.error, l1Ipa: leaf.ipa, l1Size: leaf.size, l1Level: null };
  const error = t.size < leaf.size ? `the shadow leaf (${hex(leaf.size)}) is larger than L1's leaf (${hex(t.size)})` : null;
  return { ...id, canonical: t.canonical, error, l1Ipa: t.base, l1Size: t.size, l1Level: t.level };
}

/** L1's walk parameters for the MMU's context; descriptors in the endianness vCPU 0's SCTLR_EL2.EE says. */
function walkInfo(kvm: Kvm, mmu: KvmS2Mmu): S2WalkInfo {
  const be = (kvm.vcpus[0]?.vcpuReadSysReg("SCTLR_EL2") ?? 0n) & SCTLR_EE;
  return vtcrToWalkInfo(mmu.tlbVtcr, mmu.tlbVttbr, be !== 0n);
}

/**
 * What L1's stage-2 of the MMU's context maps nested IPA `ipa` to now: the canonical IPA and L1's
 * leaf (base, size, level). With L1's stage-2 off the nested IPA is the canonical IPA.
 */
export function translateNested(kvm: Kvm, mmu: KvmS2Mmu, ipa: bigint): L1Translation {
  // Stage 2 off: the identity, as one mapping as large as any shadow leaf.
  if (!mmu.nestedStage2Enabled) return { ok: true, canonical: ipa, size: SZ_1G, base: ipa & ~(SZ_1G - 1n), level: null, trans: null };
  const r = walkNestedS2Pgd((a) => kvmReadGuest(kvm, a, 8), walkInfo(kvm, mmu), ipa);
  if (!r.ok) {
    return { ok: false, error: "fsc" in r ? `L1's stage-2 does not translate it (FSC ${hex(BigInt(r.fsc))})` : `L1's stage-2 cannot be walked: ${r.walkerError}` };
  }
  const size = r.trans.blockSize;
  return { ok: true, canonical: r.trans.output, size, base: ipa & ~(size - 1n), level: r.trans.level, trans: r.trans };
}

/** The host page backing canonical IPA `ipa` now (the memslot's resident page), or null. */
export function hostBacking(kvm: Kvm, ipa: bigint): bigint | null {
  const slot = gfnToMemslot(kvm, ipa);
  const pa = slot?.hostPa(ipa) ?? null;
  return pa === null ? null : BigInt(pa) + (ipa & (PAGE - 1n));
}

/**
 * The first offset in [0, len) where canonical [ipa, +len) is not backed by host [pa, +len) (page
 * granular), or by a page back in the pool; null when it all is. A block-backed 2M region is
 * checked once.
 */
export function firstUnbacked(kvm: Kvm, ipa: bigint, pa: bigint, len: bigint): bigint | null {
  for (let off = 0n; off < len; ) {
    const c = ipa + off;
    const slot = gfnToMemslot(kvm, c);
    const host = slot?.hostPa(c) ?? null;
    if (host === null || BigInt(host) !== ((pa + off) & ~(PAGE - 1n))) return off;
    // A resident page is the pool's until released; one back in the pool is never a backing.
    if (!kvm.pool.isAllocated(host)) return off;
    if (slot!.isBlockBacked(c) && ((pa + off) & (SZ_2M - 1n)) === (c & (SZ_2M - 1n))) {
      // The region's pages are the block's at their own offsets: one check stands for the region.
      off += SZ_2M - (c & (SZ_2M - 1n));
    } else off += PAGE - (c & (PAGE - 1n));
  }
  return null;
}
