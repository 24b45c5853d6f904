// Where the images of a run may go, checked before anything is loaded. The guest ABI
// (guests/README.md) gives each L2 a fixed 16 MiB window of canonical IPA space: L1 runs L2 #n
// from 0x4800_0000 + n × 16 MiB, mapping nested IPA 0x4000_0000 + off to the window's start + off.
// An L2 image anywhere else, or two images sharing bytes, would be accepted by the loader and
// fail much later as an L1 report or a guest fault that names neither image.

import { type Image, lowestBase } from "../asm/image.ts";
import { hex } from "../emulator/types.ts";
import { GuestError } from "../hypervisor/errors.ts";

/** Canonical IPA of L2 #0's window; L2 #n's is n windows above. */
export const L2_WINDOW_BASE = 0x4800_0000n;
/** Bytes of canonical IPA space each L2 owns. */
export const L2_WINDOW_SIZE = 0x0100_0000n;

/** An image and where its lowest section goes (null: at the addresses it was assembled at). */
export interface PlacedImage {
  image: Image;
  ipa: bigint | null;
}

interface Extent {
  what: string;
  start: bigint;
  end: bigint;
}

/** The byte ranges an image's sections occupy once placed, as loadGuestImage places them. */
function extents(what: string, p: PlacedImage): Extent[] {
  if (p.image.sections.length === 0) return [];
  const offset = p.ipa === null ? 0n : p.ipa - lowestBase(p.image);
  return p.image.sections.map((s) => ({ what, start: s.base + offset, end: s.base + offset + BigInt(s.bytes.length) }));
}

function range(e: Extent): string {
  return `${hex(e.start)}..${hex(e.end)}`;
}

const WINDOWS =
  `the L1s run L2 #n from its window at canonical ${hex(L2_WINDOW_BASE)} + n × ${hex(L2_WINDOW_SIZE)} ` +
  `(${hex(L2_WINDOW_BASE)}, ${hex(L2_WINDOW_BASE + L2_WINDOW_SIZE)}, ${hex(L2_WINDOW_BASE + 2n * L2_WINDOW_SIZE)}, …), ` +
  `loaded at the window's start and at most ${L2_WINDOW_SIZE >> 20n} MiB long; see guests/README.md`;

/**
 * How many windows the L1 runs L2s from, read from the guest library's constants (guests/README.md):
 * NUM_L2; or for the SMP core one per vCPU it can start (MAX_VCPUS), one in all with SHARED_L2. Null
 * for an L1 that defines neither: its windows are its own business.
 */
function windowsRun(l1: Image, vcpus: number): { count: bigint; why: string } | null {
  const num = l1.constants.get("NUM_L2");
  if (num !== undefined) return { count: num, why: `its NUM_L2 is ${num}` };
  const max = l1.constants.get("MAX_VCPUS");
  const shared = l1.constants.get("SHARED_L2");
  if (max === undefined || shared === undefined) return null;
  if (shared !== 0n) return { count: 1n, why: "every vCPU runs L2 #0 (SHARED_L2)" };
  const n = BigInt(vcpus) < max ? BigInt(vcpus) : max;
  return { count: n, why: `vCPU n runs L2 #n, on ${vcpus} vCPU${vcpus === 1 ? "" : "s"} (at most MAX_VCPUS = ${max})` };
}

/** Why an L2 image does not sit in exactly one window from its start, or null. */
function windowProblem(what: string, ipa: bigint, own: Extent[]): string | null {
  const n = (ipa - L2_WINDOW_BASE) / L2_WINDOW_SIZE;
  const start = L2_WINDOW_BASE + n * L2_WINDOW_SIZE;
  if (ipa < L2_WINDOW_BASE || ipa !== start) {
    return `${what} at ${hex(ipa)} is not at the start of an L2 window: ${WINDOWS}`;
  }
  const end = start + L2_WINDOW_SIZE;
  const outside = own.find((e) => e.end > end);
  if (outside) return `${what} at ${range(outside)} does not fit in L2 #${n}'s window ${hex(start)}..${hex(end)}: ${WINDOWS}`;
  return null;
}

/**
 * Refuse a layout the L1s cannot run: an L2 not at the start of its window or larger than it, a
 * window the L1 runs left empty, or any two images (L1 and L2s) overlapping. Throws a GuestError
 * naming the images, their ranges and the windows.
 */
export function checkImageLayout(l1: PlacedImage, l2: readonly { image: Image; ipa: bigint }[], vcpus: number): void {
  const placed: Extent[][] = [extents(`L1 image ${l1.image.file}`, l1)];
  for (const p of l2) {
    const what = `L2 image ${p.image.file}`;
    const own = extents(what, p);
    const problem = windowProblem(what, p.ipa, own);
    if (problem) throw new GuestError(problem);
    placed.push(own);
  }
  for (let a = 0; a < placed.length; a++) {
    for (let b = a + 1; b < placed.length; b++) {
      for (const x of placed[a]!) {
        const y = placed[b]!.find((e) => e.start < x.end && x.start < e.end);
        if (y) throw new GuestError(`images overlap: ${x.what} at ${range(x)} and ${y.what} at ${range(y)}; each image needs bytes of its own (${WINDOWS})`);
      }
    }
  }
  // A window the L1 runs with no image in it, when L2s are given at all (an L1 alone is a run of
  // its own): L1 would enter zeroed memory and report a fault that names no image. Images in
  // windows the L1 never runs are only unused (the QEMU pairs load all four SMP L2s whatever the
  // CPU count).
  const run = l2.length === 0 ? null : windowsRun(l1.image, vcpus);
  for (let n = 0n; run && n < run.count; n++) {
    const start = L2_WINDOW_BASE + n * L2_WINDOW_SIZE;
    if (!l2.some((p) => p.ipa === start)) {
      throw new GuestError(`L1 ${l1.image.file} runs L2 #0..#${run.count - 1n} (${run.why}), but no L2 image is loaded at L2 #${n}'s window ${hex(start)}: ${WINDOWS}`);
    }
  }
}
