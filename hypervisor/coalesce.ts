// Stage-2 block coalescing on the canonical stage-2 (seed 002): a 2M region backed by one 2M pool
// block but mapped by a level-3 table of 4K page mappings (dirty logging split it) is mapped by
// one 2M block again. KVM does this in user_mem_abort when a fault may use a block over an
// existing table; the two orders differ in how long the range has no valid translation:
//   bbm            (before the 2021 patch) break the table entry and invalidate TLBs, unmap and
//                  free every page mapping below it, and only then install the block. Other vCPUs
//                  touching the range meanwhile take translation faults that L0 must handle.
//   install-first  (the patch) break the table entry, invalidate TLBs and install the block at
//                  once, then unmap and free the old page mappings while the block is valid.
// The unmap is what takes time, so the operation is stepwise: the scheduler calls tick() and lets
// other vCPUs run between ticks; each freed page mapping costs `costPerPage` ticks.
//
// Shadow stage-2 MMUs need nothing here. A shadow leaf maps a nested IPA to the host page backing
// its canonical IPA (shadow faults read the memslot, not the canonical stage-2, and may map pages
// of the block that the canonical stage-2 never mapped); begin() checks that every page mapping
// already points into the backing block at its own offset, and the block is that same memory, so
// coalescing changes no host backing: no host page changes owner or address, nothing is freed
// from the memslot (only stage-2 descriptors and one table page go), and every shadow leaf still
// maps a live page holding the same data. KVM likewise sends no MMU notifier for a coalesce, so
// no nested unmap runs. During the bbm window the canonical entry is invalid while shadow leaves
// stay valid: that is transient and safe; coalescePendingLeaf() says which host page the
// canonical stage-2 stands for meanwhile.

import { hex } from "../emulator/types.ts";
import { HostError } from "./errors.ts";
import type { Memslot } from "./memslot.ts";
import { gfnToMemslot, kvmFaultInCanonical } from "./mmu.ts";
import { CANONICAL_HW_VMID } from "./nested.ts";
import { KVM_PGTABLE_PROT_R, KVM_PGTABLE_PROT_W, KVM_PGTABLE_PROT_X, SZ_2M, SZ_4K } from "./pgtable.ts";
import { kvmTlbFlushVmidRange } from "./tlb.ts";
import type { CanonicalIpa, HostPa } from "./addr.ts";
import { kvmEvent } from "./events.ts";
import { kvmStat } from "./metrics.ts";
import type { Kvm } from "./vm.ts";

export type CoalesceOrder = "bbm" | "install-first";
export const COALESCE_ORDERS: readonly CoalesceOrder[] = ["bbm", "install-first"];

export interface CoalesceOptions {
  order: CoalesceOrder;
  /** Scheduler ticks per freed page mapping (a non-negative integer). */
  costPerPage: number;
}

export interface CoalesceStats {
  order: CoalesceOrder;
  /** Canonical IPA of the 2M region. */
  ipa: bigint;
  /** Page mappings under the table when the operation began. */
  pages: number;
  costPerPage: number;
  /** Ticks run so far, and in all. */
  ticks: number;
  totalTicks: number;
  /** Ticks during which the range had no valid canonical translation (bbm: all of them). */
  invalidTicks: number;
  /** Page mappings unmapped so far. */
  pagesFreed: number;
  /** Stage-2 table pages returned to the pool (the level-3 table, once done). */
  tablePagesFreed: number;
  /** Translation faults vCPUs took on the range while it was invalid (noteFault), in all and per vCPU. */
  faults: number;
  faultsByVcpu: number[];
  /** bbm only: the host reclaimed the region during the window, so no block was installed. */
  aborted: boolean;
  done: boolean;
}

/** The permissions a canonical fault-in gives (kvmFaultInCanonical), and so the block's. */
const PROT_RWX = KVM_PGTABLE_PROT_R | KVM_PGTABLE_PROT_W | KVM_PGTABLE_PROT_X;
export const PAGES_PER_BLOCK = Number(SZ_2M / SZ_4K);

export class CoalesceOp {
  readonly order: CoalesceOrder;
  readonly costPerPage: number;
  /** Host PA of the 2M pool block backing the region (the block's output address). */
  readonly blockPa: bigint;
  private ticks_ = 0;
  private invalidTicks = 0;
  private pagesFreed = 0;
  private faults = 0;
  private readonly faultsByVcpu: number[];
  private tablePagesFreed = 0;
  private aborted = false;
  private done_ = false;

  private constructor(
    private readonly kvm: Kvm,
    private readonly slot: Memslot,
    readonly ipa: bigint,
    opts: CoalesceOptions,
    readonly pages: number,
    /** The unlinked level-3 table whose page mappings are being torn down. */
    private readonly table: number,
  ) {
    this.order = opts.order;
    this.costPerPage = opts.costPerPage;
    this.blockPa = slot.faultIn(ipa, false).pa;
    this.faultsByVcpu = new Array<number>(kvm.vcpus.length).fill(0);
  }

  /** Ticks from begin to done: every page mapping costs costPerPage, and there is at least one. */
  get totalTicks(): number {
    return Math.max(1, this.pages * this.costPerPage);
  }

  /**
   * Start coalescing the canonical 2M region at `ipa`: validate it (2M aligned, inside a memslot,
   * block-backed, mapped by a table of page mappings that point into the backing block), end
   * dirty logging on it, break the table entry and invalidate every vCPU's TLB for the range;
   * install-first also installs the block now. Logs event "coalesce" and counts "coalesces".
   */
  static begin(kvm: Kvm, ipa: bigint, opts: CoalesceOptions): CoalesceOp {
    checkOptions(opts);
    const slot = blockBackedSlot(kvm, ipa, "coalesce");
    if (!kvm.config.blocks) throw new HostError(`coalesce ${hex(ipa)}: 2M canonical blocks are disabled in this VM (blocks: false)`);
    checkNotInFlight(kvm, ipa, "coalesce");
    const pages = countPageMappings(kvm, slot, ipa);
    const pgt = kvm.mmu.pgt;
    // Fails (and changes nothing) when the entry is not a table of leaves.
    const table = pgt.detachTable(ipa, SZ_2M);
    slot.setPageMapped(ipa, false);
    const op = new CoalesceOp(kvm, slot, ipa, opts, pages, table);
    kvmTlbFlushVmidRange(kvm, CANONICAL_HW_VMID, ipa, SZ_2M);
    // install-first: the make follows the break within the same L0 step, so no vCPU ever sees
    // the range invalid; the TLBs already hold nothing for it.
    if (op.order === "install-first") pgt.map(ipa, SZ_2M, op.blockPa, PROT_RWX);
    kvm.coalescing.add(op);
    kvmStat(kvm, "coalesces");
    kvmEvent(kvm, { kind: "coalesce", phase: "begin", order: op.order, ipa: ipa as CanonicalIpa, size: SZ_2M, pages, costPerPage: op.costPerPage, totalTicks: op.totalTicks });
    return op;
  }

  get done(): boolean {
    return this.done_;
  }

  /** Ticks run so far. */
  get ticks(): number {
    return this.ticks_;
  }

  /**
   * Advance one tick: unmap the page mappings this tick pays for; on the last tick bbm installs
   * the block, and both orders free the old table page. True once finished.
   */
  tick(): boolean {
    if (this.done_) throw new HostError(`coalesce ${hex(this.ipa)}: tick() after the operation finished`);
    this.ticks_++;
    if (this.order === "bbm") this.invalidTicks++;
    const due = this.costPerPage === 0 ? this.pages : Math.min(this.pages, Math.floor(this.ticks_ / this.costPerPage));
    const n = this.kvm.mmu.pgt.clearDetached(this.table, due - this.pagesFreed);
    this.pagesFreed += n;
    if (n > 0) kvmStat(this.kvm, "coalescePagesFreed", n);
    if (this.order === "bbm") kvmStat(this.kvm, "coalesceInvalidTicks");
    if (this.ticks_ >= this.totalTicks) this.finish();
    return this.done_;
  }

  /**
   * Whether a canonical access to `ipa` now finds no valid translation because of this operation:
   * bbm from begin until the block is installed on the last tick; install-first never.
   */
  blocks(ipa: bigint): boolean {
    return this.order === "bbm" && !this.done_ && ipa >= this.ipa && ipa < this.ipa + SZ_2M;
  }

  /**
   * Record that vCPU `vcpuIndex` took a translation fault on the range while it was blocked (the
   * exit, L0's fault handling, and the retry are the cost the bbm order causes).
   */
  noteFault(vcpuIndex: number): void {
    if (!Number.isInteger(vcpuIndex) || vcpuIndex < 0 || vcpuIndex >= this.faultsByVcpu.length) {
      throw new HostError(`coalesce ${hex(this.ipa)}: noteFault of vCPU ${vcpuIndex}, the VM has vCPUs 0..${this.faultsByVcpu.length - 1}`);
    }
    if (this.order !== "bbm" || this.done_) {
      throw new HostError(`coalesce ${hex(this.ipa)}: noteFault while the range is not blocked (${this.done_ ? "finished" : this.order})`);
    }
    this.faults++;
    this.faultsByVcpu[vcpuIndex]!++;
    kvmStat(this.kvm, "coalesceFaults");
    kvmEvent(this.kvm, { kind: "coalesce", phase: "fault", vcpu: vcpuIndex, ipa: this.ipa as CanonicalIpa, size: SZ_2M, tick: this.ticks_ });
  }

  stats(): CoalesceStats {
    return {
      order: this.order,
      ipa: this.ipa,
      pages: this.pages,
      costPerPage: this.costPerPage,
      ticks: this.ticks_,
      totalTicks: this.totalTicks,
      invalidTicks: this.invalidTicks,
      pagesFreed: this.pagesFreed,
      tablePagesFreed: this.tablePagesFreed,
      faults: this.faults,
      faultsByVcpu: [...this.faultsByVcpu],
      aborted: this.aborted,
      done: this.done_,
    };
  }

  /**
   * The last step. bbm installs the block unless the host took the region back meanwhile (a
   * canonical unmap found nothing to unmap in the invalid range but released the memslot's
   * pages; KVM's fault path would see the MMU-notifier sequence change and not install). The
   * range was invalid until now, so TLBs hold nothing for it: no invalidation after the make.
   */
  private finish(): void {
    const pgt = this.kvm.mmu.pgt;
    if (this.order === "bbm") {
      const still = this.slot.isBlockBacked(this.ipa) && this.slot.faultIn(this.ipa, false).pa === this.blockPa;
      if (still) pgt.map(this.ipa, SZ_2M, this.blockPa, PROT_RWX);
      else this.aborted = true;
    }
    pgt.freeDetached(this.table);
    this.tablePagesFreed = 1;
    this.done_ = true;
    this.kvm.coalescing.delete(this);
    // Per-operation samples, named apart from the running counters (a snapshot merges both).
    this.kvm.metrics.sample("coalesceInvalidTicksPerOp", this.invalidTicks);
    this.kvm.metrics.sample("coalesceFaultsPerOp", this.faults);
    kvmEvent(this.kvm, {
      kind: "coalesce", phase: "done", order: this.order, ipa: this.ipa as CanonicalIpa, size: SZ_2M, aborted: this.aborted, pa: this.blockPa as HostPa,
      pagesFreed: this.pagesFreed, invalidTicks: this.invalidTicks, faults: this.faults,
    });
  }
}

/** The operations in flight on this VM, oldest first. */
export function coalesceInFlight(kvm: Kvm): CoalesceOp[] {
  return [...kvm.coalescing];
}

/**
 * What the canonical stage-2 stands for at `ipa` while a bbm window hides it: the block the
 * operation will install (same host pages the page mappings used), or null when no operation
 * blocks `ipa` or the region was reclaimed meanwhile. For the invariant checker's canonical lookup.
 */
export function coalescePendingLeaf(kvm: Kvm, ipa: bigint): { ipa: bigint; size: bigint; pa: bigint } | null {
  let op: CoalesceOp | null = null;
  for (const o of kvm.coalescing) {
    if (o.blocks(ipa)) {
      op = o;
      break;
    }
  }
  if (!op) return null;
  const slot = gfnToMemslot(kvm, op.ipa);
  if (!slot?.isBlockBacked(op.ipa) || slot.faultIn(op.ipa, false).pa !== op.blockPa) return null;
  return { ipa: op.ipa, size: SZ_2M, pa: op.blockPa };
}

/**
 * KVM's eager page split (dirty logging starts): the canonical 2M block at `ipa` becomes 512 page
 * mappings of the same host pages (the block is faulted in first when nothing is mapped there),
 * and dirty logging stays on for the region, so later faults keep it page-mapped until a
 * CoalesceOp. TLBs are invalidated for the range (KVM breaks the block entry while splitting).
 * Returns the page mappings made.
 */
export function splitBlock(kvm: Kvm, ipa: bigint): number {
  const slot = blockRegionSlot(kvm, ipa, "splitBlock");
  checkNotInFlight(kvm, ipa, "splitBlock");
  const pgt = kvm.mmu.pgt;
  if (!pgt.hasLeafIn(ipa, SZ_2M)) {
    if (!kvm.config.blocks) throw new HostError(`splitBlock ${hex(ipa)}: 2M canonical blocks are disabled in this VM (blocks: false)`);
    kvmFaultInCanonical(kvm, slot, ipa);
  }
  const leaf = pgt.getLeaf(ipa);
  if (!leaf || leaf.size !== SZ_2M || !slot.isBlockBacked(ipa)) {
    const what = leaf ? `a ${hex(leaf.size)} leaf` : "page mappings";
    throw new HostError(`splitBlock ${hex(ipa)}: the canonical stage-2 maps the region with ${what}, not one 2M block`);
  }
  pgt.split(ipa, SZ_2M);
  slot.setPageMapped(ipa, true);
  kvmTlbFlushVmidRange(kvm, CANONICAL_HW_VMID, ipa, SZ_2M);
  kvmStat(kvm, "blockSplits");
  kvmEvent(kvm, { kind: "coalesce", phase: "split", ipa: ipa as CanonicalIpa, size: SZ_2M, pages: PAGES_PER_BLOCK, pa: leaf.pa });
  return PAGES_PER_BLOCK;
}

/**
 * The starting state with fewer page mappings: the region at `ipa` (nothing mapped there yet) is
 * backed by a 2M pool block with dirty logging on, and its first `pages` pages are faulted in as
 * page mappings of that block (what a guest touching them under dirty logging leaves).
 * Returns `pages`.
 */
export function mapBlockAsPages(kvm: Kvm, ipa: bigint, pages: number): number {
  if (!Number.isInteger(pages) || pages < 1 || pages > PAGES_PER_BLOCK) {
    throw new HostError(`mapBlockAsPages ${hex(ipa)}: page count ${pages} is not 1..${PAGES_PER_BLOCK}`);
  }
  const slot = blockRegionSlot(kvm, ipa, "mapBlockAsPages");
  if (!kvm.config.blocks) throw new HostError(`mapBlockAsPages ${hex(ipa)}: 2M canonical blocks are disabled in this VM (blocks: false)`);
  checkNotInFlight(kvm, ipa, "mapBlockAsPages");
  if (kvm.mmu.pgt.hasLeafIn(ipa, SZ_2M)) throw new HostError(`mapBlockAsPages ${hex(ipa)}: the canonical stage-2 already maps part of the region`);
  if (!slot.isBlockBacked(ipa)) {
    if (slot.faultIn(ipa, true).size !== SZ_2M) throw new HostError(`mapBlockAsPages ${hex(ipa)}: the memslot could not back the region with a 2M block`);
  }
  slot.setPageMapped(ipa, true);
  for (let i = 0; i < pages; i++) kvmFaultInCanonical(kvm, slot, ipa + BigInt(i) * SZ_4K);
  return pages;
}

// ------------------------------------------------------------------ validation

function checkOptions(opts: CoalesceOptions): void {
  if (!COALESCE_ORDERS.includes(opts.order)) {
    throw new HostError(`coalesce order "${String(opts.order)}" is not one of ${COALESCE_ORDERS.join(", ")}`);
  }
  if (!Number.isSafeInteger(opts.costPerPage) || opts.costPerPage < 0) {
    throw new HostError(`coalesce costPerPage ${opts.costPerPage} is not a non-negative integer (ticks per freed page mapping)`);
  }
}

/** The memslot holding the whole 2M-aligned region at `ipa`. */
function blockRegionSlot(kvm: Kvm, ipa: bigint, op: string): Memslot {
  if (typeof ipa !== "bigint" || ipa < 0n || ipa % SZ_2M !== 0n) throw new HostError(`${op}: canonical IPA ${typeof ipa === "bigint" ? hex(ipa) : String(ipa)} is not 2M aligned`);
  const slot = gfnToMemslot(kvm, ipa);
  if (!slot || !slot.contains(ipa + SZ_2M - 1n)) throw new HostError(`${op} ${hex(ipa)}: the 2M region is not inside L1 RAM (a memslot)`);
  return slot;
}

function blockBackedSlot(kvm: Kvm, ipa: bigint, op: string): Memslot {
  const slot = blockRegionSlot(kvm, ipa, op);
  if (!slot.isBlockBacked(ipa)) throw new HostError(`${op} ${hex(ipa)}: the region is not backed by one 2M block of host memory`);
  return slot;
}

function checkNotInFlight(kvm: Kvm, ipa: bigint, op: string): void {
  for (const o of kvm.coalescing) {
    if (o.ipa === ipa) throw new HostError(`${op} ${hex(ipa)}: a ${o.order} coalesce of this region is in progress (tick ${o.ticks} of ${o.totalTicks})`);
  }
}

/**
 * The page mappings of the region, each checked to map the backing block at its own offset (what
 * keeps the coalesce invisible to shadow MMUs). Throws unless the region is a table of them.
 */
function countPageMappings(kvm: Kvm, slot: Memslot, ipa: bigint): number {
  const leaves = kvm.mmu.pgt.leavesIn(ipa, SZ_2M);
  if (leaves.length === 0) throw new HostError(`coalesce ${hex(ipa)}: the canonical stage-2 maps nothing in the region`);
  const blockPa = slot.faultIn(ipa, false).pa;
  for (const l of leaves) {
    if (l.size !== SZ_4K) throw new HostError(`coalesce ${hex(ipa)}: the region is already mapped by a ${hex(l.size)} block`);
    const want = blockPa + (l.ipa - ipa);
    if (l.pa !== want) throw new HostError(`coalesce ${hex(ipa)}: page mapping ${hex(l.ipa)} maps PA ${hex(l.pa)}, not the backing block's ${hex(want)}`);
  }
  return leaves.length;
}
