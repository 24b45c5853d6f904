// Drives L0's shadow-fault path without running a guest: a real VM (the Kvm and vCPU a run uses,
// so the fault path sees the objects it sees in a run) whose vCPU is put in the state of L2 running
// under L1 (virtual VTTBR/VTCR/HCR written, shadow MMU loaded), and L1's own 4K-granule stage-2
// tables written into L1 memory so that every shadow fault walks them for real. Shadow faults go
// through kvmHandleGuestAbort; the phase helpers call the functions the fault path is made of, one
// at a time, on the same pages.

import { EC, esr, type Exit } from "../../emulator/exception.ts";
import type { Memslot } from "../../hypervisor/memslot.ts";
import { kvmFaultInCanonical, kvmHandleGuestAbort, kvmReadGuest } from "../../hypervisor/mmu.ts";
import { checkNestedVcpuRequests, type KvmS2Mmu, kvmVcpuLoadHwMmu, kvmVcpuPutHwMmu } from "../../hypervisor/nested.ts";
import { kvmWalkNestedS2 } from "../../hypervisor/nested_walk.ts";
import { KVM_PGTABLE_PROT_R, KVM_PGTABLE_PROT_W, KVM_PGTABLE_PROT_X } from "../../hypervisor/pgtable.ts";
import type { HostPagePool } from "../../hypervisor/pool.ts";
import "../../hypervisor/strategies.ts";
import { unmapStrategy } from "../../hypervisor/unmap.ts";
import { Kvm, L1_RAM_BASE, type UnmapStrategyName } from "../../hypervisor/vm.ts";
import type { KvmVcpu } from "../../hypervisor/vcpu.ts";

export const RAM_BASE = L1_RAM_BASE;
const PAGE = 0x1000n;
/** L1's stage-2 tables (canonical IPAs), below the pages they map. */
const L1_TABLES = 0x4010_0000n;
/** Canonical pages the nested pages map to. */
const CANON = 0x4100_0000n;
/** L2's nested IPA window. */
const NESTED = 0x8000_0000n;
const VMID = 1;
const PROT_RWX = KVM_PGTABLE_PROT_R | KVM_PGTABLE_PROT_W | KVM_PGTABLE_PROT_X;
const HCR_VM = 1n;
const HCR_RW = 1n << 31n;

/** L1's VTCR: 4K granule, T0SZ 25 (39-bit IPA), start level 1, PS 40-bit, inner-shareable WBWA. */
const L1_VTCR = 25n | (1n << 6n) | (2n << 16n) | (3n << 12n) | (1n << 10n) | (1n << 8n);

/** L1's stage-2 (nested IPA → canonical IPA), 4K pages only, tables taken upward from `base`. */
class L1Stage2 {
  private next: bigint;
  readonly root: bigint;
  private readonly word = new Uint8Array(8);

  constructor(
    private readonly slot: Memslot,
    base: bigint,
  ) {
    this.next = base;
    this.root = this.newTable();
  }

  private newTable(): bigint {
    const t = this.next;
    this.next += PAGE;
    this.slot.writeBytes(t, new Uint8Array(4096));
    return t;
  }

  private write(ipa: bigint, v: bigint): void {
    new DataView(this.word.buffer).setBigUint64(0, v, true);
    this.slot.writeBytes(ipa, this.word);
  }

  /** A valid 4K leaf, AF set, read/write/execute, normal memory. */
  mapPage(nipa: bigint, cipa: bigint): void {
    let table = this.root;
    for (let l = 1; l < 3; l++) {
      const at = table + ((nipa >> BigInt(39 - 9 * l)) & 0x1ffn) * 8n;
      let d = this.slot.read(at, 8);
      if ((d & 3n) !== 3n) {
        d = this.newTable() | 3n;
        this.write(at, d);
      }
      table = d & 0xffff_ffff_f000n;
    }
    const leaf = cipa | 3n | (0xfn << 2n) | (3n << 8n) | (1n << 10n) | (1n << 6n) | (1n << 7n);
    this.write(table + ((nipa >> 12n) & 0x1ffn) * 8n, leaf);
  }
}

/** A translation fault at level 3 on a data read of nested page `nipa`, as the CPU reports it. */
export function s2Abort(nipa: bigint): Exit {
  return { esr: esr(EC.DABT_LOW, 0x07), ec: EC.DABT_LOW, far: nipa, hpfar: (nipa >> 12n) << 4n, elr: 0x1000n, spsr: 0x5n };
}

export interface FaultRig {
  kvm: Kvm;
  slot: Memslot;
  vcpu: KvmVcpu;
  /** The shadow MMU L2 runs on. */
  mmu: KvmS2Mmu;
  /** Nested page i (0 ≤ i < pages) → canonical page i. */
  nested(i: number): bigint;
  canonical(i: number): bigint;
  /** Faults L0 forwarded to L1 (must stay 0: every page is mapped by L1). */
  injected(): number;
}

/**
 * Where the host pages a fault allocates come from: `recycled` — every free pool page has been
 * allocated and freed before (backed, poisoned, as on a host that has run for a while), so an
 * allocation costs zeroing a page; `first-touch` — every page is backed by the emulator on its
 * first allocation (new JS memory per page, an artifact of emulating host RAM lazily).
 */
export type HostPages = "recycled" | "first-touch";

/** Allocate every free page of the pool, then free them all: each is backed and poisoned. */
function recyclePool(pool: HostPagePool): void {
  const taken = Array.from({ length: pool.total - pool.used }, () => pool.alloc());
  for (const pa of taken) pool.free(pa);
}

/** A VM with `pages` nested pages mapped by L1, the vCPU running L2 on a fresh shadow MMU. */
export function faultRig(pages: number, unmap: UnmapStrategyName, hostPages: HostPages = "recycled"): FaultRig {
  const memory = BigInt(Math.max(32, Math.ceil((pages * 4096 * 1.1) / (1 << 20)) + 24)) << 20n;
  const kvm = new Kvm({ memory, vcpus: 1, unmap, directMap: false, check: false, blocks: false, poolPages: 2 * pages + 4096 });
  if (hostPages === "recycled") recyclePool(kvm.pool);
  const slot = kvm.memslots[0]!;
  const vcpu = kvm.vcpus[0]!;
  const s2 = new L1Stage2(slot, L1_TABLES);
  const nested = (i: number): bigint => NESTED + BigInt(i) * PAGE;
  const canonical = (i: number): bigint => CANON + BigInt(i) * PAGE;
  for (let i = 0; i < pages; i++) s2.mapPage(nested(i), canonical(i));
  // L1 has ERETed to L2: its virtual EL2 registers describe L2's stage-2, the shadow MMU is loaded.
  vcpu.setHypCtxt(false);
  vcpu.vcpuWriteSysReg("VTTBR_EL2", (BigInt(VMID) << 48n) | s2.root);
  vcpu.vcpuWriteSysReg("VTCR_EL2", L1_VTCR);
  vcpu.vcpuWriteSysReg("HCR_EL2", HCR_VM | HCR_RW);
  kvmVcpuLoadHwMmu(vcpu);
  checkNestedVcpuRequests(vcpu);
  return { kvm, slot, vcpu, mmu: vcpu.hwMmu!, nested, canonical, injected: () => kvm.metrics.faultsInjectedToL1 };
}

/**
 * A full collection before a timed pass (when node runs with --expose-gc, as `npm run bench`
 * does), so a pass does not pay for the garbage of the rigs and passes before it; the garbage the
 * fault path makes itself is still collected inside the timed pass.
 */
export function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** The whole L0 path: one shadow fault per page, in order. Returns seconds. */
export function timeShadowFaults(rig: FaultRig, pages: number): number {
  const exits = Array.from({ length: pages }, (_, i) => s2Abort(rig.nested(i)));
  collectGarbage();
  const t0 = process.hrtime.bigint();
  for (const e of exits) kvmHandleGuestAbort(rig.vcpu, e);
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

export interface PhaseSeconds {
  walk: number;
  faultIn: number;
  install: number;
  record: number;
}

/**
 * The fault path's phases timed one at a time on a fresh rig: L1's stage-2 walk of every page,
 * then the canonical fault-in of every page, then the shadow leaf installs, then the strategy's
 * records. Each phase sees the state the earlier ones left, as the real path would.
 */
export function timePhases(rig: FaultRig, pages: number): PhaseSeconds {
  const kvm = rig.kvm;
  const mmu = rig.mmu;
  const nested = Array.from({ length: pages }, (_, i) => rig.nested(i));
  const canonical: bigint[] = new Array<bigint>(pages);
  const pa: bigint[] = new Array<bigint>(pages);
  const read64 = (a: bigint): bigint | null => kvmReadGuest(kvm, a, 8);

  let t0 = process.hrtime.bigint();
  for (let i = 0; i < pages; i++) {
    const r = kvmWalkNestedS2(read64, mmu.tlbVtcr, mmu.tlbVttbr, nested[i]!, false);
    if (!r.ok) throw new Error(`L1 stage-2 walk of nested 0x${nested[i]!.toString(16)} failed`);
    canonical[i] = r.trans.output & ~0xfffn;
  }
  const walk = Number(process.hrtime.bigint() - t0) / 1e9;

  t0 = process.hrtime.bigint();
  for (let i = 0; i < pages; i++) {
    const b = kvmFaultInCanonical(kvm, rig.slot, canonical[i]!);
    pa[i] = b.pa + (canonical[i]! - b.ipa);
  }
  const faultIn = Number(process.hrtime.bigint() - t0) / 1e9;

  t0 = process.hrtime.bigint();
  for (let i = 0; i < pages; i++) mmu.pgt.map(nested[i]!, PAGE, pa[i]!, PROT_RWX, 3);
  const install = Number(process.hrtime.bigint() - t0) / 1e9;

  const strategy = unmapStrategy(kvm);
  t0 = process.hrtime.bigint();
  for (let i = 0; i < pages; i++) strategy.onShadowMap(mmu, canonical[i]!, nested[i]!, PAGE);
  const record = Number(process.hrtime.bigint() - t0) / 1e9;
  return { walk, faultIn, install, record };
}

/** Leave the shadow MMU (so a rig can be dropped cleanly). */
export function releaseRig(rig: FaultRig): void {
  kvmVcpuPutHwMmu(rig.vcpu);
}
