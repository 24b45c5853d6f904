// Nested stage-2 MMU contexts (KVM: kvm_s2_mmu, nested.c). Each shadow MMU caches one
// {VMID, BADDR, VTCR, HCR_EL2.VM} context that L1 uses for its guests, with its own hardware VMID
// and its own stage-2 table. Shadow MMUs behave like TLBs: recycled lazily, round-robin, and emptied
// completely before they are reused.

import { ShadowOrigin } from "./shadow_origin.ts";
import { HCR_VM } from "../emulator/mmu/regs.ts";
import { lo32 } from "../emulator/types.ts";
import { HostError } from "./errors.ts";
import type { NestedIpa } from "./addr.ts";
import { KVM_PHYS_SIZE, KvmPgtable } from "./pgtable.ts";
import { kvmTlbFlushVmidRange } from "./tlb.ts";
import type { Kvm } from "./vm.ts";
import type { KvmVcpu } from "./vcpu.ts";
import { kvmEvent } from "./events.ts";
import { kvmStat, kvmStatUnmapVisit } from "./metrics.ts";

/** VTTBR_EL2.CnP: a tlb_vttbr with it set marks a free (invalid) shadow MMU. */
export const VTTBR_CNP_BIT = 1n;
const HCR_VM_LO = Number(HCR_VM);
/** Shadow MMUs per vCPU: each vCPU holds at most one, so one is always free. */
export const S2_MMU_PER_VCPU = 2;
/** Hardware VMIDs: the canonical MMU, then one per shadow MMU. */
export const CANONICAL_HW_VMID = 1;
export const NESTED_HW_VMID_BASE = 2;

/** VTTBR_EL2.VMID (16-bit VMIDs, as the host uses). */
export function getVmid(vttbr: bigint): number {
  return Number((vttbr >> 48n) & 0xffffn);
}

export class KvmS2Mmu {
  /** L1's virtual VTTBR_EL2 without CnP; 1n = invalid. */
  tlbVttbr = VTTBR_CNP_BIT;
  tlbVtcr = 0n;
  nestedStage2Enabled = false;
  pendingUnmap = false;
  refcnt = 0;
  /**
   * Nested IPA of each 4K page a shadow leaf was installed for → the canonical IPA it was built
   * from (sandbox bookkeeping for the staleness statistics, the benchmarks and chaos's aim; keys of
   * pages no longer mapped are ignored). The invariant checker computes its own (lab/check_truth.ts).
   */
  readonly shadowOrigin = new ShadowOrigin();

  constructor(
    /** Back pointer (KVM: mmu->arch), for TLB maintenance on every vCPU and for the metrics. */
    readonly kvm: Kvm,
    public pgt: KvmPgtable,
    public hwVmid: number,
    /** Position in kvm.nestedMmus; -1 for the canonical MMU. */
    public index: number,
  ) {}

  /** kvm_s2_mmu_valid: CnP clear. The canonical MMU is always valid. */
  get valid(): boolean {
    return (lo32(this.tlbVttbr) & 1) === 0; // VTTBR_CNP_BIT, read without a BigInt operation
  }

  /** kvm_is_nested_s2_mmu. */
  get isNested(): boolean {
    return this.index >= 0;
  }

  private vttbrValue = 0n;
  private vttbrOf = { vmid: -1, pgd: -1 };

  /** The hardware VTTBR_EL2 that points the CPU at this table (remade only when VMID or table change). */
  vttbr(): bigint {
    const of = this.vttbrOf;
    if (of.vmid !== this.hwVmid || of.pgd !== this.pgt.pgdPa) {
      of.vmid = this.hwVmid;
      of.pgd = this.pgt.pgdPa;
      this.vttbrValue = (BigInt(this.hwVmid) << 48n) | BigInt(this.pgt.pgdPa);
    }
    return this.vttbrValue;
  }
}

/**
 * kvm_init_nested + kvm_vcpu_init_nested: 2 × vCPUs shadow MMUs (or config.nestedMmus), all
 * invalid; the unmap strategy makes its state for each.
 */
export function kvmInitNested(kvm: Kvm): void {
  const n = kvm.config.nestedMmus ?? S2_MMU_PER_VCPU * kvm.config.vcpus;
  const mmus: KvmS2Mmu[] = [];
  for (let i = 0; i < n; i++) mmus.push(new KvmS2Mmu(kvm, new KvmPgtable(kvm.mem, kvm.pool), NESTED_HW_VMID_BASE + i, i));
  kvm.nestedMmus = mmus;
  kvm.nestedMmusNext = 0;
  kvm.unmap.initNested(kvm);
}

/** lookup_s2_mmu: the valid shadow MMU for the current virtual VTTBR/VTCR/HCR_EL2.VM, or null. */
export function lookupS2Mmu(vcpu: KvmVcpu): KvmS2Mmu | null {
  // Memory-only vEL2 registers (no EL1 twin, sys_regs.ts EL2_TO_EL1): read from the vEL2 file.
  const el2 = vcpu.ctxt.el2;
  // Bit tests on the low halves: every nested ERET to L2 looks its MMU up.
  const v = el2.VTTBR_EL2;
  const vttbr = (lo32(v) & 1) === 0 ? v : v & ~VTTBR_CNP_BIT;
  const vtcr = el2.VTCR_EL2;
  const nestedS2 = (lo32(el2.HCR_EL2) & HCR_VM_LO) !== 0;
  for (const mmu of vcpu.kvm.nestedMmus) {
    if (!mmu.valid) continue;
    if (nestedS2) {
      if (mmu.nestedStage2Enabled && mmu.tlbVttbr === vttbr && mmu.tlbVtcr === vtcr) return mmu;
    } else if (!mmu.nestedStage2Enabled && getVmid(mmu.tlbVttbr) === getVmid(vttbr)) {
      // TLBs are VMID-tagged even with stage 2 off, so the VMID alone names the context.
      return mmu;
    }
  }
  return null;
}

/** get_s2_mmu_nested: find the context, else recycle the next unused one (round-robin). */
export function getS2MmuNested(vcpu: KvmVcpu): KvmS2Mmu {
  const kvm = vcpu.kvm;
  let mmu = lookupS2Mmu(vcpu);
  if (!mmu) {
    const mmus = kvm.nestedMmus;
    const size = mmus.length;
    for (let i = 0; i < size; i++) {
      const cand = mmus[(kvm.nestedMmusNext + i) % size]!;
      if (cand.refcnt === 0) {
        mmu = cand;
        kvm.nestedMmusNext = (cand.index + 1) % size;
        break;
      }
    }
    if (!mmu) throw new HostError(`no free shadow stage-2 MMU (${size} MMUs, all referenced)`);
    // A still-valid context keeps its table until a vCPU empties it before running on it.
    if (mmu.valid) {
      mmu.pendingUnmap = true;
      kvmEvent(kvm, { kind: "recycle", action: "reassign", mmu: mmu.index, fromVmid: getVmid(mmu.tlbVttbr), toVmid: getVmid(vcpu.vcpuReadSysReg("VTTBR_EL2")) });
    }
    mmu.tlbVttbr = vcpu.vcpuReadSysReg("VTTBR_EL2") & ~VTTBR_CNP_BIT;
    mmu.tlbVtcr = vcpu.vcpuReadSysReg("VTCR_EL2");
    mmu.nestedStage2Enabled = (vcpu.vcpuReadSysReg("HCR_EL2") & HCR_VM) !== 0n;
  }
  mmu.refcnt++;
  // KVM_REQ_NESTED_S2_UNMAP is implied by hwMmu.pendingUnmap: checkNestedVcpuRequests acts on it.
  return mmu;
}

/** kvm_vcpu_load_hw_mmu: pick the stage-2 context for what the vCPU runs and program the CPU. */
export function kvmVcpuLoadHwMmu(vcpu: KvmVcpu): void {
  if (!vcpu.hwMmu) vcpu.hwMmu = vcpu.isHypCtxt() ? vcpu.kvm.mmu : getS2MmuNested(vcpu);
  const mmu = vcpu.hwMmu;
  // One switch of the fast TLB for both registers (and whatever the world switch loaded before): the
  // context left is kept aside, exactly keyed, for when it runs again.
  const sr = vcpu.cpu.sr;
  sr.VTTBR_EL2 = mmu.vttbr();
  sr.VTCR_EL2 = mmu.pgt.vtcr;
  vcpu.cpu.switchFastContext();
}

/** kvm_vcpu_put_hw_mmu: drop the reference (nested MMUs only). */
export function kvmVcpuPutHwMmu(vcpu: KvmVcpu): void {
  const mmu = vcpu.hwMmu;
  if (mmu?.isNested) {
    if (mmu.refcnt <= 0) throw new HostError(`shadow MMU ${mmu.index}: refcount underflow`);
    mmu.refcnt--;
  }
  vcpu.hwMmu = null;
}

/** check_nested_vcpu_requests: empty a recycled MMU before the vCPU enters the guest with it. */
export function checkNestedVcpuRequests(vcpu: KvmVcpu): void {
  const mmu = vcpu.hwMmu;
  if (!mmu?.isNested || !mmu.pendingUnmap) return;
  const removed = kvmStage2UnmapRange(mmu, 0n, KVM_PHYS_SIZE);
  mmu.pendingUnmap = false;
  kvmStat(vcpu.kvm, "mmusRecycled");
  kvmEvent(vcpu.kvm, { kind: "recycle", action: "empty", mmu: mmu.index, removed, invalidated: false });
}

/**
 * kvm_stage2_unmap_range: remove [ipa, ipa+size) from the MMU's table, whole leaves (a block the
 * range only touches goes entirely), invalidate its hardware VMID's TLB entries over everything
 * removed, and tell the unmap strategy the extent actually unmapped. Returns the leaves removed.
 */
export function kvmStage2UnmapRange(mmu: KvmS2Mmu, ipa: bigint, size: bigint): number {
  const kvm = mmu.kvm;
  const u = mmu.pgt.unmap(ipa, size, kvm.config.stage2UnmapSplit);
  const whole = ipa === 0n && size >= KVM_PHYS_SIZE;
  // Cached translations of the rest of a removed block must go as well: flush the extent.
  if (whole) kvmTlbFlushVmidRange(kvm, mmu.hwVmid, 0n, KVM_PHYS_SIZE);
  else kvmTlbFlushVmidRange(kvm, mmu.hwVmid, u.start, u.end - u.start);
  if (mmu.isNested) {
    // A nested MMU's input addresses are nested IPAs.
    if (whole) kvm.unmap.mmuFullyUnmapped(mmu);
    else kvm.unmap.shadowUnmap(mmu, u.start as NestedIpa, u.end - u.start);
  }
  return u.removed;
}

/**
 * kvm_nested_s2_unmap: empty every valid shadow MMU, whatever changed. Records the shadow
 * entries removed and the MMUs visited for this canonical unmap.
 */
export function kvmNestedS2Unmap(kvm: Kvm): number {
  const { visited, removed } = kvmUnmapValidMmus(kvm, (mmu) => kvmStage2UnmapRange(mmu, 0n, KVM_PHYS_SIZE));
  kvmEvent(kvm, { kind: "unmap", scope: "nested", strategy: kvm.unmap.name, mmusVisited: visited, removed });
  return removed;
}

/**
 * Run `unmap` on every valid shadow MMU (kvm_for_each_nested_s2_mmu), and record for this canonical
 * unmap the shadow entries it removed and the MMUs it visited.
 */
export function kvmUnmapValidMmus(kvm: Kvm, unmap: (mmu: KvmS2Mmu) => number): { visited: number; removed: number } {
  let removed = 0;
  let visited = 0;
  for (const mmu of kvm.nestedMmus) {
    if (!mmu.valid) continue;
    visited++;
    removed += unmap(mmu);
  }
  kvmStat(kvm, "shadowEntriesRemoved", removed);
  kvmStatUnmapVisit(kvm, visited);
  return { visited, removed };
}
