// Event triggers by field: a shipped scenario whose trigger matches the event's text behaves the
// same with the trigger written as fields (`{kind: tlbi, op: IPAS2E1IS}`), and the schema checks
// field names and values per kind.

import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { runScenario } from "../../../lab/scenario/run.ts";
import { parseScenario } from "../../../lab/scenario/schema.ts";
import { problems } from "./problems.ts";
import { REPO_ROOT } from "../../qemu/pairs.ts";

/** A shipped scenario with one trigger rewritten, in a file beside the original (relative image paths hold). */
async function rewritten(name: string, from: string, to: string): Promise<string> {
  const text = await readFile(join(REPO_ROOT, "scenarios", name), "utf8");
  expect(text).toContain(from);
  const dir = await mkdtemp(join(tmpdir(), "nvlab-fields-"));
  const file = join(dir, name);
  const scenarios = join(REPO_ROOT, "scenarios");
  await writeFile(file, text.replace(from, to).replace(/file: ([^\s,}]+)/g, (_, path: string) => `file: ${resolve(scenarios, path)}`));
  return file;
}

const BASE = `name: t
images:
  l1: {file: ../guests/l1/hyp.S}
expect:
  invariants: hold
`;

describe.concurrent("field triggers on shipped scenarios", () => {
  it.each([
    ["revmap_stale.yaml", 'match: "^IPAS2E1IS"', "op: IPAS2E1IS"],
    ["revmap_direct_map.yaml", 'match: "^IPAS2E1IS"', "op: IPAS2E1IS, target: stage2"],
    ["revmap_polluted.yaml", 'match: "nested 0x40001000 -> canonical 0x48000000 "', "nestedIpa: 0x40001000, canonicalIpa: 0x48000000"],
  ])("%s: %s and %s fire at the same event", async (name, match, fields) => {
    const shipped = await runScenario(join(REPO_ROOT, "scenarios", name));
    const byField = await runScenario(await rewritten(name, match, fields));
    expect(shipped.ok).toBe(true);
    expect(byField.failures).toEqual([]);
    expect(byField.injections).toEqual(shipped.injections);
    expect(byField.metrics).toEqual(shipped.metrics);
    expect(byField.console).toBe(shipped.console);
  });
});

describe("field trigger schema", () => {
  const trigger = (event: string) => `${BASE}timeline:\n  - at: {event: ${event}}\n    do: {failRevmapStores: 1}\n`;

  it("reads field values by the field's type: integers as bigint, strings and booleans as given", () => {
    const s = parseScenario(trigger("{kind: shadow-fault, nestedIpa: 0x40001000, size: 4K, exec: true, mmu: 0, nth: 2}"), "s.yaml");
    expect(s.timeline![0]!.at.event).toEqual({ kind: "shadow-fault", nth: 2, fields: { nestedIpa: 0x40001000n, size: 4096n, exec: true, mmu: 0n } });
    const t = parseScenario(trigger("{kind: exit, ec: DABT_LOW, level: L2}"), "s.yaml");
    expect(t.timeline![0]!.at.event!.fields).toEqual({ ec: 0x24n, level: "L2" });
  });

  it("reports unknown kinds, unknown fields and bad values with their field path", () => {
    expect(problems(trigger("{kind: tlbii}"))[0]).toMatch(
      /^s\.yaml:7:\d+: timeline\[0\]\.at\.event\.kind: no event kind "tlbii" \(did you mean "tlbi"\?\) \(kinds: exit, shadow-fault, /,
    );
    expect(problems(trigger("{kind: tlbi, opp: IPAS2E1IS}"))).toEqual(['s.yaml:7:35: timeline[0].at.event.opp: no field "opp" in tlbi events (did you mean "op"?)']);
    expect(problems(trigger("{kind: tlbi, zzzzz: IPAS2E1IS}"))).toEqual([
      's.yaml:7:37: timeline[0].at.event.zzzzz: no field "zzzzz" in tlbi events (fields: op, operand, target, vmid, mmus, removed; also match, nth)',
    ]);
    expect(problems(trigger("{kind: shadow-fault, nestedIpa: near}"))).toEqual([
      "s.yaml:7:49: timeline[0].at.event.nestedIpa: expected an integer or a string such as 0x48000000 or 2M",
    ]);
    expect(problems(trigger("{kind: exit, ec: HVC65}"))[0]).toMatch(/timeline\[0\]\.at\.event\.ec: expected an exception class/);
    expect(problems(trigger("{kind: inject, into: l3}"))).toEqual([
      's.yaml:7:38: timeline[0].at.event.into: "l3" is not a value of inject.into (values: l1-stage2, vel2, l2-el1)',
    ]);
    expect(problems(trigger('{kind: tlbi, operand: "0x10000000000000000"}'))[0]).toMatch(/at\.event\.operand: 0x10000000000000000 does not fit in 64 bits$/);
  });

  it("takes fixed values in any case, as the events spell them", () => {
    const t = parseScenario(trigger("{kind: unmap, scope: NESTED}"), "s.yaml");
    expect(t.timeline![0]!.at.event!.fields).toEqual({ scope: "nested" });
  });
});

describe("metric names in expectations", () => {
  it("accepts every counter and sample form the runner resolves", () => {
    const s = parseScenario(
      BASE + "  metrics:\n    shadowEntriesRemoved: {eq: 1}\n    exits.HVC64: {min: 1}\n    tlbi.IPAS2E1IS: {eq: 0}\n    accel.staleBits.max: {min: 0}\n    injected.unmaps: {eq: 1}\n",
      "s.yaml",
    );
    expect(Object.keys(s.expect.metrics!)).toEqual(["shadowEntriesRemoved", "exits.HVC64", "tlbi.IPAS2E1IS", "accel.staleBits.max", "injected.unmaps"]);
  });

  it("rejects a misspelt name, an unknown EC or TLBI, with the field path", () => {
    const p = problems(BASE + "  metrics:\n    shadowEntriesRemovd: {eq: 1}\n    exits.HVC65: {eq: 1}\n    tlbi.IPAS2E1ISX: {eq: 0}\n");
    expect(p).toHaveLength(3);
    expect(p[0]).toMatch(/^s\.yaml:7:26: expect\.metrics\.shadowEntriesRemovd: unknown metric "shadowEntriesRemovd" \(did you mean "shadowEntriesRemoved"/);
    expect(p[1]).toMatch(/^s\.yaml:8:18: expect\.metrics\.exits\.HVC65: unknown metric/);
    expect(p[2]).toMatch(/^s\.yaml:9:22: expect\.metrics\.tlbi\.IPAS2E1ISX: unknown metric/);
  });
});
