// A benchmark workload of many L2 contexts: one real Kvm, one vCPU, and per context (a distinct
// VMID) its own L1 stage-2 tables in L1 memory mapping nested pages to canonical pages. L2 touching
// a nested page goes through L0's real shadow-fault path (kvmHandleGuestAbort walks L1's tables,
// faults the canonical page in, installs the shadow leaf and tells the unmap strategy). With
// `nestedMmus` equal to the number of contexts every context keeps its own valid shadow MMU.

import { EC, esr, type Exit } from "../../emulator/exception.ts";
import type { Memslot } from "../../hypervisor/memslot.ts";
import { kvmHandleGuestAbort } from "../../hypervisor/mmu.ts";
import { checkNestedVcpuRequests, type KvmS2Mmu, kvmVcpuLoadHwMmu, kvmVcpuPutHwMmu } from "../../hypervisor/nested.ts";
import type { KvmVcpu } from "../../hypervisor/vcpu.ts";
import { Kvm, L1_RAM_BASE, type UnmapStrategyName } from "../../hypervisor/vm.ts";

export const PAGE = 0x1000n;
const SZ_2M = 0x20_0000n;
/** Nested IPA of page k of every context: NESTED_BASE + k·4K. */
export const NESTED_BASE = 0x8000_0000n;
/** L1's stage-2 tables start here (canonical); the data window follows them. */
const TABLES_BASE = L1_RAM_BASE + SZ_2M;
/** L1's VTCR: 4K granule, T0SZ 25 (39-bit IPA), start level 1, PS 40-bit, inner-shareable WBWA. */
const L1_VTCR = 25n | (1n << 6n) | (2n << 16n) | (3n << 12n) | (1n << 10n) | (1n << 8n);
const HCR_VM = 1n;
const HCR_RW = 1n << 31n;
/** Stage-2 page descriptor attributes: page, MemAttr normal WB, S2AP RW, SH inner, AF. */
const LEAF_ATTRS = 3n | (0xfn << 2n) | (3n << 6n) | (3n << 8n) | (1n << 10n);
const OA_MASK = 0xffff_ffff_f000n;

/** Bump allocator of zeroed L1 table pages, shared by every context's tables. */
class TablePages {
  constructor(
    private readonly slot: Memslot,
    private next: bigint,
    private readonly end: bigint,
  ) {}

  alloc(): bigint {
    if (this.next >= this.end) throw new Error("workload: L1 table area exhausted");
    const t = this.next;
    this.next += PAGE;
    this.slot.writeBytes(t, new Uint8Array(4096));
    return t;
  }
}

/** One context's L1 stage-2 (4K pages only), written into L1 memory through the memslot. */
class L1Tables {
  readonly root: bigint;
  private readonly word = new Uint8Array(8);
  private readonly view = new DataView(this.word.buffer);

  constructor(
    private readonly slot: Memslot,
    private readonly pages: TablePages,
  ) {
    this.root = pages.alloc();
  }

  private write(ipa: bigint, v: bigint): void {
    this.view.setBigUint64(0, v, true);
    this.slot.writeBytes(ipa, this.word);
  }

  mapPage(nipa: bigint, cipa: bigint): void {
    let table = this.root;
    for (let level = 1; level < 3; level++) {
      const slotIpa = table + ((nipa >> BigInt(39 - 9 * level)) & 0x1ffn) * 8n;
      let d = this.slot.read(slotIpa, 8);
      if ((d & 3n) !== 3n) {
        d = this.pages.alloc() | 3n;
        this.write(slotIpa, d);
      }
      table = d & OA_MASK;
    }
    this.write(table + ((nipa >> 12n) & 0x1ffn) * 8n, cipa | LEAF_ATTRS);
  }
}

export interface Context {
  vmid: number;
  root: bigint;
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

const abortExit = (ipa: bigint): Exit => {
  const ec = EC.DABT_LOW;
  return { esr: esr(ec, 0x07), ec, far: 0xffff_0000_0000_0000n, hpfar: (ipa >> 12n) << 4n, elr: 0x1000n, spsr: 0x5n };
};

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
    const pages = new TablePages(slot, TABLES_BASE, tablesEnd);
    for (let i = 0; i < opts.contexts; i++) {
      const t = new L1Tables(slot, pages);
      const canon: bigint[] = [];
      for (let k = 0; k < opts.pagesPerContext; k++) {
        const c = this.dataBase + BigInt(opts.canonPage(i, k)) * PAGE;
        t.mapPage(nestedIpa(k), c);
        canon.push(c);
      }
      this.contexts.push({ vmid: i + 1, root: t.root, canon, mmu: null });
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
    this.vcpu.vcpuWriteSysReg("VTTBR_EL2", (BigInt(c.vmid) << 48n) | c.root);
    this.vcpu.vcpuWriteSysReg("VTCR_EL2", L1_VTCR);
    this.vcpu.vcpuWriteSysReg("HCR_EL2", HCR_VM | HCR_RW);
    kvmVcpuLoadHwMmu(this.vcpu);
    checkNestedVcpuRequests(this.vcpu);
    c.mmu = this.vcpu.hwMmu;
    return c.mmu!;
  }

  /** L2 of the current context touches nested page k: a shadow fault. */
  touch(k: number): void {
    kvmHandleGuestAbort(this.vcpu, abortExit(nestedIpa(k)));
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
