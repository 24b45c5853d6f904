// How the strategies word their unmap events in `--trace` lines and Perfetto args. Each wording
// keeps the text its strategy has always printed, so traces of older runs still compare.

import type { NestedUnmapEventData, NestedUnmapWording } from "../event_data.ts";
import { range } from "../event_format.ts";
import { hex } from "../../emulator/types.ts";

const removed = (e: NestedUnmapEventData): string => `${e.removed} shadow entries removed`;
const where = (e: NestedUnmapEventData): string => (e.start !== undefined && e.size !== undefined ? range(e.start, e.size) : "?");
const rangeArgs = (key: string, e: NestedUnmapEventData): Record<string, string> =>
  e.start !== undefined && e.size !== undefined ? { [key]: hex(e.start), size: hex(e.size) } : {};

/** Seed 001: every valid MMU's revmap is consulted. */
export const REVMAP_WORDING: NestedUnmapWording = {
  text: (e) => `nested (revmap): ${e.mmusVisited} MMUs visited, ${removed(e)}`,
  args: (e) => ({ mmusVisited: e.mmusVisited, shadowEntriesRemoved: e.removed }),
};

/** Seed 000: only the MMUs whose group bits the canonical tree holds are visited. */
export const ACCEL_WORDING: NestedUnmapWording = {
  text: (e) => `nested (accel ${where(e)}): ${e.mmusVisited} MMUs visited, ${removed(e)}`,
  args: (e) => ({ ...rangeArgs("accel", e), mmusVisited: e.mmusVisited, shadowEntriesRemoved: e.removed }),
};

/** Seed 003: each MMU's tree is looked up page by page. */
export const RFC_RBTREE_WORDING: NestedUnmapWording = {
  text: (e) => `nested (rfc-rbtree) ${where(e)}: ${e.mmusVisited} MMU trees looked up, ${removed(e)}`,
  args: (e) => ({ ...rangeArgs("rfc-rbtree", e), mmuTreesLookedUp: e.mmusVisited, shadowEntriesRemoved: e.removed }),
};
