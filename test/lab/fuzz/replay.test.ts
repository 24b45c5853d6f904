// A chaos run's injection log, replayed as a scenario timeline (`at: {exits: N}`), is the same run:
// the timeline counts exits as the chaos monitor does, so every L0 action happens at the same
// point and the event logs agree line for line (but for who injected).

import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fuzzGuests } from "../../../lab/fuzz/guests.ts";
import { cachedAssemble } from "../../../lab/fuzz/execute.ts";
import { scenarioText } from "../../../lab/fuzz/scenario_text.ts";
import type { FuzzCase } from "../../../lab/fuzz/case.ts";
import { chaosOf, type ChaosInjection } from "../../../lab/chaos.ts";
import { runVm } from "../../../lab/run.ts";
import { prepareParsedScenario } from "../../../lab/scenario/run.ts";
import { parseScenario } from "../../../lab/scenario/schema.ts";

const DIR = "/tmp/nvlab-fuzz-replay";

async function traced(c: FuzzCase, timeline?: ChaosInjection[]) {
  const text = scenarioText({
    name: "replay", description: "", header: [], fuzzCase: c, dir: DIR, maxSteps: 50_000_000, expect: {}, ...(timeline ? { timeline } : { chaos: c.chaos }),
  });
  const file = join(DIR, "replay.yaml");
  const events: string[] = [];
  const p = await prepareParsedScenario(parseScenario(text, file), file, { onEvent: (l) => events.push(l.replace(/\b(chaos|scenario)\b/g, "inject")) }, cachedAssemble);
  const r = runVm(p.vm);
  return { r, events, log: [...(chaosOf(r.kvm)?.log ?? [])] };
}

describe.concurrent("a chaos log replayed as a timeline", () => {
  for (const [guests, unmap, rate] of [["hyp+checksum", "accel", 5], ["remap+remap", "revmap", 3], ["smp+2", "full", 4]] as const) {
    it(`${guests} under ${unmap}: the same events, the same console and end`, async () => {
      const g = fuzzGuests(guests)!;
      const c: FuzzCase = { index: 0, guests: g, vm: { unmap, nestedMmus: g.vcpus ?? 1, ...(g.vcpus ? { vcpus: g.vcpus } : {}) }, chaos: { seed: 11, rate } };
      const a = await traced(c);
      expect(a.log.length).toBeGreaterThan(20);
      expect(a.log.some((e) => "recycle" in e.action) && a.log.some((e) => "unmapCanonical" in e.action) && a.log.some((e) => "failStores" in e.action)).toBe(true);
      const b = await traced(c, a.log);
      expect(b.log).toEqual([]);
      expect(b.events).toEqual(a.events);
      expect(b.r.console).toBe(a.r.console);
      expect(b.r.outcome).toEqual(a.r.outcome);
    });
  }
});
