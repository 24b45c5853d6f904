// Scenario mistakes that used to pass: a misspelt event kind, event field or metric, bounds no
// value can meet, an unmapCanonical range that is empty, unaligned or wraps. Each is refused
// before the run with its field path, and a near miss names what was meant.

import { describe, expect, it } from "vitest";
import { EVENT_FIELDS } from "../../../hypervisor/event_fields.ts";
import { EVENT_KINDS } from "../../../hypervisor/event_data.ts";
import { parseScenario } from "../../../lab/scenario/schema.ts";
import { problems } from "./problems.ts";

const BASE = `name: t
images:
  l1: {file: ../guests/l1/hyp.S}
`;

const at = (trigger: string) => `${BASE}timeline:\n  - at: ${trigger}\n    do: {failRevmapStores: 1}\nexpect: {}\n`;
const unmap = (range: string) => `${BASE}timeline:\n  - at: {exits: 1}\n    do: {unmapCanonical: ${range}}\nexpect: {}\n`;
const metric = (name: string, bounds = "{min: 1}") => `${BASE}expect:\n  metrics:\n    ${name}: ${bounds}\n`;

describe("scenario mistakes refused before the run", () => {
  it("every event kind L0 logs is a kind a trigger may name", () => {
    expect([...EVENT_KINDS].sort()).toEqual(Object.keys(EVENT_FIELDS).sort());
  });

  it("an unknown event kind names the nearest kind", () => {
    expect(problems(at("{event: {kind: shadow-fualt}}"))).toEqual([
      `s.yaml:5:24: timeline[0].at.event.kind: no event kind "shadow-fualt" (did you mean "shadow-fault"?) (kinds: ${EVENT_KINDS.join(", ")})`,
    ]);
    expect(problems(at("{event: {kind: 3}}"))[0]).toMatch(/timeline\[0\]\.at\.event\.kind: expected an event kind: exit, /);
  });

  it("an unknown event field names the nearest field, or lists the kind's fields", () => {
    expect(problems(at("{event: {kind: tlbi, opp: IPAS2E1IS}}"))).toEqual([
      's.yaml:5:35: timeline[0].at.event.opp: no field "opp" in tlbi events (did you mean "op"?)',
    ]);
    expect(problems(at("{event: {kind: tlbi, nht: 2}}"))).toEqual(['s.yaml:5:35: timeline[0].at.event.nht: no field "nht" in tlbi events (did you mean "nth"?)']);
    expect(problems(at("{event: {kind: accel, zzzzzz: 1}}"))).toEqual([
      's.yaml:5:39: timeline[0].at.event.zzzzzz: no field "zzzzzz" in accel events (fields: what; also match, nth)',
    ]);
  });

  it("a misspelt metric names the nearest metric", () => {
    expect(problems(metric("shadowFualts"))).toEqual(['s.yaml:6:19: expect.metrics.shadowFualts: unknown metric "shadowFualts" (did you mean "shadowFaults"?)']);
    expect(problems(metric("exits.HVC65"))[0]).toMatch(/expect\.metrics\.exits\.HVC65: unknown metric "exits\.HVC65" \(did you mean "exits\.HVC64"/);
    expect(problems(metric("tlbi.IPAS2E1ISX"))[0]).toMatch(/unknown metric "tlbi\.IPAS2E1ISX" \(did you mean "tlbi\.IPAS2E1IS"/);
    expect(problems(metric("revmap.staleEntries.mx"))[0]).toMatch(/\(did you mean "revmap\.staleEntries\.max"/);
    // Nothing near: the list of what there is.
    expect(problems(metric("zzzzzzzz"))[0]).toMatch(/unknown metric "zzzzzzzz" \(counters: shadowFaults, .*exits\.<EC>, tlbi\.<operation>; samples: /);
    for (const ok of ["shadowFaults", "exits.HVC64", "tlbi.IPAS2E1IS", "revmap.staleEntries.max", "dirtyLog.dirtyPages.sum", "injected.unmaps"]) {
      expect(() => parseScenario(metric(ok), "s.yaml"), ok).not.toThrow();
    }
  });

  it("bounds no value can meet are refused", () => {
    expect(problems(metric("shadowFaults", "{min: 10, max: 5}"))).toEqual([
      "s.yaml:6:19: expect.metrics.shadowFaults: min 10 is above max 5: no value can meet these bounds",
    ]);
    expect(problems(metric("shadowFaults", "{eq: 3, min: 4}"))[0]).toMatch(/shadowFaults: eq 3 is below min 4: no value/);
    expect(problems(metric("shadowFaults", "{eq: 6, max: 5}"))[0]).toMatch(/shadowFaults: eq 6 is above max 5: no value/);
    expect(() => parseScenario(metric("shadowFaults", "{min: 5, max: 5, eq: 5}"), "s.yaml")).not.toThrow();
  });

  it("unmapCanonical takes whole pages, at least one, not wrapping", () => {
    expect(problems(unmap("{ipa: 0x48000000, size: 0}"))).toEqual(["s.yaml:6:50: timeline[0].do.unmapCanonical.size: expected a size of at least 4K, not 0"]);
    expect(problems(unmap("{ipa: 0x48000001}"))).toEqual([
      "s.yaml:6:32: timeline[0].do.unmapCanonical.ipa: 0x48000001 is not 4K-aligned (the host takes back whole pages)",
    ]);
    expect(problems(unmap("{ipa: 0x48000000, size: 0x1800}"))).toEqual([
      "s.yaml:6:50: timeline[0].do.unmapCanonical.size: 0x1800 is not a multiple of 4K (the host takes back whole pages)",
    ]);
    expect(problems(unmap('{ipa: "0xfffffffffffff000", size: 8K}'))).toEqual([
      "s.yaml:6:60: timeline[0].do.unmapCanonical.size: 0xfffffffffffff000 + 0x2000 wraps past the top of the 64-bit address space",
    ]);
    // The last page of the address space is a range that ends exactly at 2^64.
    expect(parseScenario(unmap('{ipa: "0xfffffffffffff000"}'), "s.yaml").timeline![0]!.do.unmapCanonical).toEqual({ ipa: 0xfffffffffffff000n });
  });

  it("expect.timeline takes fired or complete", () => {
    expect(parseScenario(`${BASE}expect: {timeline: complete}\n`, "s.yaml").expect.timeline).toBe("complete");
    expect(problems(`${BASE}expect: {timeline: all}\n`)).toEqual([
      "s.yaml:4:20: expect.timeline: expected fired (every entry fired at least once) or complete (every entry fired all its times)",
    ]);
  });
});

describe("exits counted by number", () => {
  it("an exception class with a name is counted under the name, so exits.<its number> is refused", () => {
    expect(problems(metric("exits.0x16"))[0]).toMatch(/expect\.metrics\.exits\.0x16: unknown metric "exits\.0x16": exits with EC 0x16 are counted as "exits\.HVC64"$/);
    expect(problems(metric("exits.0x16.sum"))[0]).toMatch(/are counted as "exits\.HVC64\.sum"$/);
    expect(problems(metric("exits.0x40"))[0]).toMatch(/unknown metric "exits\.0x40": 0x40 is not an exception class \(6 bits, 0x0-0x3f\)$/);
    expect(problems(metric("exits.0x07"))[0]).toMatch(/unknown metric "exits\.0x07": exits with EC 0x7 are counted as "exits\.FP_ACCESS"$/);
    expect(problems(metric("exits.0x03"))[0]).toMatch(/unknown metric "exits\.0x03": write the exception class as "0x3"$/);
    // A class without a name is counted under its hex.
    expect(() => parseScenario(metric("exits.0x3"), "s.yaml")).not.toThrow();
  });
});

describe("TLBI operations in event triggers", () => {
  it("are read as the events carry them (upper case), and an unknown one names the nearest", () => {
    const s = parseScenario(at("{event: {kind: tlbi, op: ipas2e1is}}"), "s.yaml");
    expect(s.timeline![0]!.at.event!.fields).toEqual({ op: "IPAS2E1IS" });
    expect(parseScenario(at("{event: {kind: chaos, op: vmalls12e1is}}"), "s.yaml").timeline![0]!.at.event!.fields).toEqual({ op: "VMALLS12E1IS" });
    expect(problems(at("{event: {kind: tlbi, op: IPAS2E1ISS}}"))).toEqual([
      's.yaml:5:34: timeline[0].at.event.op: not a TLBI operation: "IPAS2E1ISS" (did you mean "IPAS2E1IS", "IPAS2E1ISNXS" or "IPAS2E1NXS"?)',
    ]);
  });
});
