// KVM_SET_USER_MEMORY_REGION (KVM: virt/kvm/kvm_main.c kvm_set_memory_region, and arm64's hooks
// kvm_arch_flush_shadow_memslot and kvm_arch_commit_memory_region in mmu.c). A region names a
// slot by its canonical base: a new base creates a slot, size 0 deletes the slot, the same base
// and size with other flags changes only the flags (dirty logging on or off). Moving or resizing a
// slot is refused, as KVM refuses to resize one.
//
// Deleting a slot unmaps its whole range from the canonical stage-2 and takes every shadow
// mapping of it away through the VM's unmap strategy (upstream's `full` empties every valid shadow
// MMU, as kvm_nested_s2_unmap does); then the host backing is released and the slot is gone, so
// a later access to the range is an MMIO access (io_mem_abort), as in KVM.

import { hex } from "../emulator/types.ts";
import type { CanonicalIpa } from "./addr.ts";
import { kvmAllocDirtyBitmap, kvmMmuWpMemoryRegion } from "./dirty_log.ts";
import { HostError } from "./errors.ts";
import { kvmEvent } from "./events.ts";
import { Memslot, SZ_4K } from "./memslot.ts";
import { kvmStat } from "./metrics.ts";
import { CANONICAL_HW_VMID } from "./nested.ts";
import { kvmTlbFlushVmidRange } from "./tlb.ts";
import type { Kvm } from "./vm.ts";

/** KVM_MEM_LOG_DIRTY_PAGES. */
export const KVM_MEM_LOG_DIRTY_PAGES = 1 << 0;

/** struct kvm_userspace_memory_region (the slot is named by its base; host memory is L0's pool). */
export interface KvmUserspaceMemoryRegion {
  guestPhysAddr: bigint;
  /** 0 deletes the slot at guestPhysAddr. */
  memorySize: bigint;
  flags: number;
}

/** enum kvm_mr_change. */
export type KvmMrChange = "create" | "delete" | "flags-only";

/** kvm_set_memory_region: create, delete, or change the flags of the slot at guestPhysAddr. */
export function kvmSetMemoryRegion(kvm: Kvm, mem: KvmUserspaceMemoryRegion): KvmMrChange {
  const { guestPhysAddr: base, memorySize: size, flags } = mem;
  if (flags & ~KVM_MEM_LOG_DIRTY_PAGES) throw new HostError(`set memory region: unknown flags ${hex(flags)}`);
  if (base % SZ_4K !== 0n || size % SZ_4K !== 0n || size < 0n) {
    throw new HostError(`set memory region ${hex(base)}+${hex(size)}: not page aligned`);
  }
  const old = kvm.memslots.find((s) => s.base === base) ?? null;
  if (size === 0n) {
    if (!old) throw new HostError(`set memory region: no memslot at ${hex(base)} to delete`);
    kvmDeleteMemslot(kvm, old);
    return "delete";
  }
  if (old) {
    if (old.size !== size) throw new HostError(`set memory region ${hex(base)}: memslot size ${hex(old.size)} cannot change to ${hex(size)}`);
    kvmCommitFlags(kvm, old, flags);
    return "flags-only";
  }
  const end = base + size;
  const overlap = kvm.memslots.find((s) => s.base < end && base < s.end);
  if (overlap) throw new HostError(`set memory region ${hex(base)}+${hex(size)}: overlaps memslot ${hex(overlap.base)}+${hex(overlap.size)}`);
  const slot = new Memslot(base, size, kvm.mem, kvm.pool);
  kvm.memslots.push(slot);
  kvm.memslots.sort((a, b) => (a.base < b.base ? -1 : 1));
  kvmCommitFlags(kvm, slot, flags);
  return "create";
}

/**
 * The dirty-log half of kvm_set_memory_region and kvm_arch_commit_memory_region: logging turned on
 * gets a bitmap and write-protects (kvm_mmu_wp_memory_region); turned off, the bitmap goes and
 * the mappings stay as they are (read-only and page-sized until they fault or are unmapped).
 */
function kvmCommitFlags(kvm: Kvm, slot: Memslot, flags: number): void {
  const enable = (flags & KVM_MEM_LOG_DIRTY_PAGES) !== 0;
  if (enable === (slot.dirtyBitmap !== null)) return;
  let wp = { wrprotected: 0, shadowWrprotected: 0, mmus: 0 };
  if (enable) {
    slot.dirtyBitmap = kvmAllocDirtyBitmap(slot);
    wp = kvmMmuWpMemoryRegion(kvm, slot);
  } else slot.dirtyBitmap = null;
  kvmEvent(kvm, { kind: "memslot", what: "log-dirty", enable, start: slot.base as CanonicalIpa, size: slot.size, ...wp });
}

/**
 * kvm_arch_flush_shadow_memslot: the slot's canonical range goes from the canonical stage-2, and
 * the nested unmap path takes every shadow mapping of it. Returns the canonical leaves removed.
 */
export function kvmArchFlushShadowMemslot(kvm: Kvm, slot: Memslot): number {
  const u = kvm.mmu.pgt.unmap(slot.base, slot.size, kvm.config.stage2UnmapSplit);
  kvmTlbFlushVmidRange(kvm, CANONICAL_HW_VMID, u.start, u.end - u.start);
  kvm.unmap.canonicalUnmap(kvm, slot.base as CanonicalIpa, slot.size);
  return u.removed;
}

/** KVM_MR_DELETE: flush the slot's mappings, release its host backing, remove it. */
function kvmDeleteMemslot(kvm: Kvm, slot: Memslot): void {
  for (const op of kvm.coalescing) {
    if (slot.contains(op.ipa)) throw new HostError(`delete memslot ${hex(slot.base)}: a coalesce of ${hex(op.ipa)} is in progress`);
  }
  // KVM marks the slot invalid first, so no fault maps it again while it is flushed.
  kvm.memslots.splice(kvm.memslots.indexOf(slot), 1);
  const removed = kvmArchFlushShadowMemslot(kvm, slot);
  const freed = slot.release(slot.base, slot.size).length;
  slot.dirtyBitmap = null;
  kvmStat(kvm, "memslotsDeleted");
  kvmEvent(kvm, { kind: "memslot", what: "delete", start: slot.base as CanonicalIpa, size: slot.size, removed, freed });
}

/**
 * L1's RAM as `n` memslots of equal size (VmConfig.ramSlots), each a whole number of 2M regions
 * unless there is only one.
 */
export function kvmRamMemslots(kvm: Pick<Kvm, "mem" | "pool">, base: bigint, size: bigint, n: number): Memslot[] {
  if (!Number.isInteger(n) || n < 1) throw new HostError(`ramSlots must be a positive integer (got ${n})`);
  const each = size / BigInt(n);
  if (n > 1 && (size % BigInt(n) !== 0n || each % (1n << 21n) !== 0n)) {
    throw new HostError(`L1 memory size ${hex(size)} does not split into ${n} memslots of whole 2M regions`);
  }
  const slots: Memslot[] = [];
  for (let i = 0; i < n; i++) slots.push(new Memslot(base + BigInt(i) * each, each, kvm.mem, kvm.pool));
  return slots;
}
