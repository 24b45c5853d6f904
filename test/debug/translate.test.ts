// `pt`: every stage of a translation on a real guest, an L2 stage-1 built by hand, shadow entries
// that agree, go missing or disagree with what L1 and the canonical tables say, and the records.

import { describe, expect, it } from "vitest";
import type { DebugSession } from "../../debug/session.ts";
import { kvmUnmapGfnRange } from "../../hypervisor/mmu.ts";
import { HYP, l2, openPair } from "./session_fixture.ts";

/** Stop after touch.S wrote and read back all its pages (its first HVC prints the summary). */
async function touchDone(config = {}): Promise<DebugSession> {
  const s = await openPair(HYP, [l2("touch")], config);
  s.addExitBreak("HVC64");
  expect(s.resume().reason.kind).toBe("exit-break");
  s.deleteBreak();
  return s;
}

const le64 = (v: bigint): Uint8Array => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v, true);
  return b;
};

describe("pt", () => {
  it("walks L1's stage-2, the canonical stage-2 and the shadow entry, and finds the revmap record", async () => {
    const s = await touchDone({ unmap: "revmap" });
    const r = s.translate(0x4010_0010n, "L2");
    expect(r.stages.map((w) => w.name)).toEqual(["L2 stage-1", "L1 stage-2", "canonical stage-2"]);
    expect(r.stages[0]!.enabled).toBe(false);
    const l1s2 = r.stages[1]!;
    expect(l1s2.steps.map((x) => x.level)).toEqual([1, 2, 3]);
    expect(l1s2.steps[2]!.meaning).toBe("page → 0x48100000 (RWX)");
    expect(r.nestedIpa).toBe(0x4010_0010n);
    expect(r.canonical).toBe(0x4810_0010n);
    expect(r.hostPa).not.toBeNull();
    expect(r.shadows).toHaveLength(1);
    expect(r.shadows[0]).toMatchObject({ mmu: 0, agrees: true, current: false });
    expect(r.shadows[0]!.walk.output).toBe(r.hostPa);
    expect(r.records).toEqual(["mmu0 revmap: canonical 0x48100000..0x48100fff → nested IPA 0x40100010"]);
    expect(r.text).toMatch(/shadow stage-2 \(mmu0\): nested IPA 0x40100010 → host PA 0x[0-9a-f]+ \(L3 4K RWX, agrees\)/);
  });

  it("says where an unmapped address stops, stage by stage", async () => {
    const s = await touchDone();
    const r = s.translate(0x4015_0000n, "L2");
    expect(r.canonical).toBeNull();
    expect(r.stages).toHaveLength(2);
    expect(r.stages[1]!.stopped).toBe("level 3: invalid descriptor (translation fault)");
    expect(r.text).toMatch(/✗ stopped at level 3: invalid descriptor/);
    const l1 = s.translate(0x100n, "L1");
    expect(l1.stages[1]!.name).toBe("canonical stage-2");
    expect(l1.backing).toBe("not L1 RAM");
    expect(l1.text).toMatch(/canonical stage-2: canonical IPA 0x100\n {2}L0 .*\n {2}L1 .*invalid\n {2}✗ stopped at level 1/);
  });

  it("shows a missing shadow entry after a canonical unmap, and a stale one L1 changed without TLBI", async () => {
    const s = await touchDone({ unmap: "revmap" });
    const before = s.translate(0x4010_3000n, "L2");
    const l3 = before.stages[1]!.steps[2]!;
    // L1 points the page elsewhere in its window, without telling anyone: the shadow entry is stale.
    s.writeMemory("ipa", l3.address, le64((l3.desc! & ~0xffff_ffff_f000n) | 0x4810_4000n));
    const stale = s.translate(0x4010_3000n, "L2");
    expect(stale.canonical).toBe(0x4810_4000n);
    expect(stale.shadows[0]!.agrees).toBe(false);
    expect(stale.text).toMatch(/DISAGREES: L1 \+ host backing give 0x/);
    // The host takes the new page back: the canonical stage-2 has no entry for it, nor the host a page.
    kvmUnmapGfnRange(s.vcpu.kvm, 0x4810_4000n, 0x1000n);
    const gone = s.translate(0x4010_3000n, "L2");
    expect(gone.hostPa).toBeNull();
    // Shadow faults never filled the canonical stage-2 in L2's window: its walk stops above level 3.
    expect(gone.text).toMatch(/canonical stage-2: canonical IPA 0x48104000\n(.*\n)*.*✗ stopped at level [0-2]: invalid descriptor/);
  });

  it("walks an L2 stage-1 the guest set up, level by level, through L1's stage-2", async () => {
    const s = await touchDone();
    const v = s.vcpu;
    // 39-bit VAs (start level 1), 4K granule; tables in touched L2 pages.
    s.writeMemory("nipa", 0x4010_0000n, le64(0x4010_1003n));
    s.writeMemory("nipa", 0x4010_1008n, le64(0x4010_2003n));
    s.writeMemory("nipa", 0x4010_2018n, le64(0x4010_3703n)); // page, AF, inner shareable, EL1 rw
    v.vcpuWriteSysReg("TCR_EL1", 25n | (1n << 23n) | (5n << 32n));
    v.vcpuWriteSysReg("TTBR0_EL1", 0x4010_0000n);
    v.vcpuWriteSysReg("MAIR_EL1", 0xffn);
    v.vcpuWriteSysReg("SCTLR_EL1", v.vcpuReadSysReg("SCTLR_EL1") | 1n);
    const r = s.translate(0x20_3010n, "L2");
    const s1 = r.stages[0]!;
    expect(s1.enabled).toBe(true);
    expect(s1.steps.map((x) => [x.level, x.index])).toEqual([[1, 0], [2, 1], [3, 3]]);
    expect(s1.steps[2]!.meaning).toBe("page → 0x40103000 (EL1 rw, EL0 none)");
    expect(r.nestedIpa).toBe(0x4010_3010n);
    expect(r.canonical).toBe(0x4810_3010n);
    expect(s.readMemory("va", 0x20_3010n, 4, "L2")).toEqual(s.readMemory("nipa", 0x4010_3010n, 4));
    // Access flag clear: the walk stops at the leaf and says why.
    s.writeMemory("nipa", 0x4010_2018n, le64(0x4010_3303n));
    expect(s.translate(0x20_3010n, "L2").stages[0]!.stopped).toBe("level 3: access flag clear (access flag fault)");
    // A table L1 has not mapped: the stage-1 walk says which stage-2 stopped it.
    v.vcpuWriteSysReg("TTBR0_EL1", 0x4015_0000n);
    expect(s.translate(0x20_3010n, "L2").stages[0]!.stopped).toMatch(/^level 1: the descriptor at nested IPA 0x40150000 cannot be read \(L1 stage-2: level 3: invalid/);
  });

  it("lists the accelerator record of the canonical page", async () => {
    const s = await touchDone({ unmap: "accel" });
    const r = s.translate(0x4010_0000n, "L2");
    expect(r.records.some((x) => /^accelerator: canonical 0x48[0-9a-f]+\.\.0x48[0-9a-f]+ → bit \d+ \(mmu0\)$/.test(x))).toBe(true);
  });
});
