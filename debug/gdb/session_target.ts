// The stub's target over a DebugSession: each vCPU is a gdb thread, the current one is the
// session's (the vCPU that stopped last, or the one gdb selected); continue runs them all, a step
// runs the current one only. A thread's registers and memory are those of whichever level it runs,
// memory can also be read by nested IPA, canonical IPA or host PA (the memory space), and every
// stop is explained on gdb's console in nvlab's terms (which level, where, why; L0's actions during
// a step; what a watched access was). Going back (gdb's reverse-stepi, reverse-continue) moves the
// session along its timeline, and reports as going forward does.

import { EC_NAMES } from "../../emulator/exception.ts";
import { hex } from "../../emulator/types.ts";
import type { RunOutcome } from "../../lab/run.ts";
import { guestStatusNote } from "../../lab/exit_status.ts";
import {
  type AddressSpace, DebugError, type DebugSession, type Stop, type WatchAccess, type Watchpoint, type WatchHit, describeOutcome, describeWatchHit,
} from "../session.ts";
import type { Level } from "../symbols.ts";
import { runMonitorCommand } from "./monitor.ts";
import type { TargetRegisters } from "./registers.ts";
import { SIGABRT, SIGINT, SIGSEGV, SIGTRAP, type GdbTarget, type StopWatch, type TargetStop, type TargetThread, type WatchKind } from "./target.ts";
import { vcpuThread, vcpuTid } from "./vcpu_thread.ts";

/** Prefix of nvlab's lines on gdb's console. */
export const NOTE = "[nvlab]";

export interface SessionTargetOptions {
  /** Instructions per `continue` chunk (between chunks gdb's Ctrl-C is read). */
  chunk?: number;
  /** Most instructions one `continue` runs (default: the session's budget). */
  maxSteps?: number;
}

/** What each of gdb's watchpoint kinds stops on, and back. */
const WATCH_ACCESS: Record<WatchKind, WatchAccess> = { watch: "w", rwatch: "r", awatch: "rw" };
const WATCH_KIND: Record<WatchAccess, WatchKind> = { w: "watch", r: "rwatch", rw: "awatch" };

/** Where a VA (or nested IPA) of a watchpoint was resolved: a vCPU's context, at a level. */
interface WatchContext {
  vcpu: number;
  level: Level;
}

export class SessionTarget implements GdbTarget {
  /** gdb's breakpoints: address → session breakpoint id. */
  private readonly gdbBreaks = new Map<bigint, number>();
  /** gdb's watchpoints: `kind,addr,len` → session watchpoint id, and the key of its context. */
  private readonly gdbWatches = new Map<string, { id: number; context: string }>();
  /**
   * gdb takes its watchpoints out at every stop and puts them back before going on, by address
   * alone. An address keeps meaning what it meant when the watchpoint first went in (the vCPU and
   * level whose VA it was), whichever runs when it goes back in; forgotten once gdb runs on
   * without it (deleted).
   */
  private readonly watchContexts = new Map<string, WatchContext>();
  private space: AddressSpace = "va";

  constructor(
    readonly session: DebugSession,
    private readonly opts: SessionTargetOptions = {},
  ) {}

  private get level(): Level {
    return this.session.vcpu.level;
  }

  private get thread(): number {
    return vcpuTid(this.session.vcpu);
  }

  haltReason(): TargetStop {
    const o = this.session.finished;
    return o ? finishedStop(o, this.level, this.thread) : { kind: "signal", signal: SIGTRAP, level: this.level, thread: this.thread };
  }

  threads(): TargetThread[] {
    return this.session.kvm.vcpus.map(vcpuThread);
  }

  currentThread(): number {
    return this.thread;
  }

  selectThread(tid: number): void {
    this.session.selectVcpu(tid - 1);
  }

  registers(): TargetRegisters {
    const r = this.session.registers();
    const fp = this.session.fpRegisters();
    return {
      x: r.x, sp: r.sp, pc: r.pc, cpsr: r.cpsr, level: r.level, sys: { ...r.el1, ...r.vel2 },
      v: fp.v, fpsr: BigInt(fp.fpsr), fpcr: BigInt(fp.fpcr),
    };
  }

  setRegister(name: string, value: bigint): void {
    this.session.setRegister(name, value);
  }

  memorySpace(): AddressSpace {
    return this.space;
  }

  setMemorySpace(space: AddressSpace): void {
    this.space = space;
  }

  readMemory(addr: bigint, len: number): Uint8Array {
    return this.session.readMemory(this.space, addr, len);
  }

  writeMemory(addr: bigint, bytes: Uint8Array): void {
    this.session.writeMemory(this.space, addr, bytes);
  }

  step(): TargetStop {
    const o = this.session.finished;
    if (o) return finishedStop(o, this.level, this.thread);
    const before = this.level;
    return this.toTargetStop(this.beforeAccess(this.session.stepInstruction(1)), before);
  }

  async resume(signal: AbortSignal): Promise<TargetStop> {
    const o = this.session.finished;
    if (o) return finishedStop(o, this.level, this.thread);
    this.forgetDeletedWatches();
    const before = this.level;
    const { chunk, maxSteps } = this.opts;
    const stop = await this.session.continue({ signal, ...(chunk ? { chunk } : {}), ...(maxSteps ? { maxSteps } : {}) });
    return this.toTargetStop(this.beforeAccess(stop), before);
  }

  /**
   * gdb on AArch64 takes a watchpoint stop to be before the access, as the hardware's is, and
   * steps over the instruction itself (its watchpoints out) to show the new value. The session
   * stops once the access is done: a guest's access is taken back, one instruction back in time,
   * so gdb's step does it again and ends where the hardware would. L0's access (a walk of L1's
   * tables) has no instruction to take back: gdb's step runs one more.
   */
  private beforeAccess(stop: Stop): Stop {
    const r = stop.reason;
    if (r.kind !== "watchpoint" || r.hit.by === "L0" || this.session.finished) return stop;
    this.session.reverseStep(1);
    return stop;
  }

  reverseStep(): TargetStop {
    const before = this.level;
    // Nothing before step 0: gdb is told so rather than shown a step that did not move.
    if (this.session.kvm.steps === 0) return this.toTargetStop({ ...this.session.goto(0), reason: { kind: "reverse-step" } }, before, true);
    return this.toTargetStop(this.session.reverseStep(1), before);
  }

  reverseContinue(): TargetStop {
    const before = this.level;
    const stop = this.session.reverseContinue();
    return this.toTargetStop(stop, before, stop.reason.kind === "history-start");
  }

  restart(): TargetStop {
    const before = this.level;
    return this.toTargetStop(this.session.reset(), before);
  }

  insertBreakpoint(addr: bigint): void {
    // gdb does not know levels: the address applies to whichever level reaches it.
    const bp = this.session.addAddressBreak({ va: addr });
    this.gdbBreaks.set(addr, bp.id);
  }

  removeBreakpoint(addr: bigint): void {
    const id = this.gdbBreaks.get(addr);
    if (id === undefined) return;
    this.gdbBreaks.delete(addr);
    if (this.session.breakpoints().some((b) => b.id === id)) this.session.deleteBreak(id);
  }

  insertWatchpoint(kind: WatchKind, addr: bigint, len: number): void {
    const key = `${kind},${addr},${len}`;
    if (this.gdbWatches.has(key)) return;
    const context = `${this.space} ${key}`;
    const at = this.watchContexts.get(context) ?? { vcpu: this.session.vcpu.index, level: this.level };
    const spec = { space: this.space, addr, len, access: WATCH_ACCESS[kind], level: at.level };
    const w = this.onVcpu(at.vcpu, () => this.session.addWatch(spec));
    this.watchContexts.set(context, at);
    this.gdbWatches.set(key, { id: w.id, context });
  }

  removeWatchpoint(kind: WatchKind, addr: bigint, len: number): void {
    const key = `${kind},${addr},${len}`;
    const w = this.gdbWatches.get(key);
    if (!w) return;
    this.gdbWatches.delete(key);
    if (this.session.watchpoints().some((x) => x.id === w.id)) this.session.deleteWatch(w.id);
  }

  /** gdb runs on: the watchpoints it did not put back in were deleted, and so are their contexts. */
  private forgetDeletedWatches(): void {
    const live = new Set([...this.gdbWatches.values()].map((w) => w.context));
    for (const c of this.watchContexts.keys()) if (!live.has(c)) this.watchContexts.delete(c);
  }

  /** `fn` with vCPU `index` current, then the current one again. */
  private onVcpu<T>(index: number, fn: () => T): T {
    const was = this.session.vcpu.index;
    if (index === was) return fn();
    this.session.selectVcpu(index);
    try {
      return fn();
    } finally {
      this.session.selectVcpu(was);
    }
  }

  monitor(command: string): string {
    try {
      // A command that moves the VM in time tells where it landed as a stop would.
      const before = this.level;
      return runMonitorCommand(this.session, command, {
        describe: (stop) => this.toTargetStop(stop, before).message ?? "",
        space: { get: () => this.space, set: (space) => this.setMemorySpace(space) },
      });
    } catch (e) {
      if (e instanceof DebugError) return `error: ${e.message}\n`;
      throw e;
    }
  }

  /**
   * A session stop as gdb sees it, with nvlab's explanation for the console; `historyStart`:
   * going back found nothing earlier than the start of the run.
   */
  private toTargetStop(stop: Stop, before: Level, historyStart = false): TargetStop {
    const r = stop.reason;
    if (r.kind === "finished") return finishedStop(r.outcome, this.level, this.thread);
    const where = stop.location?.text ?? `${this.level} (location unknown)`;
    const lines = stop.notes.map((n) => `${NOTE} ${n}`);
    let why: string | null;
    let signal = SIGTRAP;
    let swbreak = false;
    let watch: StopWatch | undefined;
    switch (r.kind) {
      case "step":
        // A plain step says nothing unless it changed level or L0 acted on the way.
        why = this.level !== before || stop.notes.length > 0 ? `now in ${this.level}` : null;
        break;
      case "breakpoint":
        swbreak = [...this.gdbBreaks.values()].includes(r.id);
        why = "breakpoint";
        break;
      case "exit-break":
        why = `exit to L0: EC ${hex(r.ec)} ${EC_NAMES[r.ec] ?? ""} esr=${hex(r.esr)}`;
        break;
      case "event-break":
        why = `L0 event: ${r.event.kind}: ${r.event.detail}`;
        break;
      case "interrupt":
        signal = SIGINT;
        why = "interrupted";
        break;
      case "budget":
        why = `instruction limit reached (${stop.steps} instructions so far)`;
        break;
      case "reverse-step":
        // As a forward step: silent within a level (gdb shows the place), said when the level changes.
        if (historyStart) why = "at the start of the run, nothing before it";
        else why = this.level !== before ? `now in ${this.level}, at step ${stop.time}` : null;
        break;
      case "goto":
        if (stop.time === 0) why = "at the start of the run (step 0)";
        else why = `${this.level !== before ? `now in ${this.level}, ` : ""}at step ${stop.time}`;
        break;
      case "restored":
        why = `restored snapshot ${r.name} (step ${stop.time})`;
        break;
      case "history-start":
        why = "no earlier break: at the start of the run";
        break;
      case "watchpoint": {
        const w = this.session.watchpoints().find((x) => x.id === r.id);
        watch = { kind: WATCH_KIND[w?.access ?? "rw"], addr: r.hit.addr };
        // nvlab's account of the access (by whom, which instruction, or L0's walk); gdb prints the values.
        if (w) lines.push(...watchHitLines(w, r.hit));
        why = w ? null : `watchpoint ${r.id}`;
        break;
      }
    }
    if (why !== null) lines.push(`${NOTE} ${why}: ${where}`);
    return {
      kind: "signal", signal, swbreak, level: this.level, thread: this.thread,
      ...(watch ? { watch } : {}),
      ...(lines.length ? { message: lines.join("\n") } : {}),
      ...(historyStart ? { historyStart } : {}),
    };
  }
}

/** A watched access in nvlab's words, as console lines. */
function watchHitLines(w: Watchpoint, hit: WatchHit): string[] {
  return describeWatchHit(w, hit).trimEnd().split("\n").map((l) => `${NOTE} ${l}`);
}

/**
 * The end of the run: SYSTEM_OFF is a process exit; a guest error or a monitor stop leaves the
 * state inspectable (SIGSEGV, SIGABRT), and resuming only repeats it.
 */
function finishedStop(o: RunOutcome, level: Level, thread: number): TargetStop {
  const message = `${NOTE} the run is over: ${describeOutcome(o)}`;
  if (o.kind === "system-off") {
    const note = guestStatusNote(o.code);
    return { kind: "exited", code: o.code, message: note ? `${message}\n${NOTE} ${note}` : message };
  }
  return { kind: "signal", signal: o.kind === "monitor-stop" ? SIGABRT : o.kind === "guest-error" ? SIGSEGV : SIGTRAP, level, thread, message };
}
