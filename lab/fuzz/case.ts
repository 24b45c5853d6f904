// Run i of a campaign with seed S, derived from (S, i) alone: the guests, the unmap strategy and
// its options, the VM's shape and the chaos schedule. So a shard, a worker or another machine that
// runs run i runs exactly the same case.

import type { Engine } from "../../emulator/engine.ts";
import { SplitMix32 } from "../../hypervisor/splitmix32.ts";
import { UNMAP_STRATEGIES, type UnmapStrategyName } from "../../hypervisor/unmap/registry.ts";
import type { RevmapTlbi } from "../../hypervisor/unmap/strategy.ts";
import { FUZZ_GUESTS, type FuzzGuests } from "./guests.ts";

/** The scenario `vm:` fields a case sets (the rest keep their defaults). */
export interface FuzzVm {
  unmap: UnmapStrategyName;
  directMap?: boolean;
  revmapTlbi?: RevmapTlbi;
  vcpus?: number;
  /** Few shadow MMUs, so the guests' VMIDs make L0 recycle them. */
  nestedMmus?: number;
  /** false: no canonical 2M blocks (every canonical leaf a page). */
  blocks?: boolean;
  ramSlots?: number;
  schedule?: { policy: "round-robin" | "random"; quantum: number };
  seed?: number;
  /** The campaign's engine when one was given (`--engine`): written into the files, so they replay on it. */
  engine?: Engine;
}

export interface FuzzCase {
  /** The run's index in the campaign. */
  index: number;
  guests: FuzzGuests;
  vm: FuzzVm;
  chaos: { seed: number; rate: number };
}

export interface CaseChoices {
  /** Every run uses this strategy (`--strategy`); otherwise each run draws one. */
  strategy?: UnmapStrategyName;
  /** The guest sets to draw from (default: all of FUZZ_GUESTS). */
  guests?: readonly FuzzGuests[];
  /** Every run uses this engine (`--engine`); otherwise the CPU's default. Draws nothing. */
  engine?: Engine;
}

/** Mean exits between chaos injections, drawn per run: dense schedules find races, sparse ones reach late state. */
const CHAOS_RATES = [2, 3, 5, 10, 20, 50];
const RAM_SLOTS = [1, 1, 2, 4];
const QUANTA = [50, 200, 1000];

/** murmur3's 32-bit finalizer: every input bit moves every output bit. */
function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The generator of run `index` of campaign `seed`: independent streams per run, not shifted copies of one. */
export function caseRng(seed: number, index: number): SplitMix32 {
  return new SplitMix32(fmix32(fmix32(seed >>> 0) ^ fmix32((index + 0x632be5ab) >>> 0)) ^ fmix32(Math.floor(index / 2 ** 32)));
}

function pick<T>(rng: SplitMix32, xs: readonly T[]): T {
  return xs[rng.below(xs.length)]!;
}

/** Run `index` of campaign `seed`. */
export function fuzzCase(seed: number, index: number, choices: CaseChoices = {}): FuzzCase {
  const rng = caseRng(seed, index);
  const guests = pick(rng, choices.guests ?? FUZZ_GUESTS);
  const unmap = choices.strategy ?? pick(rng, UNMAP_STRATEGIES);
  const vcpus = guests.vcpus ?? 1;
  const vm: FuzzVm = { unmap };
  // Draws happen whether or not the option applies, so one choice does not shift the others.
  const directMap = rng.below(3) === 0;
  const revmapTlbi = pick(rng, ["seed", "v3"] as const);
  if (unmap === "revmap" || unmap === "accel") {
    if (directMap) vm.directMap = true;
    else vm.revmapTlbi = revmapTlbi;
  }
  if (vcpus > 1) vm.vcpus = vcpus;
  const mmus = rng.below(4);
  if (mmus < 3) vm.nestedMmus = vcpus + mmus;
  if (rng.below(4) === 0) vm.blocks = false;
  const slots = pick(rng, RAM_SLOTS);
  if (slots > 1) vm.ramSlots = slots;
  const policy = pick(rng, ["round-robin", "random"] as const);
  const quantum = pick(rng, QUANTA);
  const vmSeed = rng.below(1000);
  if (vcpus > 1) {
    vm.schedule = { policy, quantum };
    if (policy === "random") vm.seed = vmSeed;
  }
  const chaos = { seed: rng.next(), rate: pick(rng, CHAOS_RATES) };
  // After every draw: the same seed gives the same cases on either engine.
  if (choices.engine !== undefined) vm.engine = choices.engine;
  return { index, guests, vm, chaos };
}

/** The runs of a campaign of `runs` runs that shard `shard` of `count` takes: i ≡ shard (mod count). */
export function shardRuns(runs: number, shard: number, count: number): number[] {
  const out: number[] = [];
  for (let i = shard; i < runs; i += count) out.push(i);
  return out;
}
