// Metrics and event hooks of the stage-2 code, in one place so the fault, unmap and TLBI paths
// stay free of bookkeeping details.

import type { KvmEventData } from "./event_data.ts";
import type { CounterName } from "./metrics.ts";
import type { Kvm } from "./vm.ts";

/** Add `n` to counter `name` (a Metrics field, `tlbi.<name>`, or another counter of the typed set). */
export function kvmStat(kvm: Kvm, name: CounterName, n = 1): void {
  kvm.metrics.inc(name, n);
}

/** One canonical unmap visited `n` shadow MMUs. */
export function kvmStatUnmapVisit(kvm: Kvm, n: number): void {
  kvm.metrics.recordUnmapVisit(n);
}

/** Append an event's fields to the VM's log (its text is formatted only if someone prints it). */
export function kvmEvent(kvm: Kvm, data: KvmEventData): void {
  kvm.events.add(data);
}
