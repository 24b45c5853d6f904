// Shrinking a failing timeline to a small one that still fails the same way: first fewer entries
// (the shortest failing suffix, then delta debugging, ddmin), then each remaining entry made simpler — an earlier trigger, a smaller
// unmapped range (halves, down to single 4K pages inside the original), a smaller store-failure
// count. Every candidate is a run; the caller says whether it still fails, and a budget of runs
// bounds the whole search.

import type { ChaosInjection } from "../chaos.ts";

export type Timeline = readonly ChaosInjection[];

export interface ShrinkResult {
  timeline: Timeline;
  /** Candidate runs made. */
  runs: number;
  /** Whether the budget ran out before the search ended (the result still fails, it may not be minimal). */
  exhausted: boolean;
}

const PAGE = 0x1000n;

class Budget {
  runs = 0;
  constructor(
    private readonly max: number,
    private readonly fails: (t: Timeline) => Promise<boolean>,
  ) {}

  get left(): boolean {
    return this.runs < this.max;
  }

  /** Whether `t` still fails; false without running once the budget is spent. */
  async test(t: Timeline): Promise<boolean> {
    if (!this.left) return false;
    this.runs++;
    return this.fails(t);
  }
}

/** Split `xs` into `n` contiguous chunks of near-equal length. */
function chunks<T>(xs: readonly T[], n: number): T[][] {
  const out: T[][] = [];
  let start = 0;
  for (let i = 0; i < n; i++) {
    const end = start + Math.floor((xs.length - start) / (n - i));
    out.push(xs.slice(start, end));
    start = end;
  }
  return out.filter((c) => c.length > 0);
}

/** ddmin (Zeller): the failing list reduced until removing any one chunk at the finest granularity passes. */
async function ddmin(t: Timeline, b: Budget): Promise<Timeline> {
  let cur = t;
  let n = 2;
  while (cur.length >= 2 && b.left) {
    const parts = chunks(cur, Math.min(n, cur.length));
    let reduced = false;
    for (const part of parts) {
      if (await b.test(part)) {
        cur = part;
        n = 2;
        reduced = true;
        break;
      }
    }
    if (!reduced) {
      for (const part of parts) {
        const complement = cur.filter((x) => !part.includes(x));
        if (complement.length > 0 && (await b.test(complement))) {
          cur = complement;
          n = Math.max(n - 1, 2);
          reduced = true;
          break;
        }
      }
    }
    if (!reduced) {
      if (n >= cur.length) break;
      n = Math.min(n * 2, cur.length);
    }
  }
  // A single entry may not be needed at all (the run fails with no injection).
  if (cur.length === 1 && (await b.test([]))) cur = [];
  return cur;
}

/**
 * The shortest suffix that still fails, by doubling its length: the injection that trips the checker
 * is the last one or close to it, and the state it needs is mostly set up by the ones just before.
 * Cheap (a logarithmic number of runs) where ddmin on a long schedule spends its budget on halves.
 */
async function failingSuffix(t: Timeline, b: Budget): Promise<Timeline> {
  for (let n = 1; n < t.length && b.left; n *= 2) {
    const suffix = t.slice(t.length - n);
    if (await b.test(suffix)) return suffix;
  }
  return t;
}

function replaced(t: Timeline, i: number, e: ChaosInjection): Timeline {
  return t.map((x, j) => (j === i ? e : x));
}

/** Entry i's trigger moved as early as it still fails: not before the entry ahead of it (the order stays). */
async function earlierTrigger(t: Timeline, i: number, b: Budget): Promise<Timeline> {
  let lo = i === 0 ? 1 : t[i - 1]!.exits;
  let hi = t[i]!.exits;
  let cur = t;
  while (lo < hi && b.left) {
    const mid = Math.floor((lo + hi) / 2);
    const cand = replaced(cur, i, { ...cur[i]!, exits: mid });
    if (await b.test(cand)) {
      cur = cand;
      hi = mid;
    } else lo = mid + 1;
  }
  return cur;
}

/** Entry i's unmapped range halved while a half still fails, down to one 4K page. */
async function smallerRange(t: Timeline, i: number, b: Budget): Promise<Timeline> {
  let cur = t;
  for (;;) {
    const e = cur[i]!;
    if (!("unmapCanonical" in e.action)) return cur;
    const { ipa, size } = e.action.unmapCanonical;
    const pages = size / PAGE;
    if (pages <= 1n || !b.left) return cur;
    const first = (pages / 2n) * PAGE;
    const halves = [
      { ipa, size: first },
      { ipa: ipa + first, size: size - first },
    ];
    let next: Timeline | null = null;
    for (const h of halves) {
      const cand = replaced(cur, i, { exits: e.exits, action: { unmapCanonical: h } });
      if (await b.test(cand)) {
        next = cand;
        break;
      }
    }
    if (next === null) return cur;
    cur = next;
  }
}

/** Entry i's store-failure count made 1, or else one less while it still fails. */
async function smallerCount(t: Timeline, i: number, b: Budget): Promise<Timeline> {
  let cur = t;
  for (;;) {
    const e = cur[i]!;
    if (!("failStores" in e.action)) return cur;
    const { store, count } = e.action.failStores;
    if (count <= 1) return cur;
    const tries = count > 2 ? [1, count - 1] : [1];
    let next: Timeline | null = null;
    for (const c of tries) {
      const cand = replaced(cur, i, { exits: e.exits, action: { failStores: { store, count: c } } });
      if (await b.test(cand)) {
        next = cand;
        break;
      }
    }
    if (next === null) return cur;
    cur = next;
  }
}

/**
 * Shrink `timeline`, which fails (`fails` says whether a candidate fails the same way), spending at
 * most `maxRuns` candidate runs.
 */
export async function shrinkTimeline(timeline: Timeline, fails: (t: Timeline) => Promise<boolean>, maxRuns: number): Promise<ShrinkResult> {
  const b = new Budget(maxRuns, fails);
  let cur = await ddmin(await failingSuffix(timeline, b), b);
  for (let i = 0; i < cur.length; i++) {
    cur = await earlierTrigger(cur, i, b);
    cur = await smallerRange(cur, i, b);
    cur = await smallerCount(cur, i, b);
  }
  // Simpler entries may make others unnecessary.
  if (cur.length > 1) cur = await ddmin(cur, b);
  return { timeline: cur, runs: b.runs, exhausted: !b.left };
}
