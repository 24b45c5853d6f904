// Dirty logging with nested virtualization (KVM: KVM_MEM_LOG_DIRTY_PAGES and KVM_GET_DIRTY_LOG;
// mmu.c kvm_mmu_wp_memory_region, kvm_arch_mmu_enable_log_dirty_pt_masked; nested.c
// kvm_nested_s2_wp). A logging slot has a dirty bitmap over its canonical pages. Turning logging
// on write-protects the slot in the canonical stage-2 and every valid shadow MMU entirely (shadow
// MMUs are keyed by nested IPA, so KVM cannot tell which of their leaves come from the slot). A
// write then takes a permission fault that marks the canonical page dirty (perm_fault.ts). Reading
// the log clears it and write-protects the reported pages again: the canonical range they span,
// and again every valid shadow MMU entirely, once per 64-page word with a bit set.
//
// TLBs: KVM's wrprotect leaves invalidation to its callers, and those flush only the canonical
// VMID (kvm_flush_remote_tlbs_memslot). A shadow VMID's TLB entries may then keep write permission
// that the shadow leaf no longer gives; `VmConfig.nestedS2WpFlush` adds a flush of every
// write-protected shadow MMU's VMID.

import type { CanonicalIpa } from "./addr.ts";
import { kvmEvent } from "./events.ts";
import type { Memslot } from "./memslot.ts";
import { kvmStat } from "./metrics.ts";
import { CANONICAL_HW_VMID, type KvmS2Mmu } from "./nested.ts";
import { KVM_PHYS_SIZE } from "./pgtable.ts";
import { kvmTlbFlushVmidRange } from "./tlb.ts";
import type { Kvm } from "./vm.ts";

const PAGE_SHIFT = 12n;
const BITS_PER_LONG = 64;

/** memslot_is_logging: the slot has a dirty bitmap (nvlab has no read-only slots). */
export function memslotIsLogging(slot: Memslot): boolean {
  return slot.dirtyBitmap !== null;
}

/** The slot's pages. */
function npages(slot: Memslot): number {
  return Number(slot.size >> PAGE_SHIFT);
}

/** kvm_alloc_dirty_bitmap: an empty bitmap, one bit per page of the slot. */
export function kvmAllocDirtyBitmap(slot: Memslot): BigUint64Array {
  return new BigUint64Array(Math.ceil(npages(slot) / BITS_PER_LONG));
}

/** What write-protecting for dirty logging did: leaves made read-only, shadow MMUs visited. */
export interface WpResult {
  wrprotected: number;
  shadowWrprotected: number;
  mmus: number;
}

/** kvm_stage2_wp_range: [start, end) of one stage-2 read-only. Returns the leaves changed. */
export function kvmStage2WpRange(mmu: KvmS2Mmu, start: bigint, end: bigint): number {
  const n = mmu.pgt.wrprotect(start, end - start);
  kvmStat(mmu.kvm, "dirtyLog.wrprotected", n);
  return n;
}

/**
 * kvm_nested_s2_wp: every valid shadow MMU read-only over its whole input range. Only with
 * config.nestedS2WpFlush are their VMIDs' TLB entries invalidated (see the file comment).
 */
export function kvmNestedS2Wp(kvm: Kvm): { leaves: number; mmus: number } {
  let leaves = 0;
  let mmus = 0;
  for (const mmu of kvm.nestedMmus) {
    if (!mmu.valid) continue;
    mmus++;
    leaves += kvmStage2WpRange(mmu, 0n, KVM_PHYS_SIZE);
    if (kvm.config.nestedS2WpFlush) kvmTlbFlushVmidRange(kvm, mmu.hwVmid, 0n, KVM_PHYS_SIZE);
  }
  return { leaves, mmus };
}

/** kvm_flush_remote_tlbs_memslot: the canonical VMID's entries for the slot. */
function kvmFlushRemoteTlbsMemslot(kvm: Kvm, slot: Memslot): void {
  kvmTlbFlushVmidRange(kvm, CANONICAL_HW_VMID, slot.base, slot.size);
}

/**
 * kvm_mmu_wp_memory_region: logging starts on `slot`: its canonical range and every valid shadow
 * MMU become read-only. (No eager split: KVM splits only with a split chunk size set, 0 by default.)
 */
export function kvmMmuWpMemoryRegion(kvm: Kvm, slot: Memslot): WpResult {
  const wrprotected = kvmStage2WpRange(kvm.mmu, slot.base, slot.end);
  const nested = kvmNestedS2Wp(kvm);
  kvmFlushRemoteTlbsMemslot(kvm, slot);
  return { wrprotected, shadowWrprotected: nested.leaves, mmus: nested.mmus };
}

/**
 * mark_page_dirty_in_slot: set the bit of canonical page `ipa` when the slot logs. Returns whether
 * the bit was newly set.
 */
export function markPageDirtyInSlot(kvm: Kvm, slot: Memslot, ipa: bigint): boolean {
  const bitmap = slot.dirtyBitmap;
  if (bitmap === null) return false;
  const rel = Number((ipa - slot.base) >> PAGE_SHIFT);
  const word = rel >>> 6;
  const bit = 1n << BigInt(rel & 63);
  const old = bitmap[word]!;
  if (old & bit) return false;
  bitmap[word] = old | bit;
  kvmStat(kvm, "dirtyLog.pagesDirtied");
  return true;
}

/** Index of the lowest and the highest set bit of a non-zero 64-bit mask (__ffs, __fls). */
function ffs(mask: bigint): number {
  let i = 0;
  while (((mask >> BigInt(i)) & 1n) === 0n) i++;
  return i;
}

function fls(mask: bigint): number {
  let i = 63;
  while (((mask >> BigInt(i)) & 1n) === 0n) i--;
  return i;
}

/**
 * kvm_arch_mmu_enable_log_dirty_pt_masked: the pages of `mask` (a word of the bitmap at page
 * `gfnOffset`) were reported; write-protect the canonical range from the lowest to the highest of
 * them, then every valid shadow MMU entirely (kvm_nested_s2_wp).
 */
export function kvmArchMmuEnableLogDirtyPtMasked(kvm: Kvm, slot: Memslot, gfnOffset: number, mask: bigint): WpResult {
  const base = slot.base + (BigInt(gfnOffset) << PAGE_SHIFT);
  const start = base + (BigInt(ffs(mask)) << PAGE_SHIFT);
  const end = base + (BigInt(fls(mask) + 1) << PAGE_SHIFT);
  const wrprotected = kvmStage2WpRange(kvm.mmu, start, end);
  const nested = kvmNestedS2Wp(kvm);
  return { wrprotected, shadowWrprotected: nested.leaves, mmus: nested.mmus };
}

/** What KVM_GET_DIRTY_LOG returned and did. */
export interface DirtyLog extends WpResult {
  /** Canonical IPAs of the dirty pages, ascending. */
  dirty: CanonicalIpa[];
}

/**
 * kvm_get_dirty_log_protect (KVM_GET_DIRTY_LOG): take the slot's dirty bits word by word, clear
 * them, and write-protect what each non-zero word reports; then flush the canonical VMID's TLB
 * entries for the slot. Logs event "memslot" (get-dirty-log) and samples `dirtyLog.dirtyPages`.
 */
export function kvmGetDirtyLogProtect(kvm: Kvm, slot: Memslot): DirtyLog {
  const bitmap = slot.dirtyBitmap;
  const out: DirtyLog = { dirty: [], wrprotected: 0, shadowWrprotected: 0, mmus: 0 };
  if (bitmap === null) return out;
  let flush = false;
  for (let i = 0; i < bitmap.length; i++) {
    const mask = bitmap[i]!;
    if (mask === 0n) continue;
    bitmap[i] = 0n;
    for (let b = 0; b < BITS_PER_LONG; b++) {
      if ((mask >> BigInt(b)) & 1n) out.dirty.push((slot.base + (BigInt(i * BITS_PER_LONG + b) << PAGE_SHIFT)) as CanonicalIpa);
    }
    const wp = kvmArchMmuEnableLogDirtyPtMasked(kvm, slot, i * BITS_PER_LONG, mask);
    out.wrprotected += wp.wrprotected;
    out.shadowWrprotected += wp.shadowWrprotected;
    out.mmus += wp.mmus;
    flush = true;
  }
  if (flush) kvmFlushRemoteTlbsMemslot(kvm, slot);
  kvm.metrics.sample("dirtyLog.dirtyPages", out.dirty.length);
  kvmEvent(kvm, {
    kind: "memslot", what: "get-dirty-log", start: slot.base as CanonicalIpa, size: slot.size, dirty: out.dirty.length,
    wrprotected: out.wrprotected, shadowWrprotected: out.shadowWrprotected, mmus: out.mmus,
  });
  return out;
}
