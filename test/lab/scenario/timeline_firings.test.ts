// What the timeline did against what the file asked: entries that never fired (or fired fewer
// times than their repeat asks) are warnings in the result, and `expect.timeline` makes them
// expectations; an entry that triggers itself, or firings that go on while no instruction
// retires, stop the run with why instead of running until `times` runs out or forever.

import { describe, expect, it } from "vitest";
import { scenarioFile as writeScenario } from "../../helpers/scenario_file.ts";
import { runScenario } from "../../../lab/scenario/run.ts";
import { TIMELINE_STALL_LIMIT } from "../../../lab/scenario/timeline.ts";

const scenarioFile = (body: string): Promise<string> => writeScenario(body, "hello");

const TIMELINE = `timeline:
  - at: {exits: 2}
    do: {failRevmapStores: 1}
    repeat: {every: 1, times: 2}
  - at: {exits: 100000}
    do: {failRevmapStores: 1}
  - at: {event: {kind: mmio, offset: 0x999}}
    do: {failRevmapStores: 1}
  - at: {exits: 3}
    do: {failRevmapStores: 1}
    repeat: {every: 100000, times: 2}
`;

describe.concurrent("timeline firings", () => {
  it("entries that never fired, or fired fewer times than asked, are warnings; the run still passes", async () => {
    const r = await runScenario(await scenarioFile(`${TIMELINE}expect: {exitCode: 0}\n`));
    expect(r.ok).toBe(true);
    expect(r.timeline).toEqual([
      { index: 0, trigger: "{exits: 2}", fired: 2, times: 2 },
      { index: 1, trigger: "{exits: 100000}", fired: 0, times: 1 },
      { index: 2, trigger: "{event: {kind: mmio, offset: 0x999}}", fired: 0, times: 1 },
      { index: 3, trigger: "{exits: 3}", fired: 1, times: 2 },
    ]);
    expect(r.warnings).toHaveLength(3);
    expect(r.warnings[0]).toMatch(/^timeline\[1\] never fired: its trigger \{exits: 100000\} was not reached before the run ended \(\d+ instructions, \d+ exits\)$/);
    expect(r.warnings[1]).toMatch(/^timeline\[2\] never fired: its trigger \{event: \{kind: mmio, offset: 0x999\}\} was not reached/);
    expect(r.warnings[2]).toMatch(/^timeline\[3\] fired 1 of 2 times \(trigger \{exits: 3\}\) before the run ended/);
  });

  it("expect.timeline: fired requires every entry to fire, complete every repeat", async () => {
    const fired = await runScenario(await scenarioFile(`${TIMELINE}expect: {exitCode: 0, timeline: fired}\n`));
    expect(fired.ok).toBe(false);
    expect(fired.failures).toEqual(["timeline: expected every entry fired, got timeline[1] never fired; timeline[2] never fired"]);
    const complete = await runScenario(await scenarioFile(`${TIMELINE}expect: {exitCode: 0, timeline: complete}\n`));
    expect(complete.failures).toEqual([
      "timeline: expected every entry fired all its times, got timeline[1] never fired; timeline[2] never fired; timeline[3] fired 1 of 2 times",
    ]);
    const all = await runScenario(
      await scenarioFile("timeline:\n  - at: {exits: 2}\n    do: {failRevmapStores: 1}\n    repeat: {every: 3, times: 4}\nexpect: {exitCode: 0, timeline: complete}\n"),
    );
    expect(all.ok).toBe(true);
    expect(all.checks.find((c) => c.what === "timeline")).toEqual({ what: "timeline", expected: "every entry fired all its times", actual: "yes", ok: true });
    expect(all.warnings).toEqual([]);
  });

  it("an entry its own chaos event triggers again stops the run at its second firing", async () => {
    const r = await runScenario(
      await scenarioFile(`timeline:
  - at: {exits: 3}
    do: {failRevmapStores: 1}
  - at: {event: {kind: chaos}}
    do: {failRevmapStores: 1}
    repeat: {every: 1, times: 1000000000}
expect: {exitCode: 0}
`),
    );
    expect(r.ok).toBe(false);
    expect(r.outcome.kind).toBe("monitor-stop");
    expect(r.outcome.kind === "monitor-stop" && r.outcome.message).toBe(
      "timeline[1] triggers itself: its action (failRevmapStores) logs a chaos event that its own trigger {event: {kind: chaos}} matches, " +
        "so it would fire again after every exit (up to 1000000000 times); narrow the trigger (a field such as source or action, or match) to the events it should follow",
    );
    expect(r.injections.filter((i) => i.includes("timeline[1]"))).toHaveLength(1);
  });

  it("an entry another source's events trigger is no loop: a narrowed trigger runs to its times", async () => {
    const r = await runScenario(
      await scenarioFile(`timeline:
  - at: {exits: 3}
    do: {unmapCanonical: {ipa: 0x48000000}}
    repeat: {every: 5, times: 3}
  - at: {event: {kind: chaos, action: unmap}}
    do: {failRevmapStores: 1}
    repeat: {every: 1, times: 3}
expect: {exitCode: 0, timeline: complete}
`),
    );
    expect(r.failures).toEqual([]);
    expect(r.timeline.map((f) => f.fired)).toEqual([3, 3]);
  });

  it("a self-triggering unmap of the page the guest faults on, which maxSteps never ends, stops with why", async () => {
    const r = await runScenario(
      await scenarioFile(`timeline:
  - at: {shadowFaults: 1}
    do: {unmapCanonical: {ipa: 0x48000000, size: 2M}}
  - at: {event: {kind: chaos}}
    do: {unmapCanonical: {ipa: 0x48000000, size: 2M}}
    repeat: {every: 1, times: 1000000000}
maxSteps: 100000
expect: {exitCode: 0}
`),
    );
    expect(r.outcome.kind === "monitor-stop" && r.outcome.message).toMatch(/^timeline\[1\] triggers itself: its action \(unmapCanonical\) logs a chaos event/);
  });

  it("firings that go on while no instruction retires stop at the stall limit", async () => {
    const r = await runScenario(
      await scenarioFile(`timeline:
  - at: {shadowFaults: 1}
    do: {unmapCanonical: {ipa: 0x48000000, size: 2M}}
  - at: {exits: 5}
    do: {unmapCanonical: {ipa: 0x48000000, size: 2M}}
    repeat: {every: 1, times: 1000000000}
maxSteps: 100000
expect: {exitCode: 0}
`),
    );
    expect(r.ok).toBe(false);
    expect(r.outcome.kind).toBe("monitor-stop");
    expect(r.outcome.kind === "monitor-stop" && r.outcome.message).toMatch(
      new RegExp(`^the timeline fired ${TIMELINE_STALL_LIMIT + 1} times at step (\\d+) while no instruction retired \\(last: timeline\\[1\\] \\{exits: 5\\}\\)`),
    );
    expect(r.steps).toBeLessThan(100000);
  });
});
