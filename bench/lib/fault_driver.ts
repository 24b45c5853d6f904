// Drives L0's shadow-fault path without running a guest: a real VM (the Kvm and vCPU a run uses,
// so the fault path sees the objects it sees in a run) whose vCPU is put in the state of L2 running
// under L1 (virtual VTTBR/VTCR/HCR written, shadow MMU loaded), and L1's own 4K-granule stage-2
// tables written into L1 memory so that every shadow fault walks them for real. Shadow faults go
// through kvmHandleGuestAbort; the phase helpers call the functions the fault path is made of, one
// at a time, on the same pages.

import type { CanonicalIpa, NestedIpa } from "../../hypervisor/addr.ts";
import type { Memslot } from "../../hypervisor/memslot.ts";
import { kvmHandleGuestAbort, kvmReadGuest } from "../../hypervisor/mmu.ts";
import { type KvmS2Mmu, kvmVcpuPutHwMmu } from "../../hypervisor/nested.ts";
import { kvmWalkNestedS2 } from "../../hypervisor/nested_walk.ts";
import { KVM_PGTABLE_PROT_R, KVM_PGTABLE_PROT_W, KVM_PGTABLE_PROT_X } from "../../hypervisor/pgtable.ts";
import type { HostPagePool } from "../../hypervisor/pool.ts";
import { Kvm, L1_RAM_BASE, type UnmapStrategyName } from "../../hypervisor/vm.ts";
import type { KvmVcpu } from "../../hypervisor/vcpu.ts";
import { enterL2, L1Stage2, L1TablePages, s2Abort } from "../../lab/fixtures/l1_stage2.ts";

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
/** L1's table area: far more than the tables of any page count the rig is built for. */
const L1_TABLES_END = CANON;

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

/**
 * One small rig per strategy that lives as long as the process, with a few shadow faults taken.
 * The benchmarks build a fresh VM per pass and drop the last one; when the last object of a kind
 * (a range tree, a B+ tree node, an event) is collected, V8 also drops the hidden classes only it
 * used, and with them the compiled code of the fault path, so every pass would start in
 * unoptimised code. A host keeps its L0 data structures alive between VMs; so does this.
 */
const shapeKeepers = new Map<UnmapStrategyName, FaultRig>();

function keepShapes(unmap: UnmapStrategyName): void {
  if (shapeKeepers.has(unmap)) return;
  const rig = buildRig(64, unmap, "first-touch");
  shapeKeepers.set(unmap, rig);
  for (let i = 0; i < 64; i++) kvmHandleGuestAbort(rig.vcpu, s2Abort(rig.nested(i), { far: rig.nested(i) }));
}

/** A VM with `pages` nested pages mapped by L1, the vCPU running L2 on a fresh shadow MMU. */
export function faultRig(pages: number, unmap: UnmapStrategyName, hostPages: HostPages = "recycled"): FaultRig {
  keepShapes(unmap);
  return buildRig(pages, unmap, hostPages);
}

function buildRig(pages: number, unmap: UnmapStrategyName, hostPages: HostPages): FaultRig {
  const memory = BigInt(Math.max(32, Math.ceil((pages * 4096 * 1.1) / (1 << 20)) + 24)) << 20n;
  const kvm = new Kvm({ memory, vcpus: 1, unmap, directMap: false, blocks: false, poolPages: 2 * pages + 4096 });
  if (hostPages === "recycled") recyclePool(kvm.pool);
  const slot = kvm.memslots[0]!;
  const vcpu = kvm.vcpus[0]!;
  const s2 = new L1Stage2(slot, new L1TablePages(slot, L1_TABLES, L1_TABLES_END));
  const nested = (i: number): bigint => NESTED + BigInt(i) * PAGE;
  const canonical = (i: number): bigint => CANON + BigInt(i) * PAGE;
  for (let i = 0; i < pages; i++) s2.map(nested(i), canonical(i));
  // L1 has ERETed to L2: its virtual EL2 registers describe L2's stage-2, the shadow MMU is loaded.
  vcpu.setHypCtxt(false);
  const mmu = enterL2(vcpu, s2, VMID);
  return { kvm, slot, vcpu, mmu, nested, canonical, injected: () => kvm.metrics.faultsInjectedToL1 };
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
  // A translation fault at level 3 on a data read of each nested page (L2's VA equal to it).
  const exits = Array.from({ length: pages }, (_, i) => s2Abort(rig.nested(i), { far: rig.nested(i) }));
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
 * then the host backing fault-in of every page (the memslot, as a nested fault does), then the shadow leaf installs, then the strategy's
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
    const b = rig.slot.faultIn(canonical[i]!, kvm.config.blocks);
    pa[i] = b.pa + (canonical[i]! - b.ipa);
  }
  const faultIn = Number(process.hrtime.bigint() - t0) / 1e9;

  t0 = process.hrtime.bigint();
  for (let i = 0; i < pages; i++) mmu.pgt.map(nested[i]!, PAGE, pa[i]!, PROT_RWX, 3);
  const install = Number(process.hrtime.bigint() - t0) / 1e9;

  const strategy = kvm.unmap;
  t0 = process.hrtime.bigint();
  for (let i = 0; i < pages; i++) strategy.shadowMap(mmu, canonical[i]! as CanonicalIpa, nested[i]! as NestedIpa, PAGE);
  const record = Number(process.hrtime.bigint() - t0) / 1e9;
  return { walk, faultIn, install, record };
}

/** Leave the shadow MMU (so a rig can be dropped cleanly). */
export function releaseRig(rig: FaultRig): void {
  kvmVcpuPutHwMmu(rig.vcpu);
}
