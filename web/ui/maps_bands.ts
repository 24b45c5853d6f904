// What each band of the maps shows, as data: the items over one address space with their tone,
// marks, tooltip and click target. The nested IPA panel has one band per shadow MMU (its leaves,
// coloured by whether they still map what L1 and the host backing say) and the direct maps; the
// canonical panel has L1's RAM, the canonical stage-2, each MMU's leaves placed at their canonical
// IPA next to its revmap (so a stale or missing record shows as a gap or an orphan), and the
// accelerator's ranges. What the previous maps had and these lack (leaves an unmap or L1's TLBI
// took, revmap ranges dropped with them) stays as ghosts, so a stop shows what it took away.
// Drawing is the view's business; this module decides what there is to see.

import type { CanonicalLeaf, MapsData, MmuSummary, ShadowLeaf } from "../../debug/maps.ts";
import type { AccelRange, DirectMapRange, RevmapRange } from "../../hypervisor/unmap/strategy.ts";
import { hex } from "./address.ts";
import { formatSize } from "./maps_format.ts";
import type { AddressLink, Space } from "./translation_spaces.ts";

/** The colour class of an item (views.css names the colours: --maps-<tone>). */
export type Tone = "agrees" | "disagrees" | "unknown" | "revmap" | "polluted" | "accel" | "direct" | "canonical" | "ram" | "mmio" | "removed";

export interface BandItem {
  start: bigint;
  /** Inclusive. */
  last: bigint;
  tone: Tone;
  /** Drawn outlined: the leaf is new or changed since the previous maps. */
  outline: boolean;
  /** Drawn as a dashed outline over a faint fill: gone since the previous maps. */
  ghost: boolean;
  /** Drawn hatched: a polluted revmap range (its nested IPAs are unknown). */
  hatch: boolean;
  /** Drawn crossed: a stale record (nothing it points at remains). */
  stale: boolean;
  /** A tick on top: L1 maps this with a leaf of another level than the shadow's (text for the tooltip). */
  tick: string | null;
  /** Short text drawn inside when it fits. */
  label: string;
  /** The hover text, made when hovered: a map has thousands of items and few are ever hovered. */
  tooltip: () => string[];
  click: AddressLink | null;
}

export interface Band {
  /** Stable key ("shadow-0", "revmap-1", "accel"): the view keeps its canvas across updates by it. */
  key: string;
  title: string;
  /** The band's one-line summary (the MMU's VMIDs, refcount, users; the strategy). */
  detail: string;
  space: Space;
  items: BandItem[];
  /** Dimmed: an invalid MMU. */
  inactive: boolean;
}

const hexRange = (start: bigint, last: bigint): string => `${hex(start)}..${hex(last)}`;

function item(start: bigint, last: bigint, tone: Tone, label: string, tooltip: () => string[], click: AddressLink | null): BandItem {
  return { start, last, tone, outline: false, ghost: false, hatch: false, stale: false, tick: null, label, tooltip, click };
}

export function mmuDetail(m: MmuSummary): string {
  if (!m.valid) return `mmu${m.mmu}: invalid (hw VMID ${m.hwVmid})`;
  const users = m.inUseBy.length === 0 ? "not in use" : `in use by vCPU ${m.inUseBy.join(", ")}`;
  const notes = m.notes.length === 0 ? "" : `, ${m.notes.join(", ")}`;
  return `mmu${m.mmu}: L1 VMID ${m.l1Vmid ?? "-"}, hw VMID ${m.hwVmid}, refcnt ${m.refcnt}, ${m.leaves} leaves, ${users}${notes}`;
}

function verdictTone(agrees: boolean | null): Tone {
  return agrees === null ? "unknown" : agrees ? "agrees" : "disagrees";
}

function verdictText(l: ShadowLeaf): string {
  if (l.agrees === null) return "verdict: unknown (L1 maps nothing there, or the page is not resident)";
  return l.agrees ? "agrees with L1 + host backing" : `DISAGREES (stale): L1 + host backing give ${l.backing === null ? "nothing" : hex(l.backing)}`;
}

/** L1 maps the page with a leaf of another level (a block L0 split, or backed by a smaller page). */
function levelTick(l: ShadowLeaf): string | null {
  if (l.l1Level === null || l.l1Level === l.level) return null;
  return `L1 leaf level ${l.l1Level}, shadow level ${l.level}`;
}

export function shadowLeafTooltip(mmu: number, l: ShadowLeaf): string[] {
  return [
    `mmu${mmu} shadow leaf ${formatSize(l.size)} ${l.perms}`,
    `nested IPA ${hexRange(l.nested, l.nested + l.size - 1n)}`,
    `host PA ${hex(l.pa)}`,
    `level ${l.level}${l.l1Level === null ? "" : `, L1's leaf level ${l.l1Level}`}`,
    `canonical IPA ${l.canonical === null ? "none (L1 maps nothing)" : hex(l.canonical)}`,
    verdictText(l),
    ...(l.changed ? ["new or changed since the previous maps"] : []),
  ];
}

/** A shadow leaf over the nested IPA space; a click shows the nested IPA's translation. */
export function shadowLeafItem(mmu: number, l: ShadowLeaf): BandItem {
  const it = item(l.nested, l.nested + l.size - 1n, verdictTone(l.agrees), formatSize(l.size), () => shadowLeafTooltip(mmu, l), { space: "nipa", addr: l.nested });
  it.outline = l.changed;
  it.tick = levelTick(l);
  return it;
}

/** The same leaf placed at the canonical IPA L1 maps it to (none when L1 maps nothing there). */
export function shadowLeafAtCanonical(mmu: number, l: ShadowLeaf): BandItem | null {
  if (l.canonical === null) return null;
  const it = item(l.canonical, l.canonical + l.size - 1n, verdictTone(l.agrees), formatSize(l.size), () => shadowLeafTooltip(mmu, l), { space: "nipa", addr: l.nested });
  it.outline = l.changed;
  return it;
}

const REMOVED = "removed since the last stop";

export function removedLeafTooltip(mmu: number, l: ShadowLeaf): string[] {
  return [
    `mmu${mmu} shadow leaf ${formatSize(l.size)} ${l.perms}: ${REMOVED}`,
    `nested IPA ${hexRange(l.nested, l.nested + l.size - 1n)}`,
    `mapped host PA ${hex(l.pa)}`,
    `canonical IPA ${l.canonical === null ? "none (L1 mapped nothing)" : hex(l.canonical)}`,
  ];
}

/** A ghost: the leaf as the previous maps had it; a click shows what the nested IPA translates to now. */
export function removedLeafItem(mmu: number, l: ShadowLeaf): BandItem {
  return ghost(item(l.nested, l.nested + l.size - 1n, "removed", "", () => removedLeafTooltip(mmu, l), { space: "nipa", addr: l.nested }));
}

/** The ghost at the canonical IPA L1 mapped the leaf to (none when it mapped nothing). */
export function removedLeafAtCanonical(mmu: number, l: ShadowLeaf): BandItem | null {
  if (l.canonical === null) return null;
  return ghost(item(l.canonical, l.canonical + l.size - 1n, "removed", "", () => removedLeafTooltip(mmu, l), { space: "nipa", addr: l.nested }));
}

export function removedRevmapItem(mmu: number, r: RevmapRange): BandItem {
  const tooltip = (): string[] => [...revmapTooltip(mmu, r), REMOVED];
  return ghost(item(r.start, r.last, "removed", "", tooltip, { space: "ipa", addr: r.start }));
}

function ghost(it: BandItem): BandItem {
  it.ghost = true;
  return it;
}

/** ", 3 removed since the last stop", or nothing. */
function removedNote(n: number): string {
  return n === 0 ? "" : `, ${n} ${REMOVED}`;
}

export function revmapTooltip(mmu: number, r: RevmapRange): string[] {
  const what = r.nested === null ? "polluted: nested IPAs unknown" : `nested IPA ${hex(r.nested)} onwards`;
  const lines = [`mmu${mmu} revmap`, `canonical ${hexRange(r.start, r.last)} (${formatSize(r.last - r.start + 1n)})`, what];
  if (r.stale) lines.push("stale: no shadow leaf built from it remains");
  return lines;
}

export function revmapItem(mmu: number, r: RevmapRange): BandItem {
  const polluted = r.nested === null;
  const it = item(r.start, r.last, polluted ? "polluted" : "revmap", polluted ? "polluted" : "", () => revmapTooltip(mmu, r), { space: "ipa", addr: r.start });
  it.hatch = polluted;
  it.stale = r.stale;
  return it;
}

export function directMapItem(mmu: number, d: DirectMapRange): BandItem {
  const tooltip = (): string[] => [`mmu${mmu} direct map`, `nested ${hexRange(d.start, d.last)}`, `→ canonical ${hex(d.canonical)} onwards`];
  return item(d.start, d.last, "direct", "", tooltip, { space: "nipa", addr: d.start });
}

/** "bit 2 (mmu0,mmu1)", the debugger's words for a group. */
export function accelGroupLabel(g: { bit: number; mmus: number[] }): string {
  return `bit ${g.bit} (${g.mmus.map((m) => `mmu${m}`).join(",")})`;
}

export function accelItem(r: AccelRange): BandItem {
  const label = r.bits.map(accelGroupLabel).join(", ");
  const tooltip = (): string[] => [
    "accelerator",
    `canonical ${hexRange(r.start, r.last)} (${formatSize(r.last - r.start + 1n)})`,
    `value ${hex(r.value)}`,
    ...r.bits.map((g) => accelGroupLabel(g) + (g.stale ? " stale" : "")),
  ];
  const it = item(r.start, r.last, "accel", label, tooltip, { space: "ipa", addr: r.start });
  it.stale = r.bits.length > 0 && r.bits.every((g) => g.stale);
  return it;
}

export function canonicalLeafItem(l: CanonicalLeaf): BandItem {
  const tooltip = (): string[] => [`canonical stage-2 leaf ${formatSize(l.size)} ${l.perms}`, `canonical IPA ${hexRange(l.ipa, l.ipa + l.size - 1n)}`, `host PA ${hex(l.pa)}`, `level ${l.level}`];
  return item(l.ipa, l.ipa + l.size - 1n, "canonical", formatSize(l.size), tooltip, { space: "ipa", addr: l.ipa });
}

/** The bands over the nested IPA space: each MMU's shadow leaves, and its direct map when it keeps one. */
export function nestedBands(data: MapsData): Band[] {
  const bands: Band[] = [];
  for (const m of data.mmus) {
    const leaves = data.shadows[m.mmu] ?? [];
    const removed = data.removed[m.mmu] ?? [];
    bands.push({
      key: `shadow-${m.mmu}`,
      title: `mmu${m.mmu} shadow`,
      detail: mmuDetail(m) + removedNote(removed.length),
      space: "nipa",
      // Ghosts first: a live leaf now covering the same addresses is drawn over them.
      items: [...removed.map((l) => removedLeafItem(m.mmu, l)), ...leaves.map((l) => shadowLeafItem(m.mmu, l))],
      inactive: !m.valid,
    });
    const direct = data.records.mmus[m.mmu]?.directMap ?? [];
    if (direct.length > 0) {
      bands.push({ key: `direct-${m.mmu}`, title: `mmu${m.mmu} direct map`, detail: `mmu${m.mmu}: nested IPA → canonical`, space: "nipa", items: direct.map((d) => directMapItem(m.mmu, d)), inactive: !m.valid });
    }
  }
  return bands;
}

function ramBand(data: MapsData): Band {
  const ram = data.layout.ram.map((r) => {
    const tooltip = (): string[] => [`L1 RAM ${hexRange(r.start, r.last)} (${formatSize(r.last - r.start + 1n)})`, `${r.residentPages} pages resident`, ...(r.dirtyLogging ? ["dirty logging on"] : [])];
    return item(r.start, r.last, "ram", "L1 RAM", tooltip, { space: "ipa", addr: r.start });
  });
  const mmio = data.layout.mmio.map((d) => item(d.start, d.last, "mmio", d.name, () => [`${d.name} ${hexRange(d.start, d.last)}`], null));
  return { key: "layout", title: "memory layout", detail: "L1 RAM (memslots) and devices", space: "ipa", items: [...ram, ...mmio], inactive: false };
}

/** The bands over the canonical IPA space: layout, canonical stage-2, per MMU its leaves and revmap, the accelerator. */
export function canonicalBands(data: MapsData): Band[] {
  const strategy = data.records.strategy;
  const bands: Band[] = [
    ramBand(data),
    { key: "canonical", title: "canonical stage-2", detail: `canonical stage-2: ${data.canonical.length} leaves`, space: "ipa", items: data.canonical.map(canonicalLeafItem), inactive: false },
  ];
  for (const m of data.mmus) {
    const ghosts = (data.removed[m.mmu] ?? []).map((l) => removedLeafAtCanonical(m.mmu, l));
    const live = (data.shadows[m.mmu] ?? []).map((l) => shadowLeafAtCanonical(m.mmu, l));
    const leaves = [...ghosts, ...live].filter((i): i is BandItem => i !== null);
    bands.push({ key: `leaves-${m.mmu}`, title: `mmu${m.mmu} leaves`, detail: `${mmuDetail(m)}; leaves placed at the canonical IPA L1 maps them to`, space: "ipa", items: leaves, inactive: !m.valid });
    const rec = data.records.mmus[m.mmu];
    if (rec === undefined) continue;
    const state = rec.revmap === null ? "no revmap" : `${rec.revmap.length} ranges`;
    bands.push({
      key: `revmap-${m.mmu}`,
      title: `mmu${m.mmu} revmap${rec.broken ? " (broken)" : ""}`,
      detail: `mmu${m.mmu} revmap (${strategy}): ${state}${rec.broken ? ", broken: full unmap until recycled" : ""}`,
      space: "ipa",
      items: [...(data.removedRevmap[m.mmu] ?? []).map((r) => removedRevmapItem(m.mmu, r)), ...(rec.revmap ?? []).map((r) => revmapItem(m.mmu, r))],
      inactive: !m.valid,
    });
  }
  const accel = data.records.accel;
  if (accel !== null) {
    bands.push({ key: "accel", title: "accelerator", detail: `accelerator: ${accel.mmusPerBit} MMUs per bit, ${accel.ranges.length} ranges`, space: "ipa", items: accel.ranges.map(accelItem), inactive: false });
  }
  return bands;
}

/** Leaves gone from every shadow MMU since the previous maps. */
export function removedCount(data: MapsData): number {
  return data.removed.reduce((n, l) => n + l.length, 0);
}

/** The line over the maps: the strategy, MMUs, leaves, how many disagree and how many went. */
export function mapsSummary(data: MapsData): { text: string; stale: number } {
  const leaves = data.shadows.reduce((n, l) => n + l.length, 0);
  const stale = data.shadows.reduce((n, l) => n + l.filter((x) => x.agrees === false).length, 0);
  const valid = data.mmus.filter((m) => m.valid).length;
  const text = `strategy ${data.records.strategy}: ${valid} of ${data.mmus.length} shadow MMUs valid, ${leaves} shadow leaves, ${stale} disagreeing${removedNote(removedCount(data))}, ${data.canonical.length} canonical stage-2 leaves`;
  return { text, stale };
}

/** What a fit shows: every item but the memory layout's (the RAM spans far more than the leaves do). */
export function fitRanges(bands: readonly Band[]): { start: bigint; last: bigint }[] {
  return bands.filter((b) => b.key !== "layout").flatMap((b) => b.items);
}
