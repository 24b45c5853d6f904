// What each L0 event records (Linux TRACE_EVENT's TP_STRUCT__entry): one variant per kind, with
// the fields known when the event happens. Texts are made from them by event_format.ts.

import type { CanonicalIpa, HostPa, NestedIpa } from "./addr.ts";

/** A guest exit, as L0's run loop saw it (FAR/HPFAR only for stage-2 aborts, where they mean something). */
export interface ExitEventData {
  readonly kind: "exit";
  readonly ec: number;
  readonly level: "L1" | "L2";
  readonly esr: bigint;
  readonly elr: bigint;
  readonly far?: bigint;
  readonly hpfar?: bigint;
}

/** A shadow stage-2 leaf installed for L2 (user_mem_abort on a nested MMU). */
export interface ShadowFaultEventData {
  readonly kind: "shadow-fault";
  readonly mmu: number;
  readonly nestedIpa: NestedIpa;
  readonly canonicalIpa: CanonicalIpa;
  readonly pa: HostPa;
  readonly size: bigint;
  /** KVM_PGTABLE_PROT_R/W/X bits. */
  readonly prot: number;
  /** Level of L1's stage-2 leaf, or null when L1's stage-2 translation is off. */
  readonly level: number | null;
  readonly exec: boolean;
}

/** A canonical stage-2 mapping faulted in from a memslot. */
export interface CanonicalFaultEventData {
  readonly kind: "canonical-fault";
  readonly ipa: CanonicalIpa;
  readonly pa: HostPa;
  readonly size: bigint;
}

/** An exception injected: a stage-2 fault L1 must handle, an exception into vEL2, or into L2's EL1. */
export type InjectEventData =
  | {
      readonly kind: "inject";
      readonly into: "l1-stage2";
      readonly nestedIpa: NestedIpa;
      readonly fsc: number;
      readonly esr: bigint;
      /** Why the walk of L1's stage-2 could not be made (the injected fault is then an address size fault). */
      readonly walkerError?: string;
    }
  | {
      readonly kind: "inject";
      readonly into: "vel2";
      readonly esr: bigint;
      readonly from: "L2" | "vEL2";
      /** The mode of the interrupted context (the injected SPSR's M[4:0]). */
      readonly mode: number;
      readonly elr: bigint;
      readonly far?: bigint;
      readonly hpfar?: bigint;
      readonly vector: bigint;
    }
  | { readonly kind: "inject"; readonly into: "l2-el1"; readonly esr: bigint; readonly vector: bigint };

/** An ERET L1 made at vEL2: staying in vEL2, or entering L2. */
export type EretEventData =
  | {
      readonly kind: "eret";
      readonly to: "vEL2";
      /** SPSR_EL2.M[4:0] of the return. */
      readonly mode: number;
      readonly illegal: boolean;
      readonly pc: bigint;
    }
  | {
      readonly kind: "eret";
      readonly to: "L2";
      readonly mode: number;
      readonly pc: bigint;
      readonly vttbr: bigint;
      /** The shadow MMU L2 runs on and its hardware VMID (null before one is loaded). */
      readonly mmu: number | null;
      readonly vmid: number | null;
    };

/** A shadow MMU reassigned to another L1 VMID (emptied before use), or emptied. */
export type RecycleEventData =
  | { readonly kind: "recycle"; readonly action: "reassign"; readonly mmu: number; readonly fromVmid: number; readonly toVmid: number }
  | { readonly kind: "recycle"; readonly action: "empty"; readonly mmu: number; readonly removed: number; readonly invalidated: boolean };

/** A canonical unmap (MMU notifier), or the shadow unmap a strategy made for it. */
export type UnmapEventData =
  | {
      readonly kind: "unmap";
      readonly scope: "canonical";
      readonly start: CanonicalIpa;
      readonly size: bigint;
      readonly removed: number;
      readonly freed: number;
      /** kvm_gfn_range.may_block: the notifier may sleep (absent: true). */
      readonly mayBlock?: boolean;
      /** stage2_apply_range's resched points passed (one between two 1G pieces, when it may block). */
      readonly resched?: number;
    }
  | {
      readonly kind: "unmap";
      readonly scope: "nested";
      /** The unmap strategy that chose which shadow MMUs to visit. */
      readonly strategy: string;
      /** The canonical range (absent when the strategy empties every MMU whatever the range). */
      readonly start?: CanonicalIpa;
      readonly size?: bigint;
      readonly mmusVisited: number;
      readonly removed: number;
      /** How the strategy words the event (absent: emptied every MMU, as upstream does). */
      readonly wording?: NestedUnmapWording;
    };

/** A shadow unmap of the nested MMUs, as a strategy reports it. */
export type NestedUnmapEventData = Extract<UnmapEventData, { scope: "nested" }>;

/**
 * A strategy's own words for its unmap events, kept with the strategy (hypervisor/unmap/) so the
 * core formats every strategy's events without knowing which strategies exist.
 */
export interface NestedUnmapWording {
  /** The `--trace` text after the kind. */
  text(e: NestedUnmapEventData): string;
  /** The Perfetto args besides `detail`. */
  args(e: NestedUnmapEventData): Record<string, string | number>;
}

/** Which translations a trapped TLBI invalidated. */
export type TlbiTarget = "el2" | "el20" | "stage1" | "stage2";

/** A TLBI L1 issued (trapped and emulated). */
export interface TlbiEventData {
  readonly kind: "tlbi";
  readonly op: string;
  readonly operand: bigint;
  readonly target: TlbiTarget;
  /** L1's VMID the operation applied to (null for the canonical VMID and for ALLE1: all of them). */
  readonly vmid: number | null;
  /** Shadow MMUs acted on (stage1, stage2 targets). */
  readonly mmus: number;
  /** Shadow entries removed (stage2 target). */
  readonly removed: number;
}

/** An emulated MMIO access (the PL011 UART). */
export interface MmioEventData {
  readonly kind: "mmio";
  readonly device: "uart";
  readonly write: boolean;
  readonly offset: bigint;
  /** Access size in bytes. */
  readonly size: number;
  readonly rt: number;
  readonly value: bigint;
}

/** A PSCI call and its outcome. */
export type PsciEventData =
  | { readonly kind: "psci"; readonly call: "PSCI_VERSION" }
  | { readonly kind: "psci"; readonly call: "SYSTEM_OFF"; readonly code: number }
  | { readonly kind: "psci"; readonly call: "PSCI_FEATURES"; readonly feature: number }
  | { readonly kind: "psci"; readonly call: "NOT_SUPPORTED"; readonly fn: number }
  | { readonly kind: "psci"; readonly call: "CPU_ON"; readonly result: "INVALID_PARAMETERS"; readonly mpidr: bigint }
  | { readonly kind: "psci"; readonly call: "CPU_ON"; readonly result: "ALREADY_ON"; readonly vcpu: number }
  | { readonly kind: "psci"; readonly call: "CPU_ON"; readonly result: "SUCCESS"; readonly vcpu: number; readonly entry: bigint; readonly context: bigint }
  | { readonly kind: "psci"; readonly call: "CPU_OFF"; readonly vcpu: number };

/** Order a coalescing makes its block in. */
export type CoalesceOrderName = "bbm" | "install-first";

/** A 2M canonical region split into pages, or coalesced back (begin, a vCPU's fault while invalid, done). */
export type CoalesceEventData =
  | {
      readonly kind: "coalesce";
      readonly phase: "begin";
      readonly order: CoalesceOrderName;
      readonly ipa: CanonicalIpa;
      readonly size: bigint;
      readonly pages: number;
      readonly costPerPage: number;
      readonly totalTicks: number;
    }
  | { readonly kind: "coalesce"; readonly phase: "fault"; readonly vcpu: number; readonly ipa: CanonicalIpa; readonly size: bigint; readonly tick: number }
  | {
      readonly kind: "coalesce";
      readonly phase: "done";
      readonly order: CoalesceOrderName;
      readonly ipa: CanonicalIpa;
      readonly size: bigint;
      readonly aborted: boolean;
      readonly pa: HostPa;
      readonly pagesFreed: number;
      readonly invalidTicks: number;
      readonly faults: number;
    }
  | { readonly kind: "coalesce"; readonly phase: "split"; readonly ipa: CanonicalIpa; readonly size: bigint; readonly pages: number; readonly pa: HostPa };

/** A reverse-map store failed (the MMU's revmap is broken) or a canonical range became polluted. */
export type RevmapEventData =
  | { readonly kind: "revmap"; readonly what: "broken"; readonly mmu: number; readonly start: CanonicalIpa; readonly last: CanonicalIpa }
  | {
      readonly kind: "revmap";
      readonly what: "polluted";
      readonly mmu: number;
      readonly start: CanonicalIpa;
      readonly last: CanonicalIpa;
      readonly overlaps: number;
      readonly nestedIpa: NestedIpa;
    };

/** The accelerator tree destroyed (every shadow MMU is empty). */
export interface AccelEventData {
  readonly kind: "accel";
  readonly what: "destroyed";
}

/**
 * A memslot changed (KVM_SET_USER_MEMORY_REGION): deleted (kvm_arch_flush_shadow_memslot), dirty
 * logging turned on or off (kvm_arch_commit_memory_region), or its dirty log read and cleared
 * (KVM_GET_DIRTY_LOG). `wrprotected`/`shadowWrprotected`: canonical and shadow leaves made
 * read-only; `mmus`: valid shadow MMUs write-protected (kvm_nested_s2_wp).
 */
export type MemslotEventData =
  | { readonly kind: "memslot"; readonly what: "delete"; readonly start: CanonicalIpa; readonly size: bigint; readonly removed: number; readonly freed: number }
  | {
      readonly kind: "memslot";
      readonly what: "log-dirty";
      readonly enable: boolean;
      readonly start: CanonicalIpa;
      readonly size: bigint;
      readonly wrprotected: number;
      readonly shadowWrprotected: number;
      readonly mmus: number;
    }
  | {
      readonly kind: "memslot";
      readonly what: "get-dirty-log";
      readonly start: CanonicalIpa;
      readonly size: bigint;
      readonly dirty: number;
      readonly wrprotected: number;
      readonly shadowWrprotected: number;
      readonly mmus: number;
    };

/**
 * A permission fault resolved in place (kvm_pgtable_stage2_relax_perms): the leaf at `ipa` (a
 * nested IPA in shadow MMU `mmu`, or canonical when `mmu` is null) gains `prot`; `dirty` when the
 * canonical page behind it was marked in its slot's dirty log.
 */
export interface RelaxPermsEventData {
  readonly kind: "relax-perms";
  readonly mmu: number | null;
  readonly ipa: bigint;
  readonly size: bigint;
  readonly prot: number;
  readonly canonicalIpa: CanonicalIpa;
  readonly dirty: boolean;
}

/** A fault injection: who asked for it (scenario, chaos, debugger, inject) and what was done. */
export type ChaosEventData = { readonly kind: "chaos"; readonly source: string } & (
  | { readonly action: "unmap"; readonly ipa: CanonicalIpa; readonly size: bigint }
  | { readonly action: "fail-revmap"; readonly count: number; readonly store?: "accel" | "directMap" }
  | { readonly action: "skip-tlbi"; readonly count: number }
  | { readonly action: "recycle"; readonly mmu: number | "any-valid"; readonly outcome: "not-valid" | "pending" | "emptied" }
  | { readonly action: "tlbi"; readonly op: string; readonly operand: bigint }
  | { readonly action: "split"; readonly ipa: CanonicalIpa }
  | { readonly action: "coalesce"; readonly ipa: CanonicalIpa; readonly order: CoalesceOrderName; readonly costPerPage: number }
  | { readonly action: "delete-memslot"; readonly ipa: CanonicalIpa }
  | { readonly action: "log-dirty"; readonly ipa: CanonicalIpa; readonly enable: boolean }
  | { readonly action: "get-dirty-log"; readonly ipa: CanonicalIpa }
);

/**
 * A guest store into a page L0 has walked as part of L1's stage-2 (page_track.ts, as x86 KVM's
 * shadow MMU write-tracks guest page-table pages): one descriptor, before and after the store.
 * `tableLevel`, `nestedIpa` and `span` are what L0's last walk through the page made of it: the
 * lookup level, and the nested IPA range the descriptor translates.
 */
export interface S2TableWriteEventData {
  readonly kind: "s2-table-write";
  readonly vcpu: number;
  /** The guest that stored: L1 (its own tables) or L2 (through a mapping of L1's table page). */
  readonly level: "L1" | "L2";
  readonly pc: bigint;
  /** The store's virtual address (the access's first byte). */
  readonly va: bigint;
  /** The descriptor (8-byte aligned) the store wrote into, as L1 and as the host address it. */
  readonly ipa: CanonicalIpa;
  readonly pa: HostPa;
  /** Bytes stored (some of them may fall in the next descriptor). */
  readonly size: number;
  readonly old: bigint;
  readonly new: bigint;
  readonly tableLevel: number;
  readonly nestedIpa: NestedIpa;
  readonly span: bigint;
}

/** The fields of an event, by kind (TP_STRUCT__entry). */
export type KvmEventData =
  | ExitEventData
  | ShadowFaultEventData
  | CanonicalFaultEventData
  | InjectEventData
  | EretEventData
  | RecycleEventData
  | UnmapEventData
  | TlbiEventData
  | MmioEventData
  | PsciEventData
  | CoalesceEventData
  | RevmapEventData
  | AccelEventData
  | MemslotEventData
  | RelaxPermsEventData
  | ChaosEventData
  | S2TableWriteEventData;

export type EventKind = KvmEventData["kind"];

/** Every event kind, in the order the help texts list them. */
export const EVENT_KINDS = [
  "exit", "shadow-fault", "canonical-fault", "inject", "eret", "recycle", "unmap", "tlbi", "mmio", "psci", "chaos", "revmap", "accel", "coalesce",
  "memslot", "relax-perms", "s2-table-write",
] as const satisfies readonly EventKind[];

/** The variant of kind `K`. */
export type EventOfKind<K extends EventKind> = Extract<KvmEventData, { kind: K }>;
