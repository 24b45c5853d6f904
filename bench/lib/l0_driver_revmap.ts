// A long-running L1 on L0's real paths, for measuring how reverse maps age: L1 runs several L2
// guests (one VMID and one set of 4K stage-2 tables each, in L1 memory), L2s touch their pages
// (shadow faults through kvmHandleGuestAbort when the shadow lacks the page), L1 moves, drops and
// maps pages of its guests and says so with TLBI IPAS2E1IS / RIPAS2E1IS / VMALLS12E1IS
// (kvmHandleSysTlbi), and the host now and then takes a canonical page back (kvmUnmapGfnRange).
// The operation list is generated up front from a model of L1 alone, so every configuration of L0
// runs exactly the same sequence.

import { sysRegIss } from "../../emulator/exception.ts";
import { tlbiByName } from "../../emulator/tlbi.ts";
import { SplitMix32 } from "../../hypervisor/splitmix32.ts";
import { kvmHandleGuestAbort, kvmUnmapGfnRange } from "../../hypervisor/mmu.ts";
import { type KvmS2Mmu, kvmVcpuPutHwMmu } from "../../hypervisor/nested.ts";
import type { CanonicalIpa } from "../../hypervisor/addr.ts";
import { accelOf, accelStale } from "../../hypervisor/unmap/accel.ts";
import { accelBits } from "../../hypervisor/unmap/accel_bits.ts";
import { isUnknownIpa, revmapEntryLive, revmapOf, revmapStaleEntries } from "../../hypervisor/unmap/revmap.ts";
import { kvmHandleSysTlbi } from "../../hypervisor/tlbi.ts";
import type { KvmVcpu } from "../../hypervisor/vcpu.ts";
import { Kvm, L1_RAM_BASE, type VmConfig } from "../../hypervisor/vm.ts";
import { enterL2, L1Stage2, L1TablePages, s2Abort, useL1Stage2 } from "../../lab/fixtures/l1_stage2.ts";

const PAGE = 0x1000n;
/** L1's stage-2 tables: 64K per guest context. */
const TABLES = L1_RAM_BASE + 0x10_0000n;
const TABLES_PER_GUEST = 0x1_0000n;
/** L1's pages for its guests (the canonical pool). */
const POOL = L1_RAM_BASE + 0x100_0000n;
/** Every L2 sees its memory at the same nested IPA (different VMIDs, different tables). */
const NESTED = 0x8000_0000n;
/** FEAT_TTL hint of L1's IPA TLBIs: 4K granule, level 3 (without it L0 must assume a block). */
const TTL_4K_L3 = 0b0111n << 44n;

export const nestedIpa = (page: number): bigint => NESTED + BigInt(page) * PAGE;
export const canonicalIpa = (page: number): bigint => POOL + BigInt(page) * PAGE;

// ------------------------------------------------------------------ the workload

export interface RevmapWorkloadOptions {
  seed: number;
  /** L2 guests L1 runs (VMIDs 1..n). */
  contexts: number;
  /** Pages of each L2's memory window. */
  nestedPages: number;
  /** L1 pages backing its guests; the ones not in use form L1's free list. */
  canonicalPages: number;
  ops: number;
  /** Mean number of operations L1 spends on one guest before switching to another. */
  burst: number;
}

export type L1Op =
  /** L2 of `ctx` accesses nested page `page` (a shadow fault if the shadow lacks it). */
  | { op: "touch"; ctx: number; page: number }
  /** L1 moves the page to canonical page `to` (the old one goes to its free list), then IPAS2E1IS. */
  | { op: "move"; ctx: number; page: number; to: number }
  /** L1 moves pages [first, +count) to `to`, then one RIPAS2E1IS over the range. */
  | { op: "moveRange"; ctx: number; first: number; to: (number | null)[] }
  /** L1 takes the page away from its guest (balloon), then IPAS2E1IS. */
  | { op: "drop"; ctx: number; page: number }
  /** L1 gives its guest a page again (invalid → valid needs no TLBI). */
  | { op: "give"; ctx: number; page: number; to: number }
  /** L1 invalidates the whole guest (VMALLS12E1IS), e.g. after rebuilding its tables. */
  | { op: "vmalls"; ctx: number }
  /** The host takes canonical page `canon` back from L1 (MMU notifier). */
  | { op: "hostUnmap"; canon: number };

export interface RevmapWorkload {
  options: RevmapWorkloadOptions;
  /** Each guest's initial map: nested page → canonical page. */
  initial: number[][];
  ops: L1Op[];
}

/** Relative weights of the operations (touches dominate, as they do in a running guest). */
const WEIGHTS: [L1Op["op"], number][] = [
  ["touch", 70],
  ["move", 10],
  ["moveRange", 2],
  ["drop", 3],
  ["give", 3],
  ["vmalls", 0.02],
  ["hostUnmap", 6],
];
const TOTAL_WEIGHT = WEIGHTS.reduce((s, [, w]) => s + w, 0);
const RANGE_PAGES = [2, 4, 8, 16];

/** L1's own view: what each guest maps and which of its pages are free. */
class L1Model {
  readonly maps: (number | null)[][];
  private readonly free: number[] = [];

  constructor(
    private readonly rng: SplitMix32,
    o: RevmapWorkloadOptions,
  ) {
    if (o.canonicalPages < o.contexts * o.nestedPages + RANGE_PAGES[RANGE_PAGES.length - 1]!) {
      throw new Error("revmap workload: the canonical pool must exceed what the guests map");
    }
    for (let i = 0; i < o.canonicalPages; i++) this.free.push(i);
    this.maps = Array.from({ length: o.contexts }, () => Array.from({ length: o.nestedPages }, () => this.alloc()));
  }

  /** A random free L1 page (freed pages are reused, as any allocator does). */
  alloc(): number {
    const i = this.rng.below(this.free.length);
    const p = this.free[i]!;
    this.free[i] = this.free[this.free.length - 1]!;
    this.free.pop();
    return p;
  }

  release(p: number): void {
    this.free.push(p);
  }

  /** A page L1 maps for `ctx` at or after a random start, else null. */
  mappedPage(ctx: number): number | null {
    const m = this.maps[ctx]!;
    const start = this.rng.below(m.length);
    for (let i = 0; i < m.length; i++) if (m[(start + i) % m.length] !== null) return (start + i) % m.length;
    return null;
  }

  droppedPage(ctx: number): number | null {
    const m = this.maps[ctx]!;
    const start = this.rng.below(m.length);
    for (let i = 0; i < m.length; i++) if (m[(start + i) % m.length] === null) return (start + i) % m.length;
    return null;
  }
}

/** The seeded operation sequence (depends on the options only, never on L0). */
export function generateWorkload(o: RevmapWorkloadOptions): RevmapWorkload {
  const rng = new SplitMix32(o.seed);
  const model = new L1Model(rng, o);
  const initial = model.maps.map((m) => m.map((p) => p!));
  const ops: L1Op[] = [];
  let ctx = 0;
  const uniform = () => rng.next() / 2 ** 32;
  while (ops.length < o.ops) {
    if (uniform() * o.burst < 1) ctx = rng.below(o.contexts);
    let pick = uniform() * TOTAL_WEIGHT;
    let kind: L1Op["op"] = "touch";
    for (const [k, w] of WEIGHTS) {
      if (pick < w) {
        kind = k;
        break;
      }
      pick -= w;
    }
    const map = model.maps[ctx]!;
    switch (kind) {
      case "touch": {
        const page = model.mappedPage(ctx);
        if (page !== null) ops.push({ op: "touch", ctx, page });
        break;
      }
      case "move": {
        const page = model.mappedPage(ctx);
        if (page === null) break;
        const to = model.alloc();
        model.release(map[page]!);
        map[page] = to;
        ops.push({ op: "move", ctx, page, to });
        break;
      }
      case "moveRange": {
        const count = RANGE_PAGES[rng.below(RANGE_PAGES.length)]!;
        const first = rng.below(o.nestedPages - count + 1);
        const to: (number | null)[] = [];
        for (let i = first; i < first + count; i++) {
          const old = map[i]!;
          if (old === null) {
            to.push(null);
            continue;
          }
          const p = model.alloc();
          model.release(old);
          map[i] = p;
          to.push(p);
        }
        ops.push({ op: "moveRange", ctx, first, to });
        break;
      }
      case "drop": {
        const page = model.mappedPage(ctx);
        if (page === null) break;
        model.release(map[page]!);
        map[page] = null;
        ops.push({ op: "drop", ctx, page });
        break;
      }
      case "give": {
        const page = model.droppedPage(ctx);
        if (page === null) break;
        const to = model.alloc();
        map[page] = to;
        ops.push({ op: "give", ctx, page, to });
        break;
      }
      case "vmalls":
        ops.push({ op: "vmalls", ctx });
        break;
      case "hostUnmap":
        ops.push({ op: "hostUnmap", canon: rng.below(o.canonicalPages) });
        break;
    }
  }
  return { options: o, initial, ops };
}

// ------------------------------------------------------------------ L0 running the workload

const tlbiIssOf = (name: string): number => {
  const op = tlbiByName(name);
  if (!op) throw new Error(`unknown TLBI ${name}`);
  return sysRegIss(1, op.op1, op.crn, op.crm, op.op2, 1, false);
};
const ISS_IPAS2E1IS = tlbiIssOf("IPAS2E1IS");
const ISS_RIPAS2E1IS = tlbiIssOf("RIPAS2E1IS");
const ISS_VMALLS12E1IS = tlbiIssOf("VMALLS12E1IS");

/** The RIPAS2E1IS operand for `pages` (even, ≤ 64) 4K pages from `ipa`: TG 4K, SCALE 0. */
function ripasOperand(ipa: bigint, pages: number): bigint {
  return (1n << 46n) | (BigInt(pages / 2 - 1) << 39n) | (ipa >> 12n);
}

/** What a canonical unmap found and did, beyond L0's own counters. */
export interface UnmapCost {
  /** Shadow leaves that really mapped the page (the only ones that had to go). */
  needed: number;
  /** Shadow leaves removed. */
  removed: number;
  /** MMUs the strategy visited. */
  visited: number;
  /** MMUs holding a leaf that had to go. */
  mmusNeeded: number;
  /** Revmap entries the unmap looked at in the MMUs it visited, and how many were stale. */
  examined: number;
  staleExamined: number;
  /** Visited MMUs emptied because a polluted range covered the page. */
  pollutedFullUnmaps: number;
  /** Visited MMUs emptied because their revmap was broken. */
  fallbackFullUnmaps: number;
}

/** Per-store failure injection: each revmap store fails with probability `rate`. */
export interface StoreFailures {
  rate: number;
  seed: number;
}

export class RevmapWorld {
  readonly kvm: Kvm;
  readonly vcpu: KvmVcpu;
  private readonly tables: L1Stage2[];
  private current = -1;
  private readonly failRng: SplitMix32 | null;
  /** Revmap stores attempted and made to fail. */
  storesAttempted = 0;
  storesFailed = 0;
  readonly unmaps: UnmapCost[] = [];
  /** Time spent measuring unmap costs (not L0's work), to leave out of timings. */
  measureNs = 0n;
  private readonly strategyVisits: boolean;

  constructor(
    readonly workload: RevmapWorkload,
    config: Partial<VmConfig>,
    private readonly failures: StoreFailures | null = null,
  ) {
    const o = workload.options;
    const memory = ((POOL - L1_RAM_BASE + BigInt(o.canonicalPages) * PAGE + 0xf_ffffn) >> 20n) << 20n;
    if (TABLES + BigInt(o.contexts) * TABLES_PER_GUEST > POOL) throw new Error("revmap workload: too many guest contexts");
    this.kvm = new Kvm({ memory, vcpus: 1, blocks: false, nestedMmus: o.contexts, ...config });
    this.vcpu = this.kvm.vcpus[0]!;
    this.vcpu.setHypCtxt(false);
    const slot = this.kvm.memslots[0]!;
    this.tables = workload.initial.map((m, ctx) => {
      const base = TABLES + BigInt(ctx) * TABLES_PER_GUEST;
      const s2 = new L1Stage2(slot, new L1TablePages(slot, base, base + TABLES_PER_GUEST));
      m.forEach((canon, page) => s2.map(nestedIpa(page), canonicalIpa(canon)));
      return s2;
    });
    this.failRng = failures ? new SplitMix32(failures.seed) : null;
    this.strategyVisits = this.kvm.config.unmap !== "full";
  }

  private setContext(ctx: number): void {
    useL1Stage2(this.vcpu, this.tables[ctx]!, ctx + 1);
  }

  /** L1 runs: the vCPU holds no shadow MMU. */
  private leaveL2(): void {
    if (this.vcpu.hwMmu) kvmVcpuPutHwMmu(this.vcpu);
    this.current = -1;
  }

  /** L1 enters the guest: its shadow MMU is looked up (or recycled and emptied). */
  private enterL2(ctx: number): KvmS2Mmu {
    if (this.current !== ctx) {
      this.leaveL2();
      enterL2(this.vcpu, this.tables[ctx]!, ctx + 1);
      this.current = ctx;
    }
    return this.vcpu.hwMmu!;
  }

  private tlbi(ctx: number, iss: number, xt: bigint): void {
    this.leaveL2();
    this.setContext(ctx);
    kvmHandleSysTlbi(this.vcpu, iss, xt);
  }

  apply(o: L1Op): void {
    switch (o.op) {
      case "touch": {
        const mmu = this.enterL2(o.ctx);
        const ipa = nestedIpa(o.page);
        if (mmu.pgt.getLeaf(ipa)) return; // a TLB/shadow hit: L0 never hears of it
        this.shadowFault(mmu, ipa);
        return;
      }
      case "move":
        this.tables[o.ctx]!.map(nestedIpa(o.page), canonicalIpa(o.to));
        this.tlbi(o.ctx, ISS_IPAS2E1IS, TTL_4K_L3 | (nestedIpa(o.page) >> 12n));
        return;
      case "moveRange": {
        o.to.forEach((to, i) => {
          if (to !== null) this.tables[o.ctx]!.map(nestedIpa(o.first + i), canonicalIpa(to));
        });
        this.tlbi(o.ctx, ISS_RIPAS2E1IS, ripasOperand(nestedIpa(o.first), o.to.length));
        return;
      }
      case "drop":
        this.tables[o.ctx]!.clear(nestedIpa(o.page));
        this.tlbi(o.ctx, ISS_IPAS2E1IS, TTL_4K_L3 | (nestedIpa(o.page) >> 12n));
        return;
      case "give":
        this.tables[o.ctx]!.map(nestedIpa(o.page), canonicalIpa(o.to));
        return;
      case "vmalls":
        this.tlbi(o.ctx, ISS_VMALLS12E1IS, 0n);
        return;
      case "hostUnmap":
        this.leaveL2();
        this.hostUnmap(canonicalIpa(o.canon));
        return;
    }
  }

  private shadowFault(mmu: KvmS2Mmu, ipa: bigint): void {
    const inject = this.failRng !== null && !revmapOf(mmu)?.broken && this.kvm.config.unmap !== "full";
    if (inject) {
      // This fault makes exactly one revmap store (the page is not shadowed): decide its fate.
      this.storesAttempted++;
      this.kvm.faultInject.storeFailures = this.failRng.next() / 2 ** 32 < this.failures!.rate ? 1 : 0;
    }
    kvmHandleGuestAbort(this.vcpu, s2Abort(ipa));
    if (inject && this.kvm.faultInject.storeFailures === 0 && revmapOf(mmu)?.broken) this.storesFailed++;
    // A fault that recorded nothing new (an identical stale range) made no store.
    else if (inject && this.kvm.faultInject.storeFailures === 1) this.storesAttempted--;
    this.kvm.faultInject.storeFailures = 0;
    if (this.kvm.metrics.faultsInjectedToL1 !== 0) throw new Error(`revmap workload: the fault at 0x${ipa.toString(16)} went to L1`);
  }

  /** The MMUs the strategy will visit for canonical [c, +4K). */
  private mmusToVisit(c: bigint): KvmS2Mmu[] {
    const kvm = this.kvm;
    const accel = accelOf(kvm);
    if (!accel) return kvm.nestedMmus.filter((m) => m.valid);
    let bits = 0n;
    for (const e of accel.tree?.intersecting(c, c + PAGE - 1n) ?? []) bits |= e.value;
    return accelBits(bits).flatMap((b) => accel.group(kvm, b)).filter((m) => m.valid);
  }

  private hostUnmap(c: bigint): void {
    const kvm = this.kvm;
    const t0 = process.hrtime.bigint();
    const cost: UnmapCost = { needed: 0, removed: 0, visited: 0, mmusNeeded: 0, examined: 0, staleExamined: 0, pollutedFullUnmaps: 0, fallbackFullUnmaps: 0 };
    for (const m of kvm.nestedMmus) {
      if (!m.valid) continue;
      let n = 0;
      for (const leaf of m.pgt.leaves()) {
        const origin = m.shadowOrigin.get(leaf.ipa);
        if (origin !== undefined && origin < c + PAGE && c < origin + leaf.size) n++;
      }
      cost.needed += n;
      if (n > 0) cost.mmusNeeded++;
    }
    if (this.strategyVisits) {
      for (const m of this.mmusToVisit(c)) {
        const r = revmapOf(m);
        if (r?.broken) {
          cost.fallbackFullUnmaps++;
          continue;
        }
        const hits = r?.revmap?.intersecting(c, c + PAGE - 1n) ?? [];
        cost.examined += hits.length;
        for (const e of hits) {
          if (isUnknownIpa(e.value)) cost.pollutedFullUnmaps++;
          else if (!revmapEntryLive(m, e.index as CanonicalIpa, e.last as CanonicalIpa, e.value)) cost.staleExamined++;
        }
      }
    }
    this.measureNs += process.hrtime.bigint() - t0;
    const before = kvm.metrics.shadowEntriesRemoved;
    kvmUnmapGfnRange(kvm, c, PAGE);
    cost.removed = kvm.metrics.shadowEntriesRemoved - before;
    cost.visited = kvm.metrics.shadowMmusVisited[kvm.metrics.shadowMmusVisited.length - 1] ?? 0;
    this.unmaps.push(cost);
  }
}

// ------------------------------------------------------------------ what the bookkeeping looks like now

export interface QualitySample {
  /** Operations done so far. */
  ops: number;
  /** Valid revmap ranges whose shadow leaf is gone. */
  staleEntries: number;
  /** Polluted (nested IPA unknown) ranges held now. */
  pollutedRanges: number;
  /** Shadow MMUs whose revmap is broken now. */
  brokenRevmaps: number;
  /** Ranges in all revmaps, and in all direct maps. */
  revmapEntries: number;
  directMapEntries: number;
  /** Shadow leaves in all MMUs (what the bookkeeping describes). */
  shadowLeaves: number;
  accelRanges: number;
  accelStaleBits: number;
  accelStaleRanges: number;
}

export function pollutedRanges(kvm: Kvm): number {
  let n = 0;
  for (const mmu of kvm.nestedMmus) for (const e of revmapOf(mmu)?.revmap?.entries() ?? []) if (isUnknownIpa(e.value)) n++;
  return n;
}

export function sampleQuality(kvm: Kvm, ops: number): QualitySample {
  let revmapEntries = 0;
  let directMapEntries = 0;
  let shadowLeaves = 0;
  let brokenRevmaps = 0;
  for (const m of kvm.nestedMmus) {
    const r = revmapOf(m);
    revmapEntries += r?.revmap?.size ?? 0;
    directMapEntries += r?.directMap?.size ?? 0;
    shadowLeaves += m.pgt.leafCount;
    if (r?.broken) brokenRevmaps++;
  }
  const accel = accelStale(kvm);
  return {
    ops,
    staleEntries: revmapStaleEntries(kvm),
    pollutedRanges: pollutedRanges(kvm),
    brokenRevmaps,
    revmapEntries,
    directMapEntries,
    shadowLeaves,
    accelRanges: accelOf(kvm)?.tree?.size ?? 0,
    accelStaleBits: accel.bits,
    accelStaleRanges: accel.ranges,
  };
}
