// Painting one band, or the axis, on a canvas. Colours come from views.css custom properties
// (--maps-<tone>, --maps-changed, --maps-stale, --maps-tick) so the page's theme owns them; the
// marks that carry meaning beyond colour (outline = changed, hatch = polluted, cross strip =
// stale, tick = L1 leaf level differs, dashes = removed) stay visible to a reader who cannot tell red from green.

import type { BandItem, Tone } from "./maps_bands.ts";
import type { Span, Tick } from "./maps_layout.ts";

export interface Palette {
  tone: Record<Tone, string>;
  changed: string;
  stale: string;
  tick: string;
  text: string;
  axis: string;
  hatch: CanvasPattern | string;
}

const TONES: readonly Tone[] = ["agrees", "disagrees", "unknown", "revmap", "polluted", "accel", "direct", "canonical", "ram", "mmio", "removed"];

const FALLBACK: Record<Tone, string> = {
  agrees: "#2e9d4f",
  disagrees: "#d23c3c",
  unknown: "#9a9a9a",
  revmap: "#4a7fc1",
  polluted: "#e08a1e",
  accel: "#8a5cc2",
  direct: "#3aa6a6",
  canonical: "#6b7f99",
  ram: "#d9e4d0",
  mmio: "#e6d3a3",
  removed: "#c2187a",
};

/** The palette as `style` (the maps' root element's computed style) defines it. */
export function readPalette(style: CSSStyleDeclaration, ctx: CanvasRenderingContext2D): Palette {
  const v = (name: string, fallback: string): string => style.getPropertyValue(name).trim() || fallback;
  const tone = {} as Record<Tone, string>;
  for (const t of TONES) tone[t] = v(`--maps-${t}`, FALLBACK[t]);
  const stale = v("--maps-stale", "#b00020");
  return {
    tone,
    changed: v("--maps-changed", "#f5c400"),
    stale,
    tick: v("--maps-tick", "#111111"),
    text: v("--maps-text", "#ffffff"),
    axis: v("--maps-axis", "#666666"),
    hatch: hatchPattern(ctx, v("--maps-hatch", "rgba(0, 0, 0, 0.45)")),
  };
}

/** Diagonal stripes for polluted ranges. */
function hatchPattern(ctx: CanvasRenderingContext2D, colour: string): CanvasPattern | string {
  const tile = document.createElement("canvas");
  tile.width = tile.height = 6;
  const t = tile.getContext("2d");
  if (t === null) return colour;
  t.strokeStyle = colour;
  t.lineWidth = 1.5;
  t.beginPath();
  t.moveTo(0, 6);
  t.lineTo(6, 0);
  t.stroke();
  return ctx.createPattern(tile, "repeat") ?? colour;
}

/**
 * A canvas's backing store sized to `width` × `height` CSS pixels (measured by the caller, all
 * canvases before any is resized: a resize between two reads would force a layout per canvas),
 * its context scaled so drawing is in CSS pixels.
 */
export function prepareCanvas(canvas: HTMLCanvasElement, width: number, height: number): CanvasRenderingContext2D | null {
  const ctx = canvas.getContext("2d");
  if (ctx === null) return null;
  const dpr = globalThis.devicePixelRatio || 1;
  if (canvas.width !== Math.round(width * dpr) || canvas.height !== Math.round(height * dpr)) {
    canvas.width = Math.round(width * dpr);
    canvas.height = Math.round(height * dpr);
  }
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, width, height);
  return ctx;
}

export function drawBand(ctx: CanvasRenderingContext2D, spans: readonly Span<BandItem>[], height: number, p: Palette): void {
  const top = 3;
  const h = height - 6;
  ctx.font = "10px ui-monospace, monospace";
  ctx.textBaseline = "middle";
  for (const { x, w, item } of spans) {
    if (item.ghost) {
      drawGhost(ctx, x, w, top, h, p.tone[item.tone]);
      continue;
    }
    ctx.fillStyle = p.tone[item.tone];
    ctx.fillRect(x, top, w, h);
    if (item.hatch) {
      ctx.fillStyle = p.hatch;
      ctx.fillRect(x, top, w, h);
    }
    if (item.stale) drawStale(ctx, x, w, top, h, p.stale);
    if (item.outline) {
      ctx.strokeStyle = p.changed;
      ctx.lineWidth = 2;
      ctx.strokeRect(x + 1, top + 1, Math.max(w - 2, 0.5), h - 2);
    }
    if (item.tick !== null) drawTick(ctx, x, top, p.tick);
    if (item.label !== "" && ctx.measureText(item.label).width + 6 < w) {
      ctx.fillStyle = p.text;
      ctx.fillText(item.label, x + 3, top + h / 2);
    }
  }
}

/**
 * What is gone: a faint fill (so a one-pixel ghost still shows) under a dashed outline. No solid
 * fill, so nothing reads it as a live mapping.
 */
function drawGhost(ctx: CanvasRenderingContext2D, x: number, w: number, top: number, h: number, colour: string): void {
  ctx.save();
  ctx.globalAlpha = 0.18;
  ctx.fillStyle = colour;
  ctx.fillRect(x, top, w, h);
  ctx.globalAlpha = 1;
  ctx.strokeStyle = colour;
  ctx.lineWidth = 1.5;
  ctx.setLineDash([3, 2]);
  ctx.strokeRect(x + 0.75, top + 0.75, Math.max(w - 1.5, 0.5), h - 1.5);
  ctx.restore();
}

/** A strip along the bottom and a strike-through: the record points at nothing that remains. */
function drawStale(ctx: CanvasRenderingContext2D, x: number, w: number, top: number, h: number, colour: string): void {
  ctx.fillStyle = colour;
  ctx.fillRect(x, top + h - 3, w, 3);
  ctx.strokeStyle = colour;
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(x, top + h / 2);
  ctx.lineTo(x + w, top + h / 2);
  ctx.stroke();
}

/** A small triangle on the top-left corner. */
function drawTick(ctx: CanvasRenderingContext2D, x: number, top: number, colour: string): void {
  ctx.fillStyle = colour;
  ctx.beginPath();
  ctx.moveTo(x, top - 3);
  ctx.lineTo(x + 6, top - 3);
  ctx.lineTo(x, top + 4);
  ctx.closePath();
  ctx.fill();
}

export function drawAxis(ctx: CanvasRenderingContext2D, ticks: readonly Tick[], width: number, height: number, p: Palette): void {
  ctx.strokeStyle = p.axis;
  ctx.fillStyle = p.axis;
  ctx.lineWidth = 1;
  ctx.font = "10px ui-monospace, monospace";
  ctx.textBaseline = "top";
  ctx.beginPath();
  ctx.moveTo(0, height - 0.5);
  ctx.lineTo(width, height - 0.5);
  for (const t of ticks) {
    const x = Math.round(t.x) + 0.5;
    ctx.moveTo(x, height - 6);
    ctx.lineTo(x, height);
  }
  ctx.stroke();
  for (const t of ticks) {
    const w = ctx.measureText(t.label).width;
    ctx.fillText(t.label, Math.min(Math.max(0, t.x - w / 2), width - w), 1);
  }
}
