// `pt ADDR`: the whole translation of one guest address, level by level. For an L2 VA: L2's
// stage-1 (when on), L1's stage-2 (nested IPA → canonical IPA), the canonical stage-2 (canonical
// IPA → host PA; it may map nothing there, shadow faults do not fill it), then each valid shadow
// stage-2's entry for the nested IPA (nested IPA → host PA) and whether it agrees with the host
// backing of the canonical page, and what the revmap and the accelerator record for it.
// For an L1 VA: L1's stage-1 (when on) and the canonical stage-2. A walk that stops says where and why.

import { hex } from "../emulator/types.ts";
import type { CanonicalIpa } from "../hypervisor/addr.ts";
import { gfnToMemslot } from "../hypervisor/mmu.ts";
import type { KvmVcpu } from "../hypervisor/vcpu.ts";
import type { Kvm } from "../hypervisor/vm.ts";
import { backingOf, walkCanonicalStage2, walkShadowStage2, walksToCanonical } from "./memory.ts";
import type { Level } from "./symbols.ts";
import type { StageWalk } from "./walk.ts";

export interface ShadowEntry {
  mmu: number;
  /** The MMU the vCPU's hardware stage-2 uses right now. */
  current: boolean;
  walk: StageWalk;
  /** Whether the shadow leaf's host PA is the one L1's tables and the host backing give; null without both. */
  agrees: boolean | null;
}

export interface TranslationReport {
  level: Level;
  /** Where the translation starts: a VA of `level` (`pt`), or a nested or canonical IPA (`va` holds it). */
  space?: "va" | "nipa" | "ipa";
  va: bigint;
  /** The guest-defined stages (L2: stage-1 and L1's stage-2; L1: stage-1) then the canonical stage-2. */
  stages: StageWalk[];
  nestedIpa: bigint | null;
  canonical: bigint | null;
  /** The canonical stage-2's output, or where it maps nothing, the host backing of the canonical IPA. */
  hostPa: bigint | null;
  /** Where L1's RAM page is backed (memslot), independent of the canonical stage-2. */
  backing: string;
  /** The host PA backing the canonical IPA (what shadow leaves must map), null when not resident. */
  backingPa: bigint | null;
  shadows: ShadowEntry[];
  /** Revmap and accelerator records for the canonical page. */
  records: string[];
  /** The report as `pt` prints it. */
  text: string;
}

export function translateAddress(vcpu: KvmVcpu, level: Level, va: bigint): TranslationReport {
  const stages = walksToCanonical(vcpu, level, va);
  const nestedIpa = level === "L2" ? (stages[0]!.output ?? null) : null;
  const last = stages[stages.length - 1]!;
  const canonical = stages.length === (level === "L2" ? 2 : 1) ? last.output : null;
  return completeReport(vcpu, { level, va, stages, nestedIpa, canonical });
}

/** Where a translation starts and the stages that reached the canonical IPA (null: they stopped). */
export type ReportHead = Pick<TranslationReport, "level" | "space" | "va" | "stages" | "nestedIpa" | "canonical">;

/**
 * The translation from the canonical IPA on: the canonical stage-2, the host backing, each shadow
 * entry of the nested IPA (an L2 translation), the strategy's records, and the text.
 */
export function completeReport(vcpu: KvmVcpu, head: ReportHead): TranslationReport {
  const kvm = vcpu.kvm;
  const { level, nestedIpa, canonical } = head;
  const stages = [...head.stages];
  let hostPa: bigint | null = null;
  if (canonical !== null) {
    const s2 = walkCanonicalStage2(kvm, canonical);
    stages.push(s2);
    hostPa = s2.output;
  }
  // Shadow leaves are built from the host backing of the canonical page, not from the canonical
  // stage-2, which L2's accesses never fill: where it maps nothing, the host PA is the backing's.
  const backingPa = canonical === null ? null : backingOf(kvm, canonical);
  hostPa ??= backingPa;
  const shadows = level === "L2" && nestedIpa !== null ? shadowEntries(vcpu, nestedIpa, backingPa) : [];
  const report: TranslationReport = {
    ...head,
    stages,
    hostPa,
    backing: canonical === null ? "" : backingText(kvm, canonical),
    backingPa,
    shadows,
    records: canonical === null ? [] : recordsOf(kvm, canonical),
    text: "",
  };
  report.text = formatReport(report);
  return report;
}

function shadowEntries(vcpu: KvmVcpu, nestedIpa: bigint, hostPa: bigint | null): ShadowEntry[] {
  const out: ShadowEntry[] = [];
  for (const mmu of vcpu.kvm.nestedMmus) {
    if (!mmu.valid) continue;
    const walk = walkShadowStage2(mmu, nestedIpa);
    const agrees = walk.output === null || hostPa === null ? null : walk.output === hostPa;
    out.push({ mmu: mmu.index, current: vcpu.hwMmu === mmu, walk, agrees });
  }
  return out;
}

/** Where L1's RAM page at `canonical` is backed, in words. */
function backingText(kvm: Kvm, canonical: bigint): string {
  const slot = gfnToMemslot(kvm, canonical);
  if (!slot) return "not L1 RAM";
  const pa = slot.hostPa(canonical);
  if (pa === null) return "RAM page not resident (L0 backs it on first access)";
  return `RAM page resident at host PA ${hex(BigInt(pa))}${slot.isBlockBacked(canonical) ? " (in a 2M block)" : ""}`;
}

/** What the unmap strategy records about canonical page `canonical`. */
function recordsOf(kvm: Kvm, canonical: bigint): string[] {
  return kvm.unmap.recordsOf(kvm, canonical as CanonicalIpa);
}

function formatWalk(w: StageWalk): string[] {
  const head = `${w.name}: ${w.from} ${hex(w.input)}`;
  if (!w.enabled) return [`${head} → ${w.to} ${hex(w.input)} (off: identity)`];
  const lines = [head];
  for (const s of w.steps) {
    const d = s.desc === null ? "-" : hex(s.desc, 16);
    lines.push(`  L${s.level}  table ${hex(s.table)} [${s.index}]  @${hex(s.address)}  ${d}  ${s.meaning}`);
  }
  if (w.output !== null) lines.push(`  → ${w.to} ${hex(w.output)} (${sizeText(w.size!)} ${w.perms})`);
  else lines.push(`  ✗ stopped at ${w.stopped}`);
  return lines;
}

function sizeText(size: bigint): string {
  if (size >= 1n << 30n) return `${size >> 30n}G`;
  if (size >= 1n << 20n) return `${size >> 20n}M`;
  return `${size >> 10n}K`;
}

export function formatReport(r: TranslationReport): string {
  const lines = [r.space === "nipa" ? `nested IPA ${hex(r.va)}` : r.space === "ipa" ? `canonical IPA ${hex(r.canonical ?? r.va)}` : `${r.level} VA ${hex(r.va)}`];
  for (const w of r.stages) lines.push(...formatWalk(w));
  if (r.canonical !== null) lines.push(`L1 RAM: ${r.backing}`);
  if (r.level === "L2" && r.nestedIpa !== null) {
    if (r.shadows.length === 0) lines.push("shadow stage-2: no valid shadow MMU");
    for (const s of r.shadows) {
      const w = s.walk;
      const where = s.current ? " (current)" : "";
      if (w.output === null) {
        const last = w.steps[w.steps.length - 1];
        lines.push(`${w.name}${where}: no entry for nested IPA ${hex(w.input)} (${last ? `level ${last.level} ${last.meaning}` : w.stopped})`);
        continue;
      }
      const verdict = s.agrees === null ? "" : s.agrees ? ", agrees" : `, DISAGREES: L1 + host backing give ${r.backingPa === null ? "nothing" : hex(r.backingPa)}`;
      lines.push(`${w.name}${where}: nested IPA ${hex(w.input)} → host PA ${hex(w.output)} (L${w.steps[w.steps.length - 1]!.level} ${sizeText(w.size!)} ${w.perms}${verdict})`);
    }
  }
  if (r.canonical !== null) {
    if (r.records.length === 0) lines.push("revmap/accelerator: no record for this canonical page");
    else lines.push(...r.records);
  }
  return lines.join("\n");
}
