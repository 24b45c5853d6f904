// The translation of an address that is not a VA: a nested IPA (from L1's stage-2 on, as a shadow
// MMU sees it), a canonical IPA (canonical stage-2 and host backing, and the shadow leaves the
// strategy's records point at), or a host PA (which canonical page it backs). The lab page asks
// for these when a user clicks an address in a table or an event; `pt` covers VAs.

import { hex } from "../emulator/types.ts";
import type { KvmS2Mmu } from "../hypervisor/nested.ts";
import type { KvmVcpu } from "../hypervisor/vcpu.ts";
import type { Kvm } from "../hypervisor/vm.ts";
import { DebugError } from "./errors.ts";
import { walkL1Stage2Of } from "./memory.ts";
import { completeReport, type TranslationReport } from "./translate.ts";

export type PhysicalSpace = "nipa" | "ipa" | "pa";

/**
 * The translation of `addr` in `space`. A nested IPA is walked in L1's stage-2 of shadow MMU `mmu`
 * (default: the MMU the vCPU runs L2 on, else the first valid one whose L1 context maps it).
 */
export function translateSpace(vcpu: KvmVcpu, space: PhysicalSpace, addr: bigint, mmu?: number): TranslationReport {
  switch (space) {
    case "nipa": return fromNestedIpa(vcpu, addr, pickMmu(vcpu, addr, mmu));
    case "ipa": return fromCanonical(vcpu, addr);
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
  return completeReport(vcpu, { level: "L2", space: "nipa", va: nipa, stages: [l1], nestedIpa: nipa, canonical: l1.output });
}

function fromCanonical(vcpu: KvmVcpu, canonical: bigint): TranslationReport {
  return completeReport(vcpu, { level: "L2", space: "ipa", va: canonical, stages: [], nestedIpa: null, canonical });
}

function fromHostPa(vcpu: KvmVcpu, pa: bigint): TranslationReport {
  const canonical = canonicalBackedBy(vcpu.kvm, pa);
  if (canonical === null) throw new DebugError(`host PA ${hex(pa)} backs no page of L1's RAM (a table page, a free page, or not host memory)`);
  return fromCanonical(vcpu, canonical);
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
