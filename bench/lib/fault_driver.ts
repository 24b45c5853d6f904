// Drives L0's shadow-fault path without running a guest: a minimal VM (real PhysMemory, page pool,
// canonical and shadow stage-2 tables, metrics, events) with a stand-in vCPU whose virtual EL2
// registers are a plain map, and L1's own 4K-granule stage-2 tables written into L1 memory so that
// every shadow fault walks them for real. Shadow faults go through kvmHandleGuestAbort; the phase
// helpers call the functions the fault path is made of, one at a time, on the same pages.

import { Cpu } from "../../emulator/cpu.ts";
import { EC, esr, type Exit } from "../../emulator/exception.ts";
import { PhysMemory } from "../../emulator/memory.ts";
import { EventLog } from "../../hypervisor/events.ts";
import { Memslot } from "../../hypervisor/memslot.ts";
import { Metrics } from "../../hypervisor/metrics.ts";
import { createCanonicalMmu, kvmFaultInCanonical, kvmHandleGuestAbort, kvmReadGuest } from "../../hypervisor/mmu.ts";
import { kvmInitNested, type KvmS2Mmu, kvmVcpuLoadHwMmu, kvmVcpuPutHwMmu } from "../../hypervisor/nested.ts";
import { kvmWalkNestedS2 } from "../../hypervisor/nested_walk.ts";
import { KVM_PGTABLE_PROT_R, KVM_PGTABLE_PROT_W, KVM_PGTABLE_PROT_X } from "../../hypervisor/pgtable.ts";
import { HostPagePool } from "../../hypervisor/pool.ts";
import "../../hypervisor/strategies.ts";
import { unmapStrategy } from "../../hypervisor/unmap.ts";
import type { Kvm, VmConfig } from "../../hypervisor/vm.ts";
import type { KvmVcpu } from "../../hypervisor/vcpu.ts";

export const RAM_BASE = 0x4000_0000n;
const POOL_BASE = 0x10_0000_0000;
const PAGE = 0x1000n;
/** L1's stage-2 tables (canonical IPAs), below the pages they map. */
const L1_TABLES = 0x4010_0000n;
/** Canonical pages the nested pages map to. */
const CANON = 0x4100_0000n;
/** L2's nested IPA window. */
const NESTED = 0x8000_0000n;
const VMID = 1;
const PROT_RWX = KVM_PGTABLE_PROT_R | KVM_PGTABLE_PROT_W | KVM_PGTABLE_PROT_X;

/** L1's VTCR: 4K granule, T0SZ 25 (39-bit IPA), start level 1, PS 40-bit, inner-shareable WBWA. */
const L1_VTCR = 25n | (1n << 6n) | (2n << 16n) | (3n << 12n) | (1n << 10n) | (1n << 8n);

interface StandInVcpu {
  kvm: Kvm;
  cpu: Cpu;
  index: number;
  hwMmu: KvmS2Mmu | null;
  vregs: Map<string, bigint>;
  injected: number;
  isHypCtxt(): boolean;
  vcpuReadSysReg(name: string): bigint;
  vcpuWriteSysReg(name: string, v: bigint): void;
  injectNestedSync(): void;
  skipInstr(): void;
}

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
 * Where the host pages a fault allocates come from: `recycled` — a pool whose pages are already
 * backed (a host that has run for a while), so an allocation costs the zeroing; `first-touch` —
 * every page is backed by the emulator on its first allocation (new JS memory per page).
 */
export type HostPages = "recycled" | "first-touch";

/** A VM with `pages` nested pages mapped by L1, the vCPU running L2 on a fresh shadow MMU. */
export function faultRig(pages: number, unmap: string, hostPages: HostPages = "recycled"): FaultRig {
  const memory = BigInt(Math.max(32, Math.ceil((pages * 4096 * 1.1) / (1 << 20)) + 24)) << 20n;
  const config: VmConfig = {
    memory, vcpus: 1, poolPages: 2 * pages + 4096, unmap, directMap: false, check: false, blocks: false, seed: 0,
  } as VmConfig;
  const mem = new PhysMemory();
  const pool = new HostPagePool(mem, POOL_BASE, config.poolPages);
  if (hostPages === "recycled") pool.backAll();
  const kvm = {
    mem, pool, config, metrics: new Metrics(), events: new EventLog(16),
    nestedMmus: [], nestedMmusNext: 0, accel: null, mmusPerBitPower: 0, faultInject: { revmapStoreFailures: 0 }, memslots: [] as Memslot[], vcpus: [] as StandInVcpu[], console: "",
  } as unknown as Kvm & { mmu: KvmS2Mmu; vcpus: StandInVcpu[] };
  kvm.mmu = createCanonicalMmu(kvm);
  const slot = new Memslot(RAM_BASE, memory, mem, pool);
  kvm.memslots.push(slot);
  kvmInitNested(kvm);
  const v: StandInVcpu = {
    kvm, cpu: new Cpu(mem, { index: 0, stopOnBrk: true }), index: 0, hwMmu: null, vregs: new Map(), injected: 0,
    isHypCtxt: () => false,
    vcpuReadSysReg: (n) => v.vregs.get(n) ?? 0n,
    vcpuWriteSysReg: (n, x) => void v.vregs.set(n, x),
    injectNestedSync: () => void v.injected++,
    skipInstr: () => {},
  };
  kvm.vcpus.push(v);
  const s2 = new L1Stage2(slot, L1_TABLES);
  const nested = (i: number): bigint => NESTED + BigInt(i) * PAGE;
  const canonical = (i: number): bigint => CANON + BigInt(i) * PAGE;
  for (let i = 0; i < pages; i++) s2.mapPage(nested(i), canonical(i));
  v.vregs.set("VTTBR_EL2", (BigInt(VMID) << 48n) | s2.root);
  v.vregs.set("VTCR_EL2", L1_VTCR);
  v.vregs.set("HCR_EL2", 1n | (1n << 31n));
  const vcpu = v as unknown as KvmVcpu;
  kvmVcpuLoadHwMmu(vcpu);
  return { kvm, slot, vcpu, mmu: v.hwMmu!, nested, canonical, injected: () => v.injected };
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
