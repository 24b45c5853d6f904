// Ranges of an address space placed on a band of pixels, and back: what the canvas draws and
// what the mouse is over. A 4K leaf in a view of a gigabyte is far below a pixel; it still gets
// one, or a lone stale leaf would be invisible exactly when it matters.

import { groupedHex } from "./maps_format.ts";
import { pixelOf, span, type Viewport } from "./maps_zoom.ts";

/** A range with an inclusive last address, as the debugger's records have them. */
export interface Range {
  start: bigint;
  last: bigint;
}

/** Where a range lands on the band: x and width in pixels, clipped to the band. */
export interface Span<T> {
  x: number;
  w: number;
  item: T;
}

/** Narrowest drawn width, in pixels. */
export const MIN_WIDTH = 1;

/** The items of `items` visible in `v`, laid out on a band `width` pixels wide. */
export function layoutRanges<T extends Range>(items: readonly T[], v: Viewport, width: number): Span<T>[] {
  const out: Span<T>[] = [];
  for (const item of items) {
    if (item.last < v.from || item.start >= v.to) continue;
    const x0 = Math.max(0, pixelOf(v, item.start, width));
    const x1 = Math.min(width, pixelOf(v, item.last + 1n, width));
    const w = Math.max(MIN_WIDTH, x1 - x0);
    out.push({ x: Math.min(x0, width - w), w, item });
  }
  return out;
}

/**
 * The span under pixel `x`: the narrowest one containing it (a small leaf drawn over a large
 * range wins), else the nearest within `slop` pixels, so a one-pixel leaf can be hovered.
 */
export function hitTest<T>(spans: readonly Span<T>[], x: number, slop = 3): Span<T> | null {
  let best: Span<T> | null = null;
  let bestDistance = Infinity;
  for (const s of spans) {
    const distance = x < s.x ? s.x - x : x > s.x + s.w ? x - (s.x + s.w) : 0;
    if (distance > slop) continue;
    if (distance < bestDistance || (distance === bestDistance && best !== null && s.w < best.w)) {
      best = s;
      bestDistance = distance;
    }
  }
  return best;
}

export interface Tick {
  x: number;
  addr: bigint;
  label: string;
}

/**
 * Axis ticks at multiples of a power of two (addresses read best at round hex values), at most
 * one per `minPx` pixels.
 */
export function axisTicks(v: Viewport, width: number, minPx = 110): Tick[] {
  if (width <= 0) return [];
  const s = span(v);
  const wanted = (Number(s) * minPx) / width;
  let step = 1n;
  while (Number(step) < wanted) step <<= 1n;
  const ticks: Tick[] = [];
  const first = ((v.from + step - 1n) / step) * step;
  for (let a = first; a <= v.to; a += step) ticks.push({ x: pixelOf(v, a, width), addr: a, label: groupedHex(a) });
  return ticks;
}
