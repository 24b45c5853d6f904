// A debugging session over one VM: the same run machinery as `nvlab run` (the shared vCPU run
// loop, the same monitors: checker, scenario timeline, chaos), stopped and resumed at instruction
// granularity, with breakpoints on guest addresses, on exits to L0 and on L0's own actions. The
// REPL (repl.ts) and the GDB stub (gdb/) both drive this class.
//
// Invariant: whenever a method returns, the vCPU is at guest level (never "stopped at EL2" after
// an exit): L0 has finished the exit and done what it does before re-entering, so the PC and the
// registers are the guest's real ones and writing them takes effect.

import { disassemble, loadDisassembler } from "../asm/disassembler.ts";
import { EC_NAMES, type Exit } from "../emulator/exception.ts";
import { FPCR, FPSR } from "../emulator/fp/fp_format.ts";
import { hex } from "../emulator/types.ts";
import { guestPc } from "../hypervisor/diagnose.ts";
import { HostError } from "../hypervisor/errors.ts";
import { type FieldValue, matchesFields, parseFieldValue } from "../hypervisor/event_fields.ts";
import { EVENT_KINDS, type KvmEvent, formatEvent } from "../hypervisor/events.ts";
import { gfnToMemslot } from "../hypervisor/mmu.ts";
import { checkNestedVcpuRequests, getVmid } from "../hypervisor/nested.ts";
import { DEFAULT_MAX_STEPS, prepareVm, type RunOutcome, type RunVmOptions, runOutcome, withHostReport } from "../lab/run.ts";
import { hwPstateToVel2, vel2PstateToHw } from "../hypervisor/el2_translate.ts";
import { EL1_CTXT_REGS, VEL2_REGS } from "../hypervisor/sys_regs.ts";
import { kvmRunVcpus } from "../hypervisor/scheduler.ts";
import type { VcpuLoopHooks, VcpuLoopResult } from "../hypervisor/arm.ts";
import type { KvmVcpu } from "../hypervisor/vcpu.ts";
import { kvmFpsimdRegsWritten } from "../hypervisor/fpsimd.ts";
import type { Kvm } from "../hypervisor/vm.ts";
import { DebugError, isNumber, parseAddress } from "./errors.ts";
import { type AddressSpace, readGuestMemory, spaceName, walkL1Stage2, walksToCanonical, writeGuestMemory } from "./memory.ts";
import { formatSymbolRef, l2AbiCanonical, type Level, SymbolTable } from "./symbols.ts";
import { translateAddress, type TranslationReport } from "./translate.ts";
import { type Checkpoint, type NamedSnapshot, type RunState, Timeline, type TimelineOptions } from "./timetravel.ts";
import { describeWatchHit, type PendingHit, type WatchAccess, type WatchHit, type Watchpoint, type WatchSegment, WATCH_ACCESSES, WatchSet, watchLabel } from "./watch.ts";
import { yieldToHost } from "./yield.ts";

export { DebugError } from "./errors.ts";
export type { AddressSpace } from "./memory.ts";
export type { Level } from "./symbols.ts";
export type { TranslationReport } from "./translate.ts";
export type { WatchAccess, WatchHit, Watchpoint } from "./watch.ts";
export { describeWatchHit };

export interface Location {
  level: Level;
  pc: bigint;
  /** `name+0x8`, or null when no image covers the PC. */
  symbol: string | null;
  /** The instruction at the PC, disassembled ("" when its memory cannot be read). */
  insn: string;
  /** `L2 0x0000000040000010  <hello.S:loop+8>  str w1, [x0]` */
  text: string;
}

export type StopReason =
  | { kind: "step" }
  | { kind: "breakpoint"; id: number }
  /** Stopped just after L0 handled that exit. */
  | { kind: "exit-break"; id: number; ec: number; esr: bigint }
  /** Stopped after the L0 action that logged the event. */
  | { kind: "event-break"; id: number; event: KvmEvent }
  /** An access reached a watched address; the instruction (or L0's action) has completed. */
  | { kind: "watchpoint"; id: number; hit: WatchHit }
  | { kind: "interrupt" }
  | { kind: "budget" }
  /** Moved back in time: `reverse-step`, or a `goto` to this step. */
  | { kind: "reverse-step" }
  | { kind: "goto"; step: number }
  /** A named snapshot was restored. */
  | { kind: "restored"; name: string }
  /** `reverse-continue` found no earlier break: the start of the run. */
  | { kind: "history-start" }
  /** SYSTEM_OFF, a guest error, a monitor stop (checker, scenario): the run is over. */
  | { kind: "finished"; outcome: RunOutcome };

export interface Stop {
  reason: StopReason;
  location: Location | null;
  /** Instructions the vCPU has retired since reset. */
  steps: number;
  /** Instructions all vCPUs have retired: the run's clock (event steps, `goto`, `why`). */
  time: number;
  /** What happened on the way, for the user: level switches and L0's actions during a step. */
  notes: string[];
}

export interface Breakpoint {
  id: number;
  kind: "address" | "exit" | "event";
  /** Address breakpoints: the PC, the level it applies to (any when absent), and for a symbol the canonical IPA it must be. */
  va?: bigint;
  level?: Level;
  canonical?: bigint;
  ec?: number;
  event?: string;
  /** Event breakpoints: the fields the event must have (`op=IPAS2E1IS`). */
  fields?: Record<string, FieldValue>;
  label: string;
  hits: number;
}

export interface Registers {
  x: bigint[];
  sp: bigint;
  pc: bigint;
  /** PSTATE as the running guest sees it (L1: its virtual EL2 modes). */
  cpsr: bigint;
  level: Level;
  /** L2's EL1 context (in hardware while L2 runs, saved while L1 runs). */
  el1: Record<string, bigint>;
  /** L1's virtual EL2 registers. */
  vel2: Record<string, bigint>;
}

/** The SIMD&FP state of the running guest. */
export interface FpRegisters {
  /** V0-V31, 128 bits each. */
  v: bigint[];
  fpcr: number;
  fpsr: number;
}

export interface DebugOpenOptions {
  /** The VM, its images and monitors, as for runVm. `maxSteps` bounds one `continue` (default 100M). */
  vm: RunVmOptions;
  /** Automatic snapshots for reverse execution (timetravel.ts). */
  timeline?: TimelineOptions;
}

/** Event kinds a breakpoint can name. */
export { EVENT_KINDS };

const EVENT_ALIASES: Record<string, string> = { injection: "chaos", "shadow-faults": "shadow-fault", "canonical-unmap": "unmap" };

/** Instructions per `continue` chunk: between chunks, sockets and stdin get served. */
export const CONTINUE_CHUNK = 200_000;

/** A step whose instruction exits and is retried (a shadow fault) is repeated at most this often. */
const STEP_RETRIES = 16;
/** L0 actions a step reports at most. */
const STEP_NOTES = 12;

const PSR_MODE_MASK = 0x1fn;
const PSR_DAIF_SHIFT = 6n;

interface Pending {
  reason: StopReason;
  bp: { hits: number };
  /** A watchpoint's: read the accessed bytes' new value once the access is done. */
  finish?: () => void;
}

/** Most bytes one watchpoint covers. */
const WATCH_MAX_BYTES = 1 << 20;

export class DebugSession {
  private readonly bps: Breakpoint[] = [];
  private readonly wps: Watchpoint[] = [];
  private readonly watchSet: WatchSet;
  private nextId = 1;
  private outcome: RunOutcome | null = null;
  private pending: Pending | null = null;
  private unsubscribe: (() => void) | null = null;
  private readonly hooks: VcpuLoopHooks;
  private current: KvmVcpu;
  /** Default instruction limit of one `continue`. */
  readonly budget: number;
  /** Snapshots along the run, for going back (null when nothing can run). */
  readonly timeline: Timeline | null;
  /** Re-running history to reach a step: breaks do not fire. */
  private replaying = false;

  private constructor(
    readonly kvm: Kvm,
    readonly symbols: SymbolTable,
    loadError: RunOutcome | null,
    budget: number,
    timeline: TimelineOptions,
  ) {
    this.outcome = loadError;
    this.budget = budget;
    this.current = kvm.vcpus[0]!;
    this.hooks = { stopAtReentry: (vcpu, exit) => this.stopAtReentry(vcpu, exit) };
    this.watchSet = new WatchSet(kvm, (p) => this.onWatchHit(p));
    this.timeline = loadError ? null : new Timeline(kvm, timeline);
    this.timeline?.record(this.runState(), true);
  }

  /** Build the VM (vCPU 0 at L1's entry, nothing run yet) and load the disassembler. */
  static async open(opts: DebugOpenOptions): Promise<DebugSession> {
    await loadDisassembler();
    const vm = opts.vm;
    const p = prepareVm(vm);
    const symbols = new SymbolTable([
      { level: "L1", image: vm.l1, ...(vm.l1Ipa === undefined ? {} : { ipa: vm.l1Ipa }) },
      ...(vm.l2 ?? []).map((l) => ({ level: "L2" as const, image: l.image, ipa: l.ipa })),
    ]);
    return new DebugSession(p.kvm, symbols, p.loadError, vm.maxSteps ?? DEFAULT_MAX_STEPS, opts.timeline ?? {});
  }

  /** The vCPU the session shows: the one that stopped last (vCPU 0 before anything ran). */
  get vcpu(): KvmVcpu {
    return this.current;
  }

  /** Show vCPU `index` from now on (registers, memory, `step` apply to it), as gdb's `thread N`. */
  selectVcpu(index: number): void {
    const v = this.kvm.vcpus[index];
    if (!v) throw new DebugError(`no vCPU ${index} (there are ${this.kvm.vcpus.length}: 0..${this.kvm.vcpus.length - 1})`);
    this.current = v;
  }

  /** How the run ended, or null while it can go on. */
  get finished(): RunOutcome | null {
    return this.outcome;
  }

  // ------------------------------------------------------------------ running

  /**
   * Execute `count` guest instructions. An instruction that exits to L0 is handled by L0 and the
   * step ends at the next guest instruction, whichever level that is; one that L0 makes retry (a
   * shadow fault) is stepped again. Stops early at a breakpoint or when the run ends.
   */
  stepInstruction(count = 1): Stop {
    this.checkRunnable();
    this.timeline?.runFrom(this.kvm.steps);
    this.pending = null;
    const notes: string[] = [];
    const collect = this.kvm.events.subscribe((e) => {
      if (e.kind !== "exit" && notes.length < STEP_NOTES) notes.push(formatEvent(e));
    });
    try {
      for (let i = 0; i < count; i++) {
        const stop = this.stepOne(notes);
        if (!this.outcome && this.timeline?.due()) this.timeline.record(this.runState(), false);
        if (stop || this.outcome) return this.stop(stop ?? { kind: "step" }, notes);
        if (i + 1 < count) {
          const bp = this.addressBreakAt();
          if (bp) return this.stop(this.hit(bp, { kind: "breakpoint", id: bp.id }), notes);
        }
      }
      return this.stop({ kind: "step" }, notes);
    } finally {
      collect();
    }
  }

  /** One instruction; a StopReason when something other than the step ended it. */
  private stepOne(notes: string[]): StopReason | null {
    const vcpu = this.vcpu;
    for (let tries = 0; tries < STEP_RETRIES; tries++) {
      const level = vcpu.level;
      const pc = vcpu.cpu.getPC();
      const exitBefore = vcpu.lastExit;
      const r = this.runVcpus(1, vcpu);
      const ended = this.endOf(r);
      if (ended) return ended;
      if (this.vcpu !== vcpu) {
        // This vCPU stopped or waits for L0 (or started another): the step ran where the scheduler went.
        notes.push(`vCPU ${vcpu.index} -> vCPU ${this.vcpu.index}`);
        this.normalize();
        return this.takePending();
      }
      const exit = vcpu.lastExit !== exitBefore ? vcpu.lastExit : null;
      this.normalize();
      if (exit) this.checkExitBreak(exit);
      if (this.pending) return this.takePending();
      if (vcpu.level !== level) notes.push(`${level} -> ${vcpu.level}`);
      // L0 made the same instruction run again: step it once more.
      if (!exit || vcpu.level !== level || vcpu.cpu.getPC() !== pc) return null;
    }
    return null;
  }

  /** Run until a break, the end of the run, or `maxSteps` instructions ("budget"). */
  resume(opts: { maxSteps?: number } = {}): Stop {
    this.checkRunnable();
    this.timeline?.runFrom(this.kvm.steps);
    const r = this.resumeRaw(opts.maxSteps ?? this.budget);
    this.normalize();
    return this.stop(r, []);
  }

  /**
   * `resume` in chunks, yielding to the event loop between them so sockets and stdin are served;
   * aborting `signal` stops the guest ("interrupt").
   */
  async continue(opts: { signal?: AbortSignal; chunk?: number; maxSteps?: number } = {}): Promise<Stop> {
    this.checkRunnable();
    this.timeline?.runFrom(this.kvm.steps);
    const chunk = Math.max(1, opts.chunk ?? CONTINUE_CHUNK);
    const end = this.kvm.steps + (opts.maxSteps ?? this.budget);
    for (;;) {
      if (opts.signal?.aborted) return this.settle({ kind: "interrupt" });
      const left = end - this.kvm.steps;
      const r = this.resumeRaw(Math.min(chunk, left));
      if (r.kind !== "budget" || this.outcome || this.kvm.steps >= end) return this.settle(r);
      await yieldToHost();
    }
  }

  private settle(r: StopReason): Stop {
    this.normalize();
    return this.stop(r, []);
  }

  /** The loop until a real stop; leaves the CPU possibly at EL2 (callers normalize). */
  private resumeRaw(maxSteps: number): StopReason {
    const kvm = this.kvm;
    const end = kvm.steps + Math.max(0, maxSteps);
    this.pending = null;
    for (;;) {
      const exitsBefore = kvm.vcpus.map((v) => v.lastExit);
      const before = kvm.steps;
      // Every vCPU runs, interleaved by the scheduler; the session then shows the one that stopped.
      // The run pauses where a periodic snapshot is due (cutting a run changes nothing in it).
      const t = this.replaying ? null : this.timeline;
      if (t?.due()) t.record(this.runState(), false);
      const until = Math.min(end, t?.nextDue() ?? Infinity);
      const r = this.runVcpus(until - before, null);
      if (r.kind === "budget" && until < end && kvm.steps >= until && !this.outcome) continue;
      const vcpu = this.vcpu;
      const exitBefore = exitsBefore[vcpu.index];
      if (r.kind === "breakpoint") {
        const bp = this.addressBreakAt();
        if (bp) return this.hit(bp, { kind: "breakpoint", id: bp.id });
        continue; // another level's or another image's address: run on (the CPU skips the first check)
      }
      if (r.kind === "hook") return this.takePending() ?? { kind: "budget" };
      const ended = this.endOf(r);
      if (ended) return ended;
      if (r.kind !== "budget" && kvm.steps < end && kvm.steps > before) continue;
      // The budget may end right after an exit: that exit and its events still count.
      if (vcpu.cpu.el === 2 && vcpu.lastExit !== exitBefore && vcpu.lastExit) this.checkExitBreak(vcpu.lastExit);
      return this.takePending() ?? { kind: "budget" };
    }
  }

  /** `maxSteps` instructions of the VM (the scheduler's), `prefer` first when it can run. */
  private runVcpus(maxSteps: number, prefer: KvmVcpu | null): VcpuLoopResult {
    try {
      return withHostReport(this.vcpu, () => {
        const forced = this.kvm.scheduler.forced;
        const at = this.kvm.steps;
        const s = kvmRunVcpus(this.kvm, maxSteps, this.hooks, prefer);
        this.current = s.vcpu;
        // A vCPU ran out of turn: a replay could not tell, so this run's future starts here.
        if (this.kvm.scheduler.forced !== forced && !this.replaying) this.deviated(at);
        return s.result;
      });
    } catch (e) {
      if (e instanceof HostError) {
        this.outcome = { kind: "guest-error", stage: "run", message: `host error: ${e.message}`, report: e.report ?? { reason: e.message } };
        return { kind: "budget" };
      }
      throw e;
    }
  }

  /** A run that ended (SYSTEM_OFF, guest error, monitor stop): remember how; null for any other result. */
  private endOf(r: VcpuLoopResult): StopReason | null {
    if (r.kind !== "system-off" && r.kind !== "guest-error" && r.kind !== "monitor-stop") return null;
    this.outcome = runOutcome(this.vcpu, r);
    return { kind: "finished", outcome: this.outcome };
  }

  /** What kvmArchVcpuRun does before re-entering the guest, so the guest's state is current. */
  private normalize(): void {
    if (this.outcome) return;
    const vcpu = this.vcpu;
    try {
      withHostReport(vcpu, () => {
        checkNestedVcpuRequests(vcpu);
        if (vcpu.cpu.el === 2) vcpu.cpu.eretFromEl2();
      });
    } catch (e) {
      if (!(e instanceof HostError)) throw e;
      this.outcome = { kind: "guest-error", stage: "run", message: `host error: ${e.message}`, report: e.report ?? { reason: e.message } };
    }
  }

  private checkRunnable(): void {
    if (this.outcome) throw new DebugError(`the run is over (${describeOutcome(this.outcome)})`);
  }

  private stop(reason: StopReason, notes: string[]): Stop {
    if (this.outcome && reason.kind !== "finished") reason = { kind: "finished", outcome: this.outcome };
    return { reason, location: this.location(), steps: this.vcpu.cpu.steps, time: this.kvm.steps, notes };
  }

  // ------------------------------------------------------------------ time travel

  private runState(): RunState {
    return { outcome: this.outcome, vcpu: this.current.index };
  }

  private travel(): Timeline {
    if (!this.timeline) throw new DebugError(`nothing ran, so there is no history (${this.outcome ? describeOutcome(this.outcome) : "no VM"})`);
    return this.timeline;
  }

  /** The run left the scheduler's course at step `at`: what was recorded after it is another future. */
  private deviated(at: number): void {
    const t = this.timeline;
    if (!t) return;
    t.forkHere(at);
    t.record(this.runState(), true);
  }

  /** The user wrote a register, memory or L0's state (an injection): the run goes on from here. */
  changedByUser(): void {
    this.deviated(this.kvm.steps);
  }

  private restoreCheckpoint(c: Checkpoint): void {
    this.adopt(this.travel().restore(c));
  }

  /** The VM was put back to a snapshot: the session's own run state goes back with it. */
  private adopt(run: RunState): void {
    this.outcome = run.outcome;
    this.current = this.kvm.vcpus[run.vcpu]!;
    this.pending = null;
    // The gfns may live on other host pages in that state.
    if (this.watchSet.size > 0) this.watchSet.rearm();
  }

  /** Run from a restored snapshot to step `step` exactly (or the end of the run), breaks off. */
  private replayTo(step: number): void {
    this.replaying = true;
    const sink = this.mute();
    try {
      while (!this.outcome && this.kvm.steps < step) {
        const before = this.kvm.steps;
        const r = this.resumeRaw(step - before);
        if (r.kind === "budget" && this.kvm.steps === before) break;
      }
    } finally {
      this.replaying = false;
      this.kvm.onConsole = sink;
    }
    this.normalize();
  }

  /** Replays do not print the console output again (it was printed when the run made it). */
  private mute(): ((byte: number) => void) | null {
    const sink = this.kvm.onConsole;
    this.kvm.onConsole = null;
    return sink;
  }

  /** To step `step` of the run (all vCPUs' instructions), forwards or backwards. */
  goto(step: number): Stop {
    if (!Number.isSafeInteger(step) || step < 0) throw new DebugError(`goto: the step must be a non-negative integer (got ${step})`);
    // Forwards too, a snapshot on the way is where the recorded run left its course: start there.
    const c = this.travel().nearest(step);
    if (step < this.kvm.steps || this.outcome || c.snap.steps > this.kvm.steps) this.restoreCheckpoint(c);
    this.replayTo(step);
    return this.stop({ kind: "goto", step: this.kvm.steps }, []);
  }

  /** Back `count` instructions (of all vCPUs); the stop shows the vCPU whose instruction was undone. */
  reverseStep(count = 1): Stop {
    if (!Number.isSafeInteger(count) || count < 1) throw new DebugError(`reverse-step: the count must be a positive integer (got ${count})`);
    const before = this.kvm.vcpus.map((v) => v.cpu.steps);
    const was = this.current;
    this.goto(Math.max(0, this.kvm.steps - count));
    const undone = this.kvm.vcpus.filter((v) => v.cpu.steps < before[v.index]!);
    this.current = undone.includes(was) ? was : (undone[0] ?? this.current);
    return this.stop({ kind: "reverse-step" }, []);
  }

  /**
   * Back to the latest break (address, exit or event breakpoint) before the current step: each
   * stretch between snapshots, newest first, is replayed with breaks on and the last hit in it is
   * reached again; the start of the run when there is none.
   */
  reverseContinue(): Stop {
    const t = this.travel();
    const hits = this.bps.map((b) => b.hits);
    const watchHits = this.wps.map((w) => w.hits);
    const sink = this.mute();
    try {
      let hi = this.kvm.steps;
      for (let c: Checkpoint | null = t.nearest(hi); c; c = t.before(c)) {
        if (c.snap.steps < hi) {
          const n = this.countBreaks(c, hi);
          if (n > 0) return this.replayBreaks(c, n);
        }
        hi = Math.min(hi, c.snap.steps);
      }
      this.restoreCheckpoint(t.nearest(0));
      this.normalize();
      return this.stop({ kind: "history-start" }, []);
    } finally {
      this.bps.forEach((b, i) => (b.hits = hits[i] ?? b.hits));
      this.wps.forEach((w, i) => (w.hits = watchHits[i] ?? w.hits));
      this.kvm.onConsole = sink;
    }
  }

  /** From snapshot `c`, how many breaks the run stops at before step `hi`. */
  private countBreaks(c: Checkpoint, hi: number): number {
    this.restoreCheckpoint(c);
    let n = 0;
    while (!this.outcome && this.kvm.steps < hi) {
      const r = this.resumeRaw(hi - this.kvm.steps);
      this.normalize();
      if (r.kind !== "breakpoint" && r.kind !== "exit-break" && r.kind !== "event-break" && r.kind !== "watchpoint") break;
      if (this.kvm.steps < hi) n++;
    }
    return n;
  }

  /** From snapshot `c`, run on to the `n`th break and stop there as a forward run would. */
  private replayBreaks(c: Checkpoint, n: number): Stop {
    this.restoreCheckpoint(c);
    let r: StopReason = { kind: "budget" };
    for (let i = 0; i < n && !this.outcome; i++) {
      r = this.resumeRaw(this.budget);
      this.normalize();
    }
    return this.stop(r, []);
  }

  /** Back to the start of the run: the VM as it was built, nothing run. */
  reset(): Stop {
    this.restoreCheckpoint(this.travel().first());
    this.normalize();
    return this.stop({ kind: "goto", step: this.kvm.steps }, []);
  }

  /** Save the whole VM now under `name` (default s1, s2, …). */
  snapshot(name?: string): NamedSnapshot {
    return this.travel().save(name, this.runState());
  }

  /** Back (or forward) to a named snapshot. */
  restore(name: string): Stop {
    this.adopt(this.travel().load(name).run);
    return this.stop({ kind: "restored", name }, []);
  }

  snapshots(): NamedSnapshot[] {
    return this.timeline?.list() ?? [];
  }

  // ------------------------------------------------------------------ break conditions

  /** Loop hook: after an L0 action, with the guest about to resume. */
  private stopAtReentry(vcpu: KvmVcpu, exit: Exit | null): boolean {
    this.current = vcpu;
    if (this.replaying) return false;
    if (exit) this.checkExitBreak(exit);
    if (this.pending) return true;
    // A retried instruction was already reported (or stepped over) before it exited.
    const retry = exit !== null && (exit.ec === 0x20 || exit.ec === 0x24) && exit.elr === vcpu.cpu.getPC() && vcpu.lastExitFromL2 === !vcpu.isHypCtxt();
    if (retry || vcpu.cpu.breakpoints.size === 0 || !vcpu.cpu.breakpoints.has(vcpu.cpu.getPC())) return false;
    const bp = this.addressBreakAt();
    if (bp) this.pending = { bp, reason: { kind: "breakpoint", id: bp.id } };
    return this.pending !== null;
  }

  private checkExitBreak(exit: Exit): void {
    if (this.pending) return;
    const bp = this.bps.find((b) => b.kind === "exit" && b.ec === exit.ec);
    if (bp) this.pending = { bp, reason: { kind: "exit-break", id: bp.id, ec: exit.ec, esr: exit.esr } };
  }

  private onEvent(e: KvmEvent): void {
    if (this.pending || this.replaying) return;
    const bp = this.bps.find((b) => b.kind === "event" && b.event === e.kind && (!b.fields || matchesFields(e.data, b.fields)));
    if (bp) this.pending = { bp, reason: { kind: "event-break", id: bp.id, event: e } };
  }

  private takePending(): StopReason | null {
    const p = this.pending;
    this.pending = null;
    if (!p) return null;
    p.finish?.();
    const r = p.reason;
    if (r.kind === "watchpoint" && r.hit.pc !== null && r.hit.by !== "L0") r.hit.insn = this.describe(r.hit.by, r.hit.pc).insn;
    return this.hit(p.bp, r);
  }

  /** An access reached a watch (watch.ts): stop there unless something else stops first, or history is replayed. */
  private onWatchHit(p: PendingHit): boolean {
    if (this.pending || this.replaying) return false;
    this.pending = { bp: p.watch, reason: { kind: "watchpoint", id: p.watch.id, hit: p.hit }, finish: p.finish };
    return true;
  }

  private hit(bp: { hits: number }, reason: StopReason): StopReason {
    bp.hits++;
    return reason;
  }

  /** The address breakpoint that applies at the current PC and level, if any. */
  private addressBreakAt(): Breakpoint | null {
    const vcpu = this.vcpu;
    const pc = vcpu.cpu.getPC();
    const level = vcpu.level;
    let canonical: bigint | null | undefined;
    for (const bp of this.bps) {
      if (bp.kind !== "address" || bp.va !== pc || (bp.level !== undefined && bp.level !== level)) continue;
      if (bp.canonical === undefined) return bp;
      if (canonical === undefined) canonical = this.canonicalOf(level, pc);
      if (canonical === bp.canonical) return bp;
    }
    return null;
  }

  /**
   * The canonical IPA of a PC. L1 maps L2's window lazily, so an L2 PC L1 has not mapped yet is
   * placed by the guest ABI (the window of the running VMID) when an L2 image is loaded there.
   */
  private canonicalOf(level: Level, va: bigint): bigint | null {
    const walks = walksToCanonical(this.vcpu, level, va);
    const out = walks[walks.length - 1]!.output;
    if (out !== null && (level === "L1" || walks.length === 2)) return out;
    const nipa = level === "L2" ? walks[0]!.output : null;
    if (nipa === null) return null;
    const abi = l2AbiCanonical(getVmid(this.vcpu.vcpuReadSysReg("VTTBR_EL2")), nipa);
    return abi !== null && this.symbols.imageAt(abi)?.level === "L2" ? abi : null;
  }

  // ------------------------------------------------------------------ breakpoints

  /** `spec`: an address (any level), `SYMBOL`, `FILE:SYMBOL`, with `+OFF`; or an address and level. */
  addAddressBreak(spec: string | { va: bigint; level?: Level }): Breakpoint {
    let bp: Omit<Breakpoint, "id" | "hits">;
    if (typeof spec !== "string") {
      const va = BigInt.asUintN(64, spec.va);
      bp = { kind: "address", va, ...(spec.level ? { level: spec.level } : {}), label: `${spec.level ?? "any level"} ${hex(va)}` };
    } else if (isNumber(spec)) {
      const va = parseAddress(spec);
      bp = { kind: "address", va, label: `${hex(va)} (any level)` };
    } else {
      const ref = this.symbols.resolve(spec);
      const s = ref.symbol;
      const va = s.address + ref.offset;
      bp = { kind: "address", va, level: s.level, canonical: s.canonical + ref.offset, label: `${formatSymbolRef(ref)} (${s.level} ${hex(va)})` };
    }
    // An instruction never starts off a 4-byte boundary: such a breakpoint could never be hit.
    if (typeof spec === "string" && (bp.va ?? 0n) % 4n !== 0n) throw new DebugError(`break: ${bp.label} is not 4-byte aligned, so no instruction starts there`);
    const added = this.add(bp);
    this.syncCpuBreakpoints();
    return added;
  }

  /** Stop after L0 handles an exit of this exception class (number, or a name from EC_NAMES). */
  addExitBreak(ec: number | string): Breakpoint {
    const n = typeof ec === "number" ? ec : parseEc(ec);
    if (!Number.isInteger(n) || n < 0 || n > 0x3f) throw new DebugError(`exception class ${ec} is out of range (0..0x3f)`);
    return this.add({ kind: "exit", ec: n, label: `exit ${EC_NAMES[n] ?? "EC"} (EC ${hex(n)})` });
  }

  /**
   * Stop after the L0 action that logs an event of this kind, and with these fields when given:
   * `tlbi op=IPAS2E1IS`, `shadow-fault mmu=1 nestedIpa=0x40001000`.
   */
  addEventBreak(spec: string): Breakpoint {
    const words = spec.trim().split(/\s+/);
    const filters = words.filter((w) => w.includes("="));
    const kind = words.filter((w) => !w.includes("=")).join(" ");
    const k = kind.toLowerCase().replace(/[\s_]+/g, "-");
    const name = EVENT_ALIASES[k] ?? k;
    if (!(EVENT_KINDS as readonly string[]).includes(name)) {
      throw new DebugError(`no event kind '${kind}' (kinds: ${EVENT_KINDS.join(", ")}; "injection" = chaos)`);
    }
    const fields: Record<string, FieldValue> = {};
    for (const f of filters) {
      const eq = f.indexOf("=");
      const r = parseFieldValue(name, f.slice(0, eq), f.slice(eq + 1));
      if ("error" in r) throw new DebugError(`break event ${name}: ${f}: ${r.error}`);
      fields[f.slice(0, eq)] = r.value;
    }
    const label = `event ${name}${filters.length ? ` ${filters.join(" ")}` : ""}`;
    const bp = this.add({ kind: "event", event: name, ...(filters.length ? { fields } : {}), label });
    this.unsubscribe ??= this.kvm.events.subscribe((e) => this.onEvent(e));
    return bp;
  }

  /** Delete one breakpoint or watchpoint (they share their numbers, as in gdb), or all of them. */
  deleteBreak(id?: number): void {
    if (id === undefined) {
      this.bps.length = 0;
      this.deleteWatch();
    } else if (this.wps.some((w) => w.id === id)) return this.deleteWatch(id);
    else {
      const i = this.bps.findIndex((b) => b.id === id);
      const ids = [...this.bps.map((b) => b.id), ...this.wps.map((w) => w.id)].sort((a, b) => a - b);
      if (i < 0) throw new DebugError(`no breakpoint ${id}${ids.length ? ` (breakpoints and watchpoints: ${ids.join(", ")})` : ""}`);
      this.bps.splice(i, 1);
    }
    this.syncCpuBreakpoints();
    // Subscribers make the event log format details: only listen while someone asks.
    if (this.unsubscribe && !this.bps.some((b) => b.kind === "event")) {
      this.unsubscribe();
      this.unsubscribe = null;
    }
  }

  breakpoints(): Breakpoint[] {
    return this.bps.map((b) => ({ ...b }));
  }

  // ------------------------------------------------------------------ watchpoints

  /**
   * Stop when memory is accessed: `len` bytes at `addr` in `space` (a VA of `level`, default the
   * running one; a nested IPA in the shown vCPU's L1 stage-2; a canonical IPA; a host PA), on
   * writes, reads or both. A VA or nested IPA is resolved now to the L1 memory behind it.
   */
  addWatch(spec: { space: AddressSpace; addr: bigint; len: number; access: WatchAccess; level?: Level }): Watchpoint {
    const { space, len, access } = spec;
    const level = spec.level ?? this.vcpu.level;
    const addr = BigInt.asUintN(64, spec.addr);
    if (!Number.isSafeInteger(len) || len < 1 || len > WATCH_MAX_BYTES) throw new DebugError(`watch: the length must be 1..${WATCH_MAX_BYTES} bytes (got ${len})`);
    if (!WATCH_ACCESSES.includes(access)) throw new DebugError(`watch: the access must be r, w or rw (got '${String(access)}')`);
    if (addr + BigInt(len) > 1n << 64n) throw new DebugError(`watch: ${hex(addr)}+${len} wraps past the end of the address space`);
    const segments = this.watchSegments(space, addr, len, level);
    const first = segments[0]!.mem;
    const behind = space === "va" || space === "nipa" ? ` = ${first.kind === "ipa" ? `canonical IPA ${hex(BigInt(first.ipa))}` : `host PA ${hex(BigInt(first.pa))}`}` : "";
    const w: Watchpoint = { id: this.nextId++, space, addr, len, access, level, label: `${watchLabel({ space, addr, len, access, level })}${behind}`, hits: 0 };
    this.wps.push(w);
    this.watchSet.add(w, segments);
    return { ...w };
  }

  /** Delete one watchpoint, or all of them. */
  deleteWatch(id?: number): void {
    const gone = id === undefined ? [...this.wps] : this.wps.filter((w) => w.id === id);
    if (id !== undefined && gone.length === 0) {
      throw new DebugError(`no watchpoint ${id}${this.wps.length ? ` (watchpoints: ${this.wps.map((w) => w.id).join(", ")})` : ""}`);
    }
    for (const w of gone) {
      this.wps.splice(this.wps.indexOf(w), 1);
      this.watchSet.remove(w);
    }
  }

  watchpoints(): Watchpoint[] {
    return this.wps.map((w) => ({ ...w }));
  }

  /** The memory behind [addr, addr+len) of `space`, a piece per page. */
  private watchSegments(space: AddressSpace, addr: bigint, len: number, level: Level): WatchSegment[] {
    const out: WatchSegment[] = [];
    const end = addr + BigInt(len);
    for (let a = addr; a < end; ) {
      const next = (a | 0xfffn) + 1n;
      const n = Number((next < end ? next : end) - a);
      out.push({ spaceAddr: a, mem: this.watchedMemory(space, a, level), len: n });
      a += BigInt(n);
    }
    return out;
  }

  private watchedMemory(space: AddressSpace, a: bigint, level: Level): WatchSegment["mem"] {
    const where = `${spaceName(space, level)} ${hex(a)}`;
    if (space === "pa") {
      if (this.kvm.mem.existingPage(Number(a)) === null) throw new DebugError(`watch: no host page at ${where}`);
      return { kind: "pa", pa: Number(a) };
    }
    let ipa: bigint | null = a;
    if (space === "va" || space === "nipa") {
      // L1 maps L2's window lazily: memory it has not mapped yet is where the guest ABI puts it.
      let nipa: bigint | null = null;
      if (space === "nipa") ipa = walkL1Stage2(this.vcpu, (nipa = a)).output;
      else {
        const walks = walksToCanonical(this.vcpu, level, a);
        ipa = level === "L1" || walks.length === 2 ? walks[walks.length - 1]!.output : null;
        if (level === "L2") nipa = walks[0]!.output;
      }
      if (ipa === null && nipa !== null) ipa = l2AbiCanonical(getVmid(this.vcpu.vcpuReadSysReg("VTTBR_EL2")), nipa);
    }
    if (ipa === null) throw new DebugError(`watch: ${where} is not mapped (no translation to L1 memory)`);
    if (gfnToMemslot(this.kvm, ipa) === null) throw new DebugError(`watch: ${where} is not L1 RAM${space === "ipa" ? "" : ` (canonical IPA ${hex(ipa)})`}`);
    return { kind: "ipa", ipa: Number(ipa) };
  }

  private add(b: Omit<Breakpoint, "id" | "hits">): Breakpoint {
    const bp: Breakpoint = { ...b, id: this.nextId++, hits: 0 };
    this.bps.push(bp);
    return bp;
  }

  private syncCpuBreakpoints(): void {
    for (const v of this.kvm.vcpus) {
      const set = v.cpu.breakpoints;
      set.clear();
      for (const b of this.bps) if (b.kind === "address") set.add(b.va!);
    }
  }

  // ------------------------------------------------------------------ state

  /** The PC as the guest will resume it (after the run ended: where it was). */
  private pcAndPstate(): { pc: bigint; pstate: bigint } {
    return guestPc(this.vcpu);
  }

  location(): Location | null {
    const vcpu = this.vcpu;
    const level = vcpu.level;
    const { pc } = this.pcAndPstate();
    return this.describe(level, pc);
  }

  /** A location line for any address of a level. */
  describe(level: Level, pc: bigint): Location {
    const canonical = this.canonicalOf(level, pc);
    const ref = canonical === null ? null : this.symbols.lookup(canonical);
    const symbol = ref ? formatSymbolRef(ref) : null;
    let insn = "";
    try {
      // An L2 PC L1 has not mapped yet is read where the guest ABI puts it.
      const b = canonical === null ? readGuestMemory(this.vcpu, level, "va", pc, 4) : readGuestMemory(this.vcpu, level, "ipa", canonical, 4);
      insn = disassemble(b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24), pc).text;
    } catch (e) {
      if (!(e instanceof DebugError)) throw e;
    }
    // With several vCPUs, say whose location it is.
    const parts = [`${this.kvm.vcpus.length > 1 ? `vCPU ${this.vcpu.index} ` : ""}${level} ${hex(pc, 16)}`];
    if (symbol) parts.push(`<${symbol}>`);
    parts.push(insn || "(memory not readable)");
    return { level, pc, symbol, insn, text: parts.join("  ") };
  }

  registers(): Registers {
    const vcpu = this.vcpu;
    const cpu = vcpu.cpu;
    const level = vcpu.level;
    const { pc, pstate } = this.pcAndPstate();
    const el1: Record<string, bigint> = {};
    for (const r of EL1_CTXT_REGS) el1[r] = vcpu.vcpuReadSysReg(r);
    const vel2: Record<string, bigint> = {};
    for (const r of VEL2_REGS) vel2[r] = vcpu.vcpuReadSysReg(r);
    return {
      x: Array.from({ length: 31 }, (_, i) => cpu.getX(i)),
      sp: cpu.getSP(),
      pc,
      cpsr: level === "L1" ? hwPstateToVel2(pstate) : pstate,
      level,
      el1,
      vel2,
    };
  }

  /** V0-V31, FPCR and FPSR of whichever level runs. */
  fpRegisters(): FpRegisters {
    const cpu = this.vcpu.cpu;
    return { v: Array.from({ length: 32 }, (_, i) => cpu.getV(i)), fpcr: cpu.fpcr, fpsr: cpu.fpsr };
  }

  /**
   * x0..x30, sp, pc, cpsr (only NZCV and DAIF may change: the mode is L0's to switch), v0..v31
   * (128 bits), fpcr and fpsr (their unimplemented bits read as zero, as after MSR).
   */
  setRegister(name: string, v: bigint): void {
    this.checkRunnable();
    const cpu = this.vcpu.cpu;
    const fp = /^v(\d+)$/.exec(name.toLowerCase());
    if (fp && Number(fp[1]) <= 31) {
      cpu.setV(Number(fp[1]), BigInt.asUintN(128, v));
      // While L0 (the host) owns the registers, the next lazy load restores the vCPU's saved copy.
      kvmFpsimdRegsWritten(this.vcpu);
      return this.changedByUser();
    }
    if (/^fp[cs]r$/i.test(name)) {
      const fpcr = name.toLowerCase() === "fpcr";
      const bits = Number(BigInt.asUintN(32, v)) & (fpcr ? FPCR.WRITABLE : FPSR.WRITABLE);
      if (fpcr) cpu.fpcr = bits;
      else cpu.fpsr = bits;
      kvmFpsimdRegsWritten(this.vcpu);
      return this.changedByUser();
    }
    const value = BigInt.asUintN(64, v);
    const n = name.toLowerCase();
    const x = /^x(\d+)$/.exec(n);
    if (x && Number(x[1]) <= 30) cpu.setX(Number(x[1]), value);
    else if (n === "sp") cpu.setSP(value);
    else if (n === "pc") {
      cpu.setPc(value);
      cpu.flushFastTlb();
    } else if (n === "cpsr" || n === "pstate") this.setCpsr(value);
    else throw new DebugError(`cannot write register '${name}' (writable: x0..x30, sp, pc, cpsr, v0..v31, fpcr, fpsr)`);
    this.changedByUser();
  }

  private setCpsr(v: bigint): void {
    const cpu = this.vcpu.cpu;
    const hw = this.vcpu.level === "L1" ? vel2PstateToHw(v) : v;
    if ((hw & PSR_MODE_MASK) !== (cpu.pstate() & PSR_MODE_MASK)) {
      throw new DebugError(`cpsr ${hex(v)}: changing the mode (M[4:0]) is not supported; only NZCV and DAIF can be written`);
    }
    cpu.setNzcv(Number((hw >> 28n) & 0xfn));
    cpu.daif = Number((hw >> PSR_DAIF_SHIFT) & 0xfn);
  }

  /** Memory by address space ("va": a VA of `level`, default the running one); DebugError when unmapped. */
  readMemory(space: AddressSpace, addr: bigint, len: number, level: Level = this.vcpu.level): Uint8Array {
    return readGuestMemory(this.vcpu, level, space, addr, len);
  }

  writeMemory(space: AddressSpace, addr: bigint, bytes: Uint8Array, level: Level = this.vcpu.level): void {
    writeGuestMemory(this.vcpu, level, space, addr, bytes);
    this.changedByUser();
  }

  /** `pt`: every stage of the translation of `va` (default: the current level's VA). */
  translate(va: bigint, level?: Level): TranslationReport {
    return translateAddress(this.vcpu, level ?? this.vcpu.level, va);
  }
}

function parseEc(text: string): number {
  const t = text.trim();
  if (isNumber(t)) return Number(parseAddress(t, "exception class"));
  const want = t.toUpperCase();
  for (const [ec, name] of Object.entries(EC_NAMES)) if (name.toUpperCase() === want) return Number(ec);
  throw new DebugError(`no exception class '${text}' (names: ${Object.values(EC_NAMES).join(", ")}; or a number)`);
}

/** One line for how a run ended. */
export function describeOutcome(o: RunOutcome): string {
  switch (o.kind) {
    case "system-off": return `PSCI SYSTEM_OFF, exit code ${o.code}`;
    case "budget": return `step budget exhausted (${o.level} at ${hex(o.pc)})`;
    case "monitor-stop": return `stopped by ${o.verdict}: ${o.message.split("\n")[0]}`;
    case "guest-error": return `guest error: ${o.message.split("\n")[0]}`;
  }
}

/** Why a stop happened, in words (the REPL prints it under the location line). */
export function describeStop(session: DebugSession, s: Stop): string {
  const r = s.reason;
  const bp = (id: number) => session.breakpoints().find((b) => b.id === id);
  switch (r.kind) {
    case "step": return "";
    case "breakpoint": return `breakpoint ${r.id}: ${bp(r.id)?.label ?? ""}`;
    case "exit-break": return `exit breakpoint ${r.id}: L0 handled an exit, EC ${hex(r.ec)} ${EC_NAMES[r.ec] ?? ""} esr=${hex(r.esr)}`;
    case "event-break": return `event breakpoint ${r.id}: [${r.event.step}] ${r.event.kind}: ${r.event.detail}`;
    case "watchpoint": {
      const w = session.watchpoints().find((x) => x.id === r.id);
      return w ? describeWatchHit(w, r.hit) : `watchpoint ${r.id}`;
    }
    case "interrupt": return "interrupted";
    case "budget": return `stopped after the instruction limit (at ${s.steps} instructions)`;
    case "reverse-step": return `stepped back to step ${s.time}`;
    case "goto": return `at step ${r.step}`;
    case "restored": return `restored snapshot ${r.name} (step ${s.time})`;
    case "history-start": return "no earlier break: at the start of the run (step 0)";
    case "finished": return `the run is over: ${describeOutcome(r.outcome)}`;
  }
}
