// A vCPU as gdb lists it in `info threads`: thread id (QEMU's numbering, vCPU i is thread i + 1)
// and the text beside it, which says what gdb cannot (debug/vcpus.ts).

import type { KvmVcpu } from "../../hypervisor/vcpu.ts";
import { vcpuName } from "../vcpus.ts";
import type { TargetThread } from "./target.ts";

/** gdb's thread id of a vCPU. */
export function vcpuTid(vcpu: KvmVcpu): number {
  return vcpu.index + 1;
}

export function vcpuThread(vcpu: KvmVcpu): TargetThread {
  return { tid: vcpuTid(vcpu), name: vcpuName(vcpu) };
}
