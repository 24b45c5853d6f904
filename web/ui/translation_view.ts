// The translation of one guest address drawn as boxes: the chain of address spaces and stages top
// to bottom (each descriptor decoded, every address a link into its own space), and beside it what
// each shadow MMU maps there with its verdict, and the revmap/accelerator records. The text `pt`
// prints stays available under it, folded, so a reader (or a test) can compare.

import type { TranslationReport } from "../../debug/translate.ts";
import { addressLink, type AddressClick } from "./address.ts";
import { el } from "./dom.ts";
import { reportStart, translationChain, type AddressBox, type StageBox, type StepBox } from "./translation_layout.ts";
import { recordParts } from "./translation_records.ts";
import { shadowBoxes, type ShadowBox } from "./translation_shadows.ts";
import type { AddressLink } from "./translation_spaces.ts";

export function renderTranslation(root: HTMLElement, report: TranslationReport, onAddress: AddressClick): void {
  // Keep the folded text open across redraws if the reader opened it.
  const textOpen = root.querySelector<HTMLDetailsElement>("details.tr-text")?.open ?? false;
  const link = (l: AddressLink): HTMLElement => addressLink(l.space, l.addr, onAddress, l.level);
  const chain = el("div", { className: "tr-chain" });
  translationChain(report).forEach((box, i) => {
    if (i > 0) chain.append(el("div", { className: "tr-arrow", text: "↓" }));
    chain.append(box.kind === "address" ? addressView(box, link) : stageView(box, link));
  });
  if (report.canonical !== null) chain.append(el("div", { className: "tr-backing", text: `L1 RAM: ${report.backing}` }));
  const side = el("aside", { className: "tr-side" }, shadowsView(report, link), recordsView(report, link));
  const text = el("details", { className: "tr-text" }, el("summary", { text: "as pt prints it" }), el("pre", { text: report.text }));
  text.open = textOpen;
  const start = reportStart(report);
  const title = el("h3", { className: "tr-title" }, `${start.name} `, start.link !== null && link(start.link));
  const view = el("div", { className: "tr-view" }, title, el("div", { className: "tr-body" }, chain, side), text);
  view.dataset.level = report.level;
  view.dataset.space = start.link?.space ?? "va";
  root.replaceChildren(view);
}

type Linker = (l: AddressLink) => HTMLElement;

function addressView(box: AddressBox, link: Linker): HTMLElement {
  const e = el(
    "div",
    { className: "tr-address" },
    el("span", { className: "tr-space-name", text: box.name }),
    " ",
    box.link === null ? "—" : link(box.link),
    box.note !== null && el("span", { className: "tr-note", text: box.note }),
  );
  e.dataset.space = box.link?.space ?? "";
  return e;
}

function stageView(box: StageBox, link: Linker): HTMLElement {
  const state = !box.enabled ? " tr-stage-off" : box.stopped !== null ? " tr-stage-stopped" : "";
  const head = el(
    "header",
    {},
    el("span", { className: "tr-stage-name", text: box.name }),
    el("span", { className: "tr-tables-in", text: box.enabled ? `tables in ${box.tablesIn}` : "" }),
  );
  const section = el("section", { className: "tr-stage" + state }, head);
  section.dataset.stage = box.name;
  if (!box.enabled) {
    section.append(el("div", { className: "tr-off", text: "off: output = input (identity)" }));
    return section;
  }
  if (box.steps.length > 0) section.append(stepsTable(box.steps, link));
  if (box.leaf !== null) section.append(el("div", { className: "tr-leaf", text: `leaf: ${box.leaf}` }));
  if (box.stopped !== null) section.append(el("div", { className: "tr-stopped", text: `✗ stopped at ${box.stopped}` }));
  return section;
}

function stepsTable(steps: StepBox[], link: Linker): HTMLTableElement {
  const head = el("tr", {}, ...["level", "table", "index", "descriptor at", "value", "meaning"].map((t) => el("th", { text: t })));
  const rows = steps.map((s) => {
    const tr = el(
      "tr",
      { className: `tr-step tr-step-${s.kind}` },
      el("td", { text: `L${s.level}` }),
      el("td", {}, s.table !== null && link(s.table)),
      el("td", { className: "tr-num", text: String(s.index) }),
      el("td", {}, s.address !== null && link(s.address)),
      el("td", { className: "tr-desc", text: s.desc }),
      el("td", { className: "tr-meaning" }, ...meaningParts(s, link)),
    );
    tr.dataset.level = String(s.level);
    return tr;
  });
  return el("table", { className: "tr-steps" }, el("thead", {}, head), el("tbody", {}, ...rows));
}

/** The meaning text with the address it names turned into a link. */
function meaningParts(s: StepBox, link: Linker): (string | Node)[] {
  const m = /0x[0-9a-f]+/.exec(s.meaning);
  if (s.target === null || m === null) return [s.meaning];
  return [s.meaning.slice(0, m.index), link(s.target), s.meaning.slice(m.index + m[0].length)];
}

function shadowsView(report: TranslationReport, link: Linker): HTMLElement {
  const section = el("section", { className: "tr-shadows" }, el("h4", { text: "Shadow stage-2" }));
  const none = (why: string): HTMLElement => {
    section.append(el("p", { className: "tr-none", text: why }));
    return section;
  };
  if (report.space === "ipa") return none("shadow leaves are found by nested IPA: the records below name the nested IPAs of this page");
  if (report.level !== "L2") return none("L1 addresses have no shadow entry");
  if (report.nestedIpa === null) return none("no nested IPA: L2's stage-1 stopped");
  const boxes = shadowBoxes(report);
  if (boxes.length === 0) return none("no valid shadow MMU");
  for (const b of boxes) section.append(shadowView(b, link));
  return section;
}

function shadowView(b: ShadowBox, link: Linker): HTMLElement {
  const e = el(
    "div",
    { className: `tr-shadow tr-verdict-${b.verdict}` },
    el("span", { className: `tr-badge tr-badge-${b.verdict}`, text: b.badge }),
    el("span", { className: "tr-shadow-mmu", text: `mmu${b.mmu}${b.current ? " (current)" : ""}` }),
    el(
      "div",
      { className: "tr-shadow-map" },
      "nested IPA ",
      link(b.nested),
      b.host !== null && " → host PA ",
      b.host !== null && link(b.host),
      b.leaf !== null && el("span", { className: "tr-shadow-leaf", text: ` (${b.leaf})` }),
    ),
    b.detail !== null && el("div", { className: "tr-shadow-detail", text: b.detail }),
  );
  e.dataset.mmu = String(b.mmu);
  e.dataset.verdict = b.verdict;
  return e;
}

function recordsView(report: TranslationReport, link: Linker): HTMLElement {
  const section = el("section", { className: "tr-records" }, el("h4", { text: "Revmap / accelerator" }));
  if (report.canonical === null) return section;
  if (report.records.length === 0) section.append(el("p", { className: "tr-none", text: "no record for this canonical page" }));
  const list = el("ul", {});
  for (const line of report.records) {
    const parts = recordParts(line).map((p) => ("space" in p ? link({ space: p.space, addr: p.addr }) : p.text));
    list.append(el("li", { className: "tr-record" }, ...parts));
  }
  section.append(list);
  return section;
}
