// AT S1E1R/W and S1E0R/W: the stage-1 translation of a VA as PAR_EL1 reports it (Arm ARM C5.5,
// PAR_EL1 D24.2). The output is the IPA; stage 2 only translates the stage-1 table accesses.

import { ACC_CM } from "../access_flags.ts";
import type { MmuCpu as Cpu } from "../mmu_cpu.ts";
import { AccessKind, type Fault, FaultType, faultStatusCode } from "../fault.ts";
import { effectiveShareability, MAIR_DEVICE_NGNRNE, MAIR_NORMAL_WB } from "./attrs.ts";
import {
  defaultCacheable, effectiveVa, stage1Enabled, stage1OffOutput, stage1PermissionFault, stage1Regime,
  stage1Walk,
} from "./stage1.ts";
import { stage2Enabled, stage2Regime } from "./stage2.ts";
import { isFault } from "./walk.ts";

const PAR_F = 1n;
const PAR_PTW = 1n << 8n;
const PAR_S = 1n << 9n;
const PAR_RES1 = 1n << 11n;
const PAR_PA_MASK = 0xfffffffff000n;

/** PAR_EL1 for a successful translation: PA[47:12], SH, ATTR (MAIR encoding), bit 11 RES1. */
export function parSuccess(outputAddress: bigint, attr: number, sh: number): bigint {
  return (BigInt(attr) << 56n) | (outputAddress & PAR_PA_MASK) | PAR_RES1 | (BigInt(sh) << 7n);
}

/** PAR_EL1 for a fault: F=1, FST, PTW, S, bit 11 RES1. */
export function parFault(f: Fault): bigint {
  return PAR_F | (BigInt(faultStatusCode(f)) << 1n) | (f.s1ptw ? PAR_PTW : 0n) | (f.stage === 2 ? PAR_S : 0n) | PAR_RES1;
}

/**
 * Execute AT S1E1{R,W} (el0 false) or S1E0{R,W} (el0 true) and return the PAR_EL1 value.
 * A stage-2 fault on the stage-1 walk, or an external abort on the walk, is taken as a data
 * abort (CM=1, WnR=1) instead, and this call does not return.
 */
export function addressTranslate(cpu: Cpu, va: bigint, write: boolean, el0: boolean): bigint {
  const sr = cpu.sr;
  const eva = effectiveVa(sr, va, false);
  if (!stage1Enabled(sr)) {
    const ipa = stage1OffOutput(eva);
    if (typeof ipa !== "bigint") return parFault(ipa);
    return defaultCacheable(sr) ? parSuccess(ipa, MAIR_NORMAL_WB, 0) : parSuccess(ipa, MAIR_DEVICE_NGNRNE, 2);
  }
  const s2r = stage2Enabled(sr) ? stage2Regime(sr) : null;
  const leaf = stage1Walk(cpu.mem, stage1Regime(sr, eva), eva, s2r);
  if (isFault(leaf)) {
    if (leaf.stage === 2 || leaf.type === FaultType.ExternalAbort) cpu.abort(leaf, va, AccessKind.Read, 0, ACC_CM);
    return parFault(leaf);
  }
  const denied = stage1PermissionFault(leaf.perm, leaf.level, write ? AccessKind.Write : AccessKind.Read, el0);
  if (denied) return parFault(denied);
  return parSuccess(BigInt(leaf.ipa), leaf.attr, effectiveShareability(leaf.attr, leaf.sh));
}
