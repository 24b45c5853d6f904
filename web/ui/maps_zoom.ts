// The window of an address space a map shows, and how it moves: from the whole IPA space down to
// one 4K page. Addresses stay bigint (the spaces are up to 2^48 and pages must stay exact); pixels
// are numbers, and a span below 2^53 converts to a double without loss.

/** The addresses [from, to) a band shows across its width. */
export interface Viewport {
  from: bigint;
  to: bigint;
}

/** The narrowest view: one 4K page. */
export const MIN_SPAN = 0x1000n;
const PAGE = 0x1000n;

export function span(v: Viewport): bigint {
  return v.to - v.from;
}

/** `v` made valid in a space of `limit` bytes: at least a page wide, at most the space, inside it. */
export function clampView(v: Viewport, limit: bigint): Viewport {
  let s = span(v);
  if (s < MIN_SPAN) s = MIN_SPAN;
  if (s > limit) s = limit;
  let from = v.from < 0n ? 0n : v.from;
  if (from + s > limit) from = limit - s;
  return { from, to: from + s };
}

/**
 * Zoom by `factor` (< 1: in, > 1: out) keeping `anchor` (the address under the mouse, or the
 * middle) at the same place on screen.
 */
export function zoomView(v: Viewport, factor: number, anchor: bigint, limit: bigint): Viewport {
  const s = span(v);
  const next = BigInt(Math.max(1, Math.round(Number(s) * factor)));
  const sized = next < MIN_SPAN ? MIN_SPAN : next > limit ? limit : next;
  const a = anchor < v.from ? v.from : anchor > v.to ? v.to : anchor;
  // The anchor keeps its fraction of the width: (a - from) / s == (a - from') / s'.
  const from = a - ((a - v.from) * sized) / s;
  return clampView({ from, to: from + sized }, limit);
}

/** Move by `delta` bytes (positive: towards higher addresses), stopping at the ends of the space. */
export function panView(v: Viewport, delta: bigint, limit: bigint): Viewport {
  return clampView({ from: v.from + delta, to: v.to + delta }, limit);
}

/** The middle of the view (where the zoom buttons zoom). */
export function middle(v: Viewport): bigint {
  return v.from + span(v) / 2n;
}

/**
 * A view around every range (inclusive `last`), with a margin of a sixteenth of their extent on
 * each side (at least a page) and page-aligned ends; `fallback` when there is nothing to show.
 */
export function fitView(ranges: Iterable<{ start: bigint; last: bigint }>, limit: bigint, fallback: Viewport): Viewport {
  let lo: bigint | null = null;
  let hi: bigint | null = null;
  for (const r of ranges) {
    if (lo === null || r.start < lo) lo = r.start;
    if (hi === null || r.last + 1n > hi) hi = r.last + 1n;
  }
  if (lo === null || hi === null) return clampView(fallback, limit);
  const pad = maxOf((hi - lo) / 16n, PAGE);
  const from = alignDown(maxOf(lo - pad, 0n));
  const to = alignUp(hi + pad);
  return clampView({ from, to }, limit);
}

function maxOf(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

function alignDown(a: bigint): bigint {
  return a - (a % PAGE);
}

function alignUp(a: bigint): bigint {
  return alignDown(a + PAGE - 1n);
}

/** Horizontal position of `addr` in a band `width` pixels wide (may be outside [0, width]). */
export function pixelOf(v: Viewport, addr: bigint, width: number): number {
  return (Number(addr - v.from) / Number(span(v))) * width;
}

/** The address under pixel `x` of a band `width` pixels wide. */
export function addrAt(v: Viewport, x: number, width: number): bigint {
  const s = span(v);
  const frac = width <= 0 ? 0 : Math.min(1, Math.max(0, x / width));
  return v.from + BigInt(Math.round(Number(s) * frac));
}

/** Bytes that `dx` pixels stand for (a drag of dx pixels pans by minus that). */
export function bytesFor(v: Viewport, dx: number, width: number): bigint {
  if (width <= 0) return 0n;
  return BigInt(Math.round((Number(span(v)) * dx) / width));
}
