import { describe, expect, it } from "vitest";
import type { Cpu } from "../../../emulator/cpu.ts";
import { addressTranslate } from "../../../emulator/mmu/translate.ts";
import {
  AF, Allocator, AP_RO_EL1, AP_RW_ALL, attrIndx, enableStage1, enableStage2, HCR_DC, machine, MEMATTR_NORMAL_WB, S2AP_RW,
  SH_INNER, Tables, tcr, vtcr,
} from "./pagetable.ts";

const S2_PAGE = AF | S2AP_RW | MEMATTR_NORMAL_WB;
const RES1 = 1n << 11n;

function par(fields: { pa: bigint; attr: number; sh: number }): bigint {
  return (BigInt(fields.attr) << 56n) | fields.pa | RES1 | (BigInt(fields.sh) << 7n);
}

function parFault(fst: number, extra = 0n): bigint {
  return 1n | (BigInt(fst) << 1n) | RES1 | extra;
}

/** Stage 1 on (4K, 39-bit VA), tables at 16 MiB, optionally behind an identity stage 2. */
function setup(withStage2 = false) {
  const { cpu, mem } = machine();
  const s1 = new Tables(mem, { granule: "4K", startLevel: 1, iaBits: 39, alloc: new Allocator(0x100_0000n) });
  enableStage1(cpu, { tcr: tcr({ t0sz: 25 }), ttbr0: s1.root });
  let s2: Tables | null = null;
  if (withStage2) {
    s2 = new Tables(mem, { granule: "4K", startLevel: 1, iaBits: 39, alloc: new Allocator(0x1000_0000n) });
    enableStage2(cpu, { vtcr: vtcr({ t0sz: 25, sl0: 1 }), root: s2.root, vmid: 3 });
    s2.map(0x100_0000n, 0x100_0000n, 2, S2_PAGE);
  }
  return { cpu, s1, s2 };
}

/** Run something that takes an exception (it unwinds with a non-Error sentinel). */
function takesException(cpu: Cpu, f: () => unknown): void {
  let threw = false;
  try {
    f();
  } catch (e) {
    if (e instanceof Error) throw e;
    threw = true;
  }
  expect(threw, `expected an exception (el=${cpu.el})`).toBe(true);
}

describe("AT S1E1*/S1E0* → PAR_EL1", () => {
  it("reports IPA, SH and MAIR attribute on success", () => {
    const { cpu, s1 } = setup();
    s1.map(0x1000n, 0x4000_0000n, 3, AF | attrIndx(0) | SH_INNER);
    s1.map(0x2000n, 0x9000_0000n, 3, AF | attrIndx(1) | SH_INNER);
    s1.map(0x3000n, 0xa000_0000n, 3, AF | attrIndx(2) | SH_INNER);
    s1.map(0x20_0000n, 0x1234_0000_0000n, 2, AF | attrIndx(0));
    expect(addressTranslate(cpu, 0x1abcn, false, false)).toBe(par({ pa: 0x4000_0000n, attr: 0xff, sh: 3 }));
    expect(addressTranslate(cpu, 0x2000n, true, false)).toBe(par({ pa: 0x9000_0000n, attr: 0x04, sh: 2 }));
    expect(addressTranslate(cpu, 0x3000n, false, false)).toBe(par({ pa: 0xa000_0000n, attr: 0x44, sh: 2 }));
    expect(addressTranslate(cpu, 0x2f_f000n, false, false)).toBe(par({ pa: 0x1234_000f_f000n, attr: 0xff, sh: 0 }));
  });

  it("reports stage-1 faults in PAR (F, FST)", () => {
    const { cpu, s1 } = setup();
    s1.map(0x1000n, 0x4000_0000n, 3, AF | attrIndx(0) | AP_RO_EL1);
    s1.map(0x2000n, 0x4000_1000n, 3, attrIndx(0));
    s1.map(0x3000n, 0x4000_2000n, 3, AF | attrIndx(0) | AP_RW_ALL);
    expect(addressTranslate(cpu, 0x1000n, true, false)).toBe(parFault(0x0f));
    expect(addressTranslate(cpu, 0x1000n, false, false)).toBe(par({ pa: 0x4000_0000n, attr: 0xff, sh: 0 }));
    expect(addressTranslate(cpu, 0x1000n, false, true)).toBe(parFault(0x0f));
    expect(addressTranslate(cpu, 0x3000n, true, true)).toBe(par({ pa: 0x4000_2000n, attr: 0xff, sh: 0 }));
    expect(addressTranslate(cpu, 0x2000n, false, false)).toBe(parFault(0x0b));
    expect(addressTranslate(cpu, 0x40_0000n, false, false)).toBe(parFault(0x06));
    expect(addressTranslate(cpu, 0x80_0000_0000n, false, false)).toBe(parFault(0x04));
  });

  it("reports the flat translation with stage 1 off", () => {
    const { cpu } = machine();
    expect(addressTranslate(cpu, 0x8_1234n, false, false)).toBe(par({ pa: 0x8_1000n, attr: 0x00, sh: 2 }));
    expect(addressTranslate(cpu, 1n << 50n, false, false)).toBe(parFault(0x00));
    cpu.sr.HCR_EL2 = HCR_DC;
    expect(addressTranslate(cpu, 0x8_1234n, false, false)).toBe(par({ pa: 0x8_1000n, attr: 0xff, sh: 0 }));
  });

  it("returns the IPA (stage 1 only) when stage 2 is on", () => {
    const { cpu, s1 } = setup(true);
    s1.map(0x1000n, 0x4000_0000n, 3, AF | attrIndx(0));
    // Stage 2 does not map the output IPA: AT S1E1 does not care.
    expect(addressTranslate(cpu, 0x1000n, true, false)).toBe(par({ pa: 0x4000_0000n, attr: 0xff, sh: 0 }));
    expect(cpu.tlb.size).toBe(0);
  });

  it("takes a stage-2 fault on the stage-1 walk to EL2 as a data abort with CM=1, WnR=1, S1PTW", () => {
    const { cpu, s1 } = setup(true);
    s1.set(0x4000_0000n, 1, 0x300_0000n | 3n);
    const before = cpu.sr.PAR_EL1;
    takesException(cpu, () => addressTranslate(cpu, 0x4000_5000n, false, false));
    expect(cpu.el).toBe(2);
    // EC 0x24, IL, CM (bit 8), S1PTW (bit 7), WnR (bit 6), DFSC translation level 2.
    expect(cpu.sr.ESR_EL2).toBe((0x24n << 26n) | (1n << 25n) | (1n << 8n) | (1n << 7n) | (1n << 6n) | 0x06n);
    expect(cpu.sr.FAR_EL2).toBe(0x4000_5000n);
    expect(cpu.sr.HPFAR_EL2).toBe((0x300_0000n >> 12n) << 4n);
    expect(cpu.sr.PAR_EL1).toBe(before);
  });

  it("takes an external abort on the walk as a data abort to EL1 with CM=1, WnR=1", () => {
    const { cpu, mem } = machine({ autoAllocate: false });
    mem.addRam(0x100_0000, 0x10_0000);
    const s1 = new Tables(mem, { granule: "4K", startLevel: 1, iaBits: 39, alloc: new Allocator(0x100_0000n) });
    enableStage1(cpu, { tcr: tcr({ t0sz: 25 }), ttbr0: s1.root });
    s1.set(0x1000n, 1, 0x800_0000n | 3n);
    cpu.sr.VBAR_EL1 = 0x1_0000n;
    takesException(cpu, () => addressTranslate(cpu, 0x1000n, false, false));
    expect(cpu.sr.ESR_EL1).toBe((0x25n << 26n) | (1n << 25n) | (1n << 8n) | (1n << 6n) | 0x16n);
    expect(cpu.sr.FAR_EL1).toBe(0x1000n);
  });
});
