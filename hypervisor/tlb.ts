// L0's own TLB maintenance for a hardware VMID (KVM: hyp/vhe/tlb.c __kvm_tlb_flush_vmid_range,
// __kvm_tlb_flush_vmid): what the canonical and shadow stage-2 paths call after changing a table.
// Not the emulation of L1's TLBIs, which is tlbi.ts.

import type { Cpu } from "../emulator/cpu.ts";
import { KVM_PHYS_SIZE } from "./pgtable.ts";
import type { Kvm } from "./vm.ts";

/** The CPUs whose TLBs may hold entries of this VM (all TLBIs are treated as inner-shareable). */
export function kvmCpus(kvm: Kvm): Cpu[] {
  return kvm.vcpus.map((v) => v.cpu);
}

/** kvm_tlb_flush_vmid_range: drop the stage-2 range (and what was combined with it) for a VMID. */
export function kvmTlbFlushVmidRange(kvm: Kvm, hwVmid: number, ipa: bigint, size: bigint): void {
  if (hwVmid !== kvm.mmu.hwVmid && kvm.faultInject.skipShadowTlbi > 0) {
    // Lab fault injection: this invalidation is lost, stale TLB entries stay (invariant T's prey).
    kvm.faultInject.skipShadowTlbi--;
    return;
  }
  const whole = ipa === 0n && size >= KVM_PHYS_SIZE;
  for (const cpu of kvmCpus(kvm)) {
    if (whole) cpu.tlb.flushVmid(hwVmid);
    else cpu.tlb.flushIpaRange(hwVmid, ipa, ipa + size, false);
    cpu.flushFastTlb();
  }
}
