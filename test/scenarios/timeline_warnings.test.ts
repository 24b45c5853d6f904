// `nvlab run` on a scenario whose timeline did not all fire: the summary ends with a warning per
// entry and the run still passes; --json carries the warnings and each entry's firings. A
// misspelt event kind is refused before the run with the kind it was meant to be.

import { describe, expect, it } from "vitest";
import { scenarioFile as writeScenario } from "../helpers/scenario_file.ts";
import { nvlab } from "../helpers/bin.ts";

const scenarioFile = (body: string): Promise<string> => writeScenario(body, "hello", "w");

const NEVER = `timeline:
  - at: {exits: 2}
    do: {failRevmapStores: 1}
  - at: {shadowFaults: 5000}
    do: {unmapCanonical: {ipa: 0x48000000}}
expect: {exitCode: 0}
`;

describe.concurrent("nvlab run: timeline entries that never fired", () => {
  it("the summary warns, and the run passes", async () => {
    const r = await nvlab("run", await scenarioFile(NEVER));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^warning: timeline\[1\] never fired: its trigger \{shadowFaults: 5000\} was not reached before the run ended \(\d+ instructions, \d+ exits\)\nresult: PASS/m,
    );
  });

  it("--json has the warnings and each entry's firings", async () => {
    const r = await nvlab("run", await scenarioFile(NEVER), "--json");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { warnings: string[]; timeline: unknown[] };
    expect(out.warnings).toHaveLength(1);
    expect(out.warnings[0]).toMatch(/^timeline\[1\] never fired/);
    expect(out.timeline).toEqual([
      { index: 0, trigger: "{exits: 2}", fired: 1, times: 1 },
      { index: 1, trigger: "{shadowFaults: 5000}", fired: 0, times: 1 },
    ]);
  });

  it("expect.timeline: fired turns the warning into a failed expectation (exit status 2)", async () => {
    const r = await nvlab("run", await scenarioFile(NEVER.replace("expect: {exitCode: 0}", "expect: {exitCode: 0, timeline: fired}")));
    expect(r.code).toBe(2);
    expect(r.stdout).toContain("  ✗ timeline: expected every entry fired, got timeline[1] never fired");
  });

  it("a misspelt event kind is refused before the run", async () => {
    const r = await nvlab("run", await scenarioFile(NEVER.replace("{shadowFaults: 5000}", "{event: {kind: shadow-fualt}}")));
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/w\.yaml:8:24: timeline\[1\]\.at\.event\.kind: no event kind "shadow-fualt" \(did you mean "shadow-fault"\?\)/);
  });
});
