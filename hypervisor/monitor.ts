// Monitors watch a run from outside the guest: the invariant checker, scenario timelines and chaos
// injection. The vCPU run loop pauses at the step a monitor asks for and calls every monitor after
// each handled exit (each L0 action), so monitors see L0's state between actions, never inside one.

import type { Exit } from "../emulator/exception.ts";
import type { KvmVcpu } from "./vcpu.ts";

export interface VmMonitor {
  /** Instruction count at which the run must pause for this monitor (Infinity for never). */
  nextPause?(): number;
  /** The run paused at or after `nextPause()`; the vCPU is between instructions or at an exit. */
  onPause?(vcpu: KvmVcpu): void;
  /** An exit was handled. */
  afterExit?(vcpu: KvmVcpu, exit: Exit): void;
}

/** The earliest pause any monitor wants. */
export function nextPause(monitors: readonly VmMonitor[]): number {
  let p = Infinity;
  for (const m of monitors) if (m.nextPause) p = Math.min(p, m.nextPause());
  return p;
}

/**
 * Thrown by a monitor to end the run with a verdict that is neither the guest's fault nor an L0
 * crash: the invariant checker's violations, a scenario's failed expectation.
 */
export class MonitorStop extends Error {
  constructor(
    readonly verdict: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = "MonitorStop";
  }
}
