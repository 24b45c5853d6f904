// What the RSP stub needs from the thing it debugs. `session_target.ts` implements it over a
// DebugSession; tests implement it in memory. Keeping the stub on this narrow interface keeps the
// protocol code free of VM details. Each vCPU is one gdb thread, numbered as QEMU's gdbstub does:
// vCPU i is thread i + 1 (0 and -1 mean "any" and "all" in the protocol).

import type { AddressSpace } from "../memory.ts";
import type { TargetRegisters } from "./registers.ts";

/** gdb's signal numbers (GDB_SIGNAL_*) for the stops nvlab reports. */
export const SIGINT = 2;
export const SIGTRAP = 5;
export const SIGABRT = 6;
export const SIGSEGV = 11;

/** gdb's watchpoint kinds (Z2, Z3, Z4): stops on a write, a read, either. */
export type WatchKind = "watch" | "rwatch" | "awatch";

/** The watchpoint a stop is for: its kind and the watched address the access touched. */
export interface StopWatch {
  kind: WatchKind;
  addr: bigint;
}

export interface TargetThread {
  /** gdb's thread id: the vCPU's index + 1. */
  tid: number;
  /** What `info threads` shows beside it (qThreadExtraInfo). */
  name: string;
}

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
      /** The thread (vCPU) that stopped; registers and memory are its from now on. */
      thread: number;
      /** A watchpoint stopped it. */
      watch?: StopWatch;
      message?: string;
      /** Going back reached the start of the run: gdb says "No more reverse-execution history". */
      historyStart?: boolean;
    }
  /** The machine powered off (PSCI SYSTEM_OFF) with this exit code: nothing left to run. */
  | { kind: "exited"; code: number; message?: string };

export interface GdbTarget {
  /** The stop to report to a newly connected gdb (`?`). */
  haltReason(): TargetStop;
  /** Every vCPU, in order (also those not started yet). */
  threads(): TargetThread[];
  /** The thread registers, memory and `step` apply to: after a stop, the one that stopped. */
  currentThread(): number;
  /** Make `tid` current (gdb's Hg, or the thread of a step). Throws when there is no such thread. */
  selectThread(tid: number): void;
  /** The current thread's registers. */
  registers(): TargetRegisters;
  /** x0..x30, sp, pc, cpsr, v0..v31, fpsr, fpcr. Throws (with a message for the user) when not possible. */
  setRegister(name: string, value: bigint): void;
  /** Where memory accesses and watchpoint addresses are: "va" (the current thread's running level) by default. */
  memorySpace(): AddressSpace;
  setMemorySpace(space: AddressSpace): void;
  /** Addresses of the memory space. Throws when any byte is unmapped. */
  readMemory(addr: bigint, len: number): Uint8Array;
  writeMemory(addr: bigint, bytes: Uint8Array): void;
  /** One instruction of the current thread; the others stay where they are. */
  step(): TargetStop;
  /** Run every vCPU until a breakpoint, a watchpoint, the end of the run, or `signal` aborts (then a SIGINT stop). */
  resume(signal: AbortSignal): Promise<TargetStop>;
  /** One instruction back in the run's history (at its start: a `historyStart` stop). */
  reverseStep(): TargetStop;
  /** Back to the latest breakpoint before now, or the start of the run (a `historyStart` stop). */
  reverseContinue(): TargetStop;
  /** Back to the start: the VM as built, nothing run, also after the run has ended. */
  restart(): TargetStop;
  insertBreakpoint(addr: bigint): void;
  removeBreakpoint(addr: bigint): void;
  /** `len` bytes at `addr` of the memory space. Throws (with a message for the user) when refused. */
  insertWatchpoint(kind: WatchKind, addr: bigint, len: number): void;
  removeWatchpoint(kind: WatchKind, addr: bigint, len: number): void;
  /** A `monitor` command line; returns its output (errors are output too). */
  monitor(command: string): string;
}
