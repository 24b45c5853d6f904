// The scenario files the fuzzer writes are valid scenarios: they parse, with images relative to
// the file's folder, the VM of the case, and the timeline or chaos schedule given.

import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../../lab/fixtures/guest_images.ts";
import { fuzzCase } from "../../../lab/fuzz/case.ts";
import { exactConsoleRegex, scenarioText } from "../../../lab/fuzz/scenario_text.ts";
import { parseScenario } from "../../../lab/scenario/schema.ts";

describe("fuzz scenario text", () => {
  it("parses back into the case's scenario", () => {
    for (let i = 0; i < 60; i++) {
      const c = fuzzCase(5, i);
      const text = scenarioText({
        name: `fuzz-s5-r${i}`, description: "a \"quoted\" line: with colons", header: ["seed 5", "", "run " + i], fuzzCase: c, dir: `${REPO_ROOT}/fuzz-out`, maxSteps: 1000,
        timeline: [{ exits: 3, action: { unmapCanonical: { ipa: 0x4800_0000n, size: 0x20_0000n } } }, { exits: 4, action: { failStores: { store: "directMap", count: 2 } } }, { exits: 9, action: { recycle: { mmu: 0 } } }],
        expect: { invariants: "S" },
      });
      expect(text.startsWith("# seed 5\n#\n# run")).toBe(true);
      const s = parseScenario(text, "x.yaml");
      expect(s.images.l1.file).toBe(`../${c.guests.l1}`);
      expect(s.images.l2?.map((l) => [l.file, l.ipa])).toEqual(c.guests.l2.map((l) => [`../${l.file}`, l.ipa]));
      expect(s.vm?.unmap).toBe(c.vm.unmap);
      expect(s.vm?.nestedMmus).toBe(c.vm.nestedMmus);
      expect(s.vm?.ramSlots).toBe(c.vm.ramSlots);
      expect(s.vm?.schedule?.policy).toBe(c.vm.schedule?.policy);
      expect(s.maxSteps).toBe(1000);
      expect(s.description).toBe('a "quoted" line: with colons');
      expect(s.timeline?.map((e) => e.at.exits)).toEqual([3, 4, 9]);
      expect(s.timeline?.[0]?.do.unmapCanonical).toEqual({ ipa: 0x4800_0000n, size: 0x20_0000n });
      expect(s.timeline?.[1]?.do.failStores).toEqual({ store: "directMap", count: 2 });
      expect(s.timeline?.[2]?.do.recycle).toEqual({ mmu: 0 });
      expect(s.expect.invariants).toEqual({ violated: "S" });
      expect(s.chaos).toBeUndefined();
    }
  });

  it("writes a chaos schedule, and a divergence as the exact exit code and console", () => {
    const c = fuzzCase(1, 1);
    const console = "L1: a (b) [c] $1.5 *+?^|\\/\nsecond line\n";
    const s = parseScenario(scenarioText({ name: "n", description: "", header: [], fuzzCase: c, dir: REPO_ROOT, maxSteps: 10, chaos: { seed: 4, rate: 5 }, expect: { exitCode: 3, console: exactConsoleRegex(console) } }), "y.yaml");
    expect(s.chaos).toEqual({ seed: 4, rate: 5 });
    expect(s.timeline).toBeUndefined();
    expect(s.expect.exitCode).toBe(3);
    const re = new RegExp(s.expect.console!, "m");
    expect(re.test(console)).toBe(true);
    expect(re.test(console + "x")).toBe(false);
    expect(re.test("x" + console)).toBe(false);
    expect(re.test(console.replace("second", "other"))).toBe(false);
  });
});
