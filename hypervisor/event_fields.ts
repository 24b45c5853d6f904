// Matching events by field (`{kind: tlbi, op: IPAS2E1IS}` in a scenario trigger, `break event tlbi
// op=IPAS2E1IS` in the debugger): which fields each kind has, how a value given as text or YAML is
// read for each, and the comparison. Numbers and addresses compare as integers, strings exactly.

import { EC_NAMES } from "../emulator/exception.ts";
import { tlbiByName } from "../emulator/tlbi.ts";
import type { EventKind, EventOfKind, KvmEventData } from "./event_data.ts";

/**
 * How a field's value is given: `number` (an integer, or a 0x-hex/decimal string with an optional
 * K/M/G suffix: addresses, sizes, counts), `ec` (an exception class by name or number), `string`,
 * `boolean`, or `mmu` (a shadow MMU index or "any-valid").
 */
export type FieldType = "number" | "ec" | "string" | "boolean" | "mmu";

/** A field value to compare with: integers as bigint. */
export type FieldValue = bigint | string | boolean;

type KeysOfUnion<T> = T extends unknown ? keyof T : never;
// A strategy's wording is how an event reads, not a field to match.
type FieldsOf<K extends EventKind> = Exclude<KeysOfUnion<EventOfKind<K>>, "kind" | "wording">;

/** Every kind's fields (all variants of the kind together), and their types. */
export const EVENT_FIELDS: { readonly [K in EventKind]: { readonly [F in FieldsOf<K>]: FieldType } } = {
  exit: { ec: "ec", level: "string", esr: "number", elr: "number", far: "number", hpfar: "number" },
  "shadow-fault": {
    mmu: "number", nestedIpa: "number", canonicalIpa: "number", pa: "number", size: "number", prot: "number", level: "number", exec: "boolean",
  },
  "canonical-fault": { ipa: "number", pa: "number", size: "number" },
  inject: {
    into: "string", nestedIpa: "number", fsc: "number", esr: "number", walkerError: "string", from: "string", mode: "number", elr: "number",
    far: "number", hpfar: "number", vector: "number",
  },
  eret: { to: "string", mode: "number", illegal: "boolean", pc: "number", vttbr: "number", mmu: "number", vmid: "number" },
  recycle: { action: "string", mmu: "number", fromVmid: "number", toVmid: "number", removed: "number", invalidated: "boolean" },
  unmap: {
    scope: "string", strategy: "string", start: "number", size: "number", removed: "number", freed: "number", mmusVisited: "number",
    mayBlock: "boolean", resched: "number",
  },
  tlbi: { op: "string", operand: "number", target: "string", vmid: "number", mmus: "number", removed: "number" },
  mmio: { device: "string", write: "boolean", offset: "number", size: "number", rt: "number", value: "number" },
  psci: {
    call: "string", code: "number", feature: "number", fn: "number", result: "string", mpidr: "number", vcpu: "number", entry: "number", context: "number",
  },
  coalesce: {
    phase: "string", order: "string", ipa: "number", size: "number", pages: "number", costPerPage: "number", totalTicks: "number", vcpu: "number",
    tick: "number", aborted: "boolean", pa: "number", pagesFreed: "number", invalidTicks: "number", faults: "number",
  },
  revmap: { what: "string", mmu: "number", start: "number", last: "number", overlaps: "number", nestedIpa: "number" },
  accel: { what: "string" },
  memslot: {
    what: "string", enable: "boolean", start: "number", size: "number", removed: "number", freed: "number", wrprotected: "number",
    shadowWrprotected: "number", mmus: "number", dirty: "number",
  },
  "relax-perms": { mmu: "number", ipa: "number", size: "number", prot: "number", canonicalIpa: "number", dirty: "boolean" },
  "s2-table-write": {
    vcpu: "number", level: "string", pc: "number", va: "number", ipa: "number", pa: "number", size: "number", old: "number", new: "number",
    tableLevel: "number", nestedIpa: "number", span: "number",
  },
  chaos: {
    source: "string", action: "string", ipa: "number", size: "number", count: "number", mmu: "mmu", outcome: "string", op: "string",
    operand: "number", order: "string", costPerPage: "number", enable: "boolean", store: "string",
  },
};

/** The field names of a kind, or null for an unknown kind. */
export function eventFieldNames(kind: string): string[] | null {
  const f = (EVENT_FIELDS as Record<string, Record<string, FieldType>>)[kind];
  return f ? Object.keys(f) : null;
}

/** The type of `kind.field`, or null when the kind has no such field. */
export function eventFieldType(kind: string, field: string): FieldType | null {
  const f = (EVENT_FIELDS as Record<string, Record<string, FieldType> | undefined>)[kind];
  return f && Object.hasOwn(f, field) ? f[field]! : null;
}

/**
 * The values a string field can take, where the events name them from a fixed set (event_data.ts);
 * a trigger naming another value could never fire. Fields absent here are free text (a strategy's
 * name, an injection's source) or TLBI operations (`op`, checked against the TLBI table).
 */
export const EVENT_FIELD_VALUES: { readonly [kind: string]: { readonly [field: string]: readonly string[] } } = {
  exit: { level: ["L1", "L2"] },
  "s2-table-write": { level: ["L1", "L2"] },
  inject: { into: ["l1-stage2", "vel2", "l2-el1"], from: ["L2", "vEL2"] },
  eret: { to: ["vEL2", "L2"] },
  recycle: { action: ["reassign", "empty"] },
  unmap: { scope: ["canonical", "nested"] },
  tlbi: { target: ["el2", "el20", "stage1", "stage2"] },
  mmio: { device: ["uart"] },
  psci: {
    call: ["PSCI_VERSION", "SYSTEM_OFF", "PSCI_FEATURES", "NOT_SUPPORTED", "CPU_ON", "CPU_OFF"],
    result: ["SUCCESS", "INVALID_PARAMETERS", "ALREADY_ON"],
  },
  coalesce: { phase: ["split", "begin", "fault", "done"], order: ["bbm", "install-first"] },
  revmap: { what: ["broken", "polluted"] },
  accel: { what: ["destroyed"] },
  memslot: { what: ["delete", "log-dirty", "get-dirty-log"] },
  chaos: {
    action: ["unmap", "fail-revmap", "skip-tlbi", "recycle", "tlbi", "split", "coalesce", "delete-memslot", "log-dirty", "get-dirty-log"],
    outcome: ["not-valid", "pending", "emptied"],
    order: ["bbm", "install-first"],
    store: ["accel", "directMap"],
  },
};

/** Fields that hold a TLBI operation's name (upper case in events, any case when given). */
const TLBI_OP_FIELDS: ReadonlySet<string> = new Set(["tlbi.op", "chaos.op"]);

const INTEGER = /^(0x[0-9a-f_]+|[0-9_]+)([kmg]?)$/i;
const SCALE: Record<string, bigint> = { "": 0n, k: 10n, m: 20n, g: 30n };
const U64_END = 1n << 64n;

/** An integer as a field value: a safe non-negative number, or "0x48000000", "4096", "2M" (below 2^64 is checked apart). */
function parseInteger(v: unknown): bigint | null {
  if (typeof v === "number") return Number.isSafeInteger(v) && v >= 0 ? BigInt(v) : null;
  if (typeof v === "bigint") return v >= 0n ? v : null;
  if (typeof v !== "string") return null;
  const m = INTEGER.exec(v.trim());
  return m ? BigInt(m[1]!.replace(/_/g, "")) << SCALE[m[2]!.toLowerCase()]! : null;
}

/** Every event field is at most 64 bits: a larger value would match nothing. */
function integerValue(n: bigint, v: unknown): { value: FieldValue } | { error: string } {
  return n < U64_END ? { value: n } : { error: `${String(v)} does not fit in 64 bits` };
}

const EC_BY_NAME = new Map(Object.entries(EC_NAMES).map(([n, name]) => [name.toUpperCase(), BigInt(n)]));

/** A string field's value: one of its fixed values in any case (given back as the events spell it), or a TLBI name. */
function parseStringValue(kind: string, field: string, text: string): { value: FieldValue } | { error: string } {
  if (TLBI_OP_FIELDS.has(`${kind}.${field}`)) {
    const op = tlbiByName(text);
    return op ? { value: op.name } : { error: `not a TLBI operation: "${text}"` };
  }
  const allowed = EVENT_FIELD_VALUES[kind]?.[field];
  if (!allowed) return { value: text };
  const found = allowed.find((a) => a.toLowerCase() === text.toLowerCase());
  return found !== undefined ? { value: found } : { error: `"${text}" is not a value of ${kind}.${field} (values: ${allowed.join(", ")})` };
}

/**
 * Read a value given for `kind.field` (YAML scalar or debugger text): the value to compare with,
 * or an error message.
 */
export function parseFieldValue(kind: string, field: string, v: unknown): { value: FieldValue } | { error: string } {
  const type = eventFieldType(kind, field);
  if (type === null) {
    const names = eventFieldNames(kind);
    return { error: names ? `no field "${field}" in ${kind} events (fields: ${names.join(", ")})` : `no event kind "${kind}"` };
  }
  switch (type) {
    case "number": {
      const n = parseInteger(v);
      return n !== null ? integerValue(n, v) : { error: "expected an integer or a string such as 0x48000000 or 2M" };
    }
    case "ec": {
      const n = parseInteger(v) ?? (typeof v === "string" ? (EC_BY_NAME.get(v.trim().toUpperCase()) ?? null) : null);
      if (n === null) return { error: `expected an exception class: a number or a name (${Object.values(EC_NAMES).join(", ")})` };
      return n <= 0x3fn ? { value: n } : { error: `${String(v)} is not an exception class (ESR_ELx.EC is 6 bits: 0 to 0x3f)` };
    }
    case "mmu": {
      if (v === "any-valid") return { value: v };
      const n = parseInteger(v);
      return n !== null ? integerValue(n, v) : { error: 'expected a shadow MMU index or "any-valid"' };
    }
    case "boolean":
      if (typeof v === "boolean") return { value: v };
      if (v === "true" || v === "false") return { value: v === "true" };
      return { error: "expected true or false" };
    case "string":
      return typeof v === "string" || typeof v === "number" ? parseStringValue(kind, field, String(v)) : { error: "expected a string" };
  }
}

/** Whether the event has every field of `filter` with that value (an absent field never matches). */
export function matchesFields(e: KvmEventData, filter: Readonly<Record<string, FieldValue>>): boolean {
  const rec = e as unknown as Record<string, unknown>;
  for (const [k, want] of Object.entries(filter)) {
    const have = rec[k];
    if (typeof want === "bigint") {
      if (typeof have === "bigint" ? have !== want : typeof have === "number" ? BigInt(have) !== want : true) return false;
    } else if (have !== want) return false;
  }
  return true;
}
