// Test fixture for the stage-2 modules: a minimal VM (real PhysMemory, page pool, stage-2 tables,
// CPUs, metrics and events) with stand-in vCPUs whose virtual EL2 registers are a plain map, plus a
// builder for L1's own 4K-granule stage-2 tables in L1 memory.

import { Cpu } from "../../emulator/cpu.ts";
import { EC, esr, type Exit, ISS_S1PTW, ISS_WNR } from "../../emulator/exception.ts";
import { PhysMemory } from "../../emulator/memory.ts";
import { EventLog } from "../../hypervisor/events.ts";
import { Memslot } from "../../hypervisor/memslot.ts";
import { Metrics } from "../../hypervisor/metrics.ts";
import { createCanonicalMmu } from "../../hypervisor/mmu.ts";
import { kvmInitNested, type KvmS2Mmu } from "../../hypervisor/nested.ts";
import { HostPagePool } from "../../hypervisor/pool.ts";
import { DEFAULT_SCHEDULE } from "../../hypervisor/scheduler.ts";
import { createUnmapStrategy } from "../../hypervisor/unmap/registry.ts";
import type { UnmapStrategy } from "../../hypervisor/unmap/strategy.ts";
import type { Kvm, VmConfig } from "../../hypervisor/vm.ts";
import type { KvmVcpu } from "../../hypervisor/vcpu.ts";

export const RAM_BASE = 0x4000_0000n;
export const POOL_BASE = 0x10_0000_0000;

export interface FakeVcpu {
  kvm: Kvm;
  cpu: Cpu;
  index: number;
  hwMmu: KvmS2Mmu | null;
  /** Virtual EL2 registers by name. */
  vregs: Map<string, bigint>;
  hyp: boolean;
  injected: { esr: bigint; far?: bigint; hpfar?: bigint }[];
  skipped: number;
  isHypCtxt(): boolean;
  vcpuReadSysReg(name: string): bigint;
  vcpuWriteSysReg(name: string, v: bigint): void;
  injectNestedSync(esr: bigint, far?: bigint, hpfar?: bigint): void;
  skipInstr(): void;
}

export interface Fixture {
  kvm: Kvm;
  mem: PhysMemory;
  pool: HostPagePool;
  slot: Memslot;
  vcpus: FakeVcpu[];
  /** The vCPU as the modules see it. */
  vcpu(i?: number): KvmVcpu;
}

/** `unmap`: the strategy object (default: the one config.unmap names). */
export function makeVm(opts: Partial<VmConfig> = {}, unmap?: UnmapStrategy): Fixture {
  const config: VmConfig = { memory: 32n << 20n, vcpus: 1, poolPages: 16384, unmap: "full", directMap: false, check: false, blocks: false, staleStats: true, schedule: DEFAULT_SCHEDULE, coalesce: { order: "bbm", costPerPage: 1 }, seed: 0, ...opts };
  const mem = new PhysMemory();
  const pool = new HostPagePool(mem, POOL_BASE, config.poolPages);
  const metrics = new Metrics();
  const events = new EventLog(1024);
  const kvm = {
    mem, pool, config, metrics, events,
    nestedMmus: [], nestedMmusNext: 0, faultInject: { storeFailures: 0 },
    unmap: unmap ?? createUnmapStrategy(config.unmap, { directMap: config.directMap }), memslots: [] as Memslot[], vcpus: [] as FakeVcpu[], console: "",
  } as unknown as Kvm & { mmu: KvmS2Mmu; vcpus: FakeVcpu[] };
  kvm.mmu = createCanonicalMmu(kvm);
  const slot = new Memslot(RAM_BASE, config.memory, mem, pool);
  kvm.memslots.push(slot);
  kvmInitNested(kvm);
  for (let i = 0; i < config.vcpus; i++) kvm.vcpus.push(fakeVcpu(kvm, new Cpu(mem, { index: i, stopOnBrk: true }), i));
  return { kvm, mem, pool, slot, vcpus: kvm.vcpus, vcpu: (i = 0) => kvm.vcpus[i] as unknown as KvmVcpu };
}

function fakeVcpu(kvm: Kvm, cpu: Cpu, index: number): FakeVcpu {
  const v: FakeVcpu = {
    kvm, cpu, index, hwMmu: null, vregs: new Map(), hyp: false, injected: [], skipped: 0,
    isHypCtxt: () => v.hyp,
    vcpuReadSysReg: (n) => v.vregs.get(n) ?? 0n,
    vcpuWriteSysReg: (n, x) => void v.vregs.set(n, x),
    injectNestedSync: (e, far, hpfar) => void v.injected.push({ esr: e, far, hpfar }),
    skipInstr: () => void v.skipped++,
  };
  return v;
}

/** L1's VTCR for the builder's tables: 4K granule, T0SZ 25 (39-bit IPA), start level 1, PS 40-bit. */
export const L1_VTCR = 25n | (1n << 6n) | (2n << 16n) | (3n << 12n) | (1n << 10n) | (1n << 8n);

export interface L1Leaf {
  r?: boolean;
  w?: boolean;
  x?: boolean;
  af?: boolean;
}

/**
 * L1's stage-2 (nested IPA → canonical IPA), 4K granule, start level 1, written into L1 memory
 * through the memslot. Table pages are taken from `tableBase` upward (canonical IPAs).
 */
export class L1Stage2 {
  private next: bigint;
  readonly root: bigint;

  constructor(
    private readonly slot: Memslot,
    tableBase: bigint,
  ) {
    this.next = tableBase;
    this.root = this.newTable();
  }

  vttbr(vmid: number): bigint {
    return (BigInt(vmid) << 48n) | this.root;
  }

  private newTable(): bigint {
    const t = this.next;
    this.next += 0x1000n;
    this.slot.writeBytes(t, new Uint8Array(4096));
    return t;
  }

  private read(ipa: bigint): bigint {
    return this.slot.read(ipa, 8);
  }

  private write(ipa: bigint, v: bigint): void {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, v, true);
    this.slot.writeBytes(ipa, b);
  }

  /** Map nested [nipa, +size) → canonical cipa with a leaf at the level the size implies. */
  map(nipa: bigint, cipa: bigint, size: bigint, p: L1Leaf = {}): void {
    const level = size === 1n << 30n ? 1 : size === 1n << 21n ? 2 : 3;
    let table = this.root;
    for (let l = 1; l < level; l++) {
      const idx = (nipa >> BigInt(39 - 9 * l)) & 0x1ffn;
      const slotIpa = table + idx * 8n;
      let d = this.read(slotIpa);
      if ((d & 3n) !== 3n) {
        d = this.newTable() | 3n;
        this.write(slotIpa, d);
      }
      table = d & 0xffff_ffff_f000n;
    }
    const idx = (nipa >> BigInt(39 - 9 * level)) & 0x1ffn;
    let d = cipa | (level === 3 ? 3n : 1n) | (0xfn << 2n) | (3n << 8n);
    if (p.af ?? true) d |= 1n << 10n;
    if (p.r ?? true) d |= 1n << 6n;
    if (p.w ?? true) d |= 1n << 7n;
    if (!(p.x ?? true)) d |= 1n << 54n;
    this.write(table + idx * 8n, d);
  }

  /** Remove the leaf for `nipa` at `level` (no TLB maintenance, as L1 would before a TLBI). */
  clear(nipa: bigint, level: number): void {
    let table = this.root;
    for (let l = 1; l < level; l++) table = this.read(table + ((nipa >> BigInt(39 - 9 * l)) & 0x1ffn) * 8n) & 0xffff_ffff_f000n;
    this.write(table + ((nipa >> BigInt(39 - 9 * level)) & 0x1ffn) * 8n, 0n);
  }
}

/** Point a vCPU's virtual EL2 at L1's stage-2 (HCR_EL2.VM = 1, the given VMID). */
export function useL1Stage2(v: FakeVcpu, s2: L1Stage2, vmid: number, vm = true): void {
  v.vregs.set("VTTBR_EL2", s2.vttbr(vmid));
  v.vregs.set("VTCR_EL2", L1_VTCR);
  v.vregs.set("HCR_EL2", vm ? 1n | (1n << 31n) : 1n << 31n);
}

/** A stage-2 abort exit as the CPU reports it. */
export function s2Abort(
  ipa: bigint,
  o: { fsc?: number; write?: boolean; exec?: boolean; s1ptw?: boolean; far?: bigint } = {},
): Exit {
  const fsc = o.fsc ?? 0x07;
  const iss = fsc | (o.write ? ISS_WNR : 0) | (o.s1ptw ? ISS_S1PTW : 0);
  const ec = o.exec ? EC.IABT_LOW : EC.DABT_LOW;
  const far = o.far ?? 0xffff_0000_0000_0000n | (ipa & 0xfffn);
  return { esr: esr(ec, iss), ec, far, hpfar: (ipa >> 12n) << 4n, elr: 0x1000n, spsr: 0x5n };
}
