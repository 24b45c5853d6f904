// The timeline monitor: step triggers pause the run at exactly that instruction count, repeats
// fire `times` times `every` units apart, event triggers count matching events, and chaos can be
// layered on a scenario without changing what the guests see.

import { describe, expect, it } from "vitest";
import { scenarioFile as writeScenario } from "../../helpers/scenario_file.ts";
import { runScenario } from "../../../lab/scenario/run.ts";

const scenarioFile = (body: string): Promise<string> => writeScenario(body, "checksum");

const CHECKSUM_LINE = "checksum: 0x60d2e6a52eb5701c over 262144 bytes, 8 passes agree\n";

describe.concurrent("scenario timeline", () => {
  it("step triggers fire at exactly that instruction count, repeated every N steps", async () => {
    const file = await scenarioFile(`vm: {unmap: revmap}
timeline:
  - at: {step: 300000}
    do: {tlbi: {op: VMALLS12E1IS}}
    repeat: {every: 100000, times: 3}
  - at: {step: 350000}
    do: {unmapCanonical: {ipa: 0x48100000}}
expect:
  exitCode: 0
  metrics:
    tlbi.VMALLS12E1IS: {eq: 3}
    injected.tlbis: {eq: 3}
    injected.unmaps: {eq: 1}
`);
    const r = await runScenario(file);
    expect(r.failures).toEqual([]);
    expect(r.injections).toEqual([
      "step 300000: timeline[0] tlbi VMALLS12E1IS 0x0",
      "step 350000: timeline[1] unmapCanonical 0x48100000+0x1000",
      "step 400000: timeline[0] tlbi VMALLS12E1IS 0x0",
      "step 500000: timeline[0] tlbi VMALLS12E1IS 0x0",
    ]);
    expect(r.console).toContain(CHECKSUM_LINE);
  });

  it("event triggers count only matching events; nth picks the occurrence", async () => {
    const file = await scenarioFile(`timeline:
  - at: {event: {kind: shadow-fault, match: "nested 0x4010[0-9a-f]000 ", nth: 5}}
    do: {recycle: {mmu: any-valid}}
    repeat: {every: 10, times: 2}
expect:
  exitCode: 0
  metrics:
    injected.recycles: {eq: 2}
`);
    const events: string[] = [];
    const r = await runScenario(file, { onEvent: (l) => events.push(l) });
    expect(r.failures).toEqual([]);
    // The injection follows the 5th and the 15th shadow fault in the buffer.
    const buffer = events.filter((l) => / shadow-fault .*nested 0x4010[0-9a-f]000 /.test(l) || / chaos /.test(l));
    const at = buffer.map((l, i) => (/ chaos /.test(l) ? i : -1)).filter((i) => i >= 0);
    expect(at).toEqual([5, 16]);
  });

  it("chaos on top of a scenario: more injections, the same console and exit", async () => {
    const file = await scenarioFile(`vm: {unmap: accel}
timeline:
  - at: {exits: 50}
    do: {unmapCanonical: {ipa: 0x48000000, size: 2M}}
expect:
  exitCode: 0
  console: "8 passes agree$"
`);
    const r = await runScenario(file, { chaos: { seed: 5, rate: 10 } });
    expect(r.failures).toEqual([]);
    expect(r.metrics["injected.unmaps"] as number).toBeGreaterThan(1);
    expect(r.console).toContain(CHECKSUM_LINE);
  });
});
