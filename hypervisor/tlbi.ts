// TLB maintenance issued by L1 at virtual EL2 (KVM: handle_tlbi_el1, handle_tlbi_el2,
// handle_vmalls12e1is, handle_alle1is, handle_ipas2e1is, handle_ripas2e1is in sys_regs.c and
// nested.c). Three paths (seed 004): EL2 stage-1 forms act on L1's own (canonical) VMID; EL1
// stage-1 forms act on the CPU TLB entries of every shadow MMU with L1's current VMID; stage-2
// forms tear down the matching parts of the shadow tables, which also invalidates their TLB entries.
// Every TLBI is treated as inner-shareable: it reaches every vCPU's TLB.

import { decodeTlbiOperand, invalidateTlb, type TlbiOp, tlbiFromIss } from "../emulator/tlbi.ts";
import { HostError } from "./errors.ts";
import { getVmid, kvmStage2UnmapRange, type KvmS2Mmu, CANONICAL_HW_VMID } from "./nested.ts";
import { KVM_PHYS_SIZE } from "./pgtable.ts";
import { kvmCpus } from "./tlb.ts";
import { computeTlbInvalRange, decodeRangeTlbi, ipas2e1Base } from "./tlbi_range.ts";
import type { TlbiTarget } from "./event_data.ts";
import { kvmEvent } from "./events.ts";
import { kvmStat } from "./metrics.ts";
import type { Kvm } from "./vm.ts";
import type { KvmVcpu } from "./vcpu.ts";

const HCR_E2H = 1n << 34n;
const HCR_TGE = 1n << 27n;
/** ASIDs of the TLB operands are passed through unchanged (16 bits; 8-bit ASIDs have [63:56] zero). */
const ASID_BITS = 0xffff;

/** kvm_s2_mmu_iterate_by_vmid: every valid shadow MMU whose cached VTTBR has this VMID. */
function mmusByVmid(kvm: Kvm, vmid: number): KvmS2Mmu[] {
  return kvm.nestedMmus.filter((m) => m.valid && getVmid(m.tlbVttbr) === vmid);
}

/** Apply an EL1&0-regime TLBI to the CPU TLB entries of one hardware VMID, on every vCPU. */
function invalidateHwVmid(kvm: Kvm, op: TlbiOp, xt: bigint, hwVmid: number): void {
  for (const cpu of kvmCpus(kvm)) {
    invalidateTlb(cpu.tlb, op, xt, hwVmid, ASID_BITS);
    cpu.flushFastTlb();
  }
}

/**
 * Path A (__kvm_tlbi_s1e2): L1's EL2 regime runs on the CPU's EL1&0 regime under the canonical
 * VMID, so an EL2-form TLBI becomes the matching EL1 one there (over-invalidation is allowed).
 */
function tlbiS1e2(kvm: Kvm, op: TlbiOp, xt: bigint): void {
  const o = decodeTlbiOperand(op, xt);
  for (const cpu of kvmCpus(kvm)) {
    switch (op.kind) {
      case "VAE2":
        cpu.tlb.flushVa(CANONICAL_HW_VMID, null, o.address!, op.lastLevel);
        break;
      case "RVAE2":
        if (o.address === null) cpu.tlb.flushVmidStage1(CANONICAL_HW_VMID);
        else cpu.tlb.flushVaRange(CANONICAL_HW_VMID, null, o.address, o.end!, op.lastLevel);
        break;
      default:
        cpu.tlb.flushVmidStage1(CANONICAL_HW_VMID);
    }
    cpu.flushFastTlb();
  }
}

/** The SW1:SW0 tag (L1's leaf level) of the shadow leaf mapping `ipa`, null when there is none. */
function shadowLeafTag(mmu: KvmS2Mmu, ipa: bigint): number | null {
  const leaf = mmu.pgt.getLeaf(ipa);
  return leaf ? leaf.sw & 3 : null;
}

/** Path C for one MMU; returns the shadow entries removed. */
function tlbiS2(mmu: KvmS2Mmu, op: TlbiOp, xt: bigint): number {
  switch (op.kind) {
    case "IPAS2E1": {
      // s2_mmu_unmap_ipa: L forms are treated as the plain ones.
      const size = computeTlbInvalRange(mmu.tlbVtcr, xt, (ipa) => shadowLeafTag(mmu, ipa));
      const base = ipas2e1Base(xt) & ~(size - 1n);
      return kvmStage2UnmapRange(mmu, base, size);
    }
    case "RIPAS2E1": {
      // s2_mmu_unmap_range: TTL is ignored, the shadow's structure need not be L1's.
      const r = decodeRangeTlbi(xt);
      return kvmStage2UnmapRange(mmu, r.base, r.size);
    }
    default:
      // VMALLS12E1, ALLE1: the whole nested IPA space.
      return kvmStage2UnmapRange(mmu, 0n, KVM_PHYS_SIZE);
  }
}

/** A TLBI that L1 executed at vEL2 and that trapped (EC 0x18): emulate it and skip it. */
export function kvmHandleSysTlbi(vcpu: KvmVcpu, iss: number, xt: bigint): void {
  const kvm = vcpu.kvm;
  const op = tlbiFromIss(iss);
  if (!op) throw new HostError(`ISS 0x${iss.toString(16)} is not a TLBI`);
  const hcr = vcpu.vcpuReadSysReg("HCR_EL2");
  const hostEl20 = (hcr & HCR_E2H) !== 0n && (hcr & HCR_TGE) !== 0n;
  const vmid = getVmid(vcpu.vcpuReadSysReg("VTTBR_EL2"));
  let target: TlbiTarget;
  let shadowMmus = 0;
  let removed = 0;
  switch (op.kind) {
    case "ALLE2":
    case "VAE2":
    case "RVAE2":
      tlbiS1e2(kvm, op, xt);
      target = "el2";
      break;
    case "VMALLE1":
    case "VAE1":
    case "ASIDE1":
    case "VAAE1":
    case "RVAE1":
    case "RVAAE1": {
      if (hostEl20 && vcpu.isHypCtxt()) {
        // {E2H,TGE} = {1,1}: the EL1 forms name L1's own EL2&0 regime.
        invalidateHwVmid(kvm, op, xt, CANONICAL_HW_VMID);
        target = "el20";
        break;
      }
      const mmus = mmusByVmid(kvm, vmid);
      for (const mmu of mmus) invalidateHwVmid(kvm, op, xt, mmu.hwVmid);
      target = "stage1";
      shadowMmus = mmus.length;
      break;
    }
    case "IPAS2E1":
    case "RIPAS2E1":
    case "VMALLS12E1":
    case "ALLE1": {
      const mmus = op.kind === "ALLE1" ? kvm.nestedMmus.filter((m) => m.valid) : mmusByVmid(kvm, vmid);
      for (const mmu of mmus) removed += tlbiS2(mmu, op, xt);
      kvmStat(kvm, "tlbiShadowEntriesRemoved", removed);
      target = "stage2";
      shadowMmus = mmus.length;
      break;
    }
  }
  vcpu.skipInstr();
  kvmStat(kvm, `tlbi.${op.name}`);
  const eventVmid = target === "stage1" || (target === "stage2" && op.kind !== "ALLE1") ? vmid : null;
  kvmEvent(kvm, { kind: "tlbi", op: op.name, operand: BigInt.asUintN(64, xt), target, vmid: eventVmid, mmus: shadowMmus, removed });
}
