// The translation view's data: each descriptor's addresses placed in the space its tables live in,
// the chain of boxes a report makes (stopped walks, the host backing standing in for an empty
// canonical stage-2), the shadow verdicts, and the record lines' links. Hand-made walks pin the
// rules; a real report from touch.S checks them against what the debugger really produces.

import { describe, expect, it } from "vitest";
import type { ShadowEntry, TranslationReport } from "../../debug/translate.ts";
import { translateSpace } from "../../debug/translate_space.ts";
import { newWalk, type StageWalk } from "../../debug/walk.ts";
import { reportStart, stepBox, stepTarget, translationChain, type AddressBox, type StageBox } from "../../web/ui/translation_layout.ts";
import { recordParts } from "../../web/ui/translation_records.ts";
import { shadowBox } from "../../web/ui/translation_shadows.ts";
import { linkIn, spaceOf } from "../../web/ui/translation_spaces.ts";
import { HYP, l2, openPair } from "../debug/session_fixture.ts";

function walk(name: string, from: string, to: string, tablesIn: string, input: bigint, patch: Partial<StageWalk> = {}): StageWalk {
  return { ...newWalk(name, from, to, tablesIn, input), ...patch };
}

const l2s1 = walk("L2 stage-1", "L2 VA", "nested IPA", "nested IPA", 0xffff_0000_0000_1234n, {
  steps: [
    { level: 1, table: 0x8_0000n, index: 0, address: 0x8_0000n, desc: 0x8_1003n, meaning: "table → 0x81000" },
    { level: 2, table: 0x8_1000n, index: 0, address: 0x8_1000n, desc: 0x8_2003n, meaning: "table → 0x82000" },
    { level: 3, table: 0x8_2000n, index: 1, address: 0x8_2008n, desc: 0x4010_1743n, meaning: "page → 0x40101000 (EL1 rw, EL0 none)" },
  ],
  output: 0x4010_1234n,
  size: 0x1000n,
  perms: "EL1 rw, EL0 none",
});

const l1s2 = walk("L1 stage-2", "nested IPA", "canonical IPA", "canonical IPA", 0x4010_1234n, {
  steps: [
    { level: 1, table: 0x4020_0000n, index: 1, address: 0x4020_0008n, desc: 0x4020_1003n, meaning: "table → 0x40201000" },
    { level: 2, table: 0x4020_1000n, index: 0, address: 0x4020_1000n, desc: 0x4820_04fdn, meaning: "block → 0x48200000 (RWX)" },
  ],
  output: 0x4830_1234n,
  size: 0x20_0000n,
  perms: "RWX",
});

/** The canonical stage-2 maps nothing there: shadow faults do not fill it. */
const canonicalEmpty = walk("canonical stage-2", "canonical IPA", "host PA", "host PA", 0x4830_1234n, {
  steps: [{ level: 1, table: 0x10_0000n, index: 1, address: 0x10_0008n, desc: 0n, meaning: "invalid" }],
  stopped: "level 1: invalid descriptor (translation fault)",
});

function report(stages: StageWalk[], patch: Partial<TranslationReport> = {}): TranslationReport {
  return {
    level: "L2",
    va: stages[0]!.input,
    stages,
    nestedIpa: stages[0]!.output,
    canonical: stages[1]?.output ?? null,
    hostPa: null,
    backing: "",
    backingPa: null,
    shadows: [],
    records: [],
    text: "",
    ...patch,
  };
}

describe("address spaces", () => {
  it("turns the debugger's space names into the page's", () => {
    expect(spaceOf("nested IPA")).toEqual({ space: "nipa" });
    expect(spaceOf("canonical IPA")).toEqual({ space: "ipa" });
    expect(spaceOf("host PA")).toEqual({ space: "pa" });
    expect(spaceOf("L2 VA")).toEqual({ space: "va", level: "L2" });
    expect(spaceOf("L1 VA")).toEqual({ space: "va", level: "L1" });
    expect(spaceOf("guest frame")).toBeNull();
    expect(linkIn("L1 VA", 5n)).toEqual({ space: "va", addr: 5n, level: "L1" });
  });
});

describe("stepBox", () => {
  it("puts L2 stage-1's tables, and the next table a descriptor names, in nested IPA space", () => {
    const b = stepBox(l2s1, l2s1.steps[0]!);
    expect(b).toMatchObject({ kind: "table", table: { space: "nipa", addr: 0x8_0000n }, address: { space: "nipa" }, target: { space: "nipa", addr: 0x8_1000n } });
    expect(b.desc).toBe("0x0000000000081003");
  });

  it("puts a leaf's output in the stage's output space: L2 stage-1 → nested IPA, L1 stage-2 → canonical IPA", () => {
    expect(stepBox(l2s1, l2s1.steps[2]!).target).toEqual({ space: "nipa", addr: 0x4010_1000n });
    const leaf = stepBox(l1s2, l1s2.steps[1]!);
    expect(leaf).toMatchObject({ kind: "leaf", table: { space: "ipa", addr: 0x4020_1000n }, target: { space: "ipa", addr: 0x4820_0000n } });
    expect(stepBox(l1s2, l1s2.steps[0]!).target).toEqual({ space: "ipa", addr: 0x4020_1000n });
  });

  it("keeps host PA for the canonical stage-2's tables, and has no target for an invalid or unreadable descriptor", () => {
    const b = stepBox(canonicalEmpty, canonicalEmpty.steps[0]!);
    expect(b).toMatchObject({ kind: "invalid", table: { space: "pa" }, address: { space: "pa", addr: 0x10_0008n }, target: null });
    const unreadable = stepBox(l2s1, { level: 0, table: 0x9000n, index: 2, address: 0x9010n, desc: null, meaning: "L1 stage-2: level 3: invalid descriptor" });
    expect(unreadable).toMatchObject({ kind: "unreadable", desc: "-", target: null });
  });

  it("reads the address a meaning names", () => {
    expect(stepTarget("page → 0x40101000 (EL1 rw, EL0 none)")).toBe(0x4010_1000n);
    expect(stepTarget("invalid")).toBeNull();
  });
});

describe("translationChain", () => {
  it("goes VA, stage, nested IPA, stage, canonical IPA, stage, host PA, taking the host PA from the backing when the canonical stage-2 is empty", () => {
    const chain = translationChain(report([l2s1, l1s2, canonicalEmpty], { hostPa: 0x9_9234n, backingPa: 0x9_9234n }));
    expect(chain.map((b) => (b.kind === "address" ? `${b.name}` : `[${b.name}]`))).toEqual([
      "L2 VA", "[L2 stage-1]", "nested IPA", "[L1 stage-2]", "canonical IPA", "[canonical stage-2]", "host PA",
    ]);
    const va = chain[0] as AddressBox;
    expect(va.link).toEqual({ space: "va", addr: 0xffff_0000_0000_1234n, level: "L2" });
    const host = chain[6] as AddressBox;
    expect(host.link).toEqual({ space: "pa", addr: 0x9_9234n });
    expect(host.note).toMatch(/host backing/);
    const s2 = chain[3] as StageBox;
    expect(s2.leaf).toBe("2M RWX");
    expect((chain[5] as StageBox).stopped).toBe("level 1: invalid descriptor (translation fault)");
  });

  it("ends at the stage that stopped", () => {
    const stopped = walk("L1 stage-2", "nested IPA", "canonical IPA", "canonical IPA", 0x4010_1234n, {
      steps: [{ level: 1, table: 0x4020_0000n, index: 1, address: 0x4020_0008n, desc: 0n, meaning: "invalid" }],
      stopped: "level 1: invalid descriptor (translation fault)",
    });
    const chain = translationChain(report([l2s1, stopped]));
    expect(chain.map((b) => b.kind)).toEqual(["address", "stage", "address", "stage"]);
    expect((chain[3] as StageBox).stopped).toMatch(/^level 1/);
  });

  it("shows a stage that is off as off, with its output as the next address", () => {
    const off = walk("L1 stage-1", "L1 VA", "canonical IPA", "canonical IPA", 0x4010_0000n, { enabled: false, output: 0x4010_0000n });
    const chain = translationChain({ ...report([off]), level: "L1", nestedIpa: null, canonical: 0x4010_0000n });
    expect(chain[0]).toMatchObject({ name: "L1 VA", link: { space: "va", level: "L1" } });
    expect(chain[1]).toMatchObject({ kind: "stage", enabled: false, leaf: null });
    expect(chain[2]).toMatchObject({ name: "canonical IPA", link: { space: "ipa", addr: 0x4010_0000n } });
  });
});

describe("reportStart", () => {
  it("starts at the VA, or at the nested or canonical IPA a report for a clicked address starts from", () => {
    const r = report([l2s1, l1s2]);
    expect(reportStart(r)).toMatchObject({ name: "L2 VA", link: { space: "va", level: "L2" } });
    expect(reportStart({ ...r, space: "nipa", va: 0x4010_1234n })).toMatchObject({ name: "nested IPA", link: { space: "nipa", addr: 0x4010_1234n } });
    expect(reportStart({ ...r, space: "ipa", va: 0x4830_1234n, canonical: 0x4830_1234n })).toMatchObject({ name: "canonical IPA", link: { space: "ipa", addr: 0x4830_1234n } });
  });
});

describe("shadowBox", () => {
  const shadowWalk = (output: bigint | null): StageWalk =>
    walk("shadow stage-2 (mmu1)", "nested IPA", "host PA", "host PA", 0x4010_1234n, {
      steps: [{ level: 3, table: 0x20_0000n, index: 1, address: 0x20_0008n, desc: output === null ? 0n : output | 0x4ffn, meaning: output === null ? "invalid" : `page → 0x${output.toString(16)} (RW-)` }],
      output,
      size: output === null ? null : 0x1000n,
      perms: output === null ? null : "RW-",
      stopped: output === null ? "level 3: invalid descriptor (translation fault)" : null,
    });
  const entry = (output: bigint | null, agrees: boolean | null): ShadowEntry => ({ mmu: 1, current: true, walk: shadowWalk(output), agrees });

  it("gives each verdict its badge", () => {
    expect(shadowBox(entry(0x9_9234n, true), 0x9_9234n)).toMatchObject({ verdict: "agrees", badge: "agrees", leaf: "L3 4K RW-", host: { space: "pa", addr: 0x9_9234n }, detail: null });
    expect(shadowBox(entry(0x7_7234n, false), 0x9_9234n)).toMatchObject({ verdict: "disagrees", badge: "DISAGREES", detail: "L1 + host backing give 0x99234" });
    expect(shadowBox(entry(null, null), 0x9_9234n)).toMatchObject({ verdict: "no-entry", badge: "no entry", host: null, detail: "level 3: invalid" });
    expect(shadowBox(entry(0x7_7234n, null), null)).toMatchObject({ verdict: "unchecked", nested: { space: "nipa", addr: 0x4010_1234n } });
  });
});

describe("recordParts", () => {
  const links = (line: string): [string, bigint][] => recordParts(line).flatMap((p) => ("space" in p ? [[p.space, p.addr] as [string, bigint]] : []));

  it("links a revmap range to canonical IPAs and its nested IPA to the nested space", () => {
    const line = "mmu0 revmap: canonical 0x48100000..0x48100fff → nested IPA 0x40100010";
    expect(links(line)).toEqual([["ipa", 0x4810_0000n], ["ipa", 0x4810_0fffn], ["nipa", 0x4010_0010n]]);
    expect(recordParts(line).map((p) => p.text).join("")).toBe(line);
  });

  it("links direct map and accelerator lines, and leaves polluted ranges' words as text", () => {
    expect(links("mmu1 direct map: nested 0x40100000..0x40100fff → canonical 0x48100000")).toEqual([["nipa", 0x4010_0000n], ["nipa", 0x4010_0fffn], ["ipa", 0x4810_0000n]]);
    expect(links("accelerator: canonical 0x48100000..0x481fffff → bit 2 (mmu0,mmu1)")).toEqual([["ipa", 0x4810_0000n], ["ipa", 0x481f_ffffn]]);
    expect(links("mmu0 revmap: canonical 0x48100000..0x48100fff → polluted: nested IPAs unknown")).toHaveLength(2);
    expect(links("mmu0 revmap: broken (full unmap until recycled)")).toEqual([]);
  });
});

describe("a real report (touch.S under hyp.S, revmap)", () => {
  it("places every link of every stage in the space its walk names", async () => {
    const s = await openPair(HYP, [l2("touch")], { unmap: "revmap" });
    s.addExitBreak("HVC64");
    expect(s.resume().reason.kind).toBe("exit-break");
    const r = s.translate(0x4010_0010n, "L2");
    const chain = translationChain(r);
    expect(chain.filter((b) => b.kind === "address").map((b) => b.link?.space)).toEqual(["va", "nipa", "ipa", "pa"]);
    const spaceOfName = { "nested IPA": "nipa", "canonical IPA": "ipa", "host PA": "pa" } as Record<string, string>;
    for (const box of chain) {
      if (box.kind !== "stage") continue;
      for (const step of box.steps) {
        expect(step.table?.space).toBe(spaceOfName[box.tablesIn]);
        expect(step.address?.space).toBe(spaceOfName[box.tablesIn]);
      }
    }
    const l1s2 = chain.find((b): b is StageBox => b.kind === "stage" && b.name === "L1 stage-2")!;
    expect(l1s2.steps[2]).toMatchObject({ kind: "leaf", target: { space: "ipa", addr: 0x4810_0000n } });
    const records = r.records.flatMap((line) => recordParts(line).filter((p) => "space" in p));
    expect(records.map((p) => ("space" in p ? p.space : ""))).toEqual(["ipa", "ipa", "nipa"]);

    // The reports the page asks for when a nested or canonical IPA is clicked.
    const spaces = (x: TranslationReport): (string | undefined)[] => translationChain(x).filter((b) => b.kind === "address").map((b) => b.link?.space);
    expect(spaces(translateSpace(s.vcpu, "nipa", 0x4010_0010n))).toEqual(["nipa", "ipa", "pa"]);
    expect(spaces(translateSpace(s.vcpu, "ipa", 0x4810_0010n))).toEqual(["ipa", "pa"]);
  });
});
