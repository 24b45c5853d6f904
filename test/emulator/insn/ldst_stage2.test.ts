// Stage-2 data aborts of loads and stores: the syndrome the host receives (ESR_EL2 ISS with or
// without a valid instruction syndrome, FAR_EL2, HPFAR_EL2).

import { describe, expect, it } from "vitest";
import type { Cpu } from "../../../emulator/cpu.ts";
import { EC, ISS_AR, ISS_ISV, ISS_SF, ISS_SSE, ISS_WNR, ecOf, issOf } from "../../../emulator/exception.ts";
import type { PhysMemory } from "../../../emulator/memory.ts";
import type { Program } from "../../helpers/machine.ts";
import { run, setRegs } from "./ldst_run.ts";

const S2_ROOT = 0x20_0000;
/** IPA [0, 1 GiB) is mapped (identity, Normal WB, RW); the next GiB is not. */
const UNMAPPED = 0x4000_0000n;
const DFSC_TRANSLATION_L1 = 0x05;

/** 4K granule, 39-bit IPA starting at level 1, one level-1 block for the first GiB. */
function enableStage2(cpu: Cpu, mem: PhysMemory): void {
  const block = 1n | (0xfn << 2n) | (3n << 6n) | (3n << 8n) | (1n << 10n); // MemAttr WB, S2AP RW, SH, AF
  mem.write(S2_ROOT, 8, block);
  cpu.writeSysReg("VTCR_EL2", 25n | (1n << 6n) | (2n << 16n)); // T0SZ 25, SL0 = level 1, PS 40 bits
  cpu.writeSysReg("VTTBR_EL2", BigInt(S2_ROOT));
  cpu.writeSysReg("HCR_EL2", cpu.sr.HCR_EL2 | 1n); // VM
}

interface Exit {
  iss: number;
  far: bigint;
  hpfar: bigint;
}

function exitOf(p: Program): Exit {
  expect(p.stop.kind).toBe("exit");
  if (p.stop.kind !== "exit") throw new Error("no exit");
  expect(ecOf(p.stop.exit.esr)).toBe(EC.DABT_LOW);
  return { iss: issOf(p.stop.exit.esr), far: p.stop.exit.far, hpfar: p.stop.exit.hpfar };
}

const srt = (r: number): number => r << 16;
const sas = (log2: number): number => log2 << 22;

describe("stage-2 data aborts of loads and stores", () => {
  const cases: { src: string; iss: number }[] = [
    { src: "ldrsh x3, [x9, #16]", iss: ISS_ISV | sas(1) | ISS_SSE | srt(3) | ISS_SF },
    { src: "ldrb w4, [x9, x10]", iss: ISS_ISV | sas(0) | srt(4) },
    { src: "str w5, [x9, #16]", iss: ISS_ISV | sas(2) | srt(5) | ISS_WNR },
    { src: "stur xzr, [x9, #16]", iss: ISS_ISV | sas(3) | srt(31) | ISS_SF | ISS_WNR },
    { src: "ldtrsw x6, [x9, #16]", iss: ISS_ISV | sas(2) | ISS_SSE | srt(6) | ISS_SF },
    { src: "ldar x7, [x11]", iss: ISS_ISV | sas(3) | srt(7) | ISS_SF | ISS_AR },
    { src: "stlrh w8, [x11]", iss: ISS_ISV | sas(1) | srt(8) | ISS_AR | ISS_WNR },
    { src: "ldr x1, [x9, #16]!", iss: 0 },
    { src: "str x1, [x11], #16", iss: ISS_WNR },
    { src: "ldp x1, x2, [x9, #16]", iss: 0 },
    { src: "stp w1, w2, [x9, #16]", iss: ISS_WNR },
    { src: "ldxr w1, [x11]", iss: 0 },
  ];
  for (const c of cases) {
    it(`${c.src}: ISS ${c.iss & ISS_ISV ? "with" : "without"} a valid instruction syndrome`, async () => {
      const p = await run(c.src, (cpu, mem) => {
        enableStage2(cpu, mem);
        setRegs(cpu, { 9: UNMAPPED, 10: 16n, 11: UNMAPPED + 16n, 1: 0x11n });
      });
      const e = exitOf(p);
      expect(e.iss).toBe(c.iss | DFSC_TRANSLATION_L1);
      expect(e.far).toBe(UNMAPPED + 16n);
      expect(e.hpfar).toBe(((UNMAPPED + 16n) >> 12n) << 4n);
      expect(p.cpu.getX(9)).toBe(UNMAPPED); // no writeback on a fault
      expect(p.cpu.getX(11)).toBe(UNMAPPED + 16n);
      expect(p.cpu.getX(1)).toBe(0x11n);
    });
  }

  it("a store pair whose second half faults at stage 2 writes neither half", async () => {
    for (const [src, base] of [
      ["stp x1, x2, [x9]", UNMAPPED - 8n],
      ["stp w1, w2, [x9, #-4]!", UNMAPPED],
    ] as const) {
      const p = await run(src, (cpu, mem) => {
        enableStage2(cpu, mem);
        setRegs(cpu, { 1: 0x11n, 2: 0x22n, 9: base });
      });
      const e = exitOf(p);
      expect(e.iss).toBe(ISS_WNR | DFSC_TRANSLATION_L1);
      expect(e.far).toBe(UNMAPPED);
      expect(p.mem.read(Number(UNMAPPED) - 8, 8)).toBe(0n);
      expect(p.cpu.getX(9)).toBe(base);
    }
  });

  it("a load from mapped IPA space goes through stage 2", async () => {
    const p = await run("ldr x0, [x9]", (cpu, mem) => {
      enableStage2(cpu, mem);
      mem.write(0x30_0000, 8, 0xfeedn);
      cpu.setX(9, 0x30_0000n);
    });
    expect(p.stop.kind).toBe("brk");
    expect(p.cpu.getX(0)).toBe(0xfeedn);
  });
});
