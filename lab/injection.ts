// Fault injection: the host-side events a KVM developer wants to provoke at will — the host taking
// a canonical range back (MMU notifier), a failing non-sleeping revmap allocation, a shadow MMU
// recycled under the guest's feet, a TLBI L1 could have issued. Scenario timelines and chaos mode
// call these between L0 actions; each is logged (event kind "chaos") and counted (`injected.*`).

import { sysRegIss } from "../emulator/exception.ts";
import { tlbiByName } from "../emulator/tlbi.ts";
import { CoalesceOp, type CoalesceOptions, splitBlock } from "../hypervisor/coalesce.ts";
import { HostError } from "../hypervisor/errors.ts";
import { kvmUnmapGfnRange } from "../hypervisor/mmu.ts";
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
  if (!Number.isInteger(n) || n < 1) throw new HostError(`failRevmapStores: ${n} is not a positive count`);
  kvm.faultInject.storeFailures += n;
  logInjection(kvm, source, "revmapStoreFailures", { action: "fail-revmap", count: n });
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
