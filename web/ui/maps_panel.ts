// One address space's panel of the maps: its zoom controls, an axis, and a canvas per band, all
// sharing one viewport. Until the reader moves the view it follows the content (fit), so a map
// that grows stays in sight; once moved, updates leave it where the reader put it. The wheel
// zooms at the mouse, a drag pans, a click on a range follows its address, hovering explains it.

import { hex, type AddressClick } from "./address.ts";
import { el } from "./dom.ts";
import type { Band, BandItem } from "./maps_bands.ts";
import { drawAxis, drawBand, prepareCanvas, readPalette, type Palette } from "./maps_draw.ts";
import { parseAddress } from "./maps_format.ts";
import { axisTicks, hitTest, layoutRanges, type Span } from "./maps_layout.ts";
import type { MapsTooltip } from "./maps_tooltip.ts";
import { addrAt, bytesFor, clampView, fitView, middle, panView, zoomView, type Viewport } from "./maps_zoom.ts";

/** One band's row: its label and canvas, and the spans last drawn (for the mouse). */
interface Row {
  band: Band;
  root: HTMLElement;
  label: HTMLElement;
  canvas: HTMLCanvasElement;
  spans: Span<BandItem>[];
}

/** Pixels a press may move and still be a click. */
const CLICK_SLOP = 3;
const ZOOM_STEP = 0.5;

export class MapsPanel {
  readonly root: HTMLElement;
  private readonly rowsEl: HTMLElement;
  private readonly axis: HTMLCanvasElement;
  private readonly fromInput: HTMLInputElement;
  private readonly toInput: HTMLInputElement;
  private rows = new Map<string, Row>();
  private view: Viewport;
  private limit = 1n << 48n;
  /** The view follows the content until the reader moves it. */
  private following = true;
  private content: { start: bigint; last: bigint }[] = [];
  private frame = 0;

  constructor(
    title: string,
    private fallback: Viewport,
    private readonly onAddress: AddressClick,
    private readonly tooltip: MapsTooltip,
  ) {
    this.view = fallback;
    this.fromInput = el("input", { className: "maps-from", title: "first address shown (hex)" });
    this.toInput = el("input", { className: "maps-to", title: "end of the view (hex, exclusive)" });
    for (const input of [this.fromInput, this.toInput]) {
      input.spellcheck = false;
      input.addEventListener("keydown", (e) => {
        if (e.key === "Enter") this.applyInputs();
      });
    }
    this.axis = el("canvas", { className: "maps-axis" });
    this.rowsEl = el("div", { className: "maps-rows" });
    this.root = el("section", { className: "maps-panel" }, el("h4", { className: "maps-panel-title", text: title }), this.controls(), this.axisRow(), this.rowsEl);
  }

  private controls(): HTMLElement {
    const button = (text: string, cls: string, title: string, action: () => void): HTMLButtonElement => {
      const b = el("button", { className: `maps-button ${cls}`, title, text });
      b.type = "button";
      b.addEventListener("click", action);
      return b;
    };
    return el(
      "div",
      { className: "maps-controls" },
      el("label", {}, "from ", this.fromInput),
      el("label", {}, "to ", this.toInput),
      button("show", "maps-apply", "show from..to", () => this.applyInputs()),
      button("+", "maps-zoom-in", "zoom in", () => this.zoom(ZOOM_STEP, middle(this.view))),
      button("−", "maps-zoom-out", "zoom out", () => this.zoom(1 / ZOOM_STEP, middle(this.view))),
      button("fit", "maps-fit", "fit to the content", () => this.fit()),
      button("all", "maps-all", "the whole space", () => this.setView({ from: 0n, to: this.limit })),
    );
  }

  private axisRow(): HTMLElement {
    return el("div", { className: "maps-band maps-axis-row" }, el("div", { className: "maps-band-label" }), this.axis);
  }

  /** The bands to draw, the size of the space, and the ranges a fit should show. */
  update(bands: Band[], limit: bigint, content: { start: bigint; last: bigint }[]): void {
    this.limit = limit;
    this.content = content;
    const next = new Map<string, Row>();
    for (const band of bands) next.set(band.key, this.row(band));
    this.rows = next;
    this.rowsEl.replaceChildren(...[...next.values()].map((r) => r.root));
    this.view = this.following ? fitView(content, limit, this.fallback) : clampView(this.view, limit);
    this.schedule();
  }

  /** The current view (for tests and the shell's permalinks). */
  get viewport(): Viewport {
    return this.view;
  }

  setView(v: Viewport, following = false): void {
    this.following = following;
    this.view = clampView(v, this.limit);
    this.schedule();
  }

  /** What a fit shows when there is no content. */
  setFallback(v: Viewport): void {
    this.fallback = v;
  }

  fit(): void {
    this.setView(fitView(this.content, this.limit, this.fallback), true);
  }

  private zoom(factor: number, anchor: bigint): void {
    this.setView(zoomView(this.view, factor, anchor, this.limit));
  }

  private applyInputs(): void {
    const from = parseAddress(this.fromInput.value);
    const to = parseAddress(this.toInput.value);
    const ok = from !== null && to !== null && to > from;
    this.fromInput.classList.toggle("maps-invalid", from === null);
    this.toInput.classList.toggle("maps-invalid", to === null || !ok);
    if (ok) this.setView({ from, to });
  }

  /** The row of `band`, reusing its canvas when the band was there before (no flicker, listeners kept). */
  private row(band: Band): Row {
    const old = this.rows.get(band.key);
    if (old !== undefined) {
      old.band = band;
      this.labelRow(old);
      return old;
    }
    const canvas = el("canvas", { className: "maps-canvas" });
    const label = el("div", { className: "maps-band-label" });
    const root = el("div", { className: "maps-band" }, label, canvas);
    const row: Row = { band, root, label, canvas, spans: [] };
    this.labelRow(row);
    this.listen(row);
    return row;
  }

  private labelRow(row: Row): void {
    row.label.textContent = row.band.title;
    row.label.title = row.band.detail;
    row.root.dataset.band = row.band.key;
    row.root.classList.toggle("maps-inactive", row.band.inactive);
  }

  private listen(row: Row): void {
    const { canvas } = row;
    let press: { x: number; view: Viewport; moved: boolean } | null = null;
    canvas.addEventListener("pointerdown", (e) => {
      press = { x: e.offsetX, view: this.view, moved: false };
      canvas.setPointerCapture(e.pointerId);
    });
    canvas.addEventListener("pointermove", (e) => {
      if (press !== null) {
        const dx = e.offsetX - press.x;
        if (Math.abs(dx) > CLICK_SLOP) press.moved = true;
        if (press.moved) this.setView(panView(press.view, -bytesFor(press.view, dx, canvas.clientWidth), this.limit));
        return;
      }
      const hit = hitTest(row.spans, e.offsetX);
      if (hit === null) this.tooltip.hide();
      else this.tooltip.show(hit.item.tooltip(), e.clientX, e.clientY);
    });
    canvas.addEventListener("pointerup", (e) => {
      const p = press;
      press = null;
      if (p === null || p.moved) return;
      const click = hitTest(row.spans, e.offsetX)?.item.click;
      if (click) this.onAddress(click.space, click.addr, click.level);
    });
    canvas.addEventListener("pointercancel", () => (press = null));
    canvas.addEventListener("pointerleave", () => this.tooltip.hide());
    canvas.addEventListener(
      "wheel",
      (e) => {
        e.preventDefault();
        const anchor = addrAt(this.view, e.offsetX, canvas.clientWidth);
        // Lines or pages (some mice, Firefox) as pixels, so every wheel zooms at about the same pace.
        const pixels = e.deltaY * (e.deltaMode === 1 ? 16 : e.deltaMode === 2 ? 400 : 1);
        this.zoom(Math.exp(pixels * 0.002), anchor);
      },
      { passive: false },
    );
  }

  /** Draw at the next frame, once however many changes come before it. */
  schedule(): void {
    if (this.frame !== 0) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  private draw(): void {
    this.showInputs();
    const rows = [...this.rows.values()];
    // Every size read first, then every write: reads between writes would each force a layout.
    const sizes = [this.axis, ...rows.map((r) => r.canvas)].map((c) => ({ width: c.clientWidth, height: c.clientHeight }));
    const axisSize = sizes[0]!;
    const axis = prepareCanvas(this.axis, axisSize.width, axisSize.height);
    if (axis === null) return;
    const palette: Palette = readPalette(getComputedStyle(this.root), axis);
    drawAxis(axis, axisTicks(this.view, axisSize.width), axisSize.width, axisSize.height, palette);
    rows.forEach((row, i) => {
      const { width, height } = sizes[i + 1]!;
      const ctx = prepareCanvas(row.canvas, width, height);
      if (ctx === null) return;
      row.spans = layoutRanges(row.band.items, this.view, width);
      drawBand(ctx, row.spans, height, palette);
    });
  }

  private showInputs(): void {
    // Not while the reader is typing into them.
    if (document.activeElement !== this.fromInput) this.fromInput.value = hex(this.view.from);
    if (document.activeElement !== this.toInput) this.toInput.value = hex(this.view.to);
    this.root.dataset.from = hex(this.view.from);
    this.root.dataset.to = hex(this.view.to);
  }
}
