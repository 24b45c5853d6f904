// The guests a fuzz campaign runs: the shipped L1/L2 sets that end by themselves within a few
// million instructions and print the same console whatever the host does underneath (so a run
// under chaos can be compared with a plain one). Paths are relative to the repository; a user's
// own guests (`nvlab fuzz --l1 … --l2 …`) come with absolute paths.

import { REPO_ROOT } from "../fixtures/guest_images.ts";
import { resolve } from "node:path";

export interface FuzzGuests {
  /** `hyp+checksum`, `multi+6`, `smp+2`. */
  readonly name: string;
  readonly l1: string;
  /** Where L1 is loaded (absent: the scenario default, 0x40100000). */
  readonly l1Ipa?: bigint;
  readonly l2: readonly { readonly file: string; readonly ipa: bigint }[];
  /** vCPUs the set needs (absent: 1). */
  readonly vcpus?: number;
}

/** L2 #n's canonical window (guests/README.md). */
const l2Ipa = (n: number): bigint => 0x4800_0000n + BigInt(n) * 0x100_0000n;

const l2Set = (names: readonly string[]) => names.map((g, n) => ({ file: `guests/l2/${g}.S`, ipa: l2Ipa(n) }));

function pair(l1: string, l2: string): FuzzGuests {
  return { name: `${l1}+${l2}`, l1: `guests/l1/${l1}.S`, l2: l2Set([l2]) };
}

/**
 * Not here: `hyp+wild` (ends on purpose with a stage-2 fault, no page for chaos to aim at),
 * `remap+remap_notlbi` (what L2 reads after a remap without TLBI depends on the host's caches:
 * not architecturally defined), `smp_shared` (its fault counts depend on the interleaving).
 */
export const FUZZ_GUESTS: readonly FuzzGuests[] = [
  pair("hyp", "hello"),
  pair("hyp", "touch"),
  pair("hyp", "checksum"),
  pair("hyp", "uart"),
  pair("hyp64k", "touch"),
  pair("hypblock", "touch"),
  pair("hypblock", "touch1000"),
  pair("hypblock", "checksum"),
  pair("remap", "remap"),
  // L1 points a second nested page at L2's own code page: two nested IPAs, one canonical page.
  { name: "alias+remap", l1: "scenarios/guests/alias.S", l2: l2Set(["remap"]) },
  pair("blockmove", "blockmove"),
  { name: "multi+6", l1: "guests/l1/multi.S", l2: l2Set(["hello", "touch", "checksum", "hello", "touch", "checksum"]) },
  { name: "smp+2", l1: "guests/l1/smp.S", l2: l2Set(["hello", "touch"]), vcpus: 2 },
  { name: "smp_rounds+2", l1: "guests/l1/smp_rounds.S", l2: l2Set(["hello", "touch"]), vcpus: 2 },
];

/** The guest set called `name`, or undefined. */
export function fuzzGuests(name: string): FuzzGuests | undefined {
  return FUZZ_GUESTS.find((g) => g.name === name);
}

/** A repository-relative guest path (or an absolute one, as given), absolute. */
export function guestPath(file: string): string {
  return resolve(REPO_ROOT, file);
}
