// `--json` when L0 itself fails mid-run (a HostError: out of pool pages, or an L0 bug). The run still
// prints one JSON document with what happened up to the failure (console, metrics, and the `--trace`
// lines the caller adds), since the runs that fail are the ones whose trace is wanted; the error also
// goes to stderr and the status stays 70.

import type { Engine } from "../emulator/engine.ts";
import type { HostError } from "../hypervisor/errors.ts";
import type { VmMonitor } from "../hypervisor/monitor.ts";
import type { Kvm } from "../hypervisor/vm.ts";
import { RUN_STATUS } from "./run.ts";

/** Remembers the VM a run builds (through its `monitors` hook), for a report after it throws. */
export interface VmWitness {
  monitors: (kvm: Kvm) => VmMonitor[];
  kvm: () => Kvm | null;
}

export function vmWitness(inner?: (kvm: Kvm) => VmMonitor[]): VmWitness {
  let seen: Kvm | null = null;
  return {
    monitors: (kvm) => {
      seen = kvm;
      return inner?.(kvm) ?? [];
    },
    kvm: () => seen,
  };
}

/** The end of a run L0 could not finish, in the shape of a --json `exit`/`outcome`. */
export function hostErrorExit(e: HostError, kvm: Kvm | null) {
  return {
    kind: "host-error" as const,
    message: e.message,
    ...(e.report ? { report: e.report } : {}),
    steps: kvm?.steps ?? 0,
    status: RUN_STATUS.host,
  };
}

/** What the VM did before L0 failed, and on which engine (nothing when it was never built). */
export function hostErrorState(kvm: Kvm | null): { console: string; metrics: unknown; engine: Engine | null } {
  return { console: kvm?.console ?? "", metrics: kvm?.metrics.snapshot() ?? null, engine: kvm?.vcpus[0]?.cpu.engine ?? null };
}
