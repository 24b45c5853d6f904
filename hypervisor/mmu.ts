// Stage-2 fault handling and canonical unmap (KVM: arch/arm64/kvm/mmu.c). A stage-2 abort is
// either L1 touching a canonical IPA that is not mapped yet (fault the page in from its memslot),
// or L2 missing in a shadow MMU: then L1's stage-2 is walked in L1 memory, L1 gets the fault if its
// tables cause it, and otherwise a shadow leaf combining L1's mapping with the host backing of the
// canonical IPA is installed at the nested IPA (the canonical stage-2 is left alone).

import { EC, ISS_S1PTW, issOf, type Exit } from "../emulator/exception.ts";
import { vectorFetchError } from "./diagnose.ts";
import { GuestError } from "./errors.ts";
import { ioMemAbort } from "./mmio.ts";
import { type MemslotBacking, type Memslot, SZ_1G, SZ_2M, SZ_4K } from "./memslot.ts";
import { CANONICAL_HW_VMID, KvmS2Mmu } from "./nested.ts";
import { kvmTlbFlushVmidRange } from "./tlb.ts";
import {
  ESR_ELx_FSC_ACCESS, ESR_ELx_FSC_ADDRSZ, ESR_ELx_FSC_FAULT, ESR_ELx_FSC_PERM, type DescriptorReader, type KvmS2Trans, type S2WalkInfo, vtcrToWalkInfo, walkNestedS2Pgd,
} from "./nested_walk.ts";
import { KVM_PGTABLE_PROT_R, KVM_PGTABLE_PROT_W, KVM_PGTABLE_PROT_X, KvmPgtable } from "./pgtable.ts";
import type { CanonicalIpa, HostPa, NestedIpa } from "./addr.ts";
import { kvmEvent } from "./events.ts";
import { kvmStat } from "./metrics.ts";
import { memslotIsLogging } from "./dirty_log.ts";
import {
  kvmIsWriteFault, kvmLoggingMapSize, kvmLoggingProt, kvmMarkDirtyIfWritable, kvmRelaxPermsFault, kvmUserMemAbortCanonical,
} from "./perm_fault.ts";
import type { Kvm } from "./vm.ts";
import type { KvmVcpu } from "./vcpu.ts";
import { hex } from "../emulator/types.ts";

const ESR_FSC_MASK = 0x3fn;
const FSC_TYPE_MASK = 0x3c;
/** HPFAR_EL2.FIPA [47:4] holds IPA[55:12]; nested and canonical IPAs are 48-bit here. */
const IPA_PAGE_MASK = ((1n << 48n) - 1n) & ~0xfffn;
const SCTLR_EE = 1n << 25n;
/** ~0xfff: clears the offset in a 4K page. */
const PAGE_MASK = ~0xfffn;
/** ~(size - 1) for the shadow leaf sizes, made once: the fault path aligns by them every time. */
const ALIGN_4K = ~(SZ_4K - 1n);
const ALIGN_2M = ~(SZ_2M - 1n);
const ALIGN_1G = ~(SZ_1G - 1n);

function alignMask(size: bigint): bigint {
  return size === SZ_4K ? ALIGN_4K : size === SZ_2M ? ALIGN_2M : size === SZ_1G ? ALIGN_1G : ~(size - 1n);
}
const PROT_RWX = KVM_PGTABLE_PROT_R | KVM_PGTABLE_PROT_W | KVM_PGTABLE_PROT_X;


/** kvm->arch.mmu: L1's own stage-2, hardware VMID 1, always valid. */
export function createCanonicalMmu(kvm: Kvm): KvmS2Mmu {
  const mmu = new KvmS2Mmu(kvm, new KvmPgtable(kvm.mem, kvm.pool), CANONICAL_HW_VMID, -1);
  mmu.tlbVttbr = 0n;
  return mmu;
}

/** The memslot holding canonical IPA `ipa` (gfn_to_memslot). */
export function gfnToMemslot(kvm: Kvm, ipa: bigint): Memslot | null {
  for (const slot of kvm.memslots) if (slot.contains(ipa)) return slot;
  return null;
}

type GuestReader = DescriptorReader & { readonly kvm: Kvm };

const readers = new WeakMap<Kvm, GuestReader>();

/**
 * The number form of a VM's reader: one function for every VM (called with the reader as `this`),
 * so the walker's compiled code does not hold on to one VM's closure and lose it with the VM.
 */
function guestReadHalves(this: GuestReader, a: number, out: Uint32Array): boolean {
  const w = this.kvm.l0Watch;
  if (w !== null) w.l0Read(a, 8, L1_S2_WALK);
  for (const s of this.kvm.memslots) if (s.read64Halves(a, out)) return true;
  return false;
}

/** What L0's reads through its walker are, for watchpoints. */
const L1_S2_WALK = "walk of L1's stage-2";

function guestRead64(kvm: Kvm, a: bigint): bigint | null {
  const w = kvm.l0Watch;
  if (w !== null) w.l0Read(Number(a), 8, L1_S2_WALK);
  return kvmReadGuest(kvm, a, 8);
}

/** A 64-bit reader of L1 memory for the nested walker (with its number form), made once per VM. */
function guestReader(kvm: Kvm): GuestReader {
  let r = readers.get(kvm);
  if (!r) readers.set(kvm, (r = Object.assign((a: bigint) => guestRead64(kvm, a), { halves: guestReadHalves, kvm })));
  return r;
}

const walkInfos = new WeakMap<KvmS2Mmu, { vtcr: bigint; vttbr: bigint; be: boolean; wi: S2WalkInfo }>();

/** L1's walk parameters for a shadow MMU (kvm_walk_nested_s2's setup), decoded once per VTCR/VTTBR. */
function nestedWalkInfo(mmu: KvmS2Mmu, be: boolean): S2WalkInfo {
  const c = walkInfos.get(mmu);
  if (c && c.vtcr === mmu.tlbVtcr && c.vttbr === mmu.tlbVttbr && c.be === be) return c.wi;
  const wi = vtcrToWalkInfo(mmu.tlbVtcr, mmu.tlbVttbr, be);
  walkInfos.set(mmu, { vtcr: mmu.tlbVtcr, vttbr: mmu.tlbVttbr, be, wi });
  return wi;
}

/** kvm_read_guest: `size` bytes of L1 memory at canonical IPA `ipa`, null outside L1 RAM. */
export function kvmReadGuest(kvm: Kvm, ipa: bigint, size: number): bigint | null {
  if (size === 8) {
    // L1's stage-2 descriptors, on every shadow fault.
    for (const s of kvm.memslots) {
      const v = s.read64(ipa);
      if (v !== null) return v;
    }
    return null;
  }
  const slot = gfnToMemslot(kvm, ipa);
  if (!slot || !slot.contains(ipa + BigInt(size) - 1n)) return null;
  return slot.read(ipa, size);
}

/** The faulting IPA of a stage-2 abort (page granular), from HPFAR_EL2. */
export function faultIpaOf(exit: Exit): bigint {
  return ((exit.hpfar >> 4n) << 12n) & IPA_PAGE_MASK;
}

/** kvm_inject_s2_fault: L1's vEL2 takes the abort with L2's FAR and the nested IPA in HPFAR. */
function kvmInjectS2Fault(vcpu: KvmVcpu, exit: Exit, fsc: number, walkerError?: string): void {
  const esr = (exit.esr & ~ESR_FSC_MASK) | BigInt(fsc);
  vcpu.injectNestedSync(esr, exit.far, exit.hpfar);
  kvmStat(vcpu.kvm, "faultsInjectedToL1");
  kvmEvent(vcpu.kvm, { kind: "inject", into: "l1-stage2", nestedIpa: faultIpaOf(exit) as NestedIpa, fsc, esr, ...(walkerError !== undefined ? { walkerError } : {}) });
}

/**
 * kvm_s2_handle_perm_fault: a hardware permission fault that L1's leaf explains is L1's to
 * handle. Returns the FSC to inject, or null when the fault belongs to L0.
 */
function kvmS2HandlePermFault(exit: Exit, trans: KvmS2Trans): number | null {
  let forward: boolean;
  if (exit.ec === EC.IABT_LOW) forward = !trans.executable;
  else {
    const write = kvmIsWriteFault(exit);
    forward = (write && !trans.writable) || (!write && !trans.readable);
  }
  return forward ? ESR_ELx_FSC_PERM | (trans.level & 3) : null;
}

/** kvm_handle_guest_abort: a stage-2 instruction or data abort from L1 or L2. */
export function kvmHandleGuestAbort(vcpu: KvmVcpu, exit: Exit): void {
  const kvm = vcpu.kvm;
  const mmu = vcpu.hwMmu ?? kvm.mmu;
  const fsc = Number(exit.esr & ESR_FSC_MASK);
  const fscType = fsc & FSC_TYPE_MASK;
  const faultIpa = faultIpaOf(exit);
  const isPerm = fscType === ESR_ELx_FSC_PERM;
  if (fscType !== ESR_ELx_FSC_FAULT && fscType !== ESR_ELx_FSC_ACCESS && !isPerm) {
    // Address size faults: an IPA beyond the 48-bit space L0 offers.
    throw new GuestError({
      reason: `stage-2 fault FSC 0x${fsc.toString(16)} at IPA ${hex(faultIpa)} is not translation, access flag or permission`,
      level: mmu.isNested ? "L2" : "L1",
      exit: { ESR: hex(exit.esr), FAR: hex(exit.far), HPFAR: hex(exit.hpfar) },
    });
  }
  // kvm->stat bumps of the hot path, on the fields themselves (no counter-name dispatch).
  if (mmu.isNested) kvm.metrics.shadowFaults++;

  let ipa = faultIpa;
  let trans: KvmS2Trans | null = null;
  if (mmu.isNested && mmu.nestedStage2Enabled) {
    kvm.metrics.l1S2Walks++;
    const bigEndian = (vcpu.vcpuReadSysReg("SCTLR_EL2") & SCTLR_EE) !== 0n;
    // The tables read are write-tracked from now on (page_track.ts).
    const r = walkNestedS2Pgd(guestReader(kvm), nestedWalkInfo(mmu, bigEndian), faultIpa, kvm.pageTrack);
    if (!r.ok) {
      // A walker error (VTCR KVM refuses, tables outside L1 RAM) leaves FSC 0: Address size, level 0.
      if ("fsc" in r) kvmInjectS2Fault(vcpu, exit, r.fsc);
      else kvmInjectS2Fault(vcpu, exit, ESR_ELx_FSC_ADDRSZ, r.walkerError);
      return;
    }
    trans = r.trans;
    if (isPerm) {
      const forward = kvmS2HandlePermFault(exit, trans);
      if (forward !== null) {
        kvmInjectS2Fault(vcpu, exit, forward);
        return;
      }
    }
    ipa = trans.output & PAGE_MASK;
  }

  const slot = gfnToMemslot(kvm, ipa);
  if (!slot) {
    if (exit.ec === EC.IABT_LOW && !(issOf(exit.esr) & ISS_S1PTW)) {
      const missingVectors = vectorFetchError(vcpu, exit.far, ipa | (exit.far & 0xfffn));
      if (missingVectors) throw missingVectors;
    }
    ioMemAbort(vcpu, ipa | (exit.far & 0xfffn), exit);
    return;
  }
  if (fscType === ESR_ELx_FSC_ACCESS && handleAccessFault(mmu, faultIpa)) return;
  userMemAbort(vcpu, mmu, faultIpa, ipa, trans, slot, exit);
}

/**
 * handle_access_fault: make the entry young. L0 maps every entry with AF set, so there is
 * nothing to update; drop stale TLB state. False when no entry exists (fault it in instead).
 */
function handleAccessFault(mmu: KvmS2Mmu, faultIpa: bigint): boolean {
  const leaf = mmu.pgt.getLeaf(faultIpa);
  if (!leaf) return false;
  kvmTlbFlushVmidRange(mmu.kvm, mmu.hwVmid, leaf.ipa, leaf.size);
  return true;
}

/** What the fault path needs of a block coalescing in flight (coalesce.ts's CoalesceOp). */
export interface CoalesceWait {
  readonly done: boolean;
  /** Canonical `ipa` has no valid translation because of this operation. */
  blocks(ipa: bigint): boolean;
  /** vCPU `vcpuIndex` faulted on the range and waits for the operation. */
  noteFault(vcpuIndex: number): void;
}

/**
 * The block coalescing (bbm, in its window) that leaves canonical `ipa` without a translation, or
 * null: a fault there waits for it, as KVM's faults retry while kvm->mmu_invalidate_in_progress
 * covers their range.
 */
export function coalesceBlocking(kvm: Kvm, ipa: bigint): CoalesceWait | null {
  // On every stage-2 fault: no operation in flight is the common case.
  if (kvm.coalescing.size === 0) return null;
  for (const op of kvm.coalescing) if (op.blocks(ipa)) return op;
  return null;
}

/**
 * The canonical mapping of `ipa`, faulted in from the memslot when absent (user_mem_abort on the
 * canonical MMU): a 4K page, or a 2M block when the backing is a 2M block.
 */
export function kvmFaultInCanonical(kvm: Kvm, slot: Memslot, ipa: bigint): MemslotBacking {
  const leaf = kvm.mmu.pgt.getLeaf(ipa);
  if (leaf) return { ipa: leaf.ipa, size: leaf.size, pa: leaf.pa };
  const b = slot.faultIn(ipa, kvm.config.blocks);
  // Nothing was mapped in [b.ipa, +b.size) (a block is only chosen for a region with no resident
  // page), and TLBs never hold invalid translations: no invalidation is needed.
  // While the slot logs dirty pages the page maps read-only, so L1's first write to it is logged.
  kvm.mmu.pgt.map(b.ipa, b.size, b.pa, memslotIsLogging(slot) ? PROT_RWX & ~KVM_PGTABLE_PROT_W : PROT_RWX);
  kvmStat(kvm, "canonicalFaults");
  kvmEvent(kvm, { kind: "canonical-fault", ipa: b.ipa as CanonicalIpa, pa: b.pa as HostPa, size: b.size });
  return b;
}

/**
 * The size of the shadow leaf for one nested fault (KVM's rule in user_mem_abort): the smaller of
 * L1's mapping size (null: L1's stage-2 is off, no limit) and the host backing size, snapped down
 * to a block size of the host's 4K granule (4K, 2M, 1G). L1's 16K and 64K pages give 4K leaves,
 * its 32M and 512M blocks 2M at most.
 */
export function shadowLeafSize(l1Size: bigint | null, backingSize: bigint): bigint {
  const size = l1Size !== null && l1Size < backingSize ? l1Size : backingSize;
  if (size >= SZ_1G) return SZ_1G;
  if (size >= SZ_2M) return SZ_2M;
  return SZ_4K;
}

/**
 * user_mem_abort. For L1 (the canonical MMU): map the canonical page from its memslot. For L2 (a
 * shadow MMU): resolve the canonical IPA L1's stage-2 gave to its host backing through the memslot
 * (__kvm_faultin_pfn; the backing unit is a 4K page or a 2M THP-like block, vma_pagesize) and map
 * the nested IPA in the shadow MMU only: the canonical stage-2 is not touched, it fills only when
 * L1 itself touches memory. The shadow leaf's size is KVM's rule: min(L1's mapping size, backing
 * size), snapped down to the host granule's block sizes (4K, 2M, 1G), so 16K and 64K L1 pages give
 * 4K shadow leaves and 32M or 512M L1 blocks give 2M at most. Permissions are the intersection.
 */
function userMemAbort(vcpu: KvmVcpu, mmu: KvmS2Mmu, faultIpa: bigint, ipa: bigint, trans: KvmS2Trans | null, slot: Memslot, exit: Exit): void {
  const kvm = vcpu.kvm;
  const execFault = exit.ec === EC.IABT_LOW;
  const coalescing = coalesceBlocking(kvm, ipa);
  if (coalescing) {
    // A break-before-make coalescing holds the range (KVM: the fault waits for mmu_lock): the
    // vCPU waits for it, then retries the access, which finds the block.
    coalescing.noteFault(vcpu.index);
    vcpu.waitingOn = coalescing;
    return;
  }
  // Dirty logging and permission faults on the canonical MMU (perm_fault.ts).
  if (!mmu.isNested && kvmUserMemAbortCanonical(vcpu, slot, ipa, exit)) return;
  if (!mmu.isNested) {
    kvmFaultInCanonical(kvm, slot, ipa);
    // Already mapped (another vCPU, or a stale TLB entry): the flush above made it visible.
    vcpu.cpu.flushFastTlb();
    return;
  }
  const backing = slot.faultIn(ipa, kvm.config.blocks);
  // While the slot logs dirty pages, page-sized (force_pte).
  const size = kvmLoggingMapSize(slot, shadowLeafSize(trans ? trans.blockSize : null, backing.size));
  const align = alignMask(size);
  const nestedIpa = faultIpa & align;
  const canonicalIpa = ipa & align;
  const pa = backing.pa + (canonicalIpa - backing.ipa);

  let prot = KVM_PGTABLE_PROT_R | KVM_PGTABLE_PROT_W | KVM_PGTABLE_PROT_X;
  let sw = 0;
  if (trans) {
    if (!trans.readable) prot &= ~KVM_PGTABLE_PROT_R;
    if (!trans.writable) prot &= ~KVM_PGTABLE_PROT_W;
    // X only where L1's leaf allows it: an exec fault on an XN leaf then refaults as a
    // permission fault, which kvm_s2_handle_perm_fault forwards to L1.
    if (!trans.executable) prot &= ~KVM_PGTABLE_PROT_X;
    // kvm_encode_nested_level: L1's leaf level in SW1:SW0 (bits [56:55]).
    sw = trans.level & 3;
  }
  prot = kvmLoggingProt(slot, prot, exit);
  if (kvmRelaxPermsFault(vcpu, mmu, exit, faultIpa, size, prot, slot, ipa)) return;
  // Replacing live entries (a permission upgrade, or L1 changed its mapping without a TLBI)
  // needs break-before-make; a fresh range has nothing in any TLB (TLBs and the CPU's fast
  // translation cache only ever hold successful translations).
  if (mmu.pgt.map(nestedIpa, size, pa, prot, sw)) {
    const inval = mmu.pgt.mapInvalidation(nestedIpa, size);
    kvmTlbFlushVmidRange(kvm, mmu.hwVmid, inval.ipa, inval.size);
  }
  // Sandbox bookkeeping (staleness statistics, chaos's aim): the canonical page behind every nested
  // page of the leaf, so pieces left by a later split still name their origin.
  mmu.shadowOrigin.setRange(nestedIpa, canonicalIpa, size);
  kvm.unmap.shadowMap(mmu, canonicalIpa as CanonicalIpa, nestedIpa as NestedIpa, size);
  kvmMarkDirtyIfWritable(vcpu, slot, ipa, prot);
  kvmEvent(kvm, {
    kind: "shadow-fault", mmu: mmu.index, nestedIpa: nestedIpa as NestedIpa, canonicalIpa: canonicalIpa as CanonicalIpa, pa: pa as HostPa, size, prot,
    level: trans ? trans.level : null, exec: execFault,
  });
}

/**
 * struct kvm_gfn_range: the part of an MMU-notifier range that lies in one memslot, canonical
 * [start, end) page aligned, and whether the notifier may sleep (may_block: false for an atomic
 * notifier, e.g. one called with a spinlock held).
 */
export interface KvmGfnRange {
  readonly slot: Memslot;
  readonly start: bigint;
  readonly end: bigint;
  readonly mayBlock: boolean;
}

/**
 * stage2_range_addr_end's step: kvm_granule_size(KVM_PGTABLE_MIN_BLOCK_LEVEL), 1G with 4K pages.
 * stage2_apply_range walks a range in pieces ending at these boundaries and, when it may block,
 * offers to reschedule (cond_resched_rwlock_write) between two pieces.
 */
export const STAGE2_APPLY_STEP = SZ_1G;

/** The resched points stage2_apply_range passes over [start, end): one between two 1G pieces. */
export function stage2ApplyReschedPoints(start: bigint, end: bigint, mayBlock: boolean): number {
  if (!mayBlock || end <= start) return 0;
  return Number((end - 1n) / STAGE2_APPLY_STEP - start / STAGE2_APPLY_STEP);
}

/**
 * The MMU notifier's invalidate for canonical [gpa, gpa+size) (kvm_mmu_notifier_invalidate_range_start
 * → kvm_handle_hva_range): the range is cut at memslot boundaries into kvm_gfn_ranges, each handed
 * to kvm_unmap_gfn_range; a part outside every memslot is nothing of the guest's and is skipped.
 * Returns the canonical leaves removed.
 */
export function kvmUnmapGfnRange(kvm: Kvm, gpa: bigint, size: bigint, mayBlock = true): number {
  const start = gpa & ~(SZ_4K - 1n);
  const end = (gpa + size + SZ_4K - 1n) & ~(SZ_4K - 1n);
  kvmStat(kvm, "canonicalUnmaps");
  let removed = 0;
  for (const slot of kvm.memslots) {
    const s = start > slot.base ? start : slot.base;
    const e = end < slot.end ? end : slot.end;
    if (s < e) removed += kvmUnmapGfnRangeIn(kvm, { slot, start: s, end: e, mayBlock });
  }
  return removed;
}

/**
 * kvm_unmap_gfn_range for one kvm_gfn_range: the host takes the range's backing away. The
 * canonical stage-2 loses every leaf the range touches, whole (a block around it goes and the
 * rest faults back lazily), in stage2_apply_range's 1G pieces with a resched point between two
 * when the notifier may block; the TLBs are flushed over what went. Then the nested unmap runs
 * (the strategy's canonicalUnmap, KVM's kvm_nested_s2_unmap) whether or not the canonical stage-2
 * mapped anything there: shadow leaves are built from host backing, not from it. Finally the
 * memslot releases the host pages (contents preserved). Returns the canonical leaves removed.
 */
export function kvmUnmapGfnRangeIn(kvm: Kvm, range: KvmGfnRange): number {
  const { start, end } = range;
  const len = end - start;
  // Leaves are at most 1G and 1G aligned, so none crosses a piece boundary: one walk clears
  // exactly what stage2_apply_range's piecewise walks would.
  const u = kvm.mmu.pgt.unmap(start, len, kvm.config.stage2UnmapSplit);
  kvmTlbFlushVmidRange(kvm, CANONICAL_HW_VMID, u.start, u.end - u.start);
  const resched = stage2ApplyReschedPoints(start, end, range.mayBlock);
  if (resched > 0) kvmStat(kvm, "unmapReschedPoints", resched);
  // The host takes back only [start, end): the rest of a removed canonical block keeps its host
  // pages, so shadow entries built from it stay valid and only the range goes from shadows.
  kvm.unmap.canonicalUnmap(kvm, start as CanonicalIpa, len);
  const freed = range.slot.release(start, len).length;
  kvmEvent(kvm, { kind: "unmap", scope: "canonical", start: start as CanonicalIpa, size: len, removed: u.removed, freed, mayBlock: range.mayBlock, resched });
  return u.removed;
}
