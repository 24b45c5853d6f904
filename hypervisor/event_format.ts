// The text of each event kind (Linux TRACE_EVENT's TP_printk): what `--trace`, error reports and
// the debugger print. Called only when an event is printed, never when it is logged.

import { EC_NAMES, ecOf, issOf } from "../emulator/exception.ts";
import { sysRegByEncoding } from "../emulator/sysreg_table.ts";
import { tlbiFromIss } from "../emulator/tlbi.ts";
import { decodeSysIss } from "../emulator/traps.ts";
import { hex } from "../emulator/types.ts";
import type {
  ChaosEventData, CoalesceEventData, EventKind, EventOfKind, ExitEventData, InjectEventData, KvmEventData, MemslotEventData, NestedUnmapEventData, PsciEventData,
  RelaxPermsEventData, S2TableWriteEventData, TlbiEventData, UnmapEventData,
} from "./event_data.ts";
import { KVM_PGTABLE_PROT_R, KVM_PGTABLE_PROT_W, KVM_PGTABLE_PROT_X } from "./pgtable.ts";

/** The name of an exception class, or its number when it has none. */
export function ecName(ec: number): string {
  return EC_NAMES[ec] ?? hex(ec);
}

/** A trapped system register access or TLBI (EC 0x18), as the instruction that trapped. */
export function describeSysTrap(esr: bigint): string {
  const iss = issOf(esr);
  const t = decodeSysIss(iss);
  const op = t.op0 === 1 ? tlbiFromIss(iss) : undefined;
  if (op) return `TLBI ${op.name}, x${t.rt}`;
  const def = sysRegByEncoding(t.op0, t.op1, t.crn, t.crm, t.op2);
  const name = def?.name ?? `S${t.op0}_${t.op1}_C${t.crn}_C${t.crm}_${t.op2}`;
  return t.isRead ? `mrs x${t.rt}, ${name}` : `msr ${name}, x${t.rt}`;
}

const MODE_NAMES: Record<number, string> = { 0x0: "EL0t", 0x4: "EL1t", 0x5: "EL1h", 0x8: "EL2t", 0x9: "EL2h" };

/** The name of an AArch64 PSTATE mode (SPSR.M[4:0]), or null when it has none. */
export function modeNameOrNull(m: number): string | null {
  return MODE_NAMES[m] ?? null;
}

/** SPSR.M[4:0] by name ("EL1h"), or as `M=0x..` when it has none. */
export function modeName(m: number): string {
  return MODE_NAMES[m] ?? `M=${hex(m)}`;
}

/** KVM_PGTABLE_PROT_R/W/X as "rwx", "r-x"… */
export function protString(prot: number): string {
  return (prot & KVM_PGTABLE_PROT_R ? "r" : "-") + (prot & KVM_PGTABLE_PROT_W ? "w" : "-") + (prot & KVM_PGTABLE_PROT_X ? "x" : "-");
}

export const range = (start: bigint, size: bigint): string => `${hex(start)}+${hex(size)}`;

function exitText(e: ExitEventData): string {
  let s = `${ecName(e.ec)} from ${e.level} esr=${hex(e.esr)} elr=${hex(e.elr)}`;
  if (e.ec === 0x18) s += ` (${describeSysTrap(e.esr)})`;
  if (e.far !== undefined) s += ` far=${hex(e.far)}`;
  if (e.hpfar !== undefined) s += ` hpfar=${hex(e.hpfar)}`;
  return s;
}

function injectText(e: InjectEventData): string {
  switch (e.into) {
    case "l1-stage2":
      return `stage-2 fault to L1: nested IPA ${hex(e.nestedIpa)} FSC 0x${e.fsc.toString(16)} ESR ${hex(e.esr)}` +
        (e.walkerError !== undefined ? ` (walker error: ${e.walkerError})` : "");
    case "vel2":
      return `${ecName(ecOf(e.esr))} esr=${hex(e.esr)} from ${e.from} ${modeName(e.mode)} elr=${hex(e.elr)}` +
        (e.far !== undefined ? ` far=${hex(e.far)}` : "") +
        (e.hpfar !== undefined ? ` hpfar=${hex(e.hpfar)}` : "") +
        ` -> vector ${hex(e.vector)}`;
    case "l2-el1":
      return `${ecName(ecOf(e.esr))} esr=${hex(e.esr)} into L2 EL1 -> vector ${hex(e.vector)}`;
  }
}

/** A shadow unmap in the strategy's words, or upstream's: every valid MMU emptied. */
function nestedUnmapText(e: NestedUnmapEventData): string {
  return e.wording ? e.wording.text(e) : `nested: ${e.mmusVisited} MMUs emptied, ${e.removed} shadow entries removed`;
}

function unmapText(e: UnmapEventData): string {
  if (e.scope === "nested") return nestedUnmapText(e);
  const text = `canonical ${range(e.start, e.size)}: ${e.removed} canonical entries removed, ${e.freed} host pages freed`;
  if (e.mayBlock === false) return `${text} (may not block)`;
  return e.resched ? `${text}, ${e.resched} resched points` : text;
}

function tlbiText(e: TlbiEventData): string {
  let what: string;
  switch (e.target) {
    case "el2":
      what = "L1 EL2 stage-1 (canonical VMID)";
      break;
    case "el20":
      what = "L1 EL2&0 stage-1 (canonical VMID)";
      break;
    case "stage1":
      what = `stage-1 of VMID ${e.vmid}: ${e.mmus} shadow MMUs`;
      break;
    case "stage2":
      what = `${e.vmid === null ? "all VMIDs" : `VMID ${e.vmid}`}: ${e.mmus} shadow MMUs, ${e.removed} shadow entries removed`;
  }
  return `${e.op} ${hex(e.operand)}: ${what}`;
}

function psciText(e: PsciEventData): string {
  switch (e.call) {
    case "PSCI_VERSION":
      return "PSCI_VERSION -> 1.0";
    case "SYSTEM_OFF":
      return `SYSTEM_OFF exit code ${e.code}`;
    case "PSCI_FEATURES":
      return `PSCI_FEATURES ${hex(e.feature)}`;
    case "NOT_SUPPORTED":
      return `function ${hex(e.fn)} -> NOT_SUPPORTED`;
    case "CPU_OFF":
      return `CPU_OFF vcpu${e.vcpu}`;
    case "CPU_ON":
      switch (e.result) {
        case "INVALID_PARAMETERS":
          return `CPU_ON mpidr=${hex(e.mpidr)}: no such vCPU -> INVALID_PARAMETERS`;
        case "ALREADY_ON":
          return `CPU_ON vcpu${e.vcpu}: already on -> ALREADY_ON`;
        case "SUCCESS":
          return `CPU_ON vcpu${e.vcpu} entry=${hex(e.entry)} context=${hex(e.context)} -> SUCCESS`;
      }
  }
}

function coalesceText(e: CoalesceEventData): string {
  const where = `canonical ${range(e.ipa, e.size)}`;
  switch (e.phase) {
    case "begin":
      return `begin ${e.order} ${where}: ${e.pages} page mappings, ${e.costPerPage} ticks/page, ${e.totalTicks} ticks${e.order === "bbm" ? ", range invalid" : ", block installed"}`;
    case "fault":
      return `vCPU ${e.vcpu} translation fault in ${where} while it is invalid (tick ${e.tick})`;
    case "done":
      return `done ${e.order} ${where}: ${e.aborted ? "aborted, the region was reclaimed" : `block -> PA ${hex(e.pa)}`}, ${e.pagesFreed} page mappings and 1 table page freed, invalid for ${e.invalidTicks} ticks, ${e.faults} faults`;
    case "split":
      return `split ${where} -> ${e.pages} page mappings of PA ${hex(e.pa)}`;
  }
}

function memslotText(e: MemslotEventData): string {
  const slot = `slot ${range(e.start, e.size)}`;
  switch (e.what) {
    case "delete":
      return `delete ${slot}: ${e.removed} canonical entries removed, ${e.freed} host pages freed`;
    case "log-dirty":
      if (!e.enable) return `dirty logging off on ${slot}`;
      return `dirty logging on ${slot}: ${e.wrprotected} canonical and ${e.shadowWrprotected} shadow leaves write-protected (${e.mmus} shadow MMUs)`;
    case "get-dirty-log":
      return `dirty log of ${slot}: ${e.dirty} dirty pages; ${e.wrprotected} canonical and ${e.shadowWrprotected} shadow leaves write-protected again (${e.mmus} shadow MMU visits)`;
  }
}

function relaxPermsText(e: RelaxPermsEventData): string {
  const where = e.mmu === null ? `canonical ${hex(e.ipa)}` : `mmu${e.mmu} nested ${hex(e.ipa)} (canonical ${hex(e.canonicalIpa)})`;
  return `${where} size ${hex(e.size)} prot ${protString(e.prot)} in place${e.dirty ? ", dirty" : ""}`;
}

function chaosAction(e: ChaosEventData): string {
  switch (e.action) {
    case "unmap":
      return `unmap canonical ${range(e.ipa, e.size)}`;
    case "fail-revmap":
      return `fail the next ${e.count} ${e.store ?? "revmap"} store${e.count === 1 ? "" : "s"}`;
    case "skip-tlbi":
      return `lose the next ${e.count} TLB invalidation${e.count === 1 ? "" : "s"} of a shadow VMID`;
    case "recycle":
      if (e.outcome === "not-valid") return `recycle ${e.mmu === "any-valid" ? "any valid MMU" : `mmu${e.mmu}`}: not valid, nothing to do`;
      return `recycle mmu${e.mmu}: ${e.outcome === "pending" ? "in use, pending unmap" : "unused, emptied and invalidated"}`;
    case "tlbi":
      return `TLBI ${e.op}, ${hex(e.operand)} on behalf of L1`;
    case "split":
      return `split canonical ${hex(e.ipa)}+0x200000`;
    case "coalesce":
      return `coalesce canonical ${hex(e.ipa)}+0x200000 (${e.order}, ${e.costPerPage} ticks per page)`;
    case "delete-memslot":
      return `delete the memslot holding canonical ${hex(e.ipa)}`;
    case "log-dirty":
      return `dirty logging ${e.enable ? "on" : "off"} for the memslot holding canonical ${hex(e.ipa)}`;
    case "get-dirty-log":
      return `get and clear the dirty log of the memslot holding canonical ${hex(e.ipa)}`;
  }
}

function s2TableWriteText(e: S2TableWriteEventData): string {
  return `vCPU ${e.vcpu} ${e.level} pc=${hex(e.pc)} store va=${hex(e.va)} size ${e.size}: level ${e.tableLevel} descriptor ` +
    `canonical ${hex(e.ipa)} (PA ${hex(e.pa)}) for nested ${range(e.nestedIpa, e.span)}: ${hex(e.old)} -> ${hex(e.new)}`;
}

type Formatters = { [K in EventKind]: (e: EventOfKind<K>) => string };

/** One formatter per kind. */
const FORMATTERS: Formatters = {
  exit: exitText,
  "shadow-fault": (e) =>
    `mmu${e.mmu} nested ${hex(e.nestedIpa)} -> canonical ${hex(e.canonicalIpa)} -> PA ${hex(e.pa)} size ${hex(e.size)} prot ${protString(e.prot)}` +
    (e.level !== null ? ` L1 level ${e.level}` : " (S2 off)") +
    (e.exec ? " exec" : ""),
  "canonical-fault": (e) => `IPA ${hex(e.ipa)} -> PA ${hex(e.pa)} size ${hex(e.size)}`,
  inject: injectText,
  eret: (e) =>
    e.to === "vEL2"
      ? `vEL2 -> ${modeName(e.mode)}${e.illegal ? " (illegal return, PSTATE.IL)" : ""} pc=${hex(e.pc)}`
      : `vEL2 -> L2 ${modeName(e.mode)} pc=${hex(e.pc)} vttbr=${hex(e.vttbr)}` + (e.mmu !== null ? ` mmu=${e.mmu} vmid=${e.vmid}` : ""),
  recycle: (e) =>
    e.action === "reassign"
      ? `mmu${e.mmu} vmid=${e.fromVmid} -> vmid=${e.toVmid}`
      : `mmu${e.mmu} emptied (${e.removed} entries)${e.invalidated ? " and invalidated" : ""}`,
  unmap: unmapText,
  tlbi: tlbiText,
  mmio: (e) => `${e.device} ${e.write ? "write" : "read"} +${hex(e.offset)} size=${e.size} x${e.rt}=${hex(e.value)}`,
  psci: psciText,
  coalesce: coalesceText,
  revmap: (e) =>
    e.what === "broken"
      ? `mmu${e.mmu}: store of ${hex(e.start)}..${hex(e.last)} failed, revmap broken (full unmap from now on)`
      : `mmu${e.mmu}: canonical ${hex(e.start)}..${hex(e.last)} polluted (${e.overlaps} overlapping range(s) + nested ${hex(e.nestedIpa)})`,
  accel: () => "every shadow MMU is empty: canonical tree destroyed",
  chaos: (e) => `${e.source}: ${chaosAction(e)}`,
  memslot: memslotText,
  "relax-perms": relaxPermsText,
  "s2-table-write": s2TableWriteText,
};

/** The text of an event (TP_printk). */
export function formatEventData(e: KvmEventData): string {
  return (FORMATTERS[e.kind] as (e: KvmEventData) => string)(e);
}
