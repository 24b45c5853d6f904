// Test fixture for the stage-2 modules: a minimal VM (real PhysMemory, page pool, stage-2 tables,
// CPUs, metrics and events) with stand-in vCPUs whose virtual EL2 registers are a plain map. L1's
// own stage-2 tables are built with lab/fixtures/l1_stage2.ts, which the benchmarks share.

import { KvmPageTrack } from "../../hypervisor/page_track.ts";
import { Cpu } from "../../emulator/cpu.ts";
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
  /** The same registers as the vEL2 file L0 reads directly (ctxt.el2.VTTBR_EL2, …). */
  ctxt: { el2: Record<string, bigint> };
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
  const config: VmConfig = { memory: 32n << 20n, vcpus: 1, poolPages: 16384, unmap: "full", directMap: false, blocks: false, stage2UnmapSplit: false, staleStats: true, schedule: DEFAULT_SCHEDULE, coalesce: { order: "bbm", costPerPage: 1 }, seed: 0, ...opts };
  const mem = new PhysMemory();
  const pool = new HostPagePool(mem, POOL_BASE, config.poolPages);
  const metrics = new Metrics();
  const events = new EventLog(1024);
  const kvm = {
    mem, pool, config, metrics, events, l0Watch: null, running: null,
    nestedMmus: [], nestedMmusNext: 0, faultInject: { storeFailures: 0 }, coalescing: new Set(),
    unmap: unmap ?? createUnmapStrategy(config.unmap, { directMap: config.directMap, revmapTlbi: config.revmapTlbi }), memslots: [] as Memslot[], vcpus: [] as FakeVcpu[], console: "",
  } as unknown as Kvm & { mmu: KvmS2Mmu; vcpus: FakeVcpu[] };
  kvm.mmu = createCanonicalMmu(kvm);
  (kvm as { pageTrack: KvmPageTrack }).pageTrack = new KvmPageTrack(kvm);
  const slot = new Memslot(RAM_BASE, config.memory, mem, pool);
  kvm.memslots.push(slot);
  kvmInitNested(kvm);
  for (let i = 0; i < config.vcpus; i++) kvm.vcpus.push(fakeVcpu(kvm, new Cpu(mem, { index: i, stopOnBrk: true }), i));
  return { kvm, mem, pool, slot, vcpus: kvm.vcpus, vcpu: (i = 0) => kvm.vcpus[i] as unknown as KvmVcpu };
}

function fakeVcpu(kvm: Kvm, cpu: Cpu, index: number): FakeVcpu {
  const v: FakeVcpu = {
    kvm, cpu, index, hwMmu: null, vregs: new Map(), hyp: false, injected: [], skipped: 0,
    ctxt: {
      el2: new Proxy({}, {
        get: (_, n) => v.vregs.get(String(n)) ?? 0n,
        set: (_, n, x: bigint) => (v.vregs.set(String(n), x), true),
      }),
    },
    isHypCtxt: () => v.hyp,
    vcpuReadSysReg: (n) => v.vregs.get(n) ?? 0n,
    vcpuWriteSysReg: (n, x) => void v.vregs.set(n, x),
    injectNestedSync: (e, far, hpfar) => void v.injected.push({ esr: e, far, hpfar }),
    skipInstr: () => void v.skipped++,
  };
  return v;
}
