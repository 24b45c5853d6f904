// A benchmark workload of many L2 contexts: one real Kvm, one vCPU, and per context (a distinct
// VMID) its own L1 stage-2 tables in L1 memory mapping nested pages to canonical pages. L2 touching
// a nested page goes through L0's real shadow-fault path (kvmHandleGuestAbort walks L1's tables,
// faults the canonical page in, installs the shadow leaf and tells the unmap strategy). With
// `nestedMmus` equal to the number of contexts every context keeps its own valid shadow MMU.

import { kvmHandleGuestAbort } from "../../hypervisor/mmu.ts";
import { type KvmS2Mmu, kvmVcpuPutHwMmu } from "../../hypervisor/nested.ts";
import type { KvmVcpu } from "../../hypervisor/vcpu.ts";
import { Kvm, L1_RAM_BASE, type UnmapStrategyName } from "../../hypervisor/vm.ts";
import { enterL2, L1Stage2, L1TablePages, s2Abort } from "../../lab/fixtures/l1_stage2.ts";

export const PAGE = 0x1000n;
const SZ_2M = 0x20_0000n;
/** Nested IPA of page k of every context: NESTED_BASE + k·4K. */
export const NESTED_BASE = 0x8000_0000n;
/** L1's stage-2 tables start here (canonical); the data window follows them. */
const TABLES_BASE = L1_RAM_BASE + SZ_2M;

export interface Context {
  vmid: number;
  /** L1's stage-2 tables of the context. */
  s2: L1Stage2;
  /** Canonical IPA of nested page k. */
  canon: bigint[];
  /** The shadow MMU the context runs on (set once it has run). */
  mmu: KvmS2Mmu | null;
}

export interface ContextsOptions {
  strategy: UnmapStrategyName;
  contexts: number;
  pagesPerContext: number;
  /** Pages in the canonical data window. */
  dataPages: number;
  /** Data-window page index of context i's nested page k. */
  canonPage(i: number, k: number): number;
}

export const nestedIpa = (k: number): bigint => NESTED_BASE + BigInt(k) * PAGE;

export class ContextsWorkload {
  readonly kvm: Kvm;
  readonly vcpu: KvmVcpu;
  readonly contexts: Context[] = [];
  /** Canonical IPA of data-window page 0. */
  readonly dataBase: bigint;

  constructor(readonly opts: ContextsOptions) {
    const l3PerContext = Math.ceil(opts.pagesPerContext / 512);
    const tablePages = BigInt(opts.contexts * (2 + l3PerContext) + 16);
    const tablesEnd = TABLES_BASE + ((tablePages * PAGE + SZ_2M - 1n) / SZ_2M) * SZ_2M;
    this.dataBase = tablesEnd;
    const memory = tablesEnd - L1_RAM_BASE + ((BigInt(opts.dataPages) * PAGE + SZ_2M - 1n) / SZ_2M) * SZ_2M;
    const shadowTablePages = opts.contexts * (4 + 2 * l3PerContext);
    this.kvm = new Kvm({
      memory,
      vcpus: 1,
      unmap: opts.strategy,
      directMap: false,
      blocks: false,
      // Staleness metrics scan every MMU on each unmap; keep them out of the unmap being timed.
      staleStats: false,
      nestedMmus: Math.max(opts.contexts, 1),
      poolPages: Number(memory >> 12n) + shadowTablePages + 4096,
    });
    this.vcpu = this.kvm.vcpus[0]!;
    this.vcpu.setHypCtxt(false);
    const slot = this.kvm.memslots[0]!;
    const pages = new L1TablePages(slot, TABLES_BASE, tablesEnd);
    for (let i = 0; i < opts.contexts; i++) {
      const t = new L1Stage2(slot, pages);
      const canon: bigint[] = [];
      for (let k = 0; k < opts.pagesPerContext; k++) {
        const c = this.dataBase + BigInt(opts.canonPage(i, k)) * PAGE;
        t.map(nestedIpa(k), c);
        canon.push(c);
      }
      this.contexts.push({ vmid: i + 1, s2: t, canon, mmu: null });
    }
  }

  /** L1 runs (the vCPU holds no shadow MMU), as before a host-side canonical unmap. */
  leaveL2(): void {
    if (this.vcpu.hwMmu) kvmVcpuPutHwMmu(this.vcpu);
  }

  /** L1 ERETs into context i: its VMID and tables become current, its shadow MMU is loaded. */
  enter(i: number): KvmS2Mmu {
    const c = this.contexts[i]!;
    this.leaveL2();
    c.mmu = enterL2(this.vcpu, c.s2, c.vmid);
    return c.mmu;
  }

  /** L2 of the current context touches nested page k: a shadow fault. */
  touch(k: number): void {
    kvmHandleGuestAbort(this.vcpu, s2Abort(nestedIpa(k)));
  }

  /** Every context touches every one of its pages. */
  populate(): void {
    for (let i = 0; i < this.contexts.length; i++) {
      this.enter(i);
      for (let k = 0; k < this.opts.pagesPerContext; k++) this.touch(k);
    }
    this.leaveL2();
    if (this.kvm.metrics.faultsInjectedToL1 !== 0) throw new Error("workload: a shadow fault went to L1");
  }

  /** Whether context i's MMU has a shadow leaf for nested page k built from its canonical page. */
  mapped(i: number, k: number): boolean {
    const mmu = this.contexts[i]!.mmu;
    if (!mmu) return false;
    const nipa = nestedIpa(k);
    return mmu.pgt.getLeaf(nipa) !== null && mmu.shadowOrigin.get(nipa) === this.contexts[i]!.canon[k];
  }

  /** Re-touch every page whose shadow leaf is gone; returns the shadow faults taken. */
  refault(): number {
    const before = this.kvm.metrics.shadowFaults;
    for (let i = 0; i < this.contexts.length; i++) {
      const c = this.contexts[i]!;
      let entered = false;
      for (let k = 0; k < this.opts.pagesPerContext; k++) {
        if (c.mmu && c.mmu.pgt.getLeaf(nestedIpa(k)) !== null) continue;
        if (!entered) {
          this.enter(i);
          entered = true;
        }
        this.touch(k);
      }
    }
    this.leaveL2();
    return this.kvm.metrics.shadowFaults - before;
  }
}
