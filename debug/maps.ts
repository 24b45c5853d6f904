// The page tables of one VM as data for maps: each shadow MMU's leaves over the nested IPA space
// (with what L1's tables and the host backing say each should map), the canonical stage-2's leaves,
// the unmap strategy's records over the canonical space, and the memslots that bound it. Results
// are plain data (objects, arrays, bigints, strings, numbers, booleans) so they cross to another
// thread by structured clone; nothing here changes guest-visible state.

import type { CanonicalIpa, HostPa, NestedIpa } from "../hypervisor/addr.ts";
import { UART_BASE, UART_SIZE } from "../hypervisor/mmio.ts";
import { getVmid, type KvmS2Mmu } from "../hypervisor/nested.ts";
import { KVM_PHYS_SIZE, type Leaf } from "../hypervisor/pgtable.ts";
import type { RevmapRange, StrategyRecords } from "../hypervisor/unmap/strategy.ts";
import type { Kvm } from "../hypervisor/vm.ts";
import { DebugError } from "./errors.ts";
import { backingOf, walkL1Stage2Of } from "./memory.ts";
import { stage2Perms } from "./walk.ts";

/** One shadow stage-2 leaf, and what it should map by L1's tables and the host backing now. */
export interface ShadowLeaf {
  /** Nested IPA of the first byte (aligned to size). */
  nested: NestedIpa;
  size: bigint;
  /** Host PA the leaf maps its first byte to. */
  pa: HostPa;
  /** S2AP and XN as "RWX" ("-" for a missing permission). */
  perms: string;
  /** The shadow table's lookup level of the leaf. */
  level: number;
  /** L1's leaf level kept in the descriptor's SW1:SW0 (kvm_encode_nested_level); null when untagged (L1 stage-2 off). */
  l1Level: number | null;
  /** Canonical IPA of the first byte by L1's stage-2 of the MMU's context; null when L1 maps nothing there. */
  canonical: CanonicalIpa | null;
  /** Host PA backing that canonical page (the memslot's resident page); null when none. */
  backing: HostPa | null;
  /** Whether the leaf maps the backing (checked at its first byte); null without canonical and backing. */
  agrees: boolean | null;
  /** Not in the previous result, or different there (true for every leaf without one). */
  changed: boolean;
}

/** One leaf of the canonical stage-2 (kvm->arch.mmu). */
export interface CanonicalLeaf {
  ipa: CanonicalIpa;
  size: bigint;
  pa: HostPa;
  perms: string;
  level: number;
}

/** One shadow MMU's row, as `mmus` prints it. */
export interface MmuSummary {
  mmu: number;
  valid: boolean;
  /** VTTBR_EL2.VMID of the L1 context it shadows; null when invalid. */
  l1Vmid: number | null;
  hwVmid: number;
  refcnt: number;
  leaves: number;
  tablePages: number;
  /** tlb_vttbr: L1's VTTBR_EL2 without CnP (CnP set: invalid). */
  vttbr: bigint;
  /** tlb_vtcr: L1's VTCR_EL2. */
  vtcr: bigint;
  /** Indices of the vCPUs whose hardware stage-2 is this MMU now. */
  inUseBy: number[];
  /** "pending unmap", the strategy's notes ("revmap broken"), "L1 stage-2 off". */
  notes: string[];
}

/** One memslot: a canonical IPA range of L1 RAM. */
export interface RamRange {
  start: CanonicalIpa;
  last: CanonicalIpa;
  /** Pages resident in host memory now. */
  residentPages: number;
  /** Dirty logging is on (KVM_MEM_LOG_DIRTY_PAGES). */
  dirtyLogging: boolean;
}

/** What the canonical IPA space holds: L1's RAM and the emulated device. */
export interface MemoryLayout {
  /** Size of the canonical IPA space (and of the nested IPA space L0 accepts). */
  ipaSize: bigint;
  ram: RamRange[];
  mmio: { name: string; start: CanonicalIpa; last: CanonicalIpa }[];
}

/** Everything a map of the VM draws at one moment. */
export interface MapsData {
  layout: MemoryLayout;
  mmus: MmuSummary[];
  /** Per shadow MMU, by index: its leaves. */
  shadows: ShadowLeaf[][];
  canonical: CanonicalLeaf[];
  records: StrategyRecords;
  /**
   * Per shadow MMU, by index: the leaves of `previous` with no leaf at their nested IPA now (an
   * unmap, L1's TLBI or a recycle took them), as they were there. A leaf replaced at the same
   * nested IPA is `changed` in `shadows` instead. Empty without `previous`.
   */
  removed: ShadowLeaf[][];
  /** Per shadow MMU, by index: the revmap ranges of `previous` (same start, last, nested IPA) gone now. */
  removedRevmap: RevmapRange[][];
}

/**
 * The canonical IPA of nested IPAs as an MMU's L1 stage-2 gives them, one walk per L1 leaf: the
 * shadow leaves come in IPA order, and those inside the L1 leaf walked last are translated by
 * its offset.
 */
class L1Stage2Cache {
  private base = -1n;
  private size = 0n;
  private canonical = 0n;

  constructor(private readonly mmu: KvmS2Mmu) {}

  canonicalOf(nested: bigint): bigint | null {
    if (nested >= this.base && nested < this.base + this.size) return this.canonical + (nested - this.base);
    const w = walkL1Stage2Of(this.mmu, nested);
    if (w.output === null) return null;
    // Off: identity over the whole space.
    this.size = w.size ?? KVM_PHYS_SIZE;
    this.base = w.size === null ? 0n : nested & ~(w.size - 1n);
    this.canonical = w.output - (nested - this.base);
    return w.output;
  }
}

/** The nested MMU at `index`, or a DebugError. */
function nestedMmu(kvm: Kvm, index: number): KvmS2Mmu {
  const mmu = kvm.nestedMmus[index];
  if (!mmu) throw new DebugError(`no shadow MMU ${index} (there are ${kvm.nestedMmus.length}: mmu0..mmu${kvm.nestedMmus.length - 1})`);
  return mmu;
}

/** SW1:SW0 of a shadow leaf as L1's leaf level; 0 is no tag. */
function l1LevelOf(leaf: Leaf): number | null {
  const tag = leaf.sw & 3;
  return tag === 0 ? null : tag;
}

function sameLeaf(a: ShadowLeaf, b: ShadowLeaf): boolean {
  return a.size === b.size && a.pa === b.pa && a.perms === b.perms && a.level === b.level && a.l1Level === b.l1Level &&
    a.canonical === b.canonical && a.backing === b.backing;
}

/**
 * The leaves of shadow MMU `mmuIndex`, in nested IPA order. With `previous` (an earlier result for
 * the same MMU), `changed` marks the leaves that are new or differ from it.
 */
export function shadowLeaves(kvm: Kvm, mmuIndex: number, previous?: readonly ShadowLeaf[]): ShadowLeaf[] {
  const mmu = nestedMmu(kvm, mmuIndex);
  const before = new Map<bigint, ShadowLeaf>();
  for (const p of previous ?? []) before.set(p.nested, p);
  const l1 = new L1Stage2Cache(mmu);
  const out: ShadowLeaf[] = [];
  for (const leaf of mmu.pgt.leaves()) {
    const canonical = l1.canonicalOf(leaf.ipa);
    const backing = canonical === null ? null : backingOf(kvm, canonical);
    const l: ShadowLeaf = {
      nested: leaf.ipa as NestedIpa,
      size: leaf.size,
      pa: leaf.pa,
      perms: stage2Perms(leaf.desc),
      level: leaf.level,
      l1Level: l1LevelOf(leaf),
      canonical: canonical as CanonicalIpa | null,
      backing: backing as HostPa | null,
      agrees: backing === null ? null : backing === leaf.pa,
      changed: true,
    };
    const p = before.get(l.nested);
    l.changed = p === undefined || !sameLeaf(p, l);
    out.push(l);
  }
  return out;
}

/** The notes of an MMU's row that hold whichever vCPU looks at it. */
function mmuNotes(mmu: KvmS2Mmu): string[] {
  const notes: string[] = [];
  if (mmu.pendingUnmap) notes.push("pending unmap");
  notes.push(...mmu.kvm.unmap.mmuNotes(mmu));
  if (mmu.valid && !mmu.nestedStage2Enabled) notes.push("L1 stage-2 off");
  return notes;
}

/** Every shadow MMU: the L1 context it shadows, its VMIDs, refcount, size, users and notes. */
export function mmuSummaries(kvm: Kvm): MmuSummary[] {
  return kvm.nestedMmus.map((mmu) => ({
    mmu: mmu.index,
    valid: mmu.valid,
    l1Vmid: mmu.valid ? getVmid(mmu.tlbVttbr) : null,
    hwVmid: mmu.hwVmid,
    refcnt: mmu.refcnt,
    leaves: mmu.pgt.leafCount,
    tablePages: mmu.pgt.tablePages,
    vttbr: mmu.tlbVttbr,
    vtcr: mmu.tlbVtcr,
    inUseBy: kvm.vcpus.filter((v) => v.hwMmu === mmu).map((v) => v.index),
    notes: mmuNotes(mmu),
  }));
}

/** The canonical stage-2's leaves, in canonical IPA order. */
export function canonicalLeaves(kvm: Kvm): CanonicalLeaf[] {
  return [...kvm.mmu.pgt.leaves()].map((leaf) => ({
    ipa: leaf.ipa as CanonicalIpa,
    size: leaf.size,
    pa: leaf.pa,
    perms: stage2Perms(leaf.desc),
    level: leaf.level,
  }));
}

/** What the unmap strategy records (reverse maps, direct maps, accelerator). */
export function strategyRecords(kvm: Kvm): StrategyRecords {
  return kvm.unmap.records(kvm);
}

/** L1's RAM (the memslots) and the UART in the canonical IPA space. */
export function memoryLayout(kvm: Kvm): MemoryLayout {
  return {
    ipaSize: KVM_PHYS_SIZE,
    ram: kvm.memslots.map((slot) => ({
      start: slot.base as CanonicalIpa,
      last: (slot.end - 1n) as CanonicalIpa,
      residentPages: slot.residentPages,
      dirtyLogging: slot.dirtyBitmap !== null,
    })),
    mmio: [{ name: "uart", start: UART_BASE as CanonicalIpa, last: (UART_BASE + UART_SIZE - 1n) as CanonicalIpa }],
  };
}

/**
 * The leaves of `previous` that `current` has no leaf for at the same nested IPA. Keyed like
 * `changed` so a leaf is either changed or removed, never both.
 */
export function removedLeaves(previous: readonly ShadowLeaf[], current: readonly ShadowLeaf[]): ShadowLeaf[] {
  const now = new Set(current.map((l) => l.nested));
  return previous.filter((l) => !now.has(l.nested));
}

/** A revmap range's identity: a stale flag flipping keeps the range; another start, end or target is another range. */
const revmapKey = (r: RevmapRange): string => `${r.start}:${r.last}:${r.nested ?? "polluted"}`;

/** The ranges of `previous` that `current` no longer holds. */
export function removedRevmapRanges(previous: readonly RevmapRange[], current: readonly RevmapRange[]): RevmapRange[] {
  const now = new Set(current.map(revmapKey));
  return previous.filter((r) => !now.has(revmapKey(r)));
}

/** Everything at once; with `previous`, each MMU's leaves and revmap are compared with its own there. */
export function mapsData(kvm: Kvm, previous?: MapsData): MapsData {
  const shadows = kvm.nestedMmus.map((m) => shadowLeaves(kvm, m.index, previous?.shadows[m.index]));
  const records = strategyRecords(kvm);
  return {
    layout: memoryLayout(kvm),
    mmus: mmuSummaries(kvm),
    shadows,
    canonical: canonicalLeaves(kvm),
    records,
    removed: shadows.map((leaves, i) => removedLeaves(previous?.shadows[i] ?? [], leaves)),
    removedRevmap: records.mmus.map((r) => removedRevmapRanges(previous?.records.mmus[r.mmu]?.revmap ?? [], r.revmap ?? [])),
  };
}
