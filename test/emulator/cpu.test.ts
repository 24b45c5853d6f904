import { describe, expect, it } from "vitest";
import { Cpu } from "../../emulator/cpu.ts";
import { SP } from "../../emulator/reg_slots.ts";
import { EC } from "../../emulator/exception.ts";
import { PhysMemory } from "../../emulator/memory.ts";

const ADD_X0_1 = 0x91000400; // add x0, x0, #1
const B_SELF = 0x14000000; // b .
const HVC_0 = 0xd4000002;
const BRK_0 = 0xd4200000;

function machine(words: number[], base = 0x8_0000): Cpu {
  const mem = new PhysMemory({ autoAllocate: true });
  words.forEach((w, i) => mem.write(base + 4 * i, 4, BigInt(w)));
  const cpu = new Cpu(mem, { stopOnBrk: true });
  cpu.resetTo(BigInt(base));
  return cpu;
}

describe("Cpu run loop", () => {
  it("retires exactly the step budget and resumes where it stopped", () => {
    const cpu = machine([ADD_X0_1, ADD_X0_1, ADD_X0_1, B_SELF]);
    expect(cpu.run(2)).toEqual({ kind: "budget" });
    expect(cpu.getX(0)).toBe(2n);
    expect(cpu.getPC()).toBe(0x8_0008n);
    expect(cpu.run(1000)).toEqual({ kind: "budget" });
    expect(cpu.getX(0)).toBe(3n);
    expect(cpu.getPC()).toBe(0x8_000cn);
    expect(cpu.steps).toBe(1002);
  });

  it("stops before a breakpoint and steps over it when resumed", () => {
    const cpu = machine([ADD_X0_1, ADD_X0_1, ADD_X0_1, BRK_0]);
    cpu.breakpoints.add(0x8_0008n);
    expect(cpu.run(100)).toEqual({ kind: "breakpoint", pc: 0x8_0008n });
    expect(cpu.getX(0)).toBe(2n);
    const stop = cpu.run(100);
    expect(stop.kind).toBe("brk");
    expect(cpu.getX(0)).toBe(3n);
    expect(cpu.getPC()).toBe(0x8_000cn); // a brk stop leaves the PC on the brk
  });

  it("exits to the host on HVC with the EL2 syndrome, and resumes via eretFromEl2", () => {
    const cpu = machine([HVC_0, ADD_X0_1, BRK_0]);
    const stop = cpu.run(10);
    expect(stop.kind).toBe("exit");
    if (stop.kind !== "exit") return;
    expect(stop.exit.ec).toBe(EC.HVC64);
    expect(stop.exit.elr).toBe(0x8_0004n); // HVC returns to the next instruction
    expect(stop.exit.spsr & 0xfn).toBe(0x5n); // EL1h
    expect(cpu.el).toBe(2);
    expect(() => cpu.run(1)).toThrow(/eretFromEl2/);
    cpu.eretFromEl2();
    expect(cpu.el).toBe(1);
    expect(cpu.run(10).kind).toBe("brk");
    expect(cpu.getX(0)).toBe(1n);
  });

  it("banks SP between SP_EL0 and SP_EL1 on mode changes", () => {
    const cpu = machine([B_SELF]);
    cpu.setSP(0x1000n);
    cpu.setMode(1, 0);
    expect(cpu.readSpEl(1)).toBe(0x1000n);
    cpu.setSP(0x2000n);
    expect(cpu.readSpEl(0)).toBe(0x2000n);
    cpu.setMode(1, 1);
    expect(cpu.getSP()).toBe(0x1000n);
    expect(cpu.sr.SP_EL0).toBe(0x2000n);
    cpu.writeSpEl(0, 0x3000n);
    cpu.setMode(0, 0);
    expect(cpu.getX(SP)).toBe(0x3000n);
    expect(cpu.pstate() & 0xfn).toBe(0n);
  });

  it("reads and writes all general state through the bigint API", () => {
    const cpu = machine([B_SELF]);
    for (let i = 0; i < 31; i++) cpu.setX(i, (0xfedc_ba98_7654_3210n * BigInt(i + 1)) & ((1n << 64n) - 1n));
    for (let i = 0; i < 31; i++) expect(cpu.getX(i)).toBe((0xfedc_ba98_7654_3210n * BigInt(i + 1)) & ((1n << 64n) - 1n));
    cpu.setX(31, 5n); // XZR ignores writes
    expect(cpu.getX(31)).toBe(0n);
    cpu.setNzcv(0b1010);
    expect(cpu.pstate() >> 28n).toBe(0b1010n);
    cpu.setPc(0xffff_0000_0000_1000n);
    expect(cpu.getPC()).toBe(0xffff_0000_0000_1000n);
  });

  it("takes an UNDEFINED exception to EL1 for an unallocated word", () => {
    const mem = new PhysMemory({ autoAllocate: true });
    mem.write(0x8_0000, 4, 0n); // UDF #0
    const cpu = new Cpu(mem);
    cpu.resetTo(0x8_0000n);
    cpu.sr.VBAR_EL1 = 0x9_0000n;
    cpu.run(1);
    expect(cpu.getPC()).toBe(0x9_0200n);
    expect(cpu.sr.ESR_EL1).toBe(0x0200_0000n);
    expect(cpu.sr.ELR_EL1).toBe(0x8_0000n);
    expect(cpu.sr.SPSR_EL1).toBe(0x3c5n);
  });
});
