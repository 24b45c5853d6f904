// The maps' geometry: the viewport from the whole IPA space down to one page (zoom at a point,
// pan, fit to content), ranges onto pixels and the pointer back onto ranges, axis ticks, and the
// address and size text of the controls.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatSize, groupedHex, parseAddress } from "../../web/ui/maps_format.ts";
import { axisTicks, hitTest, layoutRanges } from "../../web/ui/maps_layout.ts";
import { addrAt, bytesFor, clampView, fitView, MIN_SPAN, panView, pixelOf, span, zoomView, type Viewport } from "../../web/ui/maps_zoom.ts";

const SPACE = 1n << 40n;
const G = 0x4000_0000n;

describe("viewport", () => {
  it("clamps to at least a page, at most the space, inside the space", () => {
    expect(clampView({ from: 0x5000n, to: 0x5001n }, SPACE)).toEqual({ from: 0x5000n, to: 0x6000n });
    expect(clampView({ from: 0n, to: SPACE * 2n }, SPACE)).toEqual({ from: 0n, to: SPACE });
    expect(clampView({ from: SPACE - 0x1000n, to: SPACE + 0x1000n }, SPACE)).toEqual({ from: SPACE - 0x2000n, to: SPACE });
    expect(clampView({ from: -0x1000n, to: 0x1000n }, SPACE)).toEqual({ from: 0n, to: 0x2000n });
  });

  it("zooms keeping the anchor where it was on screen", () => {
    const v: Viewport = { from: G, to: G + 0x1000_0000n };
    const anchor = G + 0x400_0000n; // a quarter across
    const z = zoomView(v, 0.5, anchor, SPACE);
    expect(span(z)).toBe(0x800_0000n);
    expect(pixelOf(z, anchor, 1000)).toBeCloseTo(250, 6);
    expect(zoomView(z, 2, anchor, SPACE)).toEqual(v);
  });

  it("zooms in no further than a 4K page and out no further than the space", () => {
    let v: Viewport = { from: G, to: G + 0x1000_0000n };
    for (let i = 0; i < 60; i++) v = zoomView(v, 0.5, G + 0x123_4567n, SPACE);
    expect(span(v)).toBe(MIN_SPAN);
    expect(v.from <= G + 0x123_4567n && G + 0x123_4567n <= v.to).toBe(true);
    for (let i = 0; i < 60; i++) v = zoomView(v, 2, G, SPACE);
    expect(v).toEqual({ from: 0n, to: SPACE });
  });

  it("keeps every zoom and pan inside the space and at least a page wide (property)", () => {
    const addr = fc.bigInt({ min: 0n, max: SPACE - 1n });
    fc.assert(
      fc.property(addr, addr, fc.double({ min: 0.01, max: 100, noNaN: true }), addr, fc.bigInt({ min: -SPACE, max: SPACE }), (a, b, factor, anchor, delta) => {
        const v0 = clampView({ from: a < b ? a : b, to: a < b ? b : a }, SPACE);
        for (const v of [zoomView(v0, factor, anchor, SPACE), panView(v0, delta, SPACE)]) {
          expect(v.from >= 0n && v.to <= SPACE && span(v) >= MIN_SPAN).toBe(true);
        }
        expect(span(panView(v0, delta, SPACE))).toBe(span(v0));
      }),
    );
  });

  it("fits page-aligned around the content with a margin, or falls back", () => {
    const leaves = [{ start: 0x4010_0000n, last: 0x4010_0fffn }, { start: 0x4010_8000n, last: 0x4010_8fffn }];
    const v = fitView(leaves, SPACE, { from: 0n, to: G });
    expect(v.from).toBe(0x400f_f000n);
    expect(v.to).toBe(0x4010_a000n);
    expect(v.from % 0x1000n).toBe(0n);
    expect(fitView([], SPACE, { from: G, to: G + 0x1000_0000n })).toEqual({ from: G, to: G + 0x1000_0000n });
    expect(fitView([{ start: 0n, last: 0xfffn }], SPACE, { from: 0n, to: 1n })).toEqual({ from: 0n, to: 0x2000n });
  });

  it("maps pixels to addresses and drags to bytes", () => {
    const v: Viewport = { from: G, to: G + 0x10_0000n };
    expect(addrAt(v, 500, 1000)).toBe(G + 0x8_0000n);
    expect(addrAt(v, -5, 1000)).toBe(G);
    expect(addrAt(v, 5000, 1000)).toBe(G + 0x10_0000n);
    expect(bytesFor(v, 100, 1000)).toBe(0x1_999an);
    expect(bytesFor(v, 100, 0)).toBe(0n);
  });
});

describe("layoutRanges", () => {
  const v: Viewport = { from: G, to: G + 0x100_0000n }; // 16M over 1000 px: a 4K page is 0.24 px
  const page = (n: bigint): { start: bigint; last: bigint } => ({ start: G + n * 0x1000n, last: G + n * 0x1000n + 0xfffn });

  it("places ranges by address and size, at least a pixel wide", () => {
    const [a, b] = layoutRanges([page(0n), { start: G + 0x80_0000n, last: G + 0xff_ffffn }], v, 1000);
    expect(a).toMatchObject({ x: 0, w: 1 });
    expect(b!.x).toBeCloseTo(500, 6);
    expect(b!.w).toBeCloseTo(500, 6);
  });

  it("drops ranges outside the view and clips those across its edges", () => {
    const spans = layoutRanges([{ start: 0n, last: G - 1n }, { start: G - 0x1000n, last: G + 0xfff_ffffn }, { start: G + 0x100_0000n, last: G + 0x100_0fffn }], v, 1000);
    expect(spans).toHaveLength(1);
    expect(spans[0]).toMatchObject({ x: 0, w: 1000 });
  });

  it("keeps a one-pixel leaf at the right edge inside the band", () => {
    const [s] = layoutRanges([page(0xfffn)], v, 1000);
    expect(s!.x + s!.w).toBeLessThanOrEqual(1000);
  });

  it("hits the narrowest range under the pointer, or the nearest within the slop", () => {
    const spans = [
      { x: 0, w: 800, item: "block" },
      { x: 100, w: 1, item: "page" },
      { x: 900, w: 10, item: "far" },
    ];
    expect(hitTest(spans, 100.5)?.item).toBe("page");
    expect(hitTest(spans, 400)?.item).toBe("block");
    expect(hitTest(spans, 897)?.item).toBe("far");
    expect(hitTest(spans, 850)).toBeNull();
    expect(hitTest([], 1)).toBeNull();
  });
});

describe("axisTicks", () => {
  it("puts ticks at round hex addresses, no closer than asked", () => {
    const ticks = axisTicks({ from: G, to: G + 0x1000_0000n }, 1000, 100);
    expect(ticks[0]!.addr).toBe(G);
    const step = ticks[1]!.addr - ticks[0]!.addr;
    expect(step & (step - 1n)).toBe(0n); // a power of two
    expect(ticks[1]!.x - ticks[0]!.x).toBeGreaterThanOrEqual(100);
    expect(ticks.length).toBeLessThanOrEqual(11);
    expect(ticks[0]!.label).toBe("0x4000_0000");
    expect(axisTicks({ from: 0n, to: 0x1000n }, 0)).toEqual([]);
  });
});

describe("address and size text", () => {
  it("formats sizes as block sizes", () => {
    expect(formatSize(0x1000n)).toBe("4K");
    expect(formatSize(0x20_0000n)).toBe("2M");
    expect(formatSize(1n << 30n)).toBe("1G");
    expect(formatSize(0x3000n)).toBe("12K");
    expect(formatSize(0x1800n)).toBe("6K");
    expect(formatSize(5n)).toBe("5B");
  });

  it("groups hex digits by four and reads them back", () => {
    expect(groupedHex(0x4000_0000n)).toBe("0x4000_0000");
    expect(groupedHex(0x1_0000n)).toBe("0x1_0000");
    expect(groupedHex(0n)).toBe("0x0");
    expect(parseAddress("0x4000_0000")).toBe(0x4000_0000n);
    expect(parseAddress(" 40001000 ")).toBe(0x4000_1000n);
    expect(parseAddress("0x")).toBeNull();
    expect(parseAddress("12g")).toBeNull();
    expect(parseAddress("0x1_0000_0000_0000_0000")).toBeNull();
  });
});
