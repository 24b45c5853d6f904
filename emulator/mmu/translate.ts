// EL1&0 address translation for the CPU's slow path: TLB lookup, else stage-1 and stage-2 walks
// (with stage-1 table accesses going through stage 2), permission checks, and a TLB fill with the
// combined leaf. Called only when the CPU's fast translation caches miss.

import type { MmuCpu as Cpu } from "../mmu_cpu.ts";
import { AccessKind, type Fault, FaultType } from "../fault.ts";
import type { SysRegFile } from "../sysregs.ts";
import { s1PermBit, S1_ALL, S2_ALL, s2PermBit } from "./attrs.ts";
import {
  currentAsid, defaultCacheable, effectiveVa, type Stage1Leaf, stage1Enabled, stage1OffOutput,
  stage1PermissionFault, stage1Regime, stage1Walk,
} from "./stage1.ts";
import { currentVmid, stage2Enabled, type Stage2Leaf, stage2PermissionFault, stage2Regime, stage2Walk } from "./stage2.ts";
import { GLOBAL, STAGE1, STAGE2, type TlbEntry } from "./tlb.ts";
import { isFault, makeFault } from "./walk.ts";

export { addressTranslate } from "./at.ts";

export type Translation = { ok: true; pa: number; device: boolean } | { ok: false; fault: Fault };

/**
 * Translate `vaddr` for an access of `kind`; `el0` checks permissions as EL0 (EL0 execution,
 * LDTR/STTR). Faults come back with their exact stage, type and level; the caller raises them.
 */
export function translate(cpu: Cpu, vaddr: bigint, kind: AccessKind, el0: boolean): Translation {
  const sr = cpu.sr;
  const fetch = kind === AccessKind.Fetch;
  const s1 = stage1Enabled(sr);
  const s2 = stage2Enabled(sr);
  const va = effectiveVa(sr, vaddr, fetch);
  if (!s1) {
    const ipa = stage1OffOutput(va);
    if (typeof ipa !== "bigint") return { ok: false, fault: ipa };
    if (!s2) return { ok: true, pa: Number(ipa), device: !fetch && !defaultCacheable(sr) };
  }
  const vmid = currentVmid(sr);
  const stages = (s1 ? STAGE1 : 0) | (s2 ? STAGE2 : 0);
  const asid = s1 ? currentAsid(sr) : GLOBAL;
  const hit = cpu.tlb.lookup(vmid, stages, asid, va);
  if (hit) {
    const denied = permissionFault(hit, va, kind, el0);
    return denied ? { ok: false, fault: denied } : result(hit, va, fetch, sr);
  }
  const e = walkEntry(cpu, va, kind, el0, vmid, stages, asid);
  if (isFault(e)) return { ok: false, fault: e };
  cpu.tlb.insert(e);
  return result(e, va, fetch, sr);
}

function result(e: TlbEntry, va: bigint, fetch: boolean, sr: SysRegFile): Translation {
  // Stage 1 off: data is Device-nGnRnE (Normal with HCR_EL2.DC), instruction fetches Normal.
  const s1Device = e.stages & STAGE1 ? e.s1Device : !fetch && !defaultCacheable(sr);
  return { ok: true, pa: e.pa + Number(va - e.va), device: s1Device || e.s2Device };
}

/** Permission check of a TLB hit: stage 1 first, then stage 2, each at its leaf level. */
function permissionFault(e: TlbEntry, va: bigint, kind: AccessKind, el0: boolean): Fault | null {
  if ((e.s1Perm & s1PermBit(kind, el0)) === 0) return makeFault(FaultType.Permission, 1, e.s1Level);
  if ((e.s2Perm & s2PermBit(kind)) === 0) return makeFault(FaultType.Permission, 2, e.s2Level, e.ipa + (va - e.va));
  return null;
}

/**
 * Walk both stages for `va` and build the TLB entry, or return the first fault in architectural
 * order: stage-1 walk (its table accesses through stage 2), stage-1 permissions, stage-2 walk of
 * the output IPA, stage-2 permissions.
 */
function walkEntry(cpu: Cpu, va: bigint, kind: AccessKind, el0: boolean, vmid: number, stages: number, asid: number): TlbEntry | Fault {
  const sr = cpu.sr;
  const s2r = stages & STAGE2 ? stage2Regime(sr) : null;
  let s1: Stage1Leaf | null = null;
  let ipa = va;
  if (stages & STAGE1) {
    const leaf = stage1Walk(cpu.mem, stage1Regime(sr, va), va, s2r);
    if (isFault(leaf)) return leaf;
    const denied = stage1PermissionFault(leaf.perm, leaf.level, kind, el0);
    if (denied) return denied;
    s1 = leaf;
    ipa = BigInt(leaf.ipa);
  }
  let s2: Stage2Leaf | null = null;
  if (s2r) {
    const leaf = stage2Walk(cpu.mem, s2r, ipa);
    if (isFault(leaf)) return leaf;
    const denied = stage2PermissionFault(leaf, ipa, kind);
    if (denied) return denied;
    s2 = leaf;
  }
  return combine(va, ipa, s1, s2, vmid, asid);
}

/** One entry for the largest range both leaves translate with a single offset. */
function combine(va: bigint, ipa: bigint, s1: Stage1Leaf | null, s2: Stage2Leaf | null, vmid: number, asid: number): TlbEntry {
  const s1Shift = s1 ? s1.shift : s2!.shift;
  const shift = s2 ? Math.min(s1Shift, s2.shift) : s1Shift;
  const mask = (1n << BigInt(shift)) - 1n;
  const pa = s2 ? BigInt(s2.pa) : ipa;
  return {
    vmid,
    asid: s1 && !s1.global ? asid : GLOBAL,
    stages: (s1 ? STAGE1 : 0) | (s2 ? STAGE2 : 0),
    va: va & ~mask,
    shift,
    pa: Number(pa & ~mask),
    s1Va: s1 ? s1.vaBase : BigInt(s2!.ipaBase),
    s1Shift,
    s1Level: s1 ? s1.level : s2!.level,
    ipa: ipa & ~mask,
    s2Ipa: s2 ? BigInt(s2.ipaBase) : 0n,
    s2Shift: s2 ? s2.shift : -1,
    s2Level: s2 ? s2.level : 0,
    s1Perm: s1 ? s1.perm : S1_ALL,
    s2Perm: s2 ? s2.perm : S2_ALL,
    s1Device: s1 ? s1.device : false,
    s2Device: s2 ? s2.device : false,
    attr: s1 ? s1.attr : 0,
    sh: s1 ? s1.sh : 0,
  };
}
