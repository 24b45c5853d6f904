// A run as a Chrome trace-event JSON file (the format ui.perfetto.dev and chrome://tracing load):
// one thread track per vCPU with L1/L2 time as complete slices, an instant for every exit and every
// L0 action (shadow faults, unmaps, recycles, TLBIs, injections) with arguments from its event's
// fields (trace_args.ts), and counter tracks for the shadow stage-2. Time is the VM's retired-instruction
// count, so the same run always gives the same file.

import { closeSync, openSync, writeSync } from "node:fs";
import type { Exit } from "../emulator/exception.ts";
import { hex } from "../emulator/types.ts";
import type { KvmEvent } from "../hypervisor/events.ts";
import { INJECT_EVENT } from "../lab/injection.ts";
import type { VmMonitor } from "../hypervisor/monitor.ts";
import type { KvmVcpu } from "../hypervisor/vcpu.ts";
import type { Kvm } from "../hypervisor/vm.ts";
import { eventArgs, eventCategory, eventName } from "./trace_args.ts";

/**
 * One trace event. `ts`/`dur` are integers in the format's microseconds: fractional values are
 * rounded differently by different Perfetto versions, which could make back-to-back slices overlap.
 */
export type TraceEvent =
  | { ph: "M"; name: "process_name" | "thread_name" | "thread_sort_index"; pid: number; tid: number; args: Record<string, unknown> }
  | { ph: "X"; name: string; cat: string; pid: number; tid: number; ts: number; dur: number; args: Record<string, unknown> }
  | { ph: "i"; name: string; cat: string; pid: number; tid: number; ts: number; s: "t" | "p" | "g"; args: Record<string, unknown> }
  | { ph: "C"; name: string; pid: number; ts: number; args: Record<string, number> };

/** The format's object form: the events plus free-form metadata (`otherData`). */
export interface ChromeTrace {
  traceEvents: TraceEvent[];
  otherData: Record<string, string | number | boolean>;
}

export interface TraceRecorderOptions {
  /**
   * Most events recorded (slices, instants and counters together). Past it the recording stops:
   * the open slices end at that step and the trace says where it was cut.
   */
  maxEvents?: number;
}

/** Events are about 300 bytes of JSON each: the default keeps a file near 150 MB, which Perfetto's UI still opens. */
export const DEFAULT_TRACE_MAX_EVENTS = 500_000;
/** The process every track belongs to. */
export const TRACE_PID = 1;
/** Thread id of vCPU n (tid 0 is the idle task in Perfetto's model, so ids start at 1). */
export const vcpuTid = (index: number): number => index + 1;
/** What one unit of `ts` stands for, recorded in the trace's metadata. */
export const TRACE_TIME_UNIT = "1 us = 1 guest instruction retired (VM-wide count)";

/** Event kinds after which the shadow stage-2 may have changed (counters are resampled). */
const SHADOW_KINDS = new Set(["shadow-fault", "unmap", "recycle", "tlbi", "revmap", "accel", INJECT_EVENT]);

/** A level slice, recorded when it starts so records stay in time order; `end` is set when it ends. */
interface SliceRecord {
  ph: "X";
  tid: number;
  level: "L1" | "L2";
  start: number;
  end: number | null;
  args: Record<string, unknown>;
}

/** An event of the VM's log, kept as logged: its text and arguments are made when the trace is written. */
interface InstantRecord {
  ph: "i";
  tid: number;
  event: KvmEvent;
  /** For an exit event: the last exit of the vCPU the event is put on, copied while it is current. */
  exit: Exit | null;
}

interface CounterRecord {
  ph: "C";
  step: number;
  entries: number;
  validMmus: number;
}

interface CapRecord {
  ph: "cap";
  tid: number;
  step: number;
}

type TraceRecord = SliceRecord | InstantRecord | CounterRecord | CapRecord;

/**
 * Records a run as a monitor: attach it to `kvm.monitors` (or pass it through runVm's `monitors`)
 * before the vCPU runs. Level switches are seen after each handled exit, events through the VM's
 * event log; `close()` ends the open slices and stops listening. Records are compact and in time
 * order as they are made, so writing the trace streams them without sorting.
 */
export class TraceRecorder implements VmMonitor {
  private readonly records: TraceRecord[] = [];
  /** Each vCPU's current slice. */
  private readonly open = new Map<number, SliceRecord>();
  /** Each vCPU's previous slice, while a switch straight back could still resume it. */
  private readonly held = new Map<number, SliceRecord>();
  private readonly maxEvents: number;
  private unsubscribe: (() => void) | null;
  private lastVcpu: KvmVcpu;
  /** Each vCPU's instruction count at the last event (which vCPU ran in between). */
  private readonly seenSteps: number[];
  private shadowDirty = false;
  private lastCounters = "";
  private closedAt: number | null = null;
  /** Step at which the event cap was reached (null while under it). */
  private cappedAt: number | null = null;
  private dropped = 0;

  constructor(
    private readonly kvm: Kvm,
    opts: TraceRecorderOptions = {},
  ) {
    this.maxEvents = opts.maxEvents ?? DEFAULT_TRACE_MAX_EVENTS;
    if (!Number.isInteger(this.maxEvents) || this.maxEvents < 1) throw new RangeError(`maxEvents must be a positive integer (got ${this.maxEvents})`);
    this.lastVcpu = kvm.vcpus[0]!;
    this.seenSteps = kvm.vcpus.map((v) => v.cpu.steps);
    const now = kvm.steps;
    for (const v of kvm.vcpus) this.openSlice(v, now, {});
    this.sampleCounters(now);
    this.unsubscribe = kvm.events.subscribe((e) => this.onEvent(e));
  }

  /** Whether the event cap cut the recording short. */
  get truncated(): boolean {
    return this.cappedAt !== null;
  }

  /** The step the cap was reached at, or null. */
  get truncatedAtStep(): number | null {
    return this.cappedAt;
  }

  /** Events recorded so far (metadata excluded). */
  get eventCount(): number {
    return this.records.length;
  }

  onPause(vcpu: KvmVcpu): void {
    this.lastVcpu = vcpu;
    this.syncLevel(vcpu, this.kvm.steps);
    if (this.shadowDirty) this.sampleCounters(this.kvm.steps);
  }

  afterExit(vcpu: KvmVcpu): void {
    this.lastVcpu = vcpu;
    this.syncLevel(vcpu, this.kvm.steps);
    if (this.shadowDirty) this.sampleCounters(this.kvm.steps);
  }

  /** End every open slice at the current step and stop recording (idempotent). */
  close(): void {
    if (this.closedAt !== null) return;
    const now = this.cappedAt ?? this.kvm.steps;
    if (this.cappedAt === null) {
      for (const v of this.kvm.vcpus) this.syncLevel(v, now);
      if (this.shadowDirty) this.sampleCounters(now);
    }
    for (const s of this.open.values()) s.end = now;
    this.held.clear();
    this.open.clear();
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.closedAt = now;
  }

  /** The step the trace ends at: where it was closed or cut, else now. */
  private get endStep(): number {
    return this.closedAt ?? this.cappedAt ?? this.kvm.steps;
  }

  /**
   * The trace so far: metadata first, then every event in time order. Slices still open end at
   * the current step (the recorder keeps running).
   */
  toJSON(): ChromeTrace {
    return { traceEvents: [...this.traceEvents()], otherData: this.otherData() };
  }

  /** The trace's events one by one, as `toJSON` lists them (for writing without holding them all). */
  *traceEvents(): Generator<TraceEvent> {
    yield* this.metadata();
    const end = this.endStep;
    for (const r of this.records) {
      const e = this.toEvent(r, end);
      if (e) yield e;
    }
  }

  /** Metadata of the trace: the time unit, the run's size, whether the cap cut it. */
  otherData(): ChromeTrace["otherData"] {
    return {
      generator: "nvlab",
      timeUnit: TRACE_TIME_UNIT,
      steps: this.endStep,
      vcpus: this.kvm.vcpus.length,
      unmapStrategy: this.kvm.config.unmap,
      maxEvents: this.maxEvents,
      truncated: this.cappedAt !== null,
      ...(this.cappedAt === null ? {} : { truncatedAtStep: this.cappedAt, droppedEvents: this.dropped }),
    };
  }

  // ---------------------------------------------------------------- recording

  private onEvent(e: KvmEvent): void {
    if (this.cappedAt !== null) {
      this.dropped++;
      return;
    }
    const vcpu = this.eventVcpu();
    const exit = e.kind === "exit" && vcpu.lastExit ? { ...vcpu.lastExit } : null;
    this.push({ ph: "i", tid: vcpuTid(vcpu.index), event: e, exit });
    if (SHADOW_KINDS.has(e.kind)) this.shadowDirty = true;
    // Counters follow the action that changed them; exit handling resamples once it is done.
    if (this.shadowDirty && e.kind !== "exit") this.sampleCounters(e.step);
  }

  /**
   * The vCPU an event belongs to: one that has run since the last event (preferring one stopped at
   * an exit: a scheduler may park several there), else the one that last ran or paused.
   */
  private eventVcpu(): KvmVcpu {
    let ran: KvmVcpu | null = null;
    for (const v of this.kvm.vcpus) {
      const steps = v.cpu.steps;
      if (steps === this.seenSteps[v.index]) continue;
      this.seenSteps[v.index] = steps;
      if (!ran || v.cpu.el === 2) ran = v;
    }
    if (ran) this.lastVcpu = ran;
    return this.lastVcpu;
  }

  private openSlice(vcpu: KvmVcpu, now: number, args: Record<string, unknown>): void {
    const s: SliceRecord = { ph: "X", tid: vcpuTid(vcpu.index), level: vcpu.level, start: now, end: null, args };
    this.open.set(vcpu.index, s);
    this.push(s);
  }

  /** End the vCPU's slice and start one for its new level when the level changed. */
  private syncLevel(vcpu: KvmVcpu, now: number): void {
    if (this.cappedAt !== null || this.closedAt !== null) return;
    const s = this.open.get(vcpu.index);
    if (!s || s.level === vcpu.level) return;
    s.end = now;
    const prev = this.held.get(vcpu.index);
    if (prev && s.start === now) {
      // Back at the step it left (L2 faulted on its first instruction): no instruction ran at the
      // other level, so the earlier slice simply goes on (the empty one is never written).
      prev.end = null;
      this.open.set(vcpu.index, prev);
      this.held.delete(vcpu.index);
      return;
    }
    this.held.set(vcpu.index, s);
    this.openSlice(vcpu, now, entryArgs(vcpu));
  }

  /** Total shadow leaves and valid shadow MMUs, as one counter event when they changed. */
  private sampleCounters(step: number): void {
    this.shadowDirty = false;
    let entries = 0;
    let validMmus = 0;
    for (const m of this.kvm.nestedMmus) {
      entries += m.pgt.leafCount;
      if (m.valid) validMmus++;
    }
    const key = `${entries}/${validMmus}`;
    if (key === this.lastCounters) return;
    this.lastCounters = key;
    this.push({ ph: "C", step, entries, validMmus });
  }

  private push(r: TraceRecord): void {
    if (this.cappedAt !== null) {
      this.dropped++;
      return;
    }
    this.records.push(r);
    if (this.records.length < this.maxEvents) return;
    // Full: the open slices end here (close() ends them at cappedAt), nothing more is recorded.
    this.cappedAt = this.kvm.steps;
    this.records.push({ ph: "cap", tid: vcpuTid(this.lastVcpu.index), step: this.cappedAt });
  }

  // ---------------------------------------------------------------- output

  private toEvent(r: TraceRecord, end: number): TraceEvent | null {
    switch (r.ph) {
      case "X": {
        const until = r.end ?? end;
        if (until <= r.start) return null;
        return { ph: "X", name: r.level, cat: "level", pid: TRACE_PID, tid: r.tid, ts: r.start, dur: until - r.start, args: { level: r.level, ...r.args } };
      }
      case "i": {
        const e = r.event;
        return { ph: "i", name: eventName(e.data), cat: eventCategory(e.kind), pid: TRACE_PID, tid: r.tid, ts: e.step, s: "t", args: eventArgs(e.data, e.detail, r.exit) };
      }
      case "C":
        return { ph: "C", name: "shadow stage-2", pid: TRACE_PID, ts: r.step, args: { entries: r.entries, validMmus: r.validMmus } };
      case "cap":
        return {
          ph: "i", name: "trace cap reached", cat: "trace", pid: TRACE_PID, tid: r.tid, ts: r.step, s: "g",
          args: { maxEvents: this.maxEvents, detail: `recording stopped after ${this.maxEvents} events at step ${r.step}` },
        };
    }
  }

  private metadata(): TraceEvent[] {
    const out: TraceEvent[] = [{ ph: "M", name: "process_name", pid: TRACE_PID, tid: 0, args: { name: "nvlab VM" } }];
    for (const v of this.kvm.vcpus) {
      out.push({ ph: "M", name: "thread_name", pid: TRACE_PID, tid: vcpuTid(v.index), args: { name: `vCPU ${v.index}` } });
      out.push({ ph: "M", name: "thread_sort_index", pid: TRACE_PID, tid: vcpuTid(v.index), args: { sort_index: v.index } });
    }
    return out;
  }
}

// ---------------------------------------------------------------- level slices

/** Where the vCPU resumes after the switch, and (for L2) which shadow MMU it runs on. */
function entryArgs(vcpu: KvmVcpu): Record<string, unknown> {
  // Stopped at an exit, the CPU resumes at ELR_EL2; otherwise its PC is already the guest's.
  const pc = vcpu.cpu.el === 2 ? vcpu.cpu.sr.ELR_EL2 : vcpu.cpu.getPC();
  const args: Record<string, unknown> = { pc: hex(pc) };
  const mmu = vcpu.hwMmu;
  if (vcpu.level === "L2" && mmu) {
    args.mmu = mmu.index;
    args.vmid = mmu.hwVmid;
  }
  return args;
}

// ---------------------------------------------------------------- file

/**
 * Write the recorder's trace (closing it first) as JSON, one event per line, converting events as
 * they are written rather than building the whole text. Throws the file system's error (ENOENT,
 * EACCES…) for the caller to report. Returns the trace's metadata.
 */
export function writeTrace(file: string, recorder: TraceRecorder): ChromeTrace["otherData"] {
  recorder.close();
  const fd = openSync(file, "w");
  try {
    writeSync(fd, '{"traceEvents":[\n');
    let batch: string[] = [];
    let first = true;
    for (const e of recorder.traceEvents()) {
      batch.push((first ? "" : ",\n") + JSON.stringify(e));
      first = false;
      if (batch.length >= 4096) {
        writeSync(fd, batch.join(""));
        batch = [];
      }
    }
    if (batch.length) writeSync(fd, batch.join(""));
    const otherData = recorder.otherData();
    writeSync(fd, `\n],\n"otherData":${JSON.stringify(otherData)}}\n`);
    return otherData;
  } finally {
    closeSync(fd);
  }
}
