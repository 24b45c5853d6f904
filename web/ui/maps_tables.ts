// The maps as tables under the canvases: every shadow leaf, revmap range, accelerator range,
// direct-map range and canonical leaf as a row, for readers who want numbers, for keyboards and
// screen readers, and for browser tests (rows carry data-* attributes and a click follows the
// row's address exactly as a click on its drawn range does). Rows hold no other links, so a
// click anywhere on one does one thing. What the previous maps had and these lack is listed among
// the live rows, struck through, under its own class so that counting live rows never counts it.

import type { CanonicalLeaf, MapsData, ShadowLeaf } from "../../debug/maps.ts";
import type { AccelRange, DirectMapRange, RevmapRange } from "../../hypervisor/unmap/strategy.ts";
import { hex, type AddressClick } from "./address.ts";
import { el } from "./dom.ts";
import { accelGroupLabel, mmuDetail } from "./maps_bands.ts";
import { formatSize } from "./maps_format.ts";
import type { AddressLink } from "./translation_spaces.ts";

/** Rows per table; past it a last row says how many more there are. */
export const MAX_ROWS = 2000;

interface RowSpec {
  className: string;
  data: Record<string, string>;
  cells: string[];
  link: AddressLink;
  title: string;
}

const range = (start: bigint, last: bigint): string => `${hex(start)}..${hex(last)}`;

function verdict(agrees: boolean | null): string {
  return agrees === null ? "unknown" : agrees ? "agrees" : "DISAGREES";
}

function row(spec: RowSpec, onAddress: AddressClick): HTMLTableRowElement {
  const tr = el("tr", { className: spec.className, title: spec.title }, ...spec.cells.map((text) => el("td", { text })));
  Object.assign(tr.dataset, spec.data);
  tr.tabIndex = 0;
  const go = (): void => onAddress(spec.link.space, spec.link.addr, spec.link.level);
  tr.addEventListener("click", go);
  tr.addEventListener("keydown", (e) => {
    if (e.key === "Enter") go();
  });
  return tr;
}

function table(className: string, caption: string, headings: string[], rows: RowSpec[], onAddress: AddressClick): HTMLElement {
  const body = el("tbody", {}, ...rows.slice(0, MAX_ROWS).map((r) => row(r, onAddress)));
  if (rows.length > MAX_ROWS) {
    const more = el("td", { text: `… ${rows.length - MAX_ROWS} more` });
    more.colSpan = headings.length;
    body.append(el("tr", { className: "maps-more" }, more));
  }
  if (rows.length === 0) {
    const none = el("td", { text: "(none)" });
    none.colSpan = headings.length;
    body.append(el("tr", { className: "maps-none" }, none));
  }
  const head = el("thead", {}, el("tr", {}, ...headings.map((text) => el("th", { text }))));
  return el("table", { className: `maps-table ${className}` }, el("caption", { text: caption }), head, body);
}

/** A shadow leaf's columns, the last one `last` (its verdict, or that it went). */
function leafCells(l: ShadowLeaf, last: string): string[] {
  return [
    range(l.nested, l.nested + l.size - 1n),
    formatSize(l.size),
    hex(l.pa),
    l.perms,
    `${l.level}${l.l1Level === null ? "" : ` / L1 ${l.l1Level}`}`,
    l.canonical === null ? "-" : hex(l.canonical),
    last,
  ];
}

export function shadowLeafRow(mmu: number, l: ShadowLeaf): RowSpec {
  return {
    className: "shadow-leaf",
    data: {
      mmu: String(mmu),
      nested: hex(l.nested),
      agrees: l.agrees === null ? "unknown" : String(l.agrees),
      changed: String(l.changed),
    },
    cells: leafCells(l, verdict(l.agrees)),
    link: { space: "nipa", addr: l.nested },
    title: "show the translation of this nested IPA",
  };
}

/** A leaf gone since the previous maps, as it was; the click shows what the nested IPA gives now. */
export function removedLeafRow(mmu: number, l: ShadowLeaf): RowSpec {
  return {
    className: "shadow-leaf-removed",
    data: { mmu: String(mmu), nested: hex(l.nested) },
    cells: leafCells(l, "removed"),
    link: { space: "nipa", addr: l.nested },
    title: "removed since the last stop: show the translation of this nested IPA now",
  };
}

/** Rows keyed by address in address order; the sort is stable, so at one address live rows stay first. */
function byAddress(rows: { at: bigint; row: RowSpec }[]): RowSpec[] {
  rows.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  return rows.map((r) => r.row);
}

/** Live and removed leaves by nested IPA, so a removed one sits where it was. */
export function shadowTableRows(mmu: number, live: readonly ShadowLeaf[], removed: readonly ShadowLeaf[]): RowSpec[] {
  return byAddress([...live.map((l) => ({ at: l.nested, row: shadowLeafRow(mmu, l) })), ...removed.map((l) => ({ at: l.nested, row: removedLeafRow(mmu, l) }))]);
}

/** A revmap range's columns, the last one saying what became of it. */
function revmapCells(mmu: number, r: RevmapRange, verdict: string): string[] {
  return [`mmu${mmu}`, range(r.start, r.last), formatSize(r.last - r.start + 1n), r.nested === null ? "polluted" : hex(r.nested), verdict];
}

export function revmapRow(mmu: number, r: RevmapRange): RowSpec {
  return {
    className: "revmap-range",
    data: { mmu: String(mmu), start: hex(r.start), stale: String(r.stale), polluted: String(r.nested === null) },
    cells: revmapCells(mmu, r, r.stale ? "stale" : ""),
    link: { space: "ipa", addr: r.start },
    title: "show the translation of this canonical IPA",
  };
}

export function removedRevmapRow(mmu: number, r: RevmapRange): RowSpec {
  return {
    className: "revmap-range-removed",
    data: { mmu: String(mmu), start: hex(r.start) },
    cells: revmapCells(mmu, r, "removed"),
    link: { space: "ipa", addr: r.start },
    title: "removed since the last stop: show the translation of this canonical IPA now",
  };
}

/** One MMU's live and removed revmap ranges by canonical IPA. */
export function revmapTableRows(mmu: number, live: readonly RevmapRange[], removed: readonly RevmapRange[]): RowSpec[] {
  return byAddress([...live.map((r) => ({ at: r.start, row: revmapRow(mmu, r) })), ...removed.map((r) => ({ at: r.start, row: removedRevmapRow(mmu, r) }))]);
}

export function accelRow(r: AccelRange): RowSpec {
  return {
    className: "accel-range",
    data: { start: hex(r.start), bits: r.bits.map((g) => g.bit).join(",") },
    cells: [range(r.start, r.last), formatSize(r.last - r.start + 1n), hex(r.value), r.bits.map((g) => accelGroupLabel(g) + (g.stale ? " stale" : "")).join(", ")],
    link: { space: "ipa", addr: r.start },
    title: "show the translation of this canonical IPA",
  };
}

export function directMapRow(mmu: number, d: DirectMapRange): RowSpec {
  return {
    className: "direct-range",
    data: { mmu: String(mmu), start: hex(d.start) },
    cells: [`mmu${mmu}`, range(d.start, d.last), formatSize(d.last - d.start + 1n), hex(d.canonical)],
    link: { space: "nipa", addr: d.start },
    title: "show the translation of this nested IPA",
  };
}

export function canonicalLeafRow(l: CanonicalLeaf): RowSpec {
  return {
    className: "canonical-leaf",
    data: { ipa: hex(l.ipa) },
    cells: [range(l.ipa, l.ipa + l.size - 1n), formatSize(l.size), hex(l.pa), l.perms, String(l.level)],
    link: { space: "ipa", addr: l.ipa },
    title: "show the translation of this canonical IPA",
  };
}

/** Every table of the maps, in the order of the bands. */
export function mapsTables(data: MapsData, onAddress: AddressClick): HTMLElement[] {
  const out: HTMLElement[] = [];
  for (const m of data.mmus) {
    const leaves = shadowTableRows(m.mmu, data.shadows[m.mmu] ?? [], data.removed[m.mmu] ?? []);
    const t = table("maps-shadow-table", mmuDetail(m), ["nested IPA", "size", "host PA", "perms", "level", "canonical", "verdict"], leaves, onAddress);
    t.dataset.mmu = String(m.mmu);
    out.push(t);
  }
  const direct = data.records.mmus.flatMap((r) => r.directMap.map((d) => directMapRow(r.mmu, d)));
  if (direct.length > 0) out.push(table("maps-direct-table", "direct maps (nested IPA → canonical)", ["mmu", "nested IPA", "size", "canonical"], direct, onAddress));
  const revmap = data.records.mmus.flatMap((r) => revmapTableRows(r.mmu, r.revmap ?? [], data.removedRevmap[r.mmu] ?? []));
  out.push(table("maps-revmap-table", `revmap ranges (${data.records.strategy})`, ["mmu", "canonical", "size", "nested IPA", ""], revmap, onAddress));
  const accel = data.records.accel;
  if (accel !== null) {
    out.push(table("maps-accel-table", `accelerator (${accel.mmusPerBit} MMUs per bit)`, ["canonical", "size", "value", "bits"], accel.ranges.map(accelRow), onAddress));
  }
  out.push(table("maps-canonical-table", "canonical stage-2 leaves", ["canonical IPA", "size", "host PA", "perms", "level"], data.canonical.map(canonicalLeafRow), onAddress));
  // Long tables scroll inside their box, not the page.
  return out.map((t) => el("div", { className: "maps-table-box" }, t));
}
