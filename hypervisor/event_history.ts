// The event log's long memory. The log's ring keeps the last 256 events of every kind, which a busy
// guest's exits push out within a few hundred instructions; the history keeps, per kind that says
// who mapped, changed or removed a translation, the newest HISTORY_DEPTH events, whatever else
// happened since. It answers provenance queries (`why ADDR`, lab/why.ts) about a run of any length
// in bounded memory. It is fed by the log itself (no listener, so logging an event still makes no
// object) and lives in the VM's state, so snapshots save and restore it with the rest.

import type { EventKind, KvmEventData } from "./event_data.ts";

/** Events kept per kind: the newest 1024 (older ones are counted, not kept). */
export const HISTORY_DEPTH = 1024;

/** One kept event: its place in the log (1 = the first event logged), its step and its fields. */
export interface HistoryEntry {
  readonly seq: number;
  readonly step: number;
  readonly data: KvmEventData;
}

/**
 * Whether an event says who mapped, changed or removed a translation (exits, ERETs, MMIO and PSCI
 * do not; nor do injections into a guest's vectors, TLBIs of stage-1 only, or a vCPU waiting out a
 * coalescing).
 */
export function keptInHistory(e: KvmEventData): boolean {
  switch (e.kind) {
    case "s2-table-write":
    case "shadow-fault":
    case "canonical-fault":
    case "unmap":
    case "recycle":
    case "chaos":
    case "memslot":
    case "relax-perms":
    case "revmap":
    case "accel":
      return true;
    case "inject":
      return e.into === "l1-stage2";
    case "tlbi":
      return e.target === "stage2";
    case "coalesce":
      return e.phase !== "fault";
    default:
      return false;
  }
}

/**
 * The newest events of one kind: a ring once it holds HISTORY_DEPTH. Fields, steps and log
 * numbers are kept side by side, so a snapshot walks one frozen object per event and no more.
 */
class KindHistory {
  readonly data: KvmEventData[] = [];
  readonly steps: number[] = [];
  readonly seqs: number[] = [];
  /** Where the next event goes once the ring is full. */
  next = 0;
  /** Events dropped to make room. */
  dropped = 0;

  add(data: KvmEventData, step: number, seq: number): void {
    if (this.data.length < HISTORY_DEPTH) {
      this.data.push(data);
      this.steps.push(step);
      this.seqs.push(seq);
      return;
    }
    const i = this.next;
    this.data[i] = data;
    this.steps[i] = step;
    this.seqs[i] = seq;
    this.next = (i + 1) % HISTORY_DEPTH;
    this.dropped++;
  }

  /** Newest first. */
  *newest(): Generator<HistoryEntry> {
    const n = this.data.length;
    // Before the ring wraps, `next` is 0 and the newest event is the last one.
    for (let k = 1; k <= n; k++) {
      const i = (this.next - k + n) % n;
      yield { seq: this.seqs[i]!, step: this.steps[i]!, data: this.data[i]! };
    }
  }
}

export class EventHistory {
  private readonly kinds = new Map<EventKind, KindHistory>();

  /** The log calls it for every event it logs (`seq`: the event's number in the log). */
  note(data: KvmEventData, step: number, seq: number): void {
    if (!keptInHistory(data)) return;
    let h = this.kinds.get(data.kind);
    if (h === undefined) this.kinds.set(data.kind, (h = new KindHistory()));
    // Frozen, as the fields' readonly types say they are: a snapshot saves nothing of them.
    h.add(Object.freeze(data), step, seq);
  }

  /** The kept events of `kind`, newest first. */
  *newest(kind: EventKind): Generator<HistoryEntry> {
    const h = this.kinds.get(kind);
    if (h !== undefined) yield* h.newest();
  }

  /** Every kept event, newest first. */
  all(): HistoryEntry[] {
    const out: HistoryEntry[] = [];
    for (const h of this.kinds.values()) out.push(...h.newest());
    return out.sort((a, b) => b.seq - a.seq);
  }

  /** Events of `kind` the history had to drop (older than the newest HISTORY_DEPTH). */
  dropped(kind: EventKind): number {
    return this.kinds.get(kind)?.dropped ?? 0;
  }

  /** Every kind that dropped events, with how many. */
  droppedKinds(): [EventKind, number][] {
    return [...this.kinds].filter(([, h]) => h.dropped > 0).map(([k, h]) => [k, h.dropped]);
  }
}
