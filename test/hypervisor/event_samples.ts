// One event of every kind and variant, with the line `--trace` printed for it before events had
// fields (the formatters must keep producing it byte for byte).

import type { CanonicalIpa, HostPa, NestedIpa } from "../../hypervisor/addr.ts";
import type { KvmEventData } from "../../hypervisor/event_data.ts";
import { ACCEL_WORDING, REVMAP_WORDING, RFC_RBTREE_WORDING } from "../../hypervisor/unmap/wording.ts";

const nipa = (v: bigint) => v as NestedIpa;
const cipa = (v: bigint) => v as CanonicalIpa;
const hpa = (v: bigint) => v as HostPa;

export interface EventSample {
  name: string;
  data: KvmEventData;
  text: string;
}

export const EVENT_SAMPLES: EventSample[] = [
  { name: "exit hvc", data: { kind: "exit", ec: 0x16, level: "L1", esr: 0x5a000000n, elr: 0x40001004n }, text: "HVC64 from L1 esr=0x5a000000 elr=0x40001004" },
  {
    name: "exit msr",
    data: { kind: "exit", ec: 0x18, level: "L1", esr: 0x62310842n, elr: 0x40000010n },
    text: "SYS64 from L1 esr=0x62310842 elr=0x40000010 (msr VTTBR_EL2, x2)",
  },
  {
    name: "exit mrs",
    data: { kind: "exit", ec: 0x18, level: "L2", esr: 0x62300421n, elr: 0x40000010n },
    text: "SYS64 from L2 esr=0x62300421 elr=0x40000010 (mrs x1, SCTLR_EL1)",
  },
  {
    name: "exit msr, unnamed register",
    data: { kind: "exit", ec: 0x18, level: "L1", esr: 0x63fffc66n, elr: 0x40000010n },
    text: "SYS64 from L1 esr=0x63fffc66 elr=0x40000010 (msr S3_7_C15_C3_7, x3)",
  },
  {
    name: "exit tlbi",
    data: { kind: "exit", ec: 0x18, level: "L1", esr: 0x62132020n, elr: 0x40000020n },
    text: "SYS64 from L1 esr=0x62132020 elr=0x40000020 (TLBI IPAS2E1IS, x1)",
  },
  {
    name: "exit dabt",
    data: { kind: "exit", ec: 0x24, level: "L2", esr: 0x93c08006n, elr: 0x40000100n, far: 0x40001000n, hpfar: 0x400010n },
    text: "DABT_LOW from L2 esr=0x93c08006 elr=0x40000100 far=0x40001000 hpfar=0x400010",
  },
  { name: "exit unknown class", data: { kind: "exit", ec: 0x3f, level: "L2", esr: 0xfe000000n, elr: 0x0n }, text: "0x3f from L2 esr=0xfe000000 elr=0x0" },
  {
    name: "shadow-fault",
    data: {
      kind: "shadow-fault", mmu: 0, nestedIpa: nipa(0x40000000n), canonicalIpa: cipa(0x48000000n), pa: hpa(0x1000800000n), size: 0x1000n, prot: 7, level: 3, exec: true,
    },
    text: "mmu0 nested 0x40000000 -> canonical 0x48000000 -> PA 0x1000800000 size 0x1000 prot rwx L1 level 3 exec",
  },
  {
    name: "shadow-fault, stage-2 off",
    data: {
      kind: "shadow-fault", mmu: 12, nestedIpa: nipa(0x40200000n), canonicalIpa: cipa(0x40200000n), pa: hpa(0x200000n), size: 0x200000n, prot: 1, level: null, exec: false,
    },
    text: "mmu12 nested 0x40200000 -> canonical 0x40200000 -> PA 0x200000 size 0x200000 prot r-- (S2 off)",
  },
  {
    name: "canonical-fault",
    data: { kind: "canonical-fault", ipa: cipa(0x48000000n), pa: hpa(0x1000800000n), size: 0x1000n },
    text: "IPA 0x48000000 -> PA 0x1000800000 size 0x1000",
  },
  {
    name: "inject stage-2 fault to L1",
    data: { kind: "inject", into: "l1-stage2", nestedIpa: nipa(0x40001000n), fsc: 0x7, esr: 0x92000007n },
    text: "stage-2 fault to L1: nested IPA 0x40001000 FSC 0x7 ESR 0x92000007",
  },
  {
    name: "inject stage-2 fault to L1, walker error",
    data: { kind: "inject", into: "l1-stage2", nestedIpa: nipa(0x40001000n), fsc: 0, esr: 0x92000000n, walkerError: "descriptor outside L1 memory" },
    text: "stage-2 fault to L1: nested IPA 0x40001000 FSC 0x0 ESR 0x92000000 (walker error: descriptor outside L1 memory)",
  },
  {
    name: "inject into vEL2",
    data: { kind: "inject", into: "vel2", esr: 0x92000007n, from: "L2", mode: 0x5, elr: 0x40000100n, far: 0x40001000n, hpfar: 0x400010n, vector: 0x40100400n },
    text: "DABT_LOW esr=0x92000007 from L2 EL1h elr=0x40000100 far=0x40001000 hpfar=0x400010 -> vector 0x40100400",
  },
  {
    name: "inject into vEL2, unnamed mode",
    data: { kind: "inject", into: "vel2", esr: 0x2000000n, from: "vEL2", mode: 0x3, elr: 0x40000100n, vector: 0x40100200n },
    text: "UNKNOWN esr=0x2000000 from vEL2 M=0x3 elr=0x40000100 -> vector 0x40100200",
  },
  {
    name: "inject into L2 EL1",
    data: { kind: "inject", into: "l2-el1", esr: 0x2000000n, vector: 0x40000200n },
    text: "UNKNOWN esr=0x2000000 into L2 EL1 -> vector 0x40000200",
  },
  { name: "eret to vEL2", data: { kind: "eret", to: "vEL2", mode: 0x9, illegal: false, pc: 0x40000800n }, text: "vEL2 -> EL2h pc=0x40000800" },
  {
    name: "eret to vEL2, illegal",
    data: { kind: "eret", to: "vEL2", mode: 0x9, illegal: true, pc: 0x40000800n },
    text: "vEL2 -> EL2h (illegal return, PSTATE.IL) pc=0x40000800",
  },
  {
    name: "eret to L2",
    data: { kind: "eret", to: "L2", mode: 0x5, pc: 0x40000000n, vttbr: 0x3000n, mmu: 1, vmid: 2 },
    text: "vEL2 -> L2 EL1h pc=0x40000000 vttbr=0x3000 mmu=1 vmid=2",
  },
  {
    name: "eret to L2, no MMU",
    data: { kind: "eret", to: "L2", mode: 0x3, pc: 0x40000000n, vttbr: 0x3000n, mmu: null, vmid: null },
    text: "vEL2 -> L2 M=0x3 pc=0x40000000 vttbr=0x3000",
  },
  { name: "recycle reassign", data: { kind: "recycle", action: "reassign", mmu: 1, fromVmid: 2, toVmid: 3 }, text: "mmu1 vmid=2 -> vmid=3" },
  { name: "recycle empty", data: { kind: "recycle", action: "empty", mmu: 0, removed: 3, invalidated: false }, text: "mmu0 emptied (3 entries)" },
  {
    name: "recycle empty, invalidated",
    data: { kind: "recycle", action: "empty", mmu: 2, removed: 0, invalidated: true },
    text: "mmu2 emptied (0 entries) and invalidated",
  },
  {
    name: "unmap canonical",
    data: { kind: "unmap", scope: "canonical", start: cipa(0x48000000n), size: 0x1000n, removed: 3, freed: 2 },
    text: "canonical 0x48000000+0x1000: 3 canonical entries removed, 2 host pages freed",
  },
  {
    name: "unmap nested full",
    data: { kind: "unmap", scope: "nested", strategy: "full", mmusVisited: 2, removed: 5 },
    text: "nested: 2 MMUs emptied, 5 shadow entries removed",
  },
  {
    name: "unmap nested revmap",
    data: { kind: "unmap", scope: "nested", strategy: "revmap", start: cipa(0x48000000n), size: 0x1000n, mmusVisited: 1, removed: 0, wording: REVMAP_WORDING },
    text: "nested (revmap): 1 MMUs visited, 0 shadow entries removed",
  },
  {
    name: "unmap nested accel",
    data: { kind: "unmap", scope: "nested", strategy: "accel", start: cipa(0x4a100000n), size: 0x1000n, mmusVisited: 1, removed: 7, wording: ACCEL_WORDING },
    text: "nested (accel 0x4a100000+0x1000): 1 MMUs visited, 7 shadow entries removed",
  },
  {
    name: "unmap nested rfc-rbtree",
    data: { kind: "unmap", scope: "nested", strategy: "rfc-rbtree", start: cipa(0x48000000n), size: 0x2000n, mmusVisited: 3, removed: 1, wording: RFC_RBTREE_WORDING },
    text: "nested (rfc-rbtree) 0x48000000+0x2000: 3 MMU trees looked up, 1 shadow entries removed",
  },
  {
    name: "tlbi el2",
    data: { kind: "tlbi", op: "VAE2IS", operand: 0x40000n, target: "el2", vmid: null, mmus: 0, removed: 0 },
    text: "VAE2IS 0x40000: L1 EL2 stage-1 (canonical VMID)",
  },
  {
    name: "tlbi el20",
    data: { kind: "tlbi", op: "VMALLE1IS", operand: 0n, target: "el20", vmid: null, mmus: 0, removed: 0 },
    text: "VMALLE1IS 0x0: L1 EL2&0 stage-1 (canonical VMID)",
  },
  {
    name: "tlbi stage1",
    data: { kind: "tlbi", op: "VAE1IS", operand: 0x1234n, target: "stage1", vmid: 5, mmus: 2, removed: 0 },
    text: "VAE1IS 0x1234: stage-1 of VMID 5: 2 shadow MMUs",
  },
  {
    name: "tlbi stage2",
    data: { kind: "tlbi", op: "IPAS2E1IS", operand: 0x48000n, target: "stage2", vmid: 1, mmus: 1, removed: 1 },
    text: "IPAS2E1IS 0x48000: VMID 1: 1 shadow MMUs, 1 shadow entries removed",
  },
  {
    name: "tlbi stage2, all VMIDs",
    data: { kind: "tlbi", op: "ALLE1IS", operand: 0xffffffffffffffffn, target: "stage2", vmid: null, mmus: 3, removed: 9 },
    text: "ALLE1IS 0xffffffffffffffff: all VMIDs: 3 shadow MMUs, 9 shadow entries removed",
  },
  {
    name: "mmio write",
    data: { kind: "mmio", device: "uart", write: true, offset: 0n, size: 1, rt: 2, value: 0x4cn },
    text: "uart write +0x0 size=1 x2=0x4c",
  },
  {
    name: "mmio read",
    data: { kind: "mmio", device: "uart", write: false, offset: 0x18n, size: 4, rt: 0, value: 0x90n },
    text: "uart read +0x18 size=4 x0=0x90",
  },
  { name: "psci version", data: { kind: "psci", call: "PSCI_VERSION" }, text: "PSCI_VERSION -> 1.0" },
  { name: "psci system off", data: { kind: "psci", call: "SYSTEM_OFF", code: 0 }, text: "SYSTEM_OFF exit code 0" },
  { name: "psci features", data: { kind: "psci", call: "PSCI_FEATURES", feature: 0x84000000 }, text: "PSCI_FEATURES 0x84000000" },
  { name: "psci unsupported", data: { kind: "psci", call: "NOT_SUPPORTED", fn: 0x84000010 }, text: "function 0x84000010 -> NOT_SUPPORTED" },
  {
    name: "psci cpu_on, no such vCPU",
    data: { kind: "psci", call: "CPU_ON", result: "INVALID_PARAMETERS", mpidr: 0x7n },
    text: "CPU_ON mpidr=0x7: no such vCPU -> INVALID_PARAMETERS",
  },
  { name: "psci cpu_on, already on", data: { kind: "psci", call: "CPU_ON", result: "ALREADY_ON", vcpu: 1 }, text: "CPU_ON vcpu1: already on -> ALREADY_ON" },
  {
    name: "psci cpu_on",
    data: { kind: "psci", call: "CPU_ON", result: "SUCCESS", vcpu: 1, entry: 0x40000000n, context: 0x1n },
    text: "CPU_ON vcpu1 entry=0x40000000 context=0x1 -> SUCCESS",
  },
  { name: "psci cpu_off", data: { kind: "psci", call: "CPU_OFF", vcpu: 1 }, text: "CPU_OFF vcpu1" },
  {
    name: "coalesce begin bbm",
    data: { kind: "coalesce", phase: "begin", order: "bbm", ipa: cipa(0x4a000000n), size: 0x200000n, pages: 512, costPerPage: 4, totalTicks: 2048 },
    text: "begin bbm canonical 0x4a000000+0x200000: 512 page mappings, 4 ticks/page, 2048 ticks, range invalid",
  },
  {
    name: "coalesce begin install-first",
    data: { kind: "coalesce", phase: "begin", order: "install-first", ipa: cipa(0x4a000000n), size: 0x200000n, pages: 3, costPerPage: 0, totalTicks: 1 },
    text: "begin install-first canonical 0x4a000000+0x200000: 3 page mappings, 0 ticks/page, 1 ticks, block installed",
  },
  {
    name: "coalesce fault",
    data: { kind: "coalesce", phase: "fault", vcpu: 1, ipa: cipa(0x4a000000n), size: 0x200000n, tick: 5 },
    text: "vCPU 1 translation fault in canonical 0x4a000000+0x200000 while it is invalid (tick 5)",
  },
  {
    name: "coalesce done",
    data: {
      kind: "coalesce", phase: "done", order: "bbm", ipa: cipa(0x4a000000n), size: 0x200000n, aborted: false, pa: hpa(0x1000a00000n), pagesFreed: 512,
      invalidTicks: 2048, faults: 3,
    },
    text: "done bbm canonical 0x4a000000+0x200000: block -> PA 0x1000a00000, 512 page mappings and 1 table page freed, invalid for 2048 ticks, 3 faults",
  },
  {
    name: "coalesce done, aborted",
    data: {
      kind: "coalesce", phase: "done", order: "bbm", ipa: cipa(0x4a000000n), size: 0x200000n, aborted: true, pa: hpa(0x1000a00000n), pagesFreed: 12,
      invalidTicks: 48, faults: 0,
    },
    text: "done bbm canonical 0x4a000000+0x200000: aborted, the region was reclaimed, 12 page mappings and 1 table page freed, invalid for 48 ticks, 0 faults",
  },
  {
    name: "coalesce split",
    data: { kind: "coalesce", phase: "split", ipa: cipa(0x4a000000n), size: 0x200000n, pages: 512, pa: hpa(0x1000a00000n) },
    text: "split canonical 0x4a000000+0x200000 -> 512 page mappings of PA 0x1000a00000",
  },
  {
    name: "revmap broken",
    data: { kind: "revmap", what: "broken", mmu: 0, start: cipa(0x48000000n), last: cipa(0x48000fffn) },
    text: "mmu0: store of 0x48000000..0x48000fff failed, revmap broken (full unmap from now on)",
  },
  {
    name: "revmap polluted",
    data: { kind: "revmap", what: "polluted", mmu: 1, start: cipa(0x48000000n), last: cipa(0x48001fffn), overlaps: 2, nestedIpa: nipa(0x40001000n) },
    text: "mmu1: canonical 0x48000000..0x48001fff polluted (2 overlapping range(s) + nested 0x40001000)",
  },
  { name: "accel destroyed", data: { kind: "accel", what: "destroyed" }, text: "every shadow MMU is empty: canonical tree destroyed" },
  {
    name: "chaos unmap",
    data: { kind: "chaos", source: "scenario", action: "unmap", ipa: cipa(0x4a100000n), size: 0x1000n },
    text: "scenario: unmap canonical 0x4a100000+0x1000",
  },
  { name: "chaos fail-revmap", data: { kind: "chaos", source: "inject", action: "fail-revmap", count: 1 }, text: "inject: fail the next 1 revmap store" },
  { name: "chaos fail-revmap, several", data: { kind: "chaos", source: "debugger", action: "fail-revmap", count: 3 }, text: "debugger: fail the next 3 revmap stores" },
  {
    name: "chaos recycle, none valid",
    data: { kind: "chaos", source: "chaos", action: "recycle", mmu: "any-valid", outcome: "not-valid" },
    text: "chaos: recycle any valid MMU: not valid, nothing to do",
  },
  {
    name: "chaos recycle mmu, not valid",
    data: { kind: "chaos", source: "scenario", action: "recycle", mmu: 4, outcome: "not-valid" },
    text: "scenario: recycle mmu4: not valid, nothing to do",
  },
  {
    name: "chaos recycle, pending",
    data: { kind: "chaos", source: "scenario", action: "recycle", mmu: 0, outcome: "pending" },
    text: "scenario: recycle mmu0: in use, pending unmap",
  },
  {
    name: "chaos recycle, emptied",
    data: { kind: "chaos", source: "chaos", action: "recycle", mmu: 2, outcome: "emptied" },
    text: "chaos: recycle mmu2: unused, emptied and invalidated",
  },
  {
    name: "chaos tlbi",
    data: { kind: "chaos", source: "inject", action: "tlbi", op: "IPAS2E1IS", operand: 0x48000n },
    text: "inject: TLBI IPAS2E1IS, 0x48000 on behalf of L1",
  },
  { name: "chaos split", data: { kind: "chaos", source: "scenario", action: "split", ipa: cipa(0x4a000000n) }, text: "scenario: split canonical 0x4a000000+0x200000" },
  {
    name: "chaos coalesce",
    data: { kind: "chaos", source: "scenario", action: "coalesce", ipa: cipa(0x4a000000n), order: "install-first", costPerPage: 4 },
    text: "scenario: coalesce canonical 0x4a000000+0x200000 (install-first, 4 ticks per page)",
  },
  {
    name: "chaos delete memslot",
    data: { kind: "chaos", source: "scenario", action: "delete-memslot", ipa: cipa(0x4c000000n) },
    text: "scenario: delete the memslot holding canonical 0x4c000000",
  },
  {
    name: "chaos log dirty",
    data: { kind: "chaos", source: "scenario", action: "log-dirty", ipa: cipa(0x48000000n), enable: true },
    text: "scenario: dirty logging on for the memslot holding canonical 0x48000000",
  },
  {
    name: "chaos get dirty log",
    data: { kind: "chaos", source: "inject", action: "get-dirty-log", ipa: cipa(0x48000000n) },
    text: "inject: get and clear the dirty log of the memslot holding canonical 0x48000000",
  },
  {
    name: "memslot delete",
    data: { kind: "memslot", what: "delete", start: cipa(0x4c000000n), size: 0x1000000n, removed: 4, freed: 70 },
    text: "delete slot 0x4c000000+0x1000000: 4 canonical entries removed, 70 host pages freed",
  },
  {
    name: "memslot log-dirty on",
    data: { kind: "memslot", what: "log-dirty", enable: true, start: cipa(0x48000000n), size: 0x8000000n, wrprotected: 3, shadowWrprotected: 66, mmus: 1 },
    text: "dirty logging on slot 0x48000000+0x8000000: 3 canonical and 66 shadow leaves write-protected (1 shadow MMUs)",
  },
  {
    name: "memslot log-dirty off",
    data: { kind: "memslot", what: "log-dirty", enable: false, start: cipa(0x48000000n), size: 0x8000000n, wrprotected: 0, shadowWrprotected: 0, mmus: 0 },
    text: "dirty logging off on slot 0x48000000+0x8000000",
  },
  {
    name: "memslot get-dirty-log",
    data: { kind: "memslot", what: "get-dirty-log", start: cipa(0x48000000n), size: 0x8000000n, dirty: 64, wrprotected: 0, shadowWrprotected: 130, mmus: 2 },
    text: "dirty log of slot 0x48000000+0x8000000: 64 dirty pages; 0 canonical and 130 shadow leaves write-protected again (2 shadow MMU visits)",
  },
  {
    name: "relax-perms shadow",
    data: { kind: "relax-perms", mmu: 0, ipa: 0x40100000n, size: 0x1000n, prot: 7, canonicalIpa: cipa(0x48100000n), dirty: true },
    text: "mmu0 nested 0x40100000 (canonical 0x48100000) size 0x1000 prot rwx in place, dirty",
  },
  {
    name: "relax-perms canonical",
    data: { kind: "relax-perms", mmu: null, ipa: 0x40200000n, size: 0x1000n, prot: 7, canonicalIpa: cipa(0x40200000n), dirty: false },
    text: "canonical 0x40200000 size 0x1000 prot rwx in place",
  },
  {
    name: "s2-table-write",
    data: {
      kind: "s2-table-write", vcpu: 0, level: "L1", pc: 0x401009e4n, va: 0x44002008n, ipa: cipa(0x44002008n), pa: hpa(0x1000602008n), size: 8, old: 0n,
      new: 0x401027ffn, tableLevel: 3, nestedIpa: nipa(0x40001000n), span: 0x1000n,
    },
    text:
      "vCPU 0 L1 pc=0x401009e4 store va=0x44002008 size 8: level 3 descriptor canonical 0x44002008 (PA 0x1000602008) for nested 0x40001000+0x1000: 0x0 -> 0x401027ff",
  },
];
