// The timeline of a debugging session: snapshots of the VM taken as it runs (every `every`
// instructions, and wherever the run left the scheduler's course: a vCPU stepped out of turn, a
// register or memory written by the user), from which any earlier step is reached again by
// restoring the nearest one before it and running forward. Runs are deterministic and a run cut into
// pieces interleaves as one does, so the replay passes through exactly the states the run did.

import type { Kvm } from "../hypervisor/vm.ts";
import type { RunOutcome } from "../lab/run.ts";
import { restoreSnapshot, takeSnapshot, type VmSnapshot } from "../lab/snapshot/vm_snapshot.ts";
import { DebugError } from "./errors.ts";

/** Automatic snapshots every this many instructions (all vCPUs) by default. */
export const DEFAULT_SNAPSHOT_EVERY = 500_000;
/** Memory the automatic snapshots may hold by default before older ones are thinned out. */
export const DEFAULT_SNAPSHOT_BYTES = 512 << 20;

export interface TimelineOptions {
  every?: number;
  maxBytes?: number;
}

/** The debugger's own run state that goes with a snapshot. */
export interface RunState {
  outcome: RunOutcome | null;
  /** The vCPU the session showed. */
  vcpu: number;
}

export interface Checkpoint {
  readonly snap: VmSnapshot;
  readonly run: RunState;
  /** Taken where the run left the scheduler's course: replay cannot pass it, so it is never thinned. */
  readonly pinned: boolean;
}

export interface NamedSnapshot {
  readonly name: string;
  readonly at: Checkpoint;
  /** The timeline as it was: restoring the snapshot brings its past back too. */
  readonly past: readonly Checkpoint[];
}

export class Timeline {
  readonly every: number;
  readonly maxBytes: number;
  /** On the current course of the run, oldest first (steps never decrease). */
  private points: Checkpoint[] = [];
  private readonly named = new Map<string, NamedSnapshot>();
  private autoName = 1;

  constructor(
    private readonly kvm: Kvm,
    opts: TimelineOptions = {},
  ) {
    this.every = opts.every ?? DEFAULT_SNAPSHOT_EVERY;
    this.maxBytes = opts.maxBytes ?? DEFAULT_SNAPSHOT_BYTES;
    if (!Number.isInteger(this.every) || this.every < 1) throw new DebugError(`snapshot interval must be a positive integer (got ${this.every})`);
    if (!(this.maxBytes > 0)) throw new DebugError(`snapshot memory bound must be positive (got ${this.maxBytes})`);
  }

  /** The run reached a step where a periodic snapshot is due. */
  due(): boolean {
    return this.kvm.steps >= this.nextDue();
  }

  /** Step at which the next periodic snapshot is due. */
  nextDue(): number {
    const last = this.points[this.points.length - 1];
    return last === undefined ? this.kvm.steps : last.snap.steps + this.every;
  }

  /** Record the state now; `pinned` where the run left its course (see Checkpoint). */
  record(run: RunState, pinned: boolean): Checkpoint {
    const prev = this.points[this.points.length - 1]?.snap ?? null;
    const c: Checkpoint = { snap: takeSnapshot(this.kvm, prev), run: { ...run }, pinned };
    this.points.push(c);
    this.thin();
    return c;
  }

  /**
   * The run left its course at step `at` (the future recorded so far is no longer this run's):
   * drop the snapshots past it.
   */
  forkHere(at: number): void {
    this.points = this.points.filter((c) => c.snap.steps <= at);
  }

  /**
   * The run goes on from step `at` as it runs, not as it was recorded: where the recorded run left
   * its course after `at` (a pinned snapshot), its future is not this run's.
   */
  runFrom(at: number): void {
    if (this.points.some((c) => c.pinned && c.snap.steps > at)) this.forkHere(at);
  }

  /** The latest snapshot at or before `step` (the first one, step 0, always qualifies). */
  nearest(step: number): Checkpoint {
    for (let i = this.points.length - 1; i >= 0; i--) if (this.points[i]!.snap.steps <= step) return this.points[i]!;
    throw new DebugError(`no snapshot at or before step ${step}`);
  }

  /** The snapshot before `c` on the timeline, or null for the first. */
  before(c: Checkpoint): Checkpoint | null {
    const i = this.points.indexOf(c);
    return i > 0 ? this.points[i - 1]! : null;
  }

  /** Put the VM back to a snapshot; returns its run state. */
  restore(c: Checkpoint): RunState {
    restoreSnapshot(this.kvm, c.snap);
    return { ...c.run };
  }

  /** Back to the first snapshot (the VM as it was built), forgetting the rest of the timeline. */
  first(): Checkpoint {
    const c = this.points[0];
    if (!c) throw new DebugError("no snapshot of the start was taken");
    this.points = [c];
    return c;
  }

  // ------------------------------------------------------------------ named snapshots

  save(name: string | undefined, run: RunState): NamedSnapshot {
    const n = name ?? `s${this.autoName++}`;
    if (!/^[A-Za-z_][\w.-]*$/.test(n)) throw new DebugError(`snapshot name '${n}': use letters, digits, '_', '.', '-' (starting with a letter or '_')`);
    const prev = this.points[this.points.length - 1]?.snap ?? null;
    const at: Checkpoint = { snap: takeSnapshot(this.kvm, prev), run: { ...run }, pinned: true };
    const s: NamedSnapshot = { name: n, at, past: [...this.points] };
    this.named.set(n, s);
    return s;
  }

  /** Restore a named snapshot and its timeline. */
  load(name: string): { snap: NamedSnapshot; run: RunState } {
    const s = this.named.get(name);
    if (!s) throw new DebugError(`no snapshot '${name}' (snapshots: ${[...this.named.keys()].join(", ") || "none"})`);
    const run = this.restore(s.at);
    this.points = [...s.past.filter((c) => c.snap.steps <= s.at.snap.steps), s.at];
    return { snap: s, run };
  }

  list(): NamedSnapshot[] {
    return [...this.named.values()];
  }

  /** Automatic snapshots held and their memory. */
  stats(): { count: number; bytes: number; oldest: number; newest: number } {
    let bytes = 0;
    for (const c of this.points) bytes += c.snap.bytes;
    return { count: this.points.length, bytes, oldest: this.points[0]?.snap.steps ?? 0, newest: this.points[this.points.length - 1]?.snap.steps ?? 0 };
  }

  /**
   * Over the memory bound, every other unpinned snapshot goes (the first stays): replay distances
   * double where history is old, never past a pinned one.
   */
  private thin(): void {
    while (this.stats().bytes > this.maxBytes) {
      const keep = this.points.filter((c, i) => i === 0 || i === this.points.length - 1 || c.pinned || i % 2 === 0);
      if (keep.length === this.points.length) return;
      this.points = keep;
    }
  }
}
