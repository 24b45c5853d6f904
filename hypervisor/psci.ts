// PSCI over SMC from vEL2 (KVM: psci.c kvm_psci_call). L1's `smc #0` traps (HCR_EL2.TSC) with the
// function ID in x0. SYSTEM_OFF ends the run, with x1 as the exit code (nvlab's guest ABI).

import { hex } from "../emulator/types.ts";
import type { KvmVcpu } from "./vcpu.ts";

export const PSCI_0_2_FN_PSCI_VERSION = 0x8400_0000;
export const PSCI_0_2_FN_CPU_ON = 0x8400_0003;
export const PSCI_0_2_FN64_CPU_ON = 0xc400_0003;
export const PSCI_0_2_FN_SYSTEM_OFF = 0x8400_0008;
export const PSCI_0_2_FN_SYSTEM_RESET = 0x8400_0009;
export const PSCI_1_0_FN_PSCI_FEATURES = 0x8400_000a;

/** PSCI 1.0. */
export const PSCI_VERSION_1_0 = 0x1_0000n;
export const PSCI_RET_SUCCESS = 0n;
export const PSCI_RET_NOT_SUPPORTED = BigInt.asUintN(64, -1n);

const IMPLEMENTED = new Set([PSCI_0_2_FN_PSCI_VERSION, PSCI_0_2_FN_SYSTEM_OFF, PSCI_1_0_FN_PSCI_FEATURES]);

/**
 * Handle the PSCI call in x0..x3. Returns 1 to resume the guest, 0 when the run ends (the reason is
 * in vcpu.exitReason), as KVM's handlers do.
 */
export function kvmPsciCall(vcpu: KvmVcpu): number {
  const cpu = vcpu.cpu;
  const fn = Number(cpu.getX(0) & 0xffff_ffffn);
  vcpu.kvm.metrics.inc("psciCalls");
  switch (fn) {
    case PSCI_0_2_FN_PSCI_VERSION:
      cpu.setX(0, PSCI_VERSION_1_0);
      vcpu.kvm.events.add("psci", "PSCI_VERSION -> 1.0");
      return 1;
    case PSCI_0_2_FN_SYSTEM_OFF: {
      const code = Number(cpu.getX(1) & 0xffff_ffffn);
      vcpu.exitReason = { kind: "system-off", code };
      vcpu.kvm.events.add("psci", `SYSTEM_OFF exit code ${code}`);
      return 0;
    }
    case PSCI_1_0_FN_PSCI_FEATURES: {
      const q = Number(cpu.getX(1) & 0xffff_ffffn);
      cpu.setX(0, IMPLEMENTED.has(q) ? PSCI_RET_SUCCESS : PSCI_RET_NOT_SUPPORTED);
      vcpu.kvm.events.add("psci", `PSCI_FEATURES ${hex(q)}`);
      return 1;
    }
    case PSCI_0_2_FN_CPU_ON:
    case PSCI_0_2_FN64_CPU_ON:
      // Secondary vCPUs are not started yet.
      cpu.setX(0, PSCI_RET_NOT_SUPPORTED);
      vcpu.kvm.events.add("psci", `CPU_ON mpidr=${hex(cpu.getX(1))} -> NOT_SUPPORTED`);
      return 1;
    default:
      cpu.setX(0, PSCI_RET_NOT_SUPPORTED);
      vcpu.kvm.events.add("psci", `function ${hex(fn)} -> NOT_SUPPORTED`);
      return 1;
  }
}
