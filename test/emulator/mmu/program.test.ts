// Programs running with the MMU on: loads, stores and fetches through both stages.

import { describe, expect, it } from "vitest";
import type { Cpu } from "../../../emulator/cpu.ts";
import type { PhysMemory } from "../../../emulator/memory.ts";
import { runAsm } from "../../helpers/machine.ts";
import {
  AF, Allocator, AP_RO_EL1, attrIndx, enableStage1, enableStage2, MEMATTR_NORMAL_WB, S2AP_R, S2AP_RW, Tables, tcr, vtcr,
} from "./pagetable.ts";

const S1_PAGE = AF | attrIndx(0);
const S2_PAGE = AF | S2AP_RW | MEMATTR_NORMAL_WB;

/**
 * Code at 0x80000 identity-mapped by stage 1; VA 0x4000_0000 (2M block) → IPA 0x8000_0000 →
 * (stage 2, when on) PA 0x9000_0000; VA 0x4020_0000 read-only at stage 1; VA 0x4040_0000
 * writable at stage 1, read-only at stage 2; VA 0x4060_0000 walks through an unmapped IPA.
 */
function mmuOn(withStage2: boolean) {
  return (cpu: Cpu, mem: PhysMemory) => {
    const s1 = new Tables(mem, { granule: "4K", startLevel: 1, iaBits: 39, alloc: new Allocator(0x100_0000n) });
    s1.map(0x8_0000n, 0x8_0000n, 3, S1_PAGE | AP_RO_EL1);
    s1.map(0x4000_0000n, 0x8000_0000n, 2, S1_PAGE);
    s1.map(0x4020_0000n, 0x8020_0000n, 2, S1_PAGE | AP_RO_EL1);
    s1.map(0x4040_0000n, 0x8020_0000n, 2, S1_PAGE);
    s1.set(0x4060_0000n, 2, 0x4000_0000n | 3n); // level-3 table at an IPA stage 2 leaves unmapped
    enableStage1(cpu, { tcr: tcr({ t0sz: 25 }), ttbr0: s1.root });
    if (withStage2) {
      const s2 = new Tables(mem, { granule: "4K", startLevel: 1, iaBits: 39, alloc: new Allocator(0x1000_0000n) });
      s2.map(0x0n, 0x0n, 2, S2_PAGE); // code
      s2.map(0x100_0000n, 0x100_0000n, 2, S2_PAGE); // stage-1 tables
      s2.map(0x8000_0000n, 0x9000_0000n, 2, S2_PAGE);
      s2.map(0x8020_0000n, 0x9020_0000n, 3, AF | S2AP_R | MEMATTR_NORMAL_WB);
      enableStage2(cpu, { vtcr: vtcr({ t0sz: 25, sl0: 1 }), root: s2.root, vmid: 2 });
    }
  };
}

describe("programs with the MMU on", () => {
  it("loads and stores through stage 1", async () => {
    const { cpu, mem, stop } = await runAsm(
      `movz x1, #0x4000, lsl #16
       movz x2, #0x1234
       str x2, [x1, #8]
       ldr x3, [x1, #8]
       brk #0`,
      { setup: mmuOn(false) },
    );
    expect(stop.kind).toBe("brk");
    expect(cpu.getX(3)).toBe(0x1234n);
    expect(mem.read(0x8000_0008, 8)).toBe(0x1234n);
  });

  it("loads and stores through both stages", async () => {
    const { cpu, mem, stop } = await runAsm(
      `movz x1, #0x4000, lsl #16
       movz x2, #0x5678
       str x2, [x1, #0x10]
       ldr x3, [x1, #0x10]
       brk #0`,
      { setup: mmuOn(true) },
    );
    expect(stop.kind).toBe("brk");
    expect(cpu.getX(3)).toBe(0x5678n);
    expect(mem.read(0x9000_0010, 8)).toBe(0x5678n);
    expect(cpu.tlb.size).toBeGreaterThan(0);
  });

  it("a stage-1 permission fault is a data abort to EL1", async () => {
    const { stop } = await runAsm(
      `movz x1, #0x4020, lsl #16
       str x1, [x1]
       brk #0`,
      { setup: mmuOn(false) },
    );
    expect(stop).toMatchObject({ kind: "el1-exception", far: 0x4020_0000n, elr: 0x8_0004n });
    if (stop.kind !== "el1-exception") return;
    // EC 0x25 (same EL), WnR, DFSC 0x0e: permission, level 2.
    expect(stop.esr).toBe((0x25n << 26n) | (1n << 25n) | (1n << 6n) | 0x0en);
  });

  it("a stage-2 permission fault exits to EL2 with its syndrome, FAR and HPFAR", async () => {
    const { cpu, stop } = await runAsm(
      `movz x1, #0x4040, lsl #16
       ldr x2, [x1, #0x18]
       str x2, [x1, #0x18]
       brk #0`,
      { setup: mmuOn(true) },
    );
    expect(stop.kind).toBe("exit");
    if (stop.kind !== "exit") return;
    const esr = stop.exit.esr;
    expect(Number(esr >> 26n)).toBe(0x24);
    expect(esr & 0x7fn).toBe((1n << 6n) | 0x0fn); // WnR, permission level 3, not S1PTW
    expect(stop.exit.far).toBe(0x4040_0018n);
    expect(stop.exit.hpfar).toBe((0x8020_0000n >> 12n) << 4n);
    expect(stop.exit.elr).toBe(0x8_0008n);
    expect(cpu.getX(2)).toBe(0n);
  });

  it("a stage-2 fault on a stage-1 table access exits to EL2 with S1PTW", async () => {
    const { stop } = await runAsm(
      `movz x1, #0x4060, lsl #16
       ldr x2, [x1]
       brk #0`,
      { setup: mmuOn(true) },
    );
    expect(stop.kind).toBe("exit");
    if (stop.kind !== "exit") return;
    // DFSC translation level 1 (stage-2 level), S1PTW, ISV clear.
    expect(stop.exit.esr & 0x1ffffffn).toBe((1n << 7n) | 0x05n);
    expect(stop.exit.hpfar).toBe((0x4000_0000n >> 12n) << 4n);
    expect(stop.exit.far).toBe(0x4060_0000n);
  });
});
