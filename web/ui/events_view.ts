// The event log: L0's events, newest at the bottom, filtered by kind and text. A row's step goes to
// that step of the run; its addresses link to their translations. Only the newest rows that pass
// the filter are drawn: the worker keeps thousands, a tab cannot redraw that many per state.

import type { EventView, LabRequestBody, LabState } from "../protocol.ts";
import { addressLink, type AddressClick, type AddressLevel } from "./address.ts";
import { el } from "./dom.ts";

export interface EventsHost {
  onAddress: AddressClick;
  act(body: LabRequestBody): Promise<boolean>;
}

/** Rows drawn at most. */
export const EVENT_ROWS = 300;

export class EventsPanel {
  private events: EventView[] = [];
  private readonly kinds = new Set<string>();
  /** The rows on the page, oldest first, and the filter they were drawn with. */
  private drawn: { seq: number; step: number; el: HTMLElement }[] = [];
  private drawnFilter = "";
  /** Whether the list follows the newest event (the user has not scrolled up). */
  private stick = true;

  constructor(
    private readonly list: HTMLElement,
    private readonly kindSelect: HTMLSelectElement,
    private readonly filter: HTMLInputElement,
    private readonly count: HTMLElement,
    private readonly host: EventsHost,
  ) {
    const redraw = (): void => this.draw();
    filter.addEventListener("input", redraw);
    kindSelect.addEventListener("change", redraw);
    // Read here, not while drawing: a read between two writes costs a layout of the whole page.
    list.addEventListener("scroll", () => (this.stick = list.scrollTop + list.clientHeight >= list.scrollHeight - 4), { passive: true });
  }

  render(state: LabState): void {
    this.events = state.events;
    this.noteKinds(state.events);
    this.draw();
  }

  private draw(): void {
    const kind = this.kindSelect.value;
    const text = this.filter.value.trim().toLowerCase();
    const matching = this.events.filter((e) => (kind === "" || e.kind === kind) && (text === "" || e.text.toLowerCase().includes(text)));
    const rows = matching.slice(-EVENT_ROWS);
    const filter = `${kind}\n${text}`;
    if (filter !== this.drawnFilter || !this.extend(rows)) this.redraw(rows);
    this.drawnFilter = filter;
    if (this.stick) this.list.scrollTop = this.list.scrollHeight;
    this.count.textContent =
      `${rows.length < matching.length ? `newest ${rows.length} of ` : ""}${matching.length} event${matching.length === 1 ? "" : "s"}` +
      (matching.length < this.events.length ? ` (of ${this.events.length} kept)` : " kept");
  }

  /**
   * While a run goes on, the list only gains events at the end and loses them at the start: drop
   * and add just those rows. False when `rows` is not such a continuation (a goto changed them).
   */
  private extend(rows: EventView[]): boolean {
    const first = rows[0]?.seq ?? Infinity;
    let drop = 0;
    while (drop < this.drawn.length && this.drawn[drop]!.seq < first) drop++;
    const kept = this.drawn.length - drop;
    if (kept > rows.length) return false;
    for (let i = 0; i < kept; i++) {
      const d = this.drawn[drop + i]!;
      if (d.seq !== rows[i]!.seq || d.step !== rows[i]!.step) return false;
    }
    for (const d of this.drawn.slice(0, drop)) d.el.remove();
    const added = rows.slice(kept).map((e) => ({ seq: e.seq, step: e.step, el: this.row(e) }));
    this.list.append(...added.map((a) => a.el));
    this.drawn = [...this.drawn.slice(drop), ...added];
    return true;
  }

  private redraw(rows: EventView[]): void {
    this.drawn = rows.map((e) => ({ seq: e.seq, step: e.step, el: this.row(e) }));
    this.list.replaceChildren(...this.drawn.map((d) => d.el));
  }

  private row(e: EventView): HTMLElement {
    const step = el("button", { className: "ev-step", title: `go to step ${e.step}`, text: String(e.step) });
    step.type = "button";
    step.addEventListener("click", () => void this.host.act({ op: "goto", step: e.step }));
    // An exit names the level it came from: its ELR/FAR are VAs there.
    const level = /\bfrom (L[12])\b/.exec(e.text)?.[1] as AddressLevel | undefined;
    const addrs = e.addresses.map((a) => el("span", { className: "ev-addr" }, `${a.field} `, addressLink(a.space, a.addr, this.host.onAddress, a.space === "va" ? level : undefined)));
    // The debugger's line starts with the step and kind the row shows in its own columns.
    const text = e.text.replace(/^\[\s*\d+\]\s+\S+\s+/, "");
    const row = el("div", { className: "ev" }, step, el("span", { className: "ev-kind", text: e.kind }), el("span", { className: "ev-text", text }), el("span", { className: "ev-addrs" }, ...addrs));
    row.dataset.seq = String(e.seq);
    row.dataset.kind = e.kind;
    return row;
  }

  /** Kinds join the select as they are first seen, so it offers only kinds this run has. */
  private noteKinds(events: EventView[]): void {
    let added = false;
    for (const e of events) {
      if (this.kinds.has(e.kind)) continue;
      this.kinds.add(e.kind);
      added = true;
    }
    if (!added) return;
    const chosen = this.kindSelect.value;
    const all = el("option", { text: "all kinds" });
    all.value = "";
    this.kindSelect.replaceChildren(all, ...[...this.kinds].sort().map((k) => el("option", { text: k })));
    this.kindSelect.value = chosen;
  }
}
