// Fault injection: the host-side events a KVM developer wants to provoke at will — the host taking
// a canonical range back (MMU notifier), a failing non-sleeping revmap allocation, a shadow MMU
// recycled under the guest's feet, a TLBI L1 could have issued. Scenario timelines and chaos mode
// call these between L0 actions; each is logged (event kind "chaos") and counted (`injected.*`).

import { sysRegIss } from "../emulator/exception.ts";
import { tlbiByName } from "../emulator/tlbi.ts";
import { CoalesceOp, type CoalesceOptions, splitBlock } from "./coalesce.ts";
import { HostError } from "./errors.ts";
import { kvmUnmapGfnRange } from "./mmu.ts";
import { KVM_PHYS_SIZE, kvmStage2UnmapRange, type KvmS2Mmu, VTTBR_CNP_BIT } from "./nested.ts";
import { kvmHandleSysTlbi } from "./tlbi.ts";
import type { KvmVcpu } from "./vcpu.ts";
import type { Kvm } from "./vm.ts";

/** Event kind of every injected action. */
export const INJECT_EVENT = "chaos";

const hex = (v: bigint): string => "0x" + v.toString(16);

function logInjection(kvm: Kvm, source: string, counter: string, detail: string): void {
  kvm.metrics.inc(`injected.${counter}`);
  kvm.events.add(INJECT_EVENT, `${source}: ${detail}`);
}

/** The host takes canonical [gpa, gpa+size) back from L1 (kvm_unmap_gfn_range). */
export function unmapCanonical(kvm: Kvm, gpa: bigint, size: bigint, source = "inject"): void {
  logInjection(kvm, source, "unmaps", `unmap canonical ${hex(gpa)}+${hex(size)}`);
  kvmUnmapGfnRange(kvm, gpa, size);
}

/** The next `n` revmap stores fail (their MMUs' revmaps become broken). */
export function failRevmapStores(kvm: Kvm, n: number, source = "inject"): void {
  if (!Number.isInteger(n) || n < 1) throw new HostError(`failRevmapStores: ${n} is not a positive count`);
  kvm.faultInject.storeFailures += n;
  logInjection(kvm, source, "revmapStoreFailures", `fail the next ${n} revmap store${n === 1 ? "" : "s"}`);
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
    logInjection(kvm, source, "recycles", `recycle ${which === "any-valid" ? "any valid MMU" : `mmu${which}`}: not valid, nothing to do`);
    return null;
  }
  if (mmu.refcnt > 0) {
    mmu.pendingUnmap = true;
    logInjection(kvm, source, "recycles", `recycle mmu${mmu.index}: in use, pending unmap`);
    return mmu;
  }
  logInjection(kvm, source, "recycles", `recycle mmu${mmu.index}: unused, emptied and invalidated`);
  const removed = kvmStage2UnmapRange(mmu, 0n, KVM_PHYS_SIZE);
  mmu.tlbVttbr = VTTBR_CNP_BIT;
  mmu.pendingUnmap = false;
  kvm.metrics.inc("mmusRecycled");
  kvm.events.add("recycle", `mmu${mmu.index} emptied (${removed} entries) and invalidated`);
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
  logInjection(vcpu.kvm, source, "tlbis", `TLBI ${name.toUpperCase()}, ${hex(BigInt.asUintN(64, operand))} on behalf of L1`);
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
  logInjection(kvm, source, "splits", `split canonical ${hex(ipa)}+0x200000`);
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
  logInjection(kvm, source, "coalesces", `coalesce canonical ${hex(ipa)}+0x200000 (${o.order}, ${o.costPerPage} ticks per page)`);
  return op;
}
