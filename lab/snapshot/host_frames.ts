// The machine's host memory (RAM frames, L0's page pool, the CPU state blocks) saved frame by
// frame. A frame equal to the previous snapshot's copy shares that copy and an all-zero frame shares
// one zero frame, so a snapshot costs memory only for the frames written since the one before.

import { PAGE_SIZE } from "../../emulator/memory.ts";

const WORDS = PAGE_SIZE / 4;
const ZERO = new Int32Array(WORDS);

export interface HostFrames {
  /** First byte saved (frames below it are not state). */
  readonly from: number;
  /** Frame i (from `from`) as it was; shared with other snapshots where equal. */
  readonly frames: readonly Int32Array[];
  /** Frames this snapshot holds that no earlier one shared (what it costs). */
  readonly ownBytes: number;
}

function equalAt(h: Int32Array, at: number, f: Int32Array): boolean {
  for (let i = 0; i < WORDS; i++) if (h[at + i] !== f[i]) return false;
  return true;
}

/** Save host memory [from, used), sharing the frames that equal `prev`'s. */
export function captureHostFrames(host: Uint8Array, from: number, used: number, prev: HostFrames | null): HostFrames {
  const h = new Int32Array(host.buffer, host.byteOffset, host.byteLength >>> 2);
  const n = Math.ceil((used - from) / PAGE_SIZE);
  const frames = new Array<Int32Array>(n);
  const same = prev !== null && prev.from === from;
  let ownBytes = 0;
  for (let f = 0; f < n; f++) {
    const at = (from + f * PAGE_SIZE) >>> 2;
    const before = same ? prev.frames[f] : undefined;
    if (before !== undefined && equalAt(h, at, before)) frames[f] = before;
    else if (equalAt(h, at, ZERO)) frames[f] = ZERO;
    else {
      frames[f] = h.slice(at, at + WORDS);
      ownBytes += PAGE_SIZE;
    }
  }
  return { from, frames, ownBytes };
}

/** Put host memory back; frames used since (beyond the snapshot's) are zeroed, as fresh frames are. */
export function restoreHostFrames(host: Uint8Array, saved: HostFrames, usedNow: number): void {
  const h = new Int32Array(host.buffer, host.byteOffset, host.byteLength >>> 2);
  const n = saved.frames.length;
  for (let f = 0; f < n; f++) {
    const at = (saved.from + f * PAGE_SIZE) >>> 2;
    const s = saved.frames[f]!;
    if (!equalAt(h, at, s)) h.set(s, at);
  }
  const end = saved.from + n * PAGE_SIZE;
  if (usedNow > end) host.fill(0, end, usedNow);
}
