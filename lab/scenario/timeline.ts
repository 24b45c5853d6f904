// A scenario's timeline as a run monitor: each entry's trigger (a step count, exits, shadow faults,
// matching events) and its injection, done between L0 actions, never inside one.

import { hex } from "../../emulator/types.ts";
import { HostError } from "../../hypervisor/errors.ts";
import { matchesFields } from "../../hypervisor/event_fields.ts";
import type { KvmEvent } from "../../hypervisor/events.ts";
import { MonitorStop, type VmMonitor } from "../../hypervisor/monitor.ts";
import type { KvmVcpu } from "../../hypervisor/vcpu.ts";
import type { Kvm } from "../../hypervisor/vm.ts";
import { assertInvariants, checkerAttached } from "../check.ts";
import {
  coalesceCanonical, deleteMemslot, failRevmapStores, failStores, forceRecycle, getDirtyLog, logDirtyPages, skipShadowTlbInvalidation, splitCanonical,
  tlbiOnBehalfOfL1, unmapCanonical,
} from "../injection.ts";
import { ScenarioError, type TimelineEntry } from "./schema.ts";

/** Trigger state of one timeline entry. */
interface Armed {
  entry: TimelineEntry;
  index: number;
  /** Threshold of the next firing in the trigger's unit (steps, exits, shadow faults, matching events). */
  next: number;
  fired: number;
  times: number;
  /** Matching events so far (event triggers). */
  seen: number;
  /** Set by the event listener; the action waits for the end of the current L0 action. */
  due: boolean;
  match: RegExp | null;
}

/**
 * The scenario's timeline as a run monitor: step triggers pause the vCPU at that instruction count;
 * exit, shadow-fault and event triggers act after the exit that reached them (between L0 actions,
 * never inside one). Each action is followed by an invariant check when the checker is on.
 */
export class TimelineMonitor implements VmMonitor {
  private readonly armed: Armed[];
  private exits = 0;
  readonly injections: string[] = [];

  constructor(
    private readonly kvm: Kvm,
    timeline: readonly TimelineEntry[],
    file: string,
  ) {
    this.armed = timeline.map((entry, index) => ({
      entry,
      index,
      next: entry.at.step ?? entry.at.exits ?? entry.at.shadowFaults ?? entry.at.event?.nth ?? 1,
      fired: 0,
      times: entry.repeat?.times ?? 1,
      seen: 0,
      due: false,
      match: entry.at.event?.match === undefined ? null : new RegExp(entry.at.event.match, "m"),
    }));
    for (const a of this.armed) {
      const mmu = a.entry.do.recycle?.mmu;
      if (typeof mmu === "number" && mmu >= kvm.nestedMmus.length) {
        throw new ScenarioError(file, [`${file}: timeline[${a.index}].do.recycle.mmu: no shadow MMU ${mmu} (the VM has ${kvm.nestedMmus.length})`]);
      }
    }
    if (this.armed.some((a) => a.entry.at.event)) {
      kvm.events.subscribe((e) => this.onEvent(e));
    }
  }

  private live(a: Armed): boolean {
    return a.fired < a.times;
  }

  private onEvent(e: KvmEvent): void {
    for (const a of this.armed) {
      const t = a.entry.at.event;
      if (!t || !this.live(a) || e.kind !== t.kind) continue;
      if (t.fields && !matchesFields(e.data, t.fields)) continue;
      if (a.match && !a.match.test(e.detail)) continue;
      a.seen++;
      if (a.seen >= a.next) a.due = true;
    }
  }

  nextPause(): number {
    let p = Infinity;
    for (const a of this.armed) if (a.entry.at.step !== undefined && this.live(a)) p = Math.min(p, a.next);
    return p;
  }

  onPause(vcpu: KvmVcpu): void {
    // Steps count the instructions of every vCPU (the run loop pauses on that count).
    const steps = this.kvm.steps;
    for (const a of this.armed) {
      while (a.entry.at.step !== undefined && this.live(a) && a.next <= steps) this.fire(a, vcpu);
    }
  }

  afterExit(vcpu: KvmVcpu): void {
    this.exits++;
    for (const a of this.armed) {
      if (!this.live(a)) continue;
      const at = a.entry.at;
      let reached = false;
      if (at.exits !== undefined) reached = this.exits >= a.next;
      else if (at.shadowFaults !== undefined) reached = this.kvm.metrics.shadowFaults >= a.next;
      else if (at.event !== undefined) reached = a.due;
      if (reached) this.fire(a, vcpu);
    }
  }

  private fire(a: Armed, vcpu: KvmVcpu): void {
    a.fired++;
    a.due = false;
    const every = a.entry.repeat?.every ?? 1;
    if (a.entry.at.event !== undefined) {
      a.next += every;
      if (a.seen >= a.next) a.due = true;
    } else a.next += every;
    this.injections.push(`step ${this.kvm.steps}: timeline[${a.index}] ${this.act(a.entry.do, vcpu)}`);
    if (checkerAttached(this.kvm)) assertInvariants(this.kvm);
  }

  private act(d: TimelineEntry["do"], vcpu: KvmVcpu): string {
    const kvm = this.kvm;
    if (d.unmapCanonical) {
      const size = d.unmapCanonical.size ?? 0x1000n;
      const mayBlock = d.unmapCanonical.mayBlock ?? true;
      unmapCanonical(kvm, d.unmapCanonical.ipa, size, "scenario", mayBlock);
      return `unmapCanonical ${hex(d.unmapCanonical.ipa)}+${hex(size)}${mayBlock ? "" : " (may not block)"}`;
    }
    if (d.failRevmapStores !== undefined) {
      failRevmapStores(kvm, d.failRevmapStores, "scenario");
      return `failRevmapStores ${d.failRevmapStores}`;
    }
    if (d.skipTlbInvalidation !== undefined) {
      skipShadowTlbInvalidation(kvm, d.skipTlbInvalidation, "scenario");
      return `skipTlbInvalidation ${d.skipTlbInvalidation}`;
    }
    if (d.failStores) {
      failStores(kvm, d.failStores.store, d.failStores.count, "scenario");
      return `failStores ${d.failStores.store} ${d.failStores.count}`;
    }
    if (d.recycle) {
      const mmu = forceRecycle(kvm, d.recycle.mmu, "scenario");
      return `recycle ${d.recycle.mmu === "any-valid" ? "any-valid" : `mmu${d.recycle.mmu}`}: ${mmu ? `mmu${mmu.index}${mmu.pendingUnmap ? " (pending unmap)" : ""}` : "nothing valid"}`;
    }
    if (d.split) {
      hostStep(() => splitCanonical(kvm, d.split!.ipa, "scenario"));
      return `split ${hex(d.split.ipa)}`;
    }
    if (d.coalesce) {
      const c = d.coalesce;
      const opts = { ...(c.order !== undefined ? { order: c.order } : {}), ...(c.costPerPage !== undefined ? { costPerPage: c.costPerPage } : {}) };
      const op = hostStep(() => coalesceCanonical(kvm, c.ipa, opts, "scenario"));
      return `coalesce ${hex(c.ipa)} (${op.order}, ${op.pages} page mappings, ${op.totalTicks} ticks)`;
    }
    if (d.deleteMemslot) {
      const slot = hostStep(() => deleteMemslot(kvm, d.deleteMemslot!.ipa, "scenario"));
      return `deleteMemslot ${hex(slot.base)}+${hex(slot.size)}`;
    }
    if (d.logDirtyPages) {
      const l = d.logDirtyPages;
      const slot = hostStep(() => logDirtyPages(kvm, l.ipa, l.enable, "scenario"));
      return `logDirtyPages ${l.enable ? "on" : "off"} ${hex(slot.base)}+${hex(slot.size)}`;
    }
    if (d.getDirtyLog) {
      const dirty = hostStep(() => getDirtyLog(kvm, d.getDirtyLog!.ipa, "scenario"));
      return `getDirtyLog ${hex(d.getDirtyLog.ipa)}: ${dirty.length} dirty pages`;
    }
    const t = d.tlbi!;
    tlbiOnBehalfOfL1(vcpu, t.op, t.operand ?? 0n, "scenario");
    return `tlbi ${t.op.toUpperCase()} ${hex(t.operand ?? 0n)}`;
  }
}

/** An injection L0 refuses (a region that cannot be split or coalesced) ends the run with why. */
function hostStep<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof HostError) throw new MonitorStop("scenario", `the timeline asked for what L0 cannot do: ${e.message}`);
    throw e;
  }
}
