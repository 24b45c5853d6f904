// PSCI over SMC from vEL2 (KVM: psci.c kvm_psci_call). L1's `smc #0` traps (HCR_EL2.TSC) with the
// function ID in x0. SYSTEM_OFF ends the run, with x1 as the exit code (nvlab's guest ABI). CPU_ON
// starts a secondary vCPU at virtual EL2 (as KVM boots an NV vCPU), CPU_OFF stops the caller.

import { PHYS_MIDR, physicalMpidr } from "../emulator/sysreg_table.ts";
import { kvmVcpuPutHwMmu } from "./nested.ts";
import { VcpuSysRegs } from "./sys_regs.ts";
import { kvmResetVcpu, type KvmVcpu } from "./vcpu.ts";

export const PSCI_0_2_FN_PSCI_VERSION = 0x8400_0000;
export const PSCI_0_2_FN_CPU_OFF = 0x8400_0002;
export const PSCI_0_2_FN_CPU_ON = 0x8400_0003;
export const PSCI_0_2_FN64_CPU_ON = 0xc400_0003;
export const PSCI_0_2_FN_AFFINITY_INFO = 0x8400_0004;
export const PSCI_0_2_FN64_AFFINITY_INFO = 0xc400_0004;
export const PSCI_0_2_FN_SYSTEM_OFF = 0x8400_0008;
export const PSCI_0_2_FN_SYSTEM_RESET = 0x8400_0009;
export const PSCI_1_0_FN_PSCI_FEATURES = 0x8400_000a;

/** PSCI 1.0. */
export const PSCI_VERSION_1_0 = 0x1_0000n;
export const PSCI_RET_SUCCESS = 0n;
export const PSCI_RET_NOT_SUPPORTED = BigInt.asUintN(64, -1n);
export const PSCI_RET_INVALID_PARAMS = BigInt.asUintN(64, -2n);
export const PSCI_RET_ALREADY_ON = BigInt.asUintN(64, -4n);
/** AFFINITY_INFO results. */
export const PSCI_0_2_AFFINITY_LEVEL_ON = 0n;
export const PSCI_0_2_AFFINITY_LEVEL_OFF = 1n;

const IMPLEMENTED = new Set([
  PSCI_0_2_FN_PSCI_VERSION, PSCI_0_2_FN_SYSTEM_OFF, PSCI_1_0_FN_PSCI_FEATURES, PSCI_0_2_FN_CPU_OFF,
  PSCI_0_2_FN_CPU_ON, PSCI_0_2_FN64_CPU_ON, PSCI_0_2_FN_AFFINITY_INFO, PSCI_0_2_FN64_AFFINITY_INFO,
]);

/** MPIDR_HWID_BITMASK: the affinity fields Aff3 (39:32) and Aff2..Aff0 (23:0). */
const MPIDR_HWID_BITMASK = 0xff_00ff_ffffn;

/** kvm_mpidr_to_vcpu: the vCPU whose MPIDR affinity is `mpidr`, or null. */
export function kvmMpidrToVcpu(vcpu: KvmVcpu, mpidr: bigint): KvmVcpu | null {
  const want = mpidr & MPIDR_HWID_BITMASK;
  return vcpu.kvm.vcpus.find((v) => (physicalMpidr(v.cpu) & MPIDR_HWID_BITMASK) === want) ?? null;
}

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
      vcpu.kvm.events.add({ kind: "psci", call: "PSCI_VERSION" });
      return 1;
    case PSCI_0_2_FN_SYSTEM_OFF: {
      const code = Number(cpu.getX(1) & 0xffff_ffffn);
      vcpu.exitReason = { kind: "system-off", code };
      vcpu.kvm.events.add({ kind: "psci", call: "SYSTEM_OFF", code });
      return 0;
    }
    case PSCI_1_0_FN_PSCI_FEATURES: {
      const q = Number(cpu.getX(1) & 0xffff_ffffn);
      cpu.setX(0, IMPLEMENTED.has(q) ? PSCI_RET_SUCCESS : PSCI_RET_NOT_SUPPORTED);
      vcpu.kvm.events.add({ kind: "psci", call: "PSCI_FEATURES", feature: q });
      return 1;
    }
    case PSCI_0_2_FN_CPU_ON:
    case PSCI_0_2_FN64_CPU_ON:
      cpu.setX(0, kvmPsciVcpuOn(vcpu, fn === PSCI_0_2_FN_CPU_ON));
      return 1;
    case PSCI_0_2_FN_CPU_OFF:
      kvmPsciVcpuOff(vcpu);
      return 1;
    case PSCI_0_2_FN_AFFINITY_INFO:
    case PSCI_0_2_FN64_AFFINITY_INFO:
      cpu.setX(0, kvmPsciAffinityInfo(vcpu, fn === PSCI_0_2_FN_AFFINITY_INFO));
      return 1;
    default:
      cpu.setX(0, PSCI_RET_NOT_SUPPORTED);
      vcpu.kvm.events.add({ kind: "psci", call: "NOT_SUPPORTED", fn });
      return 1;
  }
}

/** The 32-bit calling convention passes 32-bit arguments: the upper halves are ignored. */
function arg(vcpu: KvmVcpu, n: number, smc32: boolean): bigint {
  const v = vcpu.cpu.getX(n);
  return smc32 ? v & 0xffff_ffffn : v;
}

/**
 * kvm_psci_vcpu_on: start the vCPU named by x1 at x2 in virtual EL2h (MMU off, DAIF masked, as
 * vCPU 0 starts) with x0 = x3 (the context ID). Returns the PSCI status for the caller's x0.
 */
function kvmPsciVcpuOn(source: KvmVcpu, smc32: boolean): bigint {
  const mpidr = arg(source, 1, smc32);
  const entry = arg(source, 2, smc32);
  const context = arg(source, 3, smc32);
  const target = kvmMpidrToVcpu(source, mpidr);
  const events = source.kvm.events;
  if (!target) {
    events.add({ kind: "psci", call: "CPU_ON", result: "INVALID_PARAMETERS", mpidr });
    return PSCI_RET_INVALID_PARAMS;
  }
  if (target.mpState === "runnable") {
    events.add({ kind: "psci", call: "CPU_ON", result: "ALREADY_ON", vcpu: target.index });
    return PSCI_RET_ALREADY_ON;
  }
  // kvm_reset_vcpu: a vCPU coming back from CPU_OFF starts from reset values too.
  if (target.hwMmu) kvmVcpuPutHwMmu(target);
  Object.assign(target.ctxt, new VcpuSysRegs(PHYS_MIDR, physicalMpidr(target.cpu)));
  kvmResetVcpu(target, entry);
  target.cpu.setX(0, context);
  target.freshEntry = true;
  source.kvm.schedEpoch++;
  source.kvm.metrics.inc("vcpusStarted");
  events.add({ kind: "psci", call: "CPU_ON", result: "SUCCESS", vcpu: target.index, entry, context });
  return PSCI_RET_SUCCESS;
}

/** kvm_psci_vcpu_off: the caller stops until another CPU_ON. */
function kvmPsciVcpuOff(vcpu: KvmVcpu): void {
  vcpu.mpState = "stopped";
  vcpu.kvm.schedEpoch++;
  vcpu.kvm.events.add({ kind: "psci", call: "CPU_OFF", vcpu: vcpu.index });
}

/** AFFINITY_INFO at level 0: whether the vCPU named by x1 is on. */
function kvmPsciAffinityInfo(vcpu: KvmVcpu, smc32: boolean): bigint {
  const level = arg(vcpu, 2, smc32);
  if (level !== 0n) return PSCI_RET_INVALID_PARAMS;
  const target = kvmMpidrToVcpu(vcpu, arg(vcpu, 1, smc32));
  if (!target) return PSCI_RET_INVALID_PARAMS;
  return target.mpState === "runnable" ? PSCI_0_2_AFFINITY_LEVEL_ON : PSCI_0_2_AFFINITY_LEVEL_OFF;
}
