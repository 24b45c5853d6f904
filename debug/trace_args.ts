// The arguments a Perfetto instant shows for an L0 event, built from the event's fields. Keys and
// value formats are the trace format's contract with existing traces and viewers' saved queries:
// addresses as 0x-hex strings, counts and indices as numbers, keys named as the event text names
// them ("nested", "PA", "mmusVisited"…), and the text itself as `detail`.

import type { Exit } from "../emulator/exception.ts";
import { hex } from "../emulator/types.ts";
import type { EventKind, EventOfKind, ExitEventData, KvmEventData, UnmapEventData } from "../hypervisor/event_data.ts";
import { ecName, modeNameOrNull, protString } from "../hypervisor/event_format.ts";
import { INJECT_EVENT } from "../lab/injection.ts";

type Args = Record<string, unknown>;

/** `{M: 0x..}` for a mode without a name (the text shows `M=0x..`), else nothing. */
const unnamedMode = (m: number): Args => (modeNameOrNull(m) === null ? { M: hex(m) } : {});

function unmapArgs(e: UnmapEventData): Args {
  if (e.scope === "canonical") {
    return {
      canonical: hex(e.start), size: hex(e.size), canonicalEntriesRemoved: e.removed, hostPagesFreed: e.freed,
      ...(e.mayBlock === false ? { mayBlock: false } : {}), ...(e.resched ? { reschedPoints: e.resched } : {}),
    };
  }
  return e.wording ? e.wording.args(e) : { mmusEmptied: e.mmusVisited, shadowEntriesRemoved: e.removed };
}

type ArgBuilders = { [K in EventKind]: (e: EventOfKind<K>) => Args };

/** One builder per kind; `detail` is added after. */
const ARGS: ArgBuilders = {
  exit: (e) => ({
    ec: ecName(e.ec),
    from: e.level,
    esr: hex(e.esr),
    elr: hex(e.elr),
    ...(e.far !== undefined ? { far: hex(e.far) } : {}),
    ...(e.hpfar !== undefined ? { hpfar: hex(e.hpfar) } : {}),
  }),
  "shadow-fault": (e) => ({
    mmu: e.mmu,
    nested: hex(e.nestedIpa),
    canonical: hex(e.canonicalIpa),
    PA: hex(e.pa),
    size: hex(e.size),
    prot: protString(e.prot),
    ...(e.level !== null ? { level: e.level } : {}),
  }),
  "canonical-fault": (e) => ({ IPA: hex(e.ipa), PA: hex(e.pa), size: hex(e.size) }),
  inject: (e) => {
    switch (e.into) {
      case "l1-stage2":
        // A walker error is in the text only (`detail`), as it always was.
        return { IPA: hex(e.nestedIpa), FSC: hex(e.fsc), ESR: hex(e.esr) };
      case "vel2":
        return {
          esr: hex(e.esr),
          ...unnamedMode(e.mode),
          elr: hex(e.elr),
          ...(e.far !== undefined ? { far: hex(e.far) } : {}),
          ...(e.hpfar !== undefined ? { hpfar: hex(e.hpfar) } : {}),
          vector: hex(e.vector),
        };
      case "l2-el1":
        return { esr: hex(e.esr), vector: hex(e.vector) };
    }
  },
  eret: (e) =>
    e.to === "vEL2"
      ? { ...unnamedMode(e.mode), pc: hex(e.pc) }
      : { ...unnamedMode(e.mode), pc: hex(e.pc), vttbr: hex(e.vttbr), ...(e.mmu !== null ? { mmu: e.mmu, vmid: e.vmid } : {}) },
  recycle: (e) => (e.action === "reassign" ? { mmu: e.mmu, vmid: e.fromVmid } : { mmu: e.mmu, emptied: e.removed }),
  unmap: unmapArgs,
  tlbi: (e) => ({
    [e.op]: hex(e.operand),
    ...(e.vmid !== null && (e.target === "stage1" || e.target === "stage2") ? { VMID: e.vmid } : {}),
    ...(e.target === "stage2" ? { shadowEntriesRemoved: e.removed } : {}),
  }),
  mmio: (e) => ({ size: e.size, [`x${e.rt}`]: hex(e.value) }),
  psci: (e) => {
    switch (e.call) {
      case "SYSTEM_OFF":
        return { code: e.code };
      case "PSCI_FEATURES":
        return { PSCI_FEATURES: hex(e.feature) };
      case "NOT_SUPPORTED":
        return { function: hex(e.fn) };
      case "CPU_ON":
        if (e.result === "INVALID_PARAMETERS") return { mpidr: hex(e.mpidr) };
        return e.result === "SUCCESS" ? { entry: hex(e.entry), context: hex(e.context) } : {};
      default:
        return {};
    }
  },
  coalesce: (e) => {
    const where = { canonical: hex(e.ipa), size: hex(e.size) };
    switch (e.phase) {
      case "begin":
        return where;
      case "fault":
        return { vCPU: e.vcpu, ...where, tick: e.tick };
      case "split":
        return { ...where, PA: hex(e.pa) };
      case "done":
        // "…page mappings and 1 table page freed, invalid for N ticks": the names the text gives.
        return { ...where, ...(e.aborted ? {} : { PA: hex(e.pa) }), and: 1, for: e.invalidTicks, tablePageFreed: 1 };
    }
  },
  revmap: (e) => (e.what === "broken" ? { mmu: e.mmu } : { mmu: e.mmu, polluted: e.overlaps, nested: hex(e.nestedIpa) }),
  accel: () => ({}),
  chaos: (e) => {
    // Injections say who asked for them ("scenario", "chaos", "inject", "debugger").
    const source = { source: e.source };
    switch (e.action) {
      case "unmap":
        return { ...source, canonical: hex(e.ipa), size: hex(e.size) };
      case "fail-revmap":
        return { ...source, next: e.count, ...(e.store ? { store: e.store } : {}) };
      case "skip-tlbi":
        return { ...source, next: e.count };
      case "recycle":
        return e.mmu === "any-valid" ? source : { ...source, mmu: e.mmu };
      case "tlbi":
        return source;
      case "split":
      case "coalesce":
        return { ...source, canonical: hex(e.ipa), size: "0x200000" };
      case "delete-memslot":
      case "log-dirty":
      case "get-dirty-log":
        return { ...source, canonical: hex(e.ipa) };
    }
  },
  memslot: (e) => {
    const slot = { slot: hex(e.start), size: hex(e.size) };
    switch (e.what) {
      case "delete":
        return { ...slot, canonicalEntriesRemoved: e.removed, hostPagesFreed: e.freed };
      case "log-dirty":
        return e.enable ? { ...slot, canonicalWrprotected: e.wrprotected, shadowWrprotected: e.shadowWrprotected, mmus: e.mmus } : slot;
      case "get-dirty-log":
        return { ...slot, dirty: e.dirty, canonicalWrprotected: e.wrprotected, shadowWrprotected: e.shadowWrprotected, mmus: e.mmus };
    }
  },
  "relax-perms": (e) => ({
    ...(e.mmu !== null ? { mmu: e.mmu, nested: hex(e.ipa) } : {}),
    canonical: hex(e.mmu !== null ? e.canonicalIpa : e.ipa),
    size: hex(e.size),
    prot: protString(e.prot),
    ...(e.dirty ? { dirty: true } : {}),
  }),
  "s2-table-write": (e) => ({
    vCPU: e.vcpu, from: e.level, pc: hex(e.pc), va: hex(e.va), canonical: hex(e.ipa), PA: hex(e.pa), size: e.size, level: e.tableLevel,
    nested: hex(e.nestedIpa), span: hex(e.span), old: hex(e.old), new: hex(e.new),
  }),
};

/** Exception classes whose exits carry FAR_EL2 and HPFAR_EL2 (stage-2 aborts from the guest). */
const ABORT_ECS = new Set([0x20, 0x24]);

/**
 * An exit's arguments when the recorder also holds the exit of the vCPU it put the event on (the
 * same syndrome): the class by name and number, the syndrome registers and ISS, from that exit.
 */
function exitArgs(e: ExitEventData, seen: Exit): Args {
  return {
    ec: ecName(seen.ec),
    from: e.level,
    ecValue: hex(seen.ec),
    esr: hex(seen.esr),
    iss: hex(seen.esr & 0x1ff_ffffn),
    elr: hex(seen.elr),
    // Other exits leave FAR/HPFAR holding an older fault's values: showing them would mislead.
    ...(ABORT_ECS.has(seen.ec) ? { far: hex(seen.far), hpfar: hex(seen.hpfar) } : {}),
  };
}

/**
 * The instant's arguments: the event's fields as the trace names them, then its text. For an exit,
 * `seen` is the last exit of the vCPU the event was put on: when it is the one the event records,
 * its ISS and class number are added (the form traces have always had).
 */
export function eventArgs(e: KvmEventData, detail: string, seen: Exit | null = null): Args {
  const args = e.kind === "exit" && seen !== null && seen.esr === e.esr ? exitArgs(e, seen) : (ARGS[e.kind] as (e: KvmEventData) => Args)(e);
  args.detail = detail;
  return args;
}

/** The instant's name: the kind, and for an exit its class ("exit HVC64"). */
export function eventName(e: KvmEventData): string {
  return e.kind === "exit" ? `exit ${ecName(e.ec)}` : e.kind;
}

/** The instant's category: exits, injections, and L0's own actions. */
export function eventCategory(kind: EventKind): string {
  if (kind === "exit") return "exit";
  if (kind === INJECT_EVENT) return "injection";
  return "l0";
}
