// Matching events by field (`{kind: tlbi, op: IPAS2E1IS}` in a scenario trigger, `break event tlbi
// op=IPAS2E1IS` in the debugger): which fields each kind has, how a value given as text or YAML is
// read for each, and the comparison. Numbers and addresses compare as integers, strings exactly.

import { EC_NAMES } from "../emulator/exception.ts";
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

const INTEGER = /^(0x[0-9a-f_]+|[0-9_]+)([kmg]?)$/i;
const SCALE: Record<string, bigint> = { "": 0n, k: 10n, m: 20n, g: 30n };

/** An integer as a field value: a safe non-negative number, or "0x48000000", "4096", "2M". */
function parseInteger(v: unknown): bigint | null {
  if (typeof v === "number") return Number.isSafeInteger(v) && v >= 0 ? BigInt(v) : null;
  if (typeof v === "bigint") return v >= 0n ? v : null;
  if (typeof v !== "string") return null;
  const m = INTEGER.exec(v.trim());
  return m ? BigInt(m[1]!.replace(/_/g, "")) << SCALE[m[2]!.toLowerCase()]! : null;
}

const EC_BY_NAME = new Map(Object.entries(EC_NAMES).map(([n, name]) => [name.toUpperCase(), BigInt(n)]));

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
      return n !== null ? { value: n } : { error: "expected an integer or a string such as 0x48000000 or 2M" };
    }
    case "ec": {
      const n = parseInteger(v) ?? (typeof v === "string" ? (EC_BY_NAME.get(v.trim().toUpperCase()) ?? null) : null);
      return n !== null ? { value: n } : { error: "expected an exception class: a name (HVC64, DABT_LOW…) or a number" };
    }
    case "mmu": {
      if (v === "any-valid") return { value: v };
      const n = parseInteger(v);
      return n !== null ? { value: n } : { error: 'expected a shadow MMU index or "any-valid"' };
    }
    case "boolean":
      if (typeof v === "boolean") return { value: v };
      if (v === "true" || v === "false") return { value: v === "true" };
      return { error: "expected true or false" };
    case "string":
      return typeof v === "string" || typeof v === "number" ? { value: String(v) } : { error: "expected a string" };
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
