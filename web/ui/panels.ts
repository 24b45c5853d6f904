// The read-only text panels of a state: the guests' console, the invariant checker, a scenario's
// expectations and L0's counters. Each redraws only when its part of the state changed.

import type { LabState } from "../protocol.ts";
import { el } from "./dom.ts";

export class ConsolePanel {
  private shown = "";
  /** Whether the text follows the newest output (the user has not scrolled up). */
  private stick = true;

  constructor(private readonly pre: HTMLElement) {
    // Read here, not while drawing: a read between two writes costs a layout of the whole page.
    pre.addEventListener("scroll", () => (this.stick = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4), { passive: true });
  }

  render(state: LabState): void {
    if (state.console === this.shown) return;
    // Output only grows within a run: append the new part instead of re-laying the whole text.
    if (this.shown !== "" && state.console.startsWith(this.shown)) this.pre.append(state.console.slice(this.shown.length));
    else this.pre.textContent = state.console;
    this.shown = state.console;
    if (this.stick) this.pre.scrollTop = this.pre.scrollHeight;
  }
}

export class CheckerPanel {
  private shown = "";

  constructor(private readonly box: HTMLElement) {}

  render(state: LabState): void {
    const c = state.checker;
    const text = !c.attached ? "not attached (boot with --check, --chaos or a scenario)" : c.violation === null ? "attached: every invariant holds so far" : c.violation;
    if (text === this.shown) return;
    this.shown = text;
    this.box.textContent = text;
    this.box.dataset.verdict = !c.attached ? "off" : c.violation === null ? "holds" : "violated";
  }
}

export class ExpectationsPanel {
  private shown = "";

  constructor(private readonly box: HTMLElement) {}

  render(state: LabState): void {
    const lines = state.expectations;
    const key = lines === null ? "" : lines.join("\n");
    if (key === this.shown && this.box.childElementCount > 0) return;
    this.shown = key;
    if (lines === null) {
      this.box.replaceChildren(el("div", { className: "empty", text: "judged when a scenario's run is over" }));
      return;
    }
    this.box.replaceChildren(...lines.map((l) => el("div", { className: expectationClass(l), text: l })));
  }
}

/** ✓/✗ lines and the result line as `nvlab run` prints them. */
function expectationClass(line: string): string {
  if (/✗|\bFAIL\b/.test(line)) return "exp fail";
  if (/✓|\bPASS\b/.test(line)) return "exp pass";
  return line.startsWith("warning:") ? "exp warn" : "exp";
}

export class MetricsTable {
  private shown = "";

  /** `table` sits in a <details>: while that is closed, nothing is drawn. */
  constructor(private readonly table: HTMLElement) {}

  render(state: LabState): void {
    if (this.table.closest("details")?.open === false) return;
    const rows = Object.entries(state.metrics).sort(([a], [b]) => a.localeCompare(b));
    const key = rows.map(([k, v]) => `${k}=${v}`).join(",");
    if (key === this.shown) return;
    this.shown = key;
    this.table.replaceChildren(
      el("thead", {}, el("tr", {}, el("th", { text: "counter" }), el("th", { text: "value" }))),
      el("tbody", {}, ...rows.map(([k, v]) => el("tr", {}, el("td", { text: k }), el("td", { className: "num", text: String(v) })))),
    );
  }
}
