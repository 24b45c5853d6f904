// Text views of L0's state: registers, nested MMUs, revmaps, the accelerator, metrics.

import { describe, expect, it } from "vitest";
import { describePstate, formatAccel, formatMetrics, formatMmus, formatRegisters, formatRevmap, mmuByName } from "../../debug/inspect.ts";
import { MULTI, l2, openPair } from "./session_fixture.ts";

const MULTI_L2 = ["hello", "touch", "checksum", "hello", "touch", "checksum"].map(l2);

describe("inspect", () => {
  it("decodes PSTATE, with L1's modes shown as virtual EL2", () => {
    expect(describePstate(0x3c9n, "L1")).toBe("---- DAIF EL2h (virtual)");
    expect(describePstate(0x600003c5n, "L2")).toBe("-ZC- DAIF EL1h");
    expect(describePstate(0x80000000n, "L2")).toBe("N--- ---- EL0t");
    expect(describePstate(0x4n, "L2")).toBe("---- ---- EL1t");
  });

  it("shows the MMUs as L0 left them after several L2 VMIDs, and their revmaps", async () => {
    const s = await openPair(MULTI, MULTI_L2, { unmap: "accel" });
    s.addAddressBreak("checksum.S@0x4a000000:l2_entry");
    s.resume(); // hello (VMID 1) and touch (VMID 2) have run; checksum is about to (VMID 3)
    const text = formatMmus(s.kvm, s.vcpu);
    const lines = text.split("\n");
    expect(lines[0]).toMatch(/^mmu  valid  vmid\(L1\)  hw-vmid  refcnt  entries/);
    expect(lines[1]).toMatch(/^mmu0 yes +3 +2 +1 +0 .*in use$/); // recycled for VMID 3, emptied
    expect(lines[2]).toMatch(/^mmu1 yes +2 +3 +0 +65 /);
    expect(lines[3]).toMatch(/^canonical: hw-vmid 1, \d+ entries, \d+ table pages$/);
    const rev = formatRevmap(s.kvm, "mmu1");
    expect(rev.split("\n")[0]).toBe("mmu1 revmap:");
    expect(rev).toMatch(/canonical 0x49000000\.\.0x49000fff → nested IPA 0x40000000/);
    expect(rev.split("\n")).toHaveLength(66);
    expect(formatRevmap(s.kvm, "1", 4).split("\n").slice(-1)[0]).toBe("  … 61 more");
    expect(formatRevmap(s.kvm, "0")).toBe("mmu0 revmap:\n  (none: never created, or destroyed)"); // destroyed by the recycle
    const accel = formatAccel(s.kvm);
    expect(accel.split("\n")[0]).toBe("accelerator: 1 shadow MMU(s) per bit");
    expect(accel).toMatch(/canonical 0x49[0-9a-f]+\.\.0x49[0-9a-f]+ → bit \d+ \(mmu1\)/);
    expect(() => mmuByName(s.kvm, "mmu2")).toThrow("no shadow MMU 'mmu2' (there are 2: mmu0..mmu1)");
    expect(() => mmuByName(s.kvm, "x")).toThrow(/no shadow MMU 'x'/);
  });

  it("prints registers and metrics", async () => {
    const s = await openPair(MULTI, MULTI_L2);
    s.stepInstruction(2);
    const regs = formatRegisters(s.registers()).split("\n");
    expect(regs[0]).toBe("level L1");
    expect(regs[1]).toBe(" x0 0x0000000000000000   x1 0x0000000000000000   x2 0x0000000000000000   x3 0x0000000000000000");
    expect(regs).toContain("cpsr 0x000003c9  ---- DAIF EL2h (virtual)");
    expect(regs).toContain("EL1 (L2's context):");
    expect(regs).toContain("virtual EL2 (L1's):");
    const m = formatMetrics({ ...s.kvm.metrics.snapshot(), shadowMmusVisited: Array.from({ length: 20 }, (_, i) => i) });
    expect(m).toMatch(/^shadowFaults +0$/m);
    expect(m).toMatch(/^canonicalFaults +1$/m);
    expect(m).toMatch(/^shadowMmusVisited +\[0, 1, 2, .*15, … 20 samples\]$/m);
    expect(formatAccel(s.kvm)).toBe("accelerator: 1 shadow MMU(s) per bit\n  (empty: the unmap strategy is full)");
  });
});
