// L0's counters live: a chart of the chosen counters over steps (vega-lite through vega-embed)
// and a table of every counter now. States arrive many times a second while the VM runs; each
// one only joins the history, and drawing happens at most twice a second and only while the view
// is on screen, so the page never stalls on a chart nobody is looking at.

import type { View } from "vega";
import type { TopLevelSpec } from "vega-lite";
import type { LabState } from "../protocol.ts";
import { el } from "./dom.ts";
import { MetricsHistory } from "./metrics_history.ts";
import { DEFAULT_SERIES, groupThousands, seriesOrder, seriesTitle, withTotals } from "./metrics_keys.ts";
import { chartRows, chartSpec, DATA_NAME } from "./metrics_spec.ts";

/** Least time between two drawings. */
const THROTTLE_MS = 500;
/**
 * Points per counter line: enough for a step line across the chart, few enough that vega's
 * update stays well inside a frame budget with several counters chosen.
 */
const POINTS_PER_SERIES = 240;
const CHART_HEIGHT = 220;

export class MetricsView {
  readonly history = new MetricsHistory(2000);
  private selected: string[] = [...DEFAULT_SERIES];
  private readonly select = el("select", { className: "metrics-select", title: "counters to chart (Ctrl/Shift for several)" });
  private readonly logBox = el("input", { className: "metrics-log" });
  private readonly chartEl = el("div", { className: "metrics-chart" });
  private readonly errorEl = el("p", { className: "metrics-error" });
  private readonly tbody = el("tbody", {});
  private readonly cells = new Map<string, HTMLTableCellElement>();
  private chart: View | null = null;
  /** What the chart on the page shows: its scale and width, and the history revision and counters drawn. */
  private chartLog: boolean | null = null;
  private chartWidth = 0;
  private drawn = "";
  private state: LabState | null = null;
  private visible = true;
  private dirty = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private drawing = false;
  private lastDraw = 0;
  private offered = 0;

  constructor(root: HTMLElement) {
    this.select.multiple = true;
    this.select.size = 6;
    this.select.addEventListener("change", () => {
      this.selected = [...this.select.selectedOptions].map((o) => o.value);
      this.invalidate();
    });
    this.logBox.type = "checkbox";
    this.logBox.addEventListener("change", () => this.invalidate());
    this.errorEl.hidden = true;
    const controls = el("div", { className: "metrics-controls" }, el("label", {}, "counters ", this.select), el("label", {}, this.logBox, " log scale"));
    const table = el("table", { className: "metrics-table" }, el("thead", {}, el("tr", {}, el("th", { text: "counter" }), el("th", { text: "value" }))), this.tbody);
    const view = el("div", { className: "metrics-view" }, controls, this.chartEl, this.errorEl, table);
    root.replaceChildren(view);
    this.watchVisibility(view);
  }

  update(state: LabState): void {
    // The worker's samples along a run come first: a run shorter than one state's interval is a curve too.
    for (const s of state.samples) this.history.push(s.step, withTotals(s.values));
    this.history.push(state.step, withTotals(state.metrics));
    this.state = state;
    this.invalidate();
  }

  /** Draw only while on screen; redraw when shown again or given another width. */
  private watchVisibility(view: HTMLElement): void {
    if (typeof IntersectionObserver !== "undefined") {
      const io = new IntersectionObserver((entries) => {
        this.visible = entries.some((e) => e.isIntersecting);
        if (this.visible) this.schedule();
      });
      io.observe(view);
    }
    if (typeof ResizeObserver !== "undefined") {
      const ro = new ResizeObserver(() => {
        if (this.chartEl.clientWidth !== this.chartWidth) this.invalidate();
      });
      ro.observe(this.chartEl);
    }
  }

  private invalidate(): void {
    this.dirty = true;
    this.schedule();
  }

  private schedule(): void {
    if (!this.dirty || !this.visible || this.timer !== null || this.drawing) return;
    const wait = Math.max(0, this.lastDraw + THROTTLE_MS - performance.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.draw();
    }, wait);
  }

  private async draw(): Promise<void> {
    this.dirty = false;
    this.drawing = true;
    this.lastDraw = performance.now();
    try {
      this.drawTable();
      this.offerNames();
      await this.drawChart();
      this.errorEl.hidden = true;
    } catch (e) {
      this.errorEl.textContent = `the chart could not be drawn: ${e instanceof Error ? e.message : String(e)}`;
      this.errorEl.hidden = false;
    } finally {
      this.drawing = false;
      // States that came while drawing.
      this.schedule();
    }
  }

  /** The table of every counter now; rows are kept and only their values change. */
  private drawTable(): void {
    const values = this.history.samples[this.history.samples.length - 1]?.values ?? {};
    const names = seriesOrder(Object.keys(values));
    if (names.some((n) => !this.cells.has(n)) || names.length !== this.cells.size) {
      this.cells.clear();
      this.tbody.replaceChildren(
        ...names.map((n) => {
          const cell = el("td", { className: "metrics-value" });
          this.cells.set(n, cell);
          const row = el("tr", { className: "metric-row", title: n }, el("td", { text: seriesTitle(n) }), cell);
          row.dataset.metric = n;
          return row;
        }),
      );
    }
    for (const [n, cell] of this.cells) cell.textContent = groupThousands(values[n] ?? 0);
    if (this.state !== null) this.tbody.parentElement!.dataset.step = String(this.state.step);
  }

  /** The select box's options, rebuilt when a new counter appears. */
  private offerNames(): void {
    const names = seriesOrder(this.history.names);
    if (names.length === this.offered) return;
    this.offered = names.length;
    this.select.replaceChildren(
      ...names.map((n) => {
        const o = el("option", { text: seriesTitle(n) });
        o.value = n;
        o.selected = this.selected.includes(n);
        return o;
      }),
    );
  }

  private async drawChart(): Promise<void> {
    // Hidden (a closed tab): nothing to fit; the resize observer calls again once it has a width.
    const width = this.chartEl.clientWidth;
    if (width === 0 || this.history.samples.length === 0) return;
    const log = this.logBox.checked;
    const drawn = `${this.history.revision} ${this.selected.join(",")} ${width}`;
    if (this.chart !== null && this.chartLog === log && this.drawn === drawn) return;
    const rows = chartRows(this.history.samples, this.selected, POINTS_PER_SERIES);
    if (this.chart !== null && this.chartLog === log) {
      await this.chart.width(width).data(DATA_NAME, rows).runAsync();
    } else {
      this.chart?.finalize();
      this.chart = null;
      this.chart = await buildChart(this.chartEl, chartSpec({ log, width, height: CHART_HEIGHT }, rows));
      this.chartLog = log;
    }
    this.chartWidth = width;
    this.drawn = drawn;
  }
}

/** Let the page handle its events before the next piece of work. */
function yieldToPage(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * The chart drawn into `el`. vega-embed's embed() compiles, parses and draws in one task (120 to
 * 330 ms measured on a loaded machine, past the page's 50 ms budget); the same steps with the vega
 * and vega-lite vega-embed carries, yielding between them, keep each task short. Loaded on first
 * use: the page starts without vega's weight.
 */
async function buildChart(el: HTMLElement, spec: TopLevelSpec): Promise<View> {
  const { vega, vegaLite } = await import("vega-embed");
  const compiled = vegaLite.compile(spec).spec;
  await yieldToPage();
  const runtime = vega.parse(compiled);
  await yieldToPage();
  el.replaceChildren();
  const view = new vega.View(runtime, { renderer: "canvas", container: el, hover: false, logLevel: vega.Warn });
  await yieldToPage();
  await view.runAsync();
  return view;
}
