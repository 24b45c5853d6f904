// The maps of the VM: a panel over the nested IPA space (each shadow MMU's leaves, coloured by
// whether they still agree with L1's tables and the host backing) and one over the canonical IPA
// space (L1's RAM, the canonical stage-2, each MMU's leaves and revmap side by side, the
// accelerator), each with its own zoom, and under them the same content as tables.

import type { MapsData } from "../../debug/maps.ts";
import type { AddressClick } from "./address.ts";
import { el } from "./dom.ts";
import { canonicalBands, fitRanges, mapsSummary, nestedBands } from "./maps_bands.ts";
import { MapsPanel } from "./maps_panel.ts";
import { mapsTables } from "./maps_tables.ts";
import { MapsTooltip } from "./maps_tooltip.ts";
import type { Viewport } from "./maps_zoom.ts";

/** Where the shipped guests put L1's RAM: what the canonical panel shows before there is anything else. */
const CANONICAL_FALLBACK: Viewport = { from: 0x4000_0000n, to: 0x5000_0000n };
const NESTED_FALLBACK: Viewport = { from: 0n, to: 0x1000_0000n };

export class MapsView {
  private readonly tooltip = new MapsTooltip();
  readonly nested: MapsPanel;
  readonly canonical: MapsPanel;
  private readonly tables = el("div", { className: "maps-tables" });
  private readonly summary = el("p", { className: "maps-summary" });

  constructor(
    root: HTMLElement,
    private readonly onAddress: AddressClick,
  ) {
    this.nested = new MapsPanel("nested IPA space (shadow stage-2s)", NESTED_FALLBACK, onAddress, this.tooltip);
    this.canonical = new MapsPanel("canonical IPA space (L1's RAM, revmaps, accelerator)", CANONICAL_FALLBACK, onAddress, this.tooltip);
    const view = el("div", { className: "maps-view" }, this.summary, legend(), this.nested.root, this.canonical.root, this.tables, this.tooltip.root);
    root.replaceChildren(view);
    // Canvases are sized from their boxes: redraw when the page gives the view another width.
    if (typeof ResizeObserver !== "undefined") {
      const observer = new ResizeObserver(() => {
        this.nested.schedule();
        this.canonical.schedule();
      });
      observer.observe(view);
    }
  }

  update(maps: MapsData): void {
    const nested = nestedBands(maps);
    const canonical = canonicalBands(maps);
    const ram = maps.layout.ram[0];
    const canonicalFallback = ram === undefined ? CANONICAL_FALLBACK : { from: ram.start, to: ram.last + 1n };
    this.nested.update(nested, maps.layout.ipaSize, fitRanges(nested));
    this.canonical.setFallback(canonicalFallback);
    this.canonical.update(canonical, maps.layout.ipaSize, fitRanges(canonical));
    const { text, stale } = mapsSummary(maps);
    this.summary.textContent = text;
    this.summary.classList.toggle("maps-has-stale", stale > 0);
    this.tables.replaceChildren(...mapsTables(maps, this.onAddress));
  }
}

/** What the colours and marks mean. */
function legend(): HTMLElement {
  const key = (cls: string, text: string): HTMLElement => el("span", { className: "maps-key" }, el("span", { className: `maps-swatch ${cls}` }), text);
  return el(
    "div",
    { className: "maps-legend" },
    key("maps-swatch-agrees", "agrees"),
    key("maps-swatch-disagrees", "disagrees (stale)"),
    key("maps-swatch-unknown", "unknown"),
    key("maps-swatch-changed", "new/changed"),
    key("maps-swatch-removed", "removed since the last stop"),
    key("maps-swatch-tick", "L1 leaf level ≠ shadow level"),
    key("maps-swatch-revmap", "revmap"),
    key("maps-swatch-polluted", "polluted"),
    key("maps-swatch-stale", "stale record"),
    key("maps-swatch-accel", "accelerator"),
    key("maps-swatch-direct", "direct map"),
    key("maps-swatch-canonical", "canonical stage-2"),
    key("maps-swatch-ram", "L1 RAM"),
    el("span", { className: "maps-hint", text: "wheel: zoom, drag: pan, click: translate" }),
  );
}
