// Permission faults and dirty logging in user_mem_abort (KVM: mmu.c user_mem_abort's
// logging_active and fault_is_perm paths, hyp/pgtable.c kvm_pgtable_stage2_relax_perms). L0
// makes leaves read-only only for dirty logging, so a permission fault that reaches it (and is not
// L1's to handle) is a write to a write-protected page. KVM then:
//   - maps page-sized while the slot logs (force_pte), and writable only on a write fault;
//   - when the fault is a permission fault and the mapping it would make has the size of the
//     faulting leaf (the fault granule, from the ESR's level), adds the permissions to that leaf in
//     place and invalidates that IPA in this CPU's TLB only (__kvm_tlb_flush_vmid_ipa_nsh); any
//     other size goes through the map path;
//   - marks the canonical page dirty in its slot when the mapping it made is writable. For a shadow
//     fault that is the page behind the nested IPA (L1's stage-2 output), whatever the canonical
//     stage-2 maps.

import { EC, ISS_S1PTW, ISS_WNR, type Exit } from "../emulator/exception.ts";
import type { CanonicalIpa, HostPa } from "./addr.ts";
import { markPageDirtyInSlot, memslotIsLogging } from "./dirty_log.ts";
import { kvmEvent } from "./events.ts";
import { type Memslot, SZ_4K } from "./memslot.ts";
import { kvmStat } from "./metrics.ts";
import { CANONICAL_HW_VMID, type KvmS2Mmu } from "./nested.ts";
import { ESR_ELx_FSC_PERM } from "./nested_walk.ts";
import { KVM_PGTABLE_PROT_R, KVM_PGTABLE_PROT_W, KVM_PGTABLE_PROT_X } from "./pgtable.ts";
import { kvmTlbFlushVmidRange } from "./tlb.ts";
import type { KvmVcpu } from "./vcpu.ts";

const FSC_TYPE_MASK = 0x3c;
const FSC_LEVEL_MASK = 0x3;
const PROT_RWX = KVM_PGTABLE_PROT_R | KVM_PGTABLE_PROT_W | KVM_PGTABLE_PROT_X;

/** esr_fsc_is_permission_fault. */
export function kvmIsPermFault(exit: Exit): boolean {
  return (Number(exit.esr) & FSC_TYPE_MASK) === ESR_ELx_FSC_PERM;
}

/** kvm_is_write_fault: stage-1 walks count as writes only for permission faults. */
export function kvmIsWriteFault(exit: Exit): boolean {
  const iss = Number(exit.esr & 0x1ffffffn);
  if (iss & ISS_S1PTW) return (iss & FSC_TYPE_MASK) === ESR_ELx_FSC_PERM;
  if (exit.ec === EC.IABT_LOW) return false;
  return (iss & ISS_WNR) !== 0;
}

/** kvm_vcpu_trap_get_perm_fault_granule: the size of a leaf at the level the ESR reports (4K granule). */
export function kvmPermFaultGranule(exit: Exit): bigint {
  const level = Number(exit.esr) & FSC_LEVEL_MASK;
  return 1n << BigInt(12 + 9 * (3 - level));
}

/** The largest mapping user_mem_abort may make for the slot: a page while it logs (force_pte). */
export function kvmLoggingMapSize(slot: Memslot, size: bigint): bigint {
  return memslotIsLogging(slot) && size > SZ_4K ? SZ_4K : size;
}

/** Only a write fault maps writable while the slot logs ("logging_active && !write_fault"). */
export function kvmLoggingProt(slot: Memslot, prot: number, exit: Exit): number {
  return memslotIsLogging(slot) && !kvmIsWriteFault(exit) ? prot & ~KVM_PGTABLE_PROT_W : prot;
}

/** mark_page_dirty_in_slot after a successful writable mapping of canonical `ipa`. */
export function kvmMarkDirtyIfWritable(vcpu: KvmVcpu, slot: Memslot, ipa: bigint, prot: number): boolean {
  // Not logging (the common case): nothing to mark, and no page address to compute.
  return (prot & KVM_PGTABLE_PROT_W) !== 0 && slot.dirtyBitmap !== null && markPageDirtyInSlot(vcpu.kvm, slot, ipa & ~(SZ_4K - 1n));
}

/** __kvm_tlb_flush_vmid_ipa_nsh: this CPU's TLB entries of the VMID for the leaf's range only. */
function kvmTlbFlushVmidIpaNsh(vcpu: KvmVcpu, hwVmid: number, ipa: bigint, size: bigint): void {
  vcpu.cpu.tlb.flushIpaRange(hwVmid, ipa, ipa + size, false);
  vcpu.cpu.flushFastTlb();
}

/**
 * user_mem_abort's `fault_is_perm && vma_pagesize == fault_granule` branch: add `prot` to the leaf
 * at `faultIpa` in place (kvm_pgtable_stage2_relax_perms), invalidate it locally, and mark
 * `canonicalIpa` dirty when writable. True when the fault is done (relaxed, or the leaf went
 * meanwhile and the access is simply retried, KVM's -EAGAIN); false when the caller must map: not
 * a permission fault, or a mapping of another size (counted as `stage2.permRemaps`).
 */
export function kvmRelaxPermsFault(
  vcpu: KvmVcpu, mmu: KvmS2Mmu, exit: Exit, faultIpa: bigint, size: bigint, prot: number, slot: Memslot, canonicalIpa: bigint,
): boolean {
  if (!kvmIsPermFault(exit)) return false;
  const kvm = vcpu.kvm;
  if (kvmIsWriteFault(exit)) kvmStat(kvm, "dirtyLog.wpFaults");
  const granule = kvmPermFaultGranule(exit);
  if (size !== granule) {
    kvmStat(kvm, "stage2.permRemaps");
    return false;
  }
  const leafIpa = faultIpa & ~(granule - 1n);
  // The software bits (L1's level for a shadow leaf) stay those of the leaf.
  if (!mmu.pgt.relaxPerms(leafIpa, prot & PROT_RWX)) {
    vcpu.cpu.flushFastTlb();
    return true;
  }
  kvmTlbFlushVmidIpaNsh(vcpu, mmu.hwVmid, leafIpa, granule);
  kvmStat(kvm, "stage2.relaxPerms");
  const dirty = kvmMarkDirtyIfWritable(vcpu, slot, canonicalIpa, prot);
  kvmEvent(kvm, {
    kind: "relax-perms", mmu: mmu.isNested ? mmu.index : null, ipa: leafIpa, size: granule, prot: prot & PROT_RWX,
    canonicalIpa: (canonicalIpa & ~(SZ_4K - 1n)) as CanonicalIpa, dirty,
  });
  return true;
}

/**
 * user_mem_abort on the canonical MMU where logging or a permission fault changes the outcome:
 * a page-sized mapping while the slot logs, writable only on a write fault; a permission fault
 * relaxes the leaf in place when sizes agree. False for a plain translation fault of a slot that
 * does not log (the caller's path).
 */
export function kvmUserMemAbortCanonical(vcpu: KvmVcpu, slot: Memslot, ipa: bigint, exit: Exit): boolean {
  const isPerm = kvmIsPermFault(exit);
  if (!isPerm && !memslotIsLogging(slot)) return false;
  const kvm = vcpu.kvm;
  const mmu = kvm.mmu;
  // While the slot logs, the memslot hands out 4K pages (force_pte).
  const b = slot.faultIn(ipa, kvm.config.blocks);
  const prot = kvmLoggingProt(slot, PROT_RWX, exit);
  if (!kvmRelaxPermsFault(vcpu, mmu, exit, ipa, b.size, prot, slot, ipa)) {
    if (mmu.pgt.map(b.ipa, b.size, b.pa, prot)) {
      const inval = mmu.pgt.mapInvalidation(b.ipa, b.size);
      kvmTlbFlushVmidRange(kvm, CANONICAL_HW_VMID, inval.ipa, inval.size);
    }
    kvmStat(kvm, "canonicalFaults");
    kvmEvent(kvm, { kind: "canonical-fault", ipa: b.ipa as CanonicalIpa, pa: b.pa as HostPa, size: b.size });
    kvmMarkDirtyIfWritable(vcpu, slot, ipa, prot);
  }
  vcpu.cpu.flushFastTlb();
  return true;
}
