// Host memory saved frame by frame: a frame equal to the previous snapshot's shares its copy, an
// all-zero frame costs nothing, and restoring puts every frame back and zeroes the frames handed out
// after the snapshot (as fresh frames are).

import { describe, expect, it } from "vitest";
import { PAGE_SIZE } from "../../../emulator/memory.ts";
import { captureHostFrames, restoreHostFrames } from "../../../lab/snapshot/host_frames.ts";

const FRAMES = 8;

/** A host memory of FRAMES frames; frame i holds byte i+1 at offset 100 for each i in `written`. */
function host(written: number[] = []): Uint8Array {
  const h = new Uint8Array(FRAMES * PAGE_SIZE);
  for (const f of written) h[f * PAGE_SIZE + 100] = f + 1;
  return h;
}

describe("captureHostFrames", () => {
  it("costs nothing for zero frames, and one page for each written frame", () => {
    expect(captureHostFrames(host(), 0, FRAMES * PAGE_SIZE, null).ownBytes).toBe(0);
    const s = captureHostFrames(host([1, 5]), 0, FRAMES * PAGE_SIZE, null);
    expect(s.ownBytes).toBe(2 * PAGE_SIZE);
    expect(s.frames.length).toBe(FRAMES);
    // every zero frame is the same shared copy
    expect(s.frames[0]).toBe(s.frames[7]);
  });

  it("shares an unchanged frame's copy with the previous snapshot", () => {
    const h = host([1, 2, 3]);
    const first = captureHostFrames(h, 0, FRAMES * PAGE_SIZE, null);
    h[2 * PAGE_SIZE + 7] = 0xee;
    const second = captureHostFrames(h, 0, FRAMES * PAGE_SIZE, first);
    expect(second.ownBytes).toBe(PAGE_SIZE);
    expect(second.frames[1]).toBe(first.frames[1]);
    expect(second.frames[3]).toBe(first.frames[3]);
    expect(second.frames[2]).not.toBe(first.frames[2]);
  });

  it("holds a copy: later writes to host memory do not reach it", () => {
    const h = host([4]);
    const s = captureHostFrames(h, 0, FRAMES * PAGE_SIZE, null);
    h[4 * PAGE_SIZE + 100] = 0x55;
    restoreHostFrames(h, s, FRAMES * PAGE_SIZE);
    expect(h[4 * PAGE_SIZE + 100]).toBe(5);
  });

  it("saves from `from` on: the frames below are neither saved nor touched on restore", () => {
    const h = host([0, 1, 2]);
    const s = captureHostFrames(h, 2 * PAGE_SIZE, FRAMES * PAGE_SIZE, null);
    expect(s.frames.length).toBe(FRAMES - 2);
    expect(s.ownBytes).toBe(PAGE_SIZE);
    h[0 * PAGE_SIZE + 100] = 0x99;
    h[2 * PAGE_SIZE + 100] = 0x99;
    restoreHostFrames(h, s, FRAMES * PAGE_SIZE);
    expect(h[0 * PAGE_SIZE + 100]).toBe(0x99);
    expect(h[2 * PAGE_SIZE + 100]).toBe(3);
  });
});

describe("restoreHostFrames", () => {
  it("puts written frames back, zeroes frames written since, and leaves equal ones alone", () => {
    const h = host([1, 3]);
    const s = captureHostFrames(h, 0, FRAMES * PAGE_SIZE, null);
    h.fill(0xab, 1 * PAGE_SIZE, 2 * PAGE_SIZE);
    h[3 * PAGE_SIZE] = 1;
    h[6 * PAGE_SIZE + 4095] = 1;
    restoreHostFrames(h, s, FRAMES * PAGE_SIZE);
    expect(h).toEqual(host([1, 3]));
  });

  it("zeroes the frames used after the snapshot (handed out since, as fresh frames are)", () => {
    const h = host([0, 1, 5, 6]);
    // The snapshot saw the first 4 frames in use; frames 4.. were handed out and written since.
    const s = captureHostFrames(h, 0, 4 * PAGE_SIZE, null);
    expect(s.frames.length).toBe(4);
    restoreHostFrames(h, s, 7 * PAGE_SIZE);
    expect(h).toEqual(host([0, 1]));
  });

  it("restores any snapshot of a chain, in any order", () => {
    const h = host([1]);
    const first = captureHostFrames(h, 0, FRAMES * PAGE_SIZE, null);
    h[2 * PAGE_SIZE] = 2;
    const second = captureHostFrames(h, 0, FRAMES * PAGE_SIZE, first);
    h.fill(7);
    restoreHostFrames(h, first, FRAMES * PAGE_SIZE);
    expect(h).toEqual(host([1]));
    restoreHostFrames(h, second, FRAMES * PAGE_SIZE);
    const expected = host([1]);
    expected[2 * PAGE_SIZE] = 2;
    expect(h).toEqual(expected);
  });
});
