// Drives the canonical-unmap strategies on the stage-2 fixture: one vCPU switching between shadow
// MMUs by VMID over one set of L1 stage-2 tables, real shadow faults, L1 TLBIs and canonical unmaps.

import { sysRegIss } from "../../../emulator/exception.ts";
import { tlbiByName } from "../../../emulator/tlbi.ts";
import { gfnToMemslot, kvmHandleGuestAbort } from "../../../hypervisor/mmu.ts";
import { type KvmS2Mmu, kvmVcpuLoadHwMmu, kvmVcpuPutHwMmu } from "../../../hypervisor/nested.ts";
import { kvmHandleSysTlbi } from "../../../hypervisor/tlbi.ts";
import type { UnmapStrategy } from "../../../hypervisor/unmap/strategy.ts";
import type { VmConfig } from "../../../hypervisor/vm.ts";
import { L1Stage2, s2Abort, useL1Stage2 } from "../../../lab/fixtures/l1_stage2.ts";
import { type Fixture, makeVm } from "../stage2_fixture.ts";

/** L1's stage-2 tables live here (canonical), away from the pages the tests map. */
export const L1_TABLES = 0x41f0_0000n;
/** Nested IPA n·4K maps canonical CANON + n·4K. */
export const NESTED = 0x8000_0000n;
export const CANON = 0x4020_0000n;
export const PAGE = 0x1000n;

export interface StrategyRig extends Fixture {
  s2: L1Stage2;
  /** Run the vCPU's L2 on the shadow MMU of `vmid` (loading it as an ERET to L2 would). */
  use(vmid: number): KvmS2Mmu;
  /** L2 touches nested page `nipa` on the current MMU: a shadow fault. */
  touch(nipa: bigint): void;
  /** L1 executes a TLBI (e.g. "IPAS2E1IS") with operand `xt` for the current VMID. */
  tlbi(name: string, xt: bigint): void;
}

export function strategyRig(config: Partial<VmConfig> = {}, unmap?: UnmapStrategy): StrategyRig {
  const f = makeVm(config, unmap);
  const s2 = new L1Stage2(f.slot, L1_TABLES);
  // Nested [NESTED, +64 pages) → canonical [CANON, +64 pages).
  for (let i = 0n; i < 64n; i++) s2.map(NESTED + i * PAGE, CANON + i * PAGE, PAGE);
  const v = f.vcpus[0]!;
  return {
    ...f,
    s2,
    use(vmid) {
      if (v.hwMmu) kvmVcpuPutHwMmu(f.vcpu());
      useL1Stage2(v, s2, vmid);
      kvmVcpuLoadHwMmu(f.vcpu());
      return v.hwMmu!;
    },
    touch(nipa) {
      kvmHandleGuestAbort(f.vcpu(), s2Abort(nipa));
    },
    tlbi(name, xt) {
      const op = tlbiByName(name)!;
      kvmHandleSysTlbi(f.vcpu(), sysRegIss(1, op.op1, op.crn, op.crm, op.op2, 0, false), xt);
    },
  };
}

/** The shadow leaves of an MMU as "nested->pa" pairs of page numbers, for comparisons. */
export function shadowLeaves(mmu: KvmS2Mmu): bigint[] {
  return [...mmu.pgt.leaves()].map((l) => l.ipa);
}

/** The host PA backing a canonical IPA right now (the memslot's resident page; shadow faults leave the canonical stage-2 alone). */
export function canonicalPa(f: Fixture, ipa: bigint): bigint {
  const pa = gfnToMemslot(f.kvm, ipa)?.hostPa(ipa & ~0xfffn);
  if (pa === null || pa === undefined) throw new Error(`canonical 0x${ipa.toString(16)} is not backed by a host page`);
  return BigInt(pa) + (ipa & 0xfffn);
}

/** Every shadow leaf (any MMU) whose output holds host page `pa`. */
export function shadowLeavesMapping(f: Fixture, pa: bigint): { mmu: number; ipa: bigint }[] {
  return f.kvm.nestedMmus.flatMap((m) =>
    [...m.pgt.leaves()].filter((l) => pa >= l.pa && pa < l.pa + l.size).map((l) => ({ mmu: m.index, ipa: l.ipa })),
  );
}
