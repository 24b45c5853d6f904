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
  /** Whether a matching event since the last firing came from elsewhere than this entry's own action. */
  outside: boolean;
}

/** How often one timeline entry fired, against the times it was asked to. */
export interface EntryFirings {
  index: number;
  /** The trigger as the file gives it, e.g. `{exits: 100}`. */
  trigger: string;
  fired: number;
  times: number;
}

/**
 * Firings the timeline may do while no instruction retires. A vCPU that retries a faulting
 * instruction makes no progress, so an entry that undoes at every exit what the retry needs (unmaps
 * the page it faults on) would keep the run at the same step forever, out of maxSteps' reach.
 * Legitimate timelines fire a few entries at one step; this is far above that.
 */
export const TIMELINE_STALL_LIMIT = 1000;

/**
 * The scenario's timeline as a run monitor: step triggers pause the vCPU at that instruction count;
 * exit, shadow-fault and event triggers act after the exit that reached them (between L0 actions,
 * never inside one). Each action is followed by an invariant check when the checker is on.
 */
export class TimelineMonitor implements VmMonitor {
  private readonly armed: Armed[];
  private exits = 0;
  readonly injections: string[] = [];
  /** The entry whose action is running (events it logs do not come from elsewhere). */
  private firing: Armed | null = null;
  /** Instruction count at the last firing, and firings since an instruction last retired. */
  private lastFireSteps = -1;
  private stalled = 0;

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
      outside: false,
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

  /** Each entry's firings so far, in timeline order. */
  firings(): EntryFirings[] {
    return this.armed.map((a) => ({ index: a.index, trigger: triggerText(a.entry.at), fired: a.fired, times: a.times }));
  }

  private onEvent(e: KvmEvent): void {
    for (const a of this.armed) {
      const t = a.entry.at.event;
      if (!t || !this.live(a) || e.kind !== t.kind) continue;
      if (t.fields && !matchesFields(e.data, t.fields)) continue;
      if (a.match && !a.match.test(e.detail)) continue;
      if (this.firing !== a) a.outside = true;
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
    this.refuseLoops(a);
    a.fired++;
    a.due = false;
    a.outside = false;
    const every = a.entry.repeat?.every ?? 1;
    if (a.entry.at.event !== undefined) {
      a.next += every;
      if (a.seen >= a.next) a.due = true;
    } else a.next += every;
    this.firing = a;
    try {
      this.injections.push(`step ${this.kvm.steps}: timeline[${a.index}] ${this.act(a.entry.do, vcpu)}`);
    } finally {
      this.firing = null;
    }
    if (checkerAttached(this.kvm)) assertInvariants(this.kvm);
  }

  /**
   * Stop a timeline that would run away: an entry reached again only by the events its own action
   * logged (it would fire after every exit until `times` runs out), or firings that go on while no
   * instruction retires (beyond the reach of maxSteps).
   */
  private refuseLoops(a: Armed): void {
    const t = a.entry.at.event;
    if (t !== undefined && a.fired > 0 && !a.outside) {
      throw new MonitorStop(
        "scenario",
        `timeline[${a.index}] triggers itself: its action (${actionName(a.entry.do)}) logs a ${t.kind} event that its own trigger ` +
          `${triggerText(a.entry.at)} matches, so it would fire again after every exit (up to ${a.times} times); ` +
          `narrow the trigger (a field such as source or action, or match) to the events it should follow`,
      );
    }
    const steps = this.kvm.steps;
    this.stalled = steps === this.lastFireSteps ? this.stalled + 1 : 0;
    this.lastFireSteps = steps;
    if (this.stalled >= TIMELINE_STALL_LIMIT) {
      throw new MonitorStop(
        "scenario",
        `the timeline fired ${this.stalled + 1} times at step ${steps} while no instruction retired (last: timeline[${a.index}] ` +
          `${triggerText(a.entry.at)}): its injections undo what the guest needs to go on (entries that trigger each other, or ` +
          `one that fires at every exit and takes back the page the guest is faulting on)`,
      );
    }
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

/** The action's name (`unmapCanonical`). */
function actionName(d: TimelineEntry["do"]): string {
  return Object.keys(d).find((k) => (d as Record<string, unknown>)[k] !== undefined) ?? "?";
}

/** A trigger as the file writes it: `{exits: 100}`, `{event: {kind: tlbi, op: IPAS2E1IS}}`. */
export function triggerText(at: TimelineEntry["at"]): string {
  if (at.step !== undefined) return `{step: ${at.step}}`;
  if (at.exits !== undefined) return `{exits: ${at.exits}}`;
  if (at.shadowFaults !== undefined) return `{shadowFaults: ${at.shadowFaults}}`;
  const e = at.event!;
  const parts = [`kind: ${e.kind}`];
  for (const [k, v] of Object.entries(e.fields ?? {})) parts.push(`${k}: ${typeof v === "bigint" ? hex(v) : String(v)}`);
  if (e.match !== undefined) parts.push(`match: ${JSON.stringify(e.match)}`);
  if (e.nth !== undefined) parts.push(`nth: ${e.nth}`);
  return `{event: {${parts.join(", ")}}}`;
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
