// Metrics and event hooks of the stage-2 code, in one place so the fault, unmap and TLBI paths
// stay free of bookkeeping details.

import type { EventDetail } from "./events.ts";
import type { Kvm } from "./vm.ts";

/** Add `n` to counter `name` (a Metrics field, `tlbi.<name>`, or any other name). */
export function kvmStat(kvm: Kvm, name: string, n = 1): void {
  kvm.metrics.inc(name, n);
}

/** One canonical unmap visited `n` shadow MMUs. */
export function kvmStatUnmapVisit(kvm: Kvm, n: number): void {
  kvm.metrics.recordUnmapVisit(n);
}

/** Append an event to the VM's log (pass a function when the detail is costly to format). */
export function kvmEvent(kvm: Kvm, kind: string, detail: EventDetail): void {
  kvm.events.add(kind, detail);
}
