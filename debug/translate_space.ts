// The translation of an address that is not a VA: a nested IPA (from L1's stage-2 on, as a shadow
// MMU sees it), a canonical IPA (canonical stage-2 and host backing, and the shadow leaves the
// strategy's records point at), or a host PA (which canonical page it backs). The lab page asks
// for these when a user clicks an address in a table or an event; `pt` covers VAs.

import { hex } from "../emulator/types.ts";
import type { KvmS2Mmu } from "../hypervisor/nested.ts";
import type { KvmVcpu } from "../hypervisor/vcpu.ts";
import type { Kvm } from "../hypervisor/vm.ts";
import { DebugError } from "./errors.ts";
import { backingOf, walkCanonicalStage2, walkL1Stage2Of } from "./memory.ts";
import { backingText, formatReport, recordsOf, shadowEntries, type TranslationReport } from "./translate.ts";
import type { StageWalk } from "./walk.ts";

export type PhysicalSpace = "nipa" | "ipa" | "pa";

/**
 * The translation of `addr` in `space`. A nested IPA is walked in L1's stage-2 of shadow MMU `mmu`
 * (default: the MMU the vCPU runs L2 on, else the first valid one whose L1 context maps it).
 */
export function translateSpace(vcpu: KvmVcpu, space: PhysicalSpace, addr: bigint, mmu?: number): TranslationReport {
  switch (space) {
    case "nipa": return fromNestedIpa(vcpu, addr, pickMmu(vcpu, addr, mmu));
    case "ipa": return fromCanonical(vcpu, addr, []);
    case "pa": return fromHostPa(vcpu, addr);
  }
}

function pickMmu(vcpu: KvmVcpu, nipa: bigint, index: number | undefined): KvmS2Mmu | null {
  const kvm = vcpu.kvm;
  if (index !== undefined) {
    const m = kvm.nestedMmus[index];
    if (!m) throw new DebugError(`no shadow MMU ${index} (there are ${kvm.nestedMmus.length})`);
    return m;
  }
  const hw = kvm.nestedMmus.find((m) => m === vcpu.hwMmu && m.valid);
  if (hw) return hw;
  const valid = kvm.nestedMmus.filter((m) => m.valid);
  return valid.find((m) => walkL1Stage2Of(m, nipa).output !== null) ?? valid[0] ?? null;
}

function fromNestedIpa(vcpu: KvmVcpu, nipa: bigint, mmu: KvmS2Mmu | null): TranslationReport {
  if (!mmu) throw new DebugError(`nested IPA ${hex(nipa)}: no shadow MMU shadows an L1 context yet, so no L1 stage-2 says what it maps`);
  const l1 = walkL1Stage2Of(mmu, nipa);
  const r = fromCanonical(vcpu, l1.output, [l1], nipa);
  r.text = formatReport(r);
  return r;
}

/** Canonical stage-2 and backing of `canonical` (null: the earlier stages stopped), after `before`. */
function fromCanonical(vcpu: KvmVcpu, canonical: bigint | null, before: StageWalk[], nestedIpa: bigint | null = null): TranslationReport {
  const kvm = vcpu.kvm;
  const stages = [...before];
  let hostPa: bigint | null = null;
  if (canonical !== null) {
    const s2 = walkCanonicalStage2(kvm, canonical);
    stages.push(s2);
    hostPa = s2.output;
  }
  const backingPa = canonical === null ? null : backingOf(kvm, canonical);
  const r: TranslationReport = {
    level: "L2",
    space: nestedIpa === null ? "ipa" : "nipa",
    va: nestedIpa ?? canonical ?? 0n,
    stages,
    nestedIpa,
    canonical,
    hostPa: hostPa ?? backingPa,
    backing: canonical === null ? "" : backingText(kvm, canonical),
    backingPa,
    shadows: nestedIpa === null ? [] : shadowEntries(vcpu, nestedIpa, backingPa),
    records: canonical === null ? [] : recordsOf(kvm, canonical),
    text: "",
  };
  r.text = formatReport(r);
  return r;
}

function fromHostPa(vcpu: KvmVcpu, pa: bigint): TranslationReport {
  const canonical = canonicalBackedBy(vcpu.kvm, pa);
  if (canonical === null) throw new DebugError(`host PA ${hex(pa)} backs no page of L1's RAM (a table page, a free page, or not host memory)`);
  return fromCanonical(vcpu, canonical, []);
}

/** The canonical IPA whose resident RAM page is host page `pa` (memslots map few pages: a scan is fine). */
function canonicalBackedBy(kvm: Kvm, pa: bigint): bigint | null {
  const page = pa & ~0xfffn;
  for (const slot of kvm.memslots) {
    for (let ipa = slot.base; ipa < slot.base + slot.size; ipa += 0x1000n) {
      const h = slot.hostPa(ipa);
      if (h !== null && BigInt(h) === page) return ipa + (pa & 0xfffn);
    }
  }
  return null;
}
