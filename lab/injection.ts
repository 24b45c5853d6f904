// Fault injection: the host-side events a KVM developer wants to provoke at will — the host taking
// a canonical range back (MMU notifier), a failing allocation of the revmap, the accelerator or the
// direct map, a shadow MMU
// recycled under the guest's feet, a TLBI L1 could have issued. Scenario timelines and chaos mode
// call these between L0 actions; each is logged (event kind "chaos") and counted (`injected.*`).

import { sysRegIss } from "../emulator/exception.ts";
import { tlbiByName } from "../emulator/tlbi.ts";
import { CoalesceOp, type CoalesceOptions, splitBlock } from "../hypervisor/coalesce.ts";
import { HostError } from "../hypervisor/errors.ts";
import { kvmGetDirtyLogProtect } from "../hypervisor/dirty_log.ts";
import type { Memslot } from "../hypervisor/memslot.ts";
import { gfnToMemslot, kvmUnmapGfnRange } from "../hypervisor/mmu.ts";
import { KVM_MEM_LOG_DIRTY_PAGES, kvmSetMemoryRegion } from "../hypervisor/set_memory_region.ts";
import { kvmStage2UnmapRange, type KvmS2Mmu, VTTBR_CNP_BIT } from "../hypervisor/nested.ts";
import { KVM_PHYS_SIZE } from "../hypervisor/pgtable.ts";
import { kvmHandleSysTlbi } from "../hypervisor/tlbi.ts";
import type { CanonicalIpa } from "../hypervisor/addr.ts";
import type { ChaosEventData, EventKind } from "../hypervisor/event_data.ts";
import type { InjectionCounter } from "../hypervisor/metrics.ts";
import type { KvmVcpu } from "../hypervisor/vcpu.ts";
import type { Kvm } from "../hypervisor/vm.ts";

/** Event kind of every injected action. */
export const INJECT_EVENT = "chaos" satisfies EventKind;

type ChaosAction = DistributiveOmit<ChaosEventData, "kind" | "source">;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

function logInjection(kvm: Kvm, source: string, counter: InjectionCounter, action: ChaosAction): void {
  kvm.metrics.inc(`injected.${counter}`);
  kvm.events.add({ kind: INJECT_EVENT, source, ...action });
}

/**
 * The host takes canonical [gpa, gpa+size) back from L1 (kvm_unmap_gfn_range); `mayBlock` false
 * models an atomic notifier (no resched points).
 */
export function unmapCanonical(kvm: Kvm, gpa: bigint, size: bigint, source = "inject", mayBlock = true): void {
  logInjection(kvm, source, "unmaps", { action: "unmap", ipa: gpa as CanonicalIpa, size });
  kvmUnmapGfnRange(kvm, gpa, size, mayBlock);
}

/** The next `n` revmap stores fail (their MMUs' revmaps become broken). */
export function failRevmapStores(kvm: Kvm, n: number, source = "inject"): void {
  failStores(kvm, "revmap", n, source);
}

/** The structures whose stores an injection can fail (the allocations the seeds make at fault time). */
export const STORES = ["revmap", "accel", "directMap"] as const;
export type Store = (typeof STORES)[number];

/**
 * The next `n` stores into `store` fail: the revmap's (its MMU's revmap becomes broken), the
 * accelerator's canonical tree (record_accel: the fault records neither bit nor revmap range), or
 * the direct map's (its MMU's revmap becomes broken). Strategies without that store ignore it.
 */
export function failStores(kvm: Kvm, store: Store, n: number, source = "inject"): void {
  if (!Number.isInteger(n) || n < 1) throw new HostError(`failStores: ${n} is not a positive count`);
  const inject = kvm.faultInject;
  switch (store) {
    case "revmap":
      inject.storeFailures += n;
      logInjection(kvm, source, "revmapStoreFailures", { action: "fail-revmap", count: n });
      return;
    case "accel":
      inject.accelStoreFailures += n;
      logInjection(kvm, source, "accelStoreFailures", { action: "fail-revmap", count: n, store });
      return;
    case "directMap":
      inject.directMapStoreFailures += n;
      logInjection(kvm, source, "directMapStoreFailures", { action: "fail-revmap", count: n, store });
      return;
  }
  throw new HostError(`failStores: unknown store "${String(store)}" (one of ${STORES.join(", ")})`);
}

/**
 * The next `n` TLB invalidations L0 makes for a shadow VMID are lost (a bug planted in L0, not a
 * host event): the shadow leaf goes, the CPUs' TLB entries through it stay. Invariant T catches it.
 */
export function skipShadowTlbInvalidation(kvm: Kvm, n: number, source = "inject"): void {
  if (!Number.isInteger(n) || n < 1) throw new HostError(`skipShadowTlbInvalidation: ${n} is not a positive count`);
  kvm.faultInject.skipShadowTlbi += n;
  logInjection(kvm, source, "skippedTlbis", { action: "skip-tlbi", count: n });
}

/** The MMU `forceRecycle` picks for "any-valid": the lowest-indexed valid shadow MMU, or null. */
export function firstValidMmu(kvm: Kvm): KvmS2Mmu | null {
  return kvm.nestedMmus.find((m) => m.valid) ?? null;
}

/**
 * Recycle a shadow MMU as KVM would to reuse it: an unused one (refcnt 0) is emptied and
 * invalidated now; one a vCPU holds gets pending_unmap, so it is emptied before that vCPU
 * re-enters the guest. Returns the MMU acted on, or null when there was nothing to recycle.
 */
export function forceRecycle(kvm: Kvm, which: number | "any-valid", source = "inject"): KvmS2Mmu | null {
  let mmu: KvmS2Mmu | null;
  if (which === "any-valid") mmu = firstValidMmu(kvm);
  else {
    mmu = kvm.nestedMmus[which] ?? null;
    if (!mmu) throw new HostError(`forceRecycle: no shadow MMU ${which} (the VM has ${kvm.nestedMmus.length})`);
  }
  if (!mmu || !mmu.valid) {
    logInjection(kvm, source, "recycles", { action: "recycle", mmu: which, outcome: "not-valid" });
    return null;
  }
  if (mmu.refcnt > 0) {
    mmu.pendingUnmap = true;
    logInjection(kvm, source, "recycles", { action: "recycle", mmu: mmu.index, outcome: "pending" });
    return mmu;
  }
  logInjection(kvm, source, "recycles", { action: "recycle", mmu: mmu.index, outcome: "emptied" });
  // Emptied as a pending unmap is (checkNestedVcpuRequests): the strategy sees a recycle, so the
  // MMU's next context starts with fresh records (a broken revmap included).
  mmu.pendingUnmap = true;
  const removed = kvmStage2UnmapRange(mmu, 0n, KVM_PHYS_SIZE);
  mmu.tlbVttbr = VTTBR_CNP_BIT;
  mmu.pendingUnmap = false;
  kvm.metrics.inc("mmusRecycled");
  kvm.events.add({ kind: "recycle", action: "empty", mmu: mmu.index, removed, invalidated: true });
  return mmu;
}

/** The EC 0x18 ISS of `TLBI <name>, Xt` (a write to a SYS encoding, op0 = 1). */
export function tlbiIss(name: string): number {
  const op = tlbiByName(name);
  if (!op) throw new HostError(`unknown TLBI operation "${name}"`);
  return sysRegIss(1, op.op1, op.crn, op.crm, op.op2, 31, false);
}

/**
 * Run a TLBI as if L1 had executed it at vEL2 and it had trapped: the same emulation, without
 * skipping an instruction (ELR_EL2 is left as it was).
 */
export function tlbiOnBehalfOfL1(vcpu: KvmVcpu, name: string, operand: bigint, source = "inject"): void {
  const iss = tlbiIss(name);
  logInjection(vcpu.kvm, source, "tlbis", { action: "tlbi", op: name.toUpperCase(), operand: BigInt.asUintN(64, operand) });
  const elr = vcpu.cpu.sr.ELR_EL2;
  try {
    kvmHandleSysTlbi(vcpu, iss, operand);
  } finally {
    vcpu.cpu.sr.ELR_EL2 = elr;
  }
}

/**
 * Dirty logging starts on the canonical 2M region at `ipa`: its block becomes 512 page mappings
 * (KVM's eager split), the starting state of a coalescing.
 */
export function splitCanonical(kvm: Kvm, ipa: bigint, source = "inject"): void {
  splitBlock(kvm, ipa);
  // Counted once done: a region that cannot be split is refused and changes nothing.
  logInjection(kvm, source, "splits", { action: "split", ipa: ipa as CanonicalIpa });
}

/**
 * Coalesce the page mappings of the canonical 2M region at `ipa` back into a block, in the VM's
 * configured order unless `opts` says otherwise. The host does it: no vCPU is busy with it, the
 * operation advances one scheduler tick per slice while the vCPUs run.
 */
export function coalesceCanonical(kvm: Kvm, ipa: bigint, opts: Partial<CoalesceOptions> = {}, source = "inject"): CoalesceOp {
  const o = { ...kvm.config.coalesce, ...opts };
  const op = CoalesceOp.begin(kvm, ipa, o);
  kvm.addHostTask(op);
  logInjection(kvm, source, "coalesces", { action: "coalesce", ipa: ipa as CanonicalIpa, order: o.order, costPerPage: o.costPerPage });
  return op;
}

/** The memslot holding canonical `ipa`, or a HostError naming what the VM has. */
function slotAt(kvm: Kvm, ipa: bigint, op: string): Memslot {
  const slot = gfnToMemslot(kvm, ipa);
  if (!slot) {
    const slots = kvm.memslots.map((m) => `0x${m.base.toString(16)}+0x${m.size.toString(16)}`).join(", ") || "none";
    throw new HostError(`${op}: no memslot holds canonical 0x${ipa.toString(16)} (memslots: ${slots})`);
  }
  return slot;
}

/**
 * The VMM deletes the memslot holding canonical `ipa` (KVM_SET_USER_MEMORY_REGION with size 0):
 * its mappings go, canonical and shadow, and later accesses to the range are MMIO.
 */
export function deleteMemslot(kvm: Kvm, ipa: bigint, source = "inject"): Memslot {
  const slot = slotAt(kvm, ipa, "deleteMemslot");
  kvmSetMemoryRegion(kvm, { guestPhysAddr: slot.base, memorySize: 0n, flags: 0 });
  logInjection(kvm, source, "memslotDeletes", { action: "delete-memslot", ipa: ipa as CanonicalIpa });
  return slot;
}

/** The VMM turns dirty logging on or off (KVM_MEM_LOG_DIRTY_PAGES) for the memslot holding `ipa`. */
export function logDirtyPages(kvm: Kvm, ipa: bigint, enable: boolean, source = "inject"): Memslot {
  const slot = slotAt(kvm, ipa, "logDirtyPages");
  kvmSetMemoryRegion(kvm, { guestPhysAddr: slot.base, memorySize: slot.size, flags: enable ? KVM_MEM_LOG_DIRTY_PAGES : 0 });
  logInjection(kvm, source, "dirtyLogs", { action: "log-dirty", ipa: ipa as CanonicalIpa, enable });
  return slot;
}

/**
 * KVM_GET_DIRTY_LOG on the memslot holding `ipa`: the canonical pages written since logging began
 * or since the last call, which are write-protected again (sample `dirtyLog.dirtyPages`).
 */
export function getDirtyLog(kvm: Kvm, ipa: bigint, source = "inject"): CanonicalIpa[] {
  const slot = slotAt(kvm, ipa, "getDirtyLog");
  if (slot.dirtyBitmap === null) throw new HostError(`getDirtyLog: the memslot at 0x${slot.base.toString(16)} does not log dirty pages`);
  logInjection(kvm, source, "dirtyLogs", { action: "get-dirty-log", ipa: ipa as CanonicalIpa });
  return kvmGetDirtyLogProtect(kvm, slot).dirty;
}
