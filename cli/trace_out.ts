// `--trace-out FILE.json`: record the run for Perfetto and write the file when the run ends,
// however it ends (system off, budget, guest error, checker stop, or an L0 failure), since the
// runs that go wrong are the ones worth looking at.

import { accessSync, constants, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { DEFAULT_TRACE_MAX_EVENTS, TraceRecorder, writeTrace } from "../debug/trace_event.ts";
import type { VmMonitor } from "../hypervisor/monitor.ts";
import type { Kvm } from "../hypervisor/vm.ts";
import { UsageError } from "./errors.ts";
import { parseCount } from "./parse.ts";

export interface TraceOutput {
  /** For runVm's `monitors`: creates the recorder once the VM exists. */
  monitors: (kvm: Kvm) => VmMonitor[];
  /** Write the file (nothing when the VM was never built); returns a note for stderr, or null. */
  write: () => string | null;
}

/**
 * Check the destination before the run (a long run should not end in "cannot write"), and return
 * the recorder's hooks. `limit` is the `--trace-limit` text.
 */
export function traceOutput(file: string, limit: string = String(DEFAULT_TRACE_MAX_EVENTS)): TraceOutput {
  const maxEvents = parseCount(limit, "--trace-limit");
  const path = resolve(file);
  if (isDirectory(path)) throw new UsageError(`--trace-out: ${file} is a directory`);
  try {
    accessSync(dirname(path), constants.W_OK);
  } catch {
    throw new UsageError(`--trace-out: cannot write ${file}: ${dirname(path)} does not exist or is not writable`);
  }
  let recorder: TraceRecorder | null = null;
  return {
    monitors: (kvm) => [(recorder = new TraceRecorder(kvm, { maxEvents }))],
    write: () => {
      if (!recorder) return null;
      const info = writeTrace(path, recorder);
      if (!recorder.truncated) return null;
      return `trace cut at step ${recorder.truncatedAtStep} after ${maxEvents} events (--trace-limit); ${info.droppedEvents} later events dropped`;
    },
  };
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Write the trace of a finished run (if any) and say on stderr when the cap cut it. */
export function finishTraceOutput(t: TraceOutput | null): void {
  const note = t?.write();
  if (note) process.stderr.write(`nvlab: ${note}\n`);
}
