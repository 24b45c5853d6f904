// Translations that start at a nested IPA, a canonical IPA or a host PA (what the lab page shows
// for a clicked table entry or event address) agree with `pt` of the L2 VA that reaches them.

import { describe, expect, it } from "vitest";
import type { DebugSession } from "../../debug/session.ts";
import { translateSpace } from "../../debug/translate_space.ts";
import { HYP, l2, openPair } from "./session_fixture.ts";

async function touchDone(): Promise<DebugSession> {
  const s = await openPair(HYP, [l2("touch")], { unmap: "revmap" });
  s.addExitBreak("HVC64");
  expect(s.resume().reason.kind).toBe("exit-break");
  s.deleteBreak();
  return s;
}

describe("translateSpace", () => {
  it("from a nested IPA: L1's stage-2 of the shadow MMU, the canonical stage-2, the shadow entry, as pt gives them", async () => {
    const s = await touchDone();
    // L2's stage-1 is off: its VA is its nested IPA.
    const pt = s.translate(0x4010_0010n, "L2");
    const r = translateSpace(s.vcpu, "nipa", 0x4010_0010n);
    expect(r.space).toBe("nipa");
    expect(r.stages.map((w) => w.name)).toEqual(["L1 stage-2 (mmu0)", "canonical stage-2"]);
    expect(r.stages[0]!.steps.map((x) => x.desc)).toEqual(pt.stages[1]!.steps.map((x) => x.desc));
    expect([r.nestedIpa, r.canonical, r.hostPa, r.backingPa]).toEqual([pt.nestedIpa, pt.canonical, pt.hostPa, pt.backingPa]);
    expect(r.shadows.map((x) => [x.mmu, x.walk.output, x.agrees])).toEqual(pt.shadows.map((x) => [x.mmu, x.walk.output, x.agrees]));
    expect(r.records).toEqual(pt.records);
    expect(r.text.split("\n")[0]).toBe("nested IPA 0x40100010");
  });

  it("from a canonical IPA and from the host PA that backs it", async () => {
    const s = await touchDone();
    const pt = s.translate(0x4010_0010n, "L2");
    const ipa = translateSpace(s.vcpu, "ipa", pt.canonical!);
    expect(ipa.stages.map((w) => w.name)).toEqual(["canonical stage-2"]);
    expect([ipa.canonical, ipa.backingPa, ipa.shadows.length]).toEqual([pt.canonical, pt.backingPa, 0]);
    expect(ipa.records).toEqual(pt.records);
    expect(ipa.text.split("\n")[0]).toBe(`canonical IPA 0x${pt.canonical!.toString(16)}`);
    const pa = translateSpace(s.vcpu, "pa", pt.backingPa!);
    expect(pa.canonical).toBe(pt.canonical);
  });

  it("says why when nothing answers", async () => {
    const s = await touchDone();
    expect(() => translateSpace(s.vcpu, "pa", 0x10n)).toThrow(/backs no page of L1's RAM/);
    expect(() => translateSpace(s.vcpu, "nipa", 0x1000n, 99)).toThrow(/no shadow MMU 99/);
    const far = translateSpace(s.vcpu, "nipa", 0x7000_0000n);
    expect(far.canonical).toBeNull();
    expect(far.stages[0]!.stopped).not.toBeNull();
  });
});
