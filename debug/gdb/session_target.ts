// The stub's target over a DebugSession: gdb's one thread is the vCPU that stopped last (with
// several vCPUs, continue runs them all), its registers and memory are those of whichever level runs, and every stop is explained on gdb's console in nvlab's terms
// (which level, where, why; L0's actions during a step). Going back (gdb's reverse-stepi,
// reverse-continue) moves the session along its timeline, and reports as going forward does.

import { EC_NAMES } from "../../emulator/exception.ts";
import { hex } from "../../emulator/types.ts";
import type { RunOutcome } from "../../lab/run.ts";
import { guestStatusNote } from "../../lab/exit_status.ts";
import { DebugError, type DebugSession, type Stop, describeOutcome } from "../session.ts";
import type { Level } from "../symbols.ts";
import { runMonitorCommand } from "./monitor.ts";
import type { TargetRegisters } from "./registers.ts";
import { SIGABRT, SIGINT, SIGSEGV, SIGTRAP, type GdbTarget, type TargetStop } from "./target.ts";

/** Prefix of nvlab's lines on gdb's console. */
export const NOTE = "[nvlab]";

export interface SessionTargetOptions {
  /** Instructions per `continue` chunk (between chunks gdb's Ctrl-C is read). */
  chunk?: number;
  /** Most instructions one `continue` runs (default: the session's budget). */
  maxSteps?: number;
}

export class SessionTarget implements GdbTarget {
  /** gdb's breakpoints: address → session breakpoint id. */
  private readonly gdbBreaks = new Map<bigint, number>();

  constructor(
    readonly session: DebugSession,
    private readonly opts: SessionTargetOptions = {},
  ) {}

  private get level(): Level {
    return this.session.vcpu.level;
  }

  haltReason(): TargetStop {
    const o = this.session.finished;
    return o ? finishedStop(o, this.level) : { kind: "signal", signal: SIGTRAP, level: this.level };
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

  readMemory(addr: bigint, len: number): Uint8Array {
    return this.session.readMemory("va", addr, len);
  }

  writeMemory(addr: bigint, bytes: Uint8Array): void {
    this.session.writeMemory("va", addr, bytes);
  }

  step(): TargetStop {
    const o = this.session.finished;
    if (o) return finishedStop(o, this.level);
    const before = this.level;
    return this.toTargetStop(this.session.stepInstruction(1), before);
  }

  async resume(signal: AbortSignal): Promise<TargetStop> {
    const o = this.session.finished;
    if (o) return finishedStop(o, this.level);
    const before = this.level;
    const { chunk, maxSteps } = this.opts;
    const stop = await this.session.continue({ signal, ...(chunk ? { chunk } : {}), ...(maxSteps ? { maxSteps } : {}) });
    return this.toTargetStop(stop, before);
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

  monitor(command: string): string {
    try {
      // A command that moves the VM in time tells where it landed as a stop would.
      const before = this.level;
      return runMonitorCommand(this.session, command, { describe: (stop) => this.toTargetStop(stop, before).message ?? "" });
    } catch (e) {
      if (e instanceof DebugError) return `error: ${e.message}\n`;
      throw e;
    }
  }

  threadName(): string {
    return `vCPU ${this.session.vcpu.index}, ${this.level}`;
  }

  /**
   * A session stop as gdb sees it, with nvlab's explanation for the console; `historyStart`:
   * going back found nothing earlier than the start of the run.
   */
  private toTargetStop(stop: Stop, before: Level, historyStart = false): TargetStop {
    const r = stop.reason;
    if (r.kind === "finished") return finishedStop(r.outcome, this.level);
    const where = stop.location?.text ?? `${this.level} (location unknown)`;
    const lines = stop.notes.map((n) => `${NOTE} ${n}`);
    let why: string | null;
    let signal = SIGTRAP;
    let swbreak = false;
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
    }
    if (why !== null) lines.push(`${NOTE} ${why}: ${where}`);
    return {
      kind: "signal", signal, swbreak, level: this.level,
      ...(lines.length ? { message: lines.join("\n") } : {}),
      ...(historyStart ? { historyStart } : {}),
    };
  }
}

/**
 * The end of the run: SYSTEM_OFF is a process exit; a guest error or a monitor stop leaves the
 * state inspectable (SIGSEGV, SIGABRT), and resuming only repeats it.
 */
function finishedStop(o: RunOutcome, level: Level): TargetStop {
  const message = `${NOTE} the run is over: ${describeOutcome(o)}`;
  if (o.kind === "system-off") {
    const note = guestStatusNote(o.code);
    return { kind: "exited", code: o.code, message: note ? `${message}\n${NOTE} ${note}` : message };
  }
  return { kind: "signal", signal: o.kind === "monitor-stop" ? SIGABRT : o.kind === "guest-error" ? SIGSEGV : SIGTRAP, level, message };
}
