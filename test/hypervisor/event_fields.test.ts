// Field values of event triggers (scenarios) and event breakpoints (debugger): fixed string values
// and TLBI operations in any case, unknown values refused with the allowed ones, integers below 2^64.

import { describe, expect, it } from "vitest";
import { EVENT_FIELD_VALUES, EVENT_FIELDS, parseFieldValue } from "../../hypervisor/event_fields.ts";
import { EVENT_SAMPLES } from "./event_samples.ts";

describe("parseFieldValue", () => {
  it("gives fixed values and TLBI operations as the events spell them, whatever the case", () => {
    expect(parseFieldValue("tlbi", "op", "ipas2e1is")).toEqual({ value: "IPAS2E1IS" });
    expect(parseFieldValue("chaos", "op", "Vmalls12e1IS")).toEqual({ value: "VMALLS12E1IS" });
    expect(parseFieldValue("exit", "level", "l2")).toEqual({ value: "L2" });
    expect(parseFieldValue("inject", "into", "VEL2")).toEqual({ value: "vel2" });
    expect(parseFieldValue("unmap", "scope", "Nested")).toEqual({ value: "nested" });
    expect(parseFieldValue("revmap", "what", "POLLUTED")).toEqual({ value: "polluted" });
  });

  it("refuses a value no event of the kind has, naming the allowed ones", () => {
    expect(parseFieldValue("inject", "into", "l3")).toEqual({ error: '"l3" is not a value of inject.into (values: l1-stage2, vel2, l2-el1)' });
    expect(parseFieldValue("exit", "level", "L3")).toEqual({ error: '"L3" is not a value of exit.level (values: L1, L2)' });
    expect(parseFieldValue("unmap", "scope", "shadow")).toMatchObject({ error: expect.stringContaining("values: canonical, nested") });
    expect(parseFieldValue("revmap", "what", "stale")).toMatchObject({ error: expect.stringContaining("values: broken, polluted") });
    expect(parseFieldValue("tlbi", "op", "ipas2e1iss")).toEqual({ error: 'not a TLBI operation: "ipas2e1iss"' });
    expect(parseFieldValue("exit", "ec", "HVC65")).toMatchObject({ error: expect.stringMatching(/^expected an exception class: a number or a name \(.*HVC64.*DABT_LOW/) });
    expect(parseFieldValue("exit", "ec", "0x40")).toMatchObject({ error: expect.stringContaining("0x40 is not an exception class") });
  });

  it("free-text fields take any string", () => {
    expect(parseFieldValue("unmap", "strategy", "my-own")).toEqual({ value: "my-own" });
    expect(parseFieldValue("chaos", "source", "anything")).toEqual({ value: "anything" });
  });

  it("numbers: integers below 2^64; words, negatives and larger values are refused", () => {
    expect(parseFieldValue("tlbi", "operand", "0xffffffffffffffff")).toEqual({ value: 0xffff_ffff_ffff_ffffn });
    expect(parseFieldValue("shadow-fault", "size", "2M")).toEqual({ value: 0x20_0000n });
    expect(parseFieldValue("tlbi", "operand", "0x10000000000000000")).toEqual({ error: "0x10000000000000000 does not fit in 64 bits" });
    expect(parseFieldValue("tlbi", "operand", "18446744073709551616")).toEqual({ error: "18446744073709551616 does not fit in 64 bits" });
    expect(parseFieldValue("shadow-fault", "size", "17179869184G")).toEqual({ error: "17179869184G does not fit in 64 bits" });
    expect(parseFieldValue("chaos", "mmu", "0x10000000000000000")).toEqual({ error: "0x10000000000000000 does not fit in 64 bits" });
    expect(parseFieldValue("shadow-fault", "nestedIpa", "near")).toMatchObject({ error: expect.stringContaining("expected an integer") });
    expect(parseFieldValue("shadow-fault", "nestedIpa", -1)).toMatchObject({ error: expect.stringContaining("expected an integer") });
    expect(parseFieldValue("shadow-fault", "nestedIpa", 1.5)).toMatchObject({ error: expect.stringContaining("expected an integer") });
  });

  it("every fixed-value list names string fields of its kind, and the sample events use only listed values", () => {
    const fields = EVENT_FIELDS as unknown as Record<string, Record<string, string>>;
    for (const [kind, byField] of Object.entries(EVENT_FIELD_VALUES)) {
      for (const field of Object.keys(byField)) expect(fields[kind]?.[field], `${kind}.${field}`).toBe("string");
    }
    for (const { data: e } of EVENT_SAMPLES) {
      const rec = e as unknown as Record<string, unknown>;
      for (const [field, allowed] of Object.entries(EVENT_FIELD_VALUES[e.kind] ?? {})) {
        if (rec[field] !== undefined) expect(allowed, `${e.kind}.${field}`).toContain(rec[field]);
      }
    }
  });
});
