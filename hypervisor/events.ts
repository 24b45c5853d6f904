// The event log: a ring buffer of the last L0 actions (exits, faults, injections, ERETs, TLBIs…),
// stamped with the instruction count. `--trace` streams every event as one line; error reports
// carry the tail of the log.
//
// As Linux's TRACE_EVENT separates TP_STRUCT__entry from TP_printk, an event is recorded as a
// plain object of fields (one variant per kind, event_data.ts) and its text is made only when someone
// prints it (event_format.ts). Consumers (Perfetto args, scenario triggers, breakpoints) read the
// fields; nothing parses the text back.

import type { EventKind, KvmEventData } from "./event_data.ts";
import { formatEventData } from "./event_format.ts";
import { EventHistory } from "./event_history.ts";

export type * from "./event_data.ts";
export { EVENT_KINDS } from "./event_data.ts";

export interface KvmEvent {
  /** Instructions retired by the guest when the event happened. */
  readonly step: number;
  readonly kind: EventKind;
  /** The fields recorded when it happened. */
  readonly data: KvmEventData;
  /** The text (`--trace`, reports), formatted from the fields on first use. */
  readonly detail: string;
}

class LoggedEvent implements KvmEvent {
  private text: string | null = null;

  constructor(
    readonly step: number,
    readonly data: KvmEventData,
  ) {}

  get kind(): EventKind {
    return this.data.kind;
  }

  get detail(): string {
    return (this.text ??= formatEventData(this.data));
  }

  toJSON(): { step: number; kind: string; detail: string } {
    return { step: this.step, kind: this.kind, detail: this.detail };
  }
}

export type EventListener = (e: KvmEvent) => void;

export class EventLog {
  // The ring holds the fields and the step apart, and an event object is made only for a listener
  // or a reader: nested exits log two or three events each, and nobody reads most of them.
  private readonly data: (KvmEventData | undefined)[];
  private readonly stepAt: Float64Array;
  private next = 0;
  private count = 0;
  /** Where event timestamps come from (the VM sets it to its vCPUs' step count). */
  stepSource: () => number = () => 0;
  private listeners: EventListener[] = [];
  /** Beyond the ring: the newest events of each kind a provenance query needs (event_history.ts). */
  readonly history = new EventHistory();

  constructor(readonly capacity = 256) {
    this.data = new Array<KvmEventData | undefined>(capacity);
    this.stepAt = new Float64Array(capacity);
  }

  /** Call `fn` for every event as it is logged (`--trace`, scenario triggers, debuggers, traces). */
  subscribe(fn: EventListener): () => void {
    this.listeners = [...this.listeners, fn];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== fn);
    };
  }

  /** Whether anyone is subscribed (callers may then skip work only a listener would see). */
  get observed(): boolean {
    return this.listeners.length > 0;
  }

  /** Log an event's fields (`step` defaults to the step source). */
  add(data: KvmEventData, step: number = this.stepSource()): void {
    const i = this.next;
    this.data[i] = data;
    this.stepAt[i] = step;
    this.next = i + 1 === this.capacity ? 0 : i + 1;
    this.count++;
    this.history.note(data, step, this.count);
    if (this.listeners.length === 0) return;
    const e = new LoggedEvent(step, data);
    for (const l of this.listeners) l(e);
  }

  /** Events logged since the start (including those the ring has dropped). */
  get total(): number {
    return this.count;
  }

  /** The last `n` events, oldest first. */
  recent(n: number = this.capacity): KvmEvent[] {
    const have = Math.min(this.count, this.capacity, n);
    const out: KvmEvent[] = [];
    for (let k = have; k > 0; k--) {
      const i = (this.next - k + this.capacity) % this.capacity;
      out.push(new LoggedEvent(this.stepAt[i]!, this.data[i]!));
    }
    return out;
  }
}

/** One line of `--trace` output. */
export function formatEvent(e: KvmEvent): string {
  return `[${String(e.step).padStart(10)}] ${e.kind.padEnd(15)} ${e.detail}`;
}

/** Append an event's fields to the VM's log (its text is formatted only if someone prints it). */
export function kvmEvent(kvm: { readonly events: EventLog }, data: KvmEventData): void {
  kvm.events.add(data);
}
