// A vCPU in one line, for `info vcpus` and gdb's `info threads`: the level it runs and, for L2,
// which of L1's guests that is (the VMID L1 put in its VTTBR_EL2).

import { getVmid } from "../hypervisor/nested.ts";
import type { KvmVcpu } from "../hypervisor/vcpu.ts";

/** `vCPU 2, L2, VMID 3`; `vCPU 3, L1, powered off` for one PSCI has not started (or has stopped). */
export function vcpuName(vcpu: KvmVcpu): string {
  const parts = [`vCPU ${vcpu.index}`, vcpu.level];
  if (vcpu.level === "L2") parts.push(`VMID ${getVmid(vcpu.vcpuReadSysReg("VTTBR_EL2"))}`);
  if (vcpu.mpState !== "runnable") parts.push("powered off");
  return parts.join(", ");
}
