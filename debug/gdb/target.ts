// What the RSP stub needs from the thing it debugs. `session_target.ts` implements it over a
// DebugSession; tests implement it in memory. Keeping the stub on this narrow interface keeps the
// protocol code free of VM details.

import type { TargetRegisters } from "./registers.ts";

/** gdb's signal numbers (GDB_SIGNAL_*) for the stops nvlab reports. */
export const SIGINT = 2;
export const SIGTRAP = 5;
export const SIGABRT = 6;
export const SIGSEGV = 11;

/**
 * How the target stopped. `message` (when set) is shown in gdb's console before the stop: which
 * level stopped and why, in nvlab's words.
 */
export type TargetStop =
  | {
      kind: "signal";
      signal: number;
      swbreak?: boolean;
      level: "L1" | "L2";
      message?: string;
      /** Going back reached the start of the run: gdb says "No more reverse-execution history". */
      historyStart?: boolean;
    }
  /** The machine powered off (PSCI SYSTEM_OFF) with this exit code: nothing left to run. */
  | { kind: "exited"; code: number; message?: string };

export interface GdbTarget {
  /** The stop to report to a newly connected gdb (`?`). */
  haltReason(): TargetStop;
  registers(): TargetRegisters;
  /** x0..x30, sp, pc, cpsr, v0..v31, fpsr, fpcr. Throws (with a message for the user) when not possible. */
  setRegister(name: string, value: bigint): void;
  /** Virtual addresses of the running level. Throws when any byte is unmapped. */
  readMemory(addr: bigint, len: number): Uint8Array;
  writeMemory(addr: bigint, bytes: Uint8Array): void;
  /** One guest instruction. */
  step(): TargetStop;
  /** Run until a breakpoint, the end of the run, or `signal` aborts (then a SIGINT stop). */
  resume(signal: AbortSignal): Promise<TargetStop>;
  /** One instruction back in the run's history (at its start: a `historyStart` stop). */
  reverseStep(): TargetStop;
  /** Back to the latest breakpoint before now, or the start of the run (a `historyStart` stop). */
  reverseContinue(): TargetStop;
  /** Back to the start: the VM as built, nothing run, also after the run has ended. */
  restart(): TargetStop;
  insertBreakpoint(addr: bigint): void;
  removeBreakpoint(addr: bigint): void;
  /** A `monitor` command line; returns its output (errors are output too). */
  monitor(command: string): string;
  /** Shown by gdb's `info threads`. */
  threadName(): string;
}
