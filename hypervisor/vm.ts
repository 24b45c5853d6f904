// The VM (KVM: struct kvm / kvm_arch): host memory and L0's page pool, the memslot of L1's RAM,
// the canonical stage-2 MMU, the nested (shadow) MMUs, the vCPUs, metrics, the event log and the
// console.

import { BUILD_ID_HINT, type Image, loadImage, lowestBase } from "../asm/image.ts";
import type { Engine } from "../emulator/engine.ts";
import { PhysMemory } from "../emulator/memory.ts";
import { setShareabilityDomain } from "../emulator/tlbi.ts";
import { hex } from "../emulator/types.ts";
import { GuestError, HostError } from "./errors.ts";
import type { VmMonitor } from "./monitor.ts";
import type { CoalesceOp, CoalesceOptions } from "./coalesce.ts";
import { EventLog } from "./events.ts";
import type { Memslot } from "./memslot.ts";
import { Metrics } from "./metrics.ts";
import { createCanonicalMmu } from "./mmu.ts";
import { kvmInitNested, type KvmS2Mmu } from "./nested.ts";
import { KvmPageTrack } from "./page_track.ts";
import { HostPagePool } from "./pool.ts";
import { kvmRamMemslots } from "./set_memory_region.ts";
import { DEFAULT_SCHEDULE, type HostTask, type ScheduleConfig, VcpuScheduler } from "./scheduler.ts";
import { createUnmapStrategy, type UnmapStrategyName } from "./unmap/registry.ts";
import type { RevmapTlbi, UnmapStrategy } from "./unmap/strategy.ts";
import { KvmVcpu } from "./vcpu.ts";

/** Canonical IPA of L1's RAM (QEMU virt). */
export const L1_RAM_BASE = 0x4000_0000n;
/** Default load IPA of L1 (QEMU keeps its device tree in the first MiB of RAM). */
export const L1_DEFAULT_LOAD_IPA = 0x4010_0000n;
/**
 * KVM_MAX_VCPUS on arm64 (VGIC_V3_MAX_CPUS): KVM refuses more vCPUs per VM, and QEMU's virt
 * machine takes no more CPUs either. vCPU i's MPIDR carries i in Aff1.Aff0 (emulator/mpidr.ts).
 */
export const KVM_MAX_VCPUS = 512;
/** Host PA of L0's page pool: far above any canonical IPA, so the two never look alike. */
export const HOST_POOL_BASE = 0x10_0000_0000;

export interface VmConfig {
  /** L1 RAM bytes. */
  memory: bigint;
  vcpus: number;
  /** Host pages for L1's backing and every stage-2 table. */
  poolPages: number;
  /** Canonical-unmap strategy, by name (unmap/registry.ts). */
  unmap: UnmapStrategyName;
  /** Keep a nested IPA → canonical IPA map beside each revmap, so L1's TLBIs keep it exact. */
  directMap: boolean;
  /**
   * What L1's stage-2 TLBIs do to the revmap and the accelerator: "seed" (nothing, seeds 000/001
   * as written) or "v3" (the later series removes the entries of the leaves they remove).
   * Default: "v3" with directMap, else "seed" (unmap/strategy.ts).
   */
  revmapTlbi?: RevmapTlbi;
  /** Shadow MMUs; default 2 × vCPUs (more, to show the accelerator with several MMUs per bit). */
  nestedMmus?: number;
  /** Allow 2M canonical blocks. */
  blocks: boolean;
  /**
   * Not KVM: the split-and-keep unmap nvlab had before. An unmap of part of a stage-2 block splits
   * the block and keeps the rest mapped, instead of removing the whole leaf as KVM's
   * stage2_unmap_walker does. Kept so the checker's L1-consistency invariant can be shown catching
   * it (stale shadow pages of a block L1 invalidated only in part).
   */
  stage2UnmapSplit: boolean;
  /**
   * Sample the revmap/accelerator staleness metrics after every canonical unmap. They scan every
   * MMU's revmap and shadow leaves, so timing runs turn them off to measure the unmap itself.
   */
  staleStats: boolean;
  /** How vCPUs are interleaved (scheduler.ts). */
  schedule: ScheduleConfig;
  /** Order and cost of canonical block coalescing (coalesce.ts), for injected coalesces. */
  coalesce: CoalesceOptions;
  /** L1's RAM as this many memslots of equal size (set_memory_region.ts); default 1. */
  ramSlots?: number;
  /**
   * After kvm_nested_s2_wp, also invalidate each write-protected shadow MMU's VMID (KVM flushes
   * only the canonical VMID there; dirty_log.ts). Default false.
   */
  nestedS2WpFlush?: boolean;
  seed: number;
  /** Events the log keeps for readers (`history`, the lab page's list); default 256. */
  eventLogCapacity?: number;
  /** The engine every vCPU's CPU runs on (emulator/engine.ts); default: NVLAB_ENGINE, else the translator. */
  engine?: Engine;
}

export type { UnmapStrategyName };

export const DEFAULT_VM_CONFIG: Readonly<VmConfig> = {
  memory: 256n << 20n,
  vcpus: 1,
  poolPages: 0, // 0 = enough for all of L1's RAM plus tables
  unmap: "full",
  directMap: false,
  blocks: true,
  stage2UnmapSplit: false,
  staleStats: true,
  schedule: DEFAULT_SCHEDULE,
  coalesce: { order: "bbm", costPerPage: 1 },
  seed: 0,
};

/** Table pages allowed on top of L1's RAM when poolPages is not given. */
const POOL_TABLE_PAGES = 16384;

function resolveConfig(c: Partial<VmConfig>): VmConfig {
  const config: VmConfig = { ...DEFAULT_VM_CONFIG, ...c };
  if (config.memory <= 0n || config.memory % 0x1000n !== 0n) {
    throw new HostError(`L1 memory size ${hex(config.memory)} must be a positive multiple of 4 KiB`);
  }
  if (L1_RAM_BASE + config.memory > 1n << 48n) throw new HostError(`L1 memory size ${hex(config.memory)} exceeds the 48-bit IPA space`);
  if (!Number.isInteger(config.vcpus) || config.vcpus < 1 || config.vcpus > KVM_MAX_VCPUS) {
    throw new HostError(`vcpus must be 1..${KVM_MAX_VCPUS} (got ${config.vcpus})`);
  }
  if (config.nestedMmus !== undefined && (!Number.isInteger(config.nestedMmus) || config.nestedMmus < config.vcpus)) {
    // Each vCPU holds at most one shadow MMU, so with at least one per vCPU a free one always exists.
    throw new HostError(`nestedMmus must be an integer of at least vcpus (${config.vcpus}) (got ${config.nestedMmus})`);
  }
  if (config.poolPages === 0) config.poolPages = Number(config.memory >> 12n) + POOL_TABLE_PAGES;
  return config;
}

/** Told of L0's reads of L1 memory (Kvm.l0Watch). */
export interface L0MemoryWatch {
  l0Read(ipa: number, size: number, what: string): void;
}

export class Kvm {
  readonly config: VmConfig;
  readonly mem: PhysMemory;
  readonly pool: HostPagePool;
  readonly memslots: Memslot[];
  readonly metrics = new Metrics();
  readonly events: EventLog;
  /** L1's stage-2 table pages L0 has walked, write-tracked: a guest store into one is an event (page_track.ts). */
  readonly pageTrack = new KvmPageTrack(this);
  /** Observers of the run: invariant checker, scenario timeline, chaos injection (monitor.ts). */
  readonly monitors: VmMonitor[] = [];
  /** kvm->arch.mmu: L1's own stage-2. */
  readonly mmu: KvmS2Mmu;
  nestedMmus: KvmS2Mmu[] = [];
  nestedMmusNext = 0;
  /** The canonical-unmap strategy: the core calls it and never looks inside (unmap/strategy.ts). */
  readonly unmap: UnmapStrategy;
  /**
   * Fault injection: while a counter is > 0, each store the unmap strategy makes into that
   * structure fails and takes one off it: storeFailures the revmap's (non-sleeping allocation),
   * accelStoreFailures the accelerator's canonical tree (record_accel), directMapStoreFailures
   * the nested IPA direct map's.
   */
  readonly faultInject = {
    storeFailures: 0,
    accelStoreFailures: 0,
    directMapStoreFailures: 0,
    /** While > 0, the next TLB invalidation of a shadow VMID (tlb.ts) is lost (a lab bug, for invariant T). */
    skipShadowTlbi: 0,
  };
  readonly vcpus: KvmVcpu[] = [];
  readonly scheduler: VcpuScheduler;
  /**
   * Canonical block coalescings in flight (coalesce.ts), oldest first: a stage-2 fault in a range
   * one holds waits for it (mmu.ts coalesceBlocking), as KVM's faults check the invalidations in
   * progress on struct kvm.
   */
  readonly coalescing = new Set<CoalesceOp>();
  /** L0 operations in progress that take scheduler ticks (scheduler.ts). */
  hostTasks: HostTask[] = [];
  /**
   * Bumped whenever who may run changes (a vCPU started or stopped, a host task begun): the run
   * loop then hands control back to the scheduler.
   */
  schedEpoch = 0;
  /** UART output so far. */
  console = "";
  /** Streams UART output, byte by byte, as it is written. */
  onConsole: ((byte: number) => void) | null = null;
  /**
   * Told of L0's own reads of guest memory (its walks of L1's stage-2 tables), by canonical IPA: a
   * debugger's watchpoints (debug/watch.ts). Null while nothing watches.
   */
  l0Watch: L0MemoryWatch | null = null;
  /** The vCPU whose run loop is running (L0's actions are on its behalf), null between runs. */
  running: KvmVcpu | null = null;

  /** `unmap`: the strategy object; by default the one config.unmap names. */
  constructor(config: Partial<VmConfig> = {}, unmap?: UnmapStrategy) {
    this.config = resolveConfig(config);
    this.events = new EventLog(this.config.eventLogCapacity);
    this.unmap = unmap ?? createUnmapStrategy(this.config.unmap, { directMap: this.config.directMap, revmapTlbi: this.config.revmapTlbi });
    this.mem = new PhysMemory();
    this.pool = new HostPagePool(this.mem, HOST_POOL_BASE, this.config.poolPages);
    this.memslots = kvmRamMemslots(this, L1_RAM_BASE, this.config.memory, this.config.ramSlots ?? 1);
    this.mmu = createCanonicalMmu(this);
    kvmInitNested(this);
    for (let i = 0; i < this.config.vcpus; i++) this.vcpus.push(new KvmVcpu(this, i));
    // The vCPUs share the Inner Shareable domain: their IS TLBIs reach each other's TLBs.
    setShareabilityDomain(this.vcpus.map((v) => v.cpu));
    this.scheduler = new VcpuScheduler(this, this.config.schedule);
    this.events.stepSource = () => this.steps;
  }

  /** Start an L0 operation that runs over scheduler ticks while the vCPUs go on. */
  addHostTask(task: HostTask): void {
    this.hostTasks.push(task);
    this.schedEpoch++;
  }

  /** Instructions retired by all vCPUs. */
  get steps(): number {
    let n = 0;
    for (const v of this.vcpus) n += v.cpu.steps;
    return n;
  }
}

/**
 * Place an image in L1's RAM through the memslot (the VMM writing guest memory). With `ipa`, the
 * image is moved so its lowest section starts there; otherwise sections go to their own addresses.
 * Returns the entry point at its final address.
 */
export function loadGuestImage(kvm: Kvm, image: Image, ipa?: bigint): bigint {
  if (image.sections.length === 0) throw new GuestError(`image ${image.file} is empty`);
  const offset = ipa === undefined ? 0n : ipa - lowestBase(image);
  return loadImage(image, (base, s) => {
    const end = base + BigInt(s.bytes.length);
    const slot = kvm.memslots.find((m) => base >= m.base && end <= m.end);
    if (!slot) {
      const ram = kvm.memslots.map((m) => `${hex(m.base)}..${hex(m.end)}`).join(", ");
      throw new GuestError(
        `image ${image.file}: section ${s.name} at ${hex(base)}..${hex(end)} lies outside L1 RAM (${ram})` +
          (s.headersAndNotes ? `; ${BUILD_ID_HINT}` : ""),
      );
    }
    slot.writeBytes(base, s.bytes);
  }, offset);
}
