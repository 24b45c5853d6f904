import { describe, expect, it } from "vitest";
import type { Cpu } from "../../emulator/cpu.ts";
import { EC, esr } from "../../emulator/exception.ts";
import type { PhysMemory } from "../../emulator/memory.ts";
import { runAsm } from "../helpers/machine.ts";

const BASE = 0x80000n;
const VBAR = 0x10000n;
const BRK = 0xd4200000;

/**
 * A vector table whose every entry is `brk #offset`: with stopOnBrk the run stops in the vector
 * and the stop's imm says which one was taken.
 */
function installVectors(cpu: Cpu, mem: PhysMemory): void {
  cpu.sr.VBAR_EL1 = VBAR;
  for (let off = 0; off < 0x800; off += 0x80) mem.write(Number(VBAR) + off, 4, BigInt((BRK | (off << 5)) >>> 0));
}

/** Drop to EL0 (EL0t, DAIF clear) and continue at `user`. */
const TO_EL0 = `
  adr x9, user
  msr elr_el1, x9
  msr spsr_el1, xzr
  eret
user:
`;
const EL0_ENTRY = BASE + 16n;

type Setup = (cpu: Cpu, mem: PhysMemory) => void;

async function vectored(src: string, setup?: Setup) {
  return runAsm(src, {
    cpu: { stopOnUnvectoredEl1: false },
    setup: (c, m) => {
      installVectors(c, m);
      setup?.(c, m);
    },
  });
}

describe("synchronous exception entry to EL1", () => {
  it("SVC from EL1h: vector +0x200, ELR = next instruction, SPSR = PSTATE, DAIF masked", async () => {
    const { cpu, stop } = await vectored("msr daifclr, #0xf\n svc #0x42\n brk #0");
    expect(stop).toEqual({ kind: "brk", pc: VBAR + 0x200n, imm: 0x200 });
    expect(cpu.sr.ESR_EL1).toBe(esr(EC.SVC64, 0x42));
    expect(cpu.sr.ELR_EL1).toBe(BASE + 8n);
    expect(cpu.sr.SPSR_EL1).toBe(0x5n); // EL1h, DAIF were clear
    expect(cpu.daif).toBe(0xf);
    expect(cpu.el).toBe(1);
    expect(cpu.spsel).toBe(1);
  });

  it("SVC from EL1t takes the SP_EL0 group (+0x000) and switches to SP_EL1", async () => {
    const { cpu, stop } = await vectored("msr spsel, #0\n svc #1\n brk #0", (c) => c.setSP(0x5000n));
    expect(stop.kind === "brk" && stop.imm).toBe(0x000);
    expect(cpu.sr.SPSR_EL1 & 0xfn).toBe(0x4n); // EL1t
    expect(cpu.getSP()).toBe(0x5000n);
  });

  it("SVC from EL0 takes the lower-EL group (+0x400) with SPSR.M = EL0t", async () => {
    const { cpu, stop } = await vectored(`${TO_EL0} svc #7\n brk #0`);
    expect(stop.kind === "brk" && stop.imm).toBe(0x400);
    expect(cpu.sr.ESR_EL1).toBe(esr(EC.SVC64, 7));
    expect(cpu.sr.ELR_EL1).toBe(EL0_ENTRY + 4n);
    expect(cpu.sr.SPSR_EL1).toBe(0n);
    expect(cpu.el).toBe(1);
  });

  it("BRK: EC 0x3C with the comment, return address is the BRK itself", async () => {
    const { cpu, stop } = await runAsm("nop\n brk #0x1234\n brk #0", {
      cpu: { stopOnBrk: false, stopOnUnvectoredEl1: true },
    });
    expect(stop.kind).toBe("el1-exception");
    if (stop.kind !== "el1-exception") return;
    expect(stop.esr).toBe(esr(EC.BRK64, 0x1234));
    expect(stop.elr).toBe(BASE + 4n);
    expect(stop.vector).toBe(0x200n);
    expect(cpu.sr.ELR_EL1).toBe(BASE + 4n);
  });

  it("BRK with stopOnBrk stops the run at the BRK instead", async () => {
    const { cpu, stop } = await runAsm("nop\n brk #9");
    expect(stop).toEqual({ kind: "brk", pc: BASE + 4n, imm: 9 });
    expect(cpu.sr.ESR_EL1).toBe(0n);
  });

  it("BRK goes to EL2 with MDCR_EL2.TDE", async () => {
    const { stop } = await runAsm("brk #5", { cpu: { stopOnBrk: false }, setup: (c) => (c.sr.MDCR_EL2 = 1n << 8n) });
    expect(stop.kind).toBe("exit");
    if (stop.kind === "exit") expect(stop.exit.esr).toBe(esr(EC.BRK64, 5));
  });

  it("UNDEFINED from EL0: EC 0 at +0x400, ELR = the instruction", async () => {
    const { cpu, stop } = await vectored(`${TO_EL0} mrs x0, sctlr_el1\n brk #0`);
    expect(stop.kind === "brk" && stop.imm).toBe(0x400);
    expect(cpu.sr.ESR_EL1).toBe(esr(EC.UNKNOWN, 0));
    expect(cpu.sr.ELR_EL1).toBe(EL0_ENTRY);
  });

  it("HVC and SMC are UNDEFINED at EL0; HVC with HCR_EL2.HCD and untrapped SMC at EL1 too", async () => {
    for (const [src, setup] of [
      [`${TO_EL0} hvc #0`, undefined],
      [`${TO_EL0} smc #0`, undefined],
      ["hvc #0", (c: Cpu) => (c.sr.HCR_EL2 = 1n << 29n)],
      ["smc #0", undefined],
      [".word 0xd4400000", undefined], // HLT #0
      [".word 0xd4a00001", undefined], // DCPS1
    ] as [string, Setup | undefined][]) {
      const { cpu, stop } = await vectored(`${src}\n brk #0`, setup);
      expect(stop.kind, src).toBe("brk");
      expect(cpu.sr.ESR_EL1, src).toBe(esr(EC.UNKNOWN, 0));
    }
  });
});

describe("exits to EL2", () => {
  it("HVC exits with EC 0x16, the immediate, and ELR = next instruction", async () => {
    const { stop, cpu } = await runAsm("nop\n hvc #0x77\n brk #0");
    expect(stop.kind).toBe("exit");
    if (stop.kind !== "exit") return;
    expect(stop.exit.esr).toBe(esr(EC.HVC64, 0x77));
    expect(stop.exit.elr).toBe(BASE + 8n);
    expect(cpu.el).toBe(2);
  });

  it("SMC trapped by HCR_EL2.TSC: EC 0x17, ELR = the SMC itself", async () => {
    const { stop } = await runAsm("nop\n smc #3\n brk #0", { setup: (c) => (c.sr.HCR_EL2 = 1n << 19n) });
    if (stop.kind !== "exit") return expect.unreachable();
    expect(stop.exit.esr).toBe(esr(EC.SMC64, 3));
    expect(stop.exit.elr).toBe(BASE + 4n);
  });

  it("HCR_EL2.TGE routes EL0 exceptions (SVC, UNDEFINED, BRK) to EL2", async () => {
    const tge = (c: Cpu) => (c.sr.HCR_EL2 = 1n << 27n);
    const svc = await vectored(`${TO_EL0} svc #1\n brk #0`, tge);
    if (svc.stop.kind !== "exit") return expect.unreachable();
    expect(svc.stop.exit.esr).toBe(esr(EC.SVC64, 1));
    expect(svc.stop.exit.elr).toBe(EL0_ENTRY + 4n);
    expect(svc.stop.exit.spsr).toBe(0n);
    expect(svc.cpu.sr.ESR_EL1).toBe(0n);
    const und = await vectored(`${TO_EL0} mrs x0, ttbr0_el1\n brk #0`, tge);
    if (und.stop.kind !== "exit") return expect.unreachable();
    expect(und.stop.exit.esr).toBe(esr(EC.UNKNOWN, 0));
    const brk = await runAsm(`${TO_EL0} brk #2`, { cpu: { stopOnBrk: false }, setup: tge });
    if (brk.stop.kind !== "exit") return expect.unreachable();
    expect(brk.stop.exit.esr).toBe(esr(EC.BRK64, 2));
  });
});

describe("exception return", () => {
  it("ERET to EL1t restores PC, flags, DAIF and SPSel", async () => {
    const { cpu, stop } = await runAsm(`
      adr x1, target
      msr elr_el1, x1
      movz x2, #0x6000, lsl #16  // Z C
      movk x2, #0x144            // A F, EL1t
      msr spsr_el1, x2
      eret
      brk #1
    target:
      brk #0`);
    expect(stop.kind === "brk" && stop.imm).toBe(0);
    expect(cpu.nzcv()).toBe(0b0110);
    expect(cpu.daif).toBe(0b0101);
    expect(cpu.spsel).toBe(0);
    expect(cpu.el).toBe(1);
  });

  it("ERET is UNDEFINED at EL0", async () => {
    const { cpu, stop } = await vectored(`${TO_EL0} eret\n brk #0`);
    expect(stop.kind === "brk" && stop.imm).toBe(0x400);
    expect(cpu.sr.ESR_EL1).toBe(esr(EC.UNKNOWN, 0));
  });

  it("an illegal return (to EL2) sets PSTATE.IL; the next instruction takes EC 0x0E", async () => {
    const { cpu, stop } = await vectored(`
      adr x1, target
      msr elr_el1, x1
      mov x2, #0x9           // EL2h: higher than the current EL
      orr x2, x2, #0x80000000
      msr spsr_el1, x2
      eret
    target:
      nop`);
    expect(stop.kind === "brk" && stop.imm).toBe(0x200);
    expect(cpu.sr.ESR_EL1).toBe(esr(EC.ILLEGAL, 0));
    expect(cpu.sr.ELR_EL1).toBe(BASE + 24n); // the instruction at `target`
    expect(cpu.sr.SPSR_EL1 & (1n << 20n)).toBe(1n << 20n); // IL recorded
    expect(cpu.sr.SPSR_EL1 >> 28n).toBe(0x8n); // N copied from the SPSR
    expect(cpu.il).toBe(0);
  });

  it("an illegal return (EL0 with SP_ELx) stays at EL1", async () => {
    const { cpu, stop } = await vectored(`
      adr x1, target
      msr elr_el1, x1
      mov x2, #0x1
      msr spsr_el1, x2
      eret
    target:
      nop`);
    expect(stop.kind === "brk" && stop.imm).toBe(0x200); // still EL1h
    expect(cpu.sr.ESR_EL1).toBe(esr(EC.ILLEGAL, 0));
  });

  it("round trip: EL0 SVC handler returns with ERET to the next instruction", async () => {
    const { cpu, stop } = await runAsm(`
      adr x1, vectors
      msr vbar_el1, x1
      ${TO_EL0}
      mov x0, #1
      svc #0
      add x0, x0, #10
      brk #0
      .balign 2048
    vectors:
      .skip 0x400
      add x0, x0, #100       // lower EL synchronous
      eret`);
    expect(stop.kind).toBe("brk");
    expect(cpu.getX(0)).toBe(111n);
    expect(cpu.el).toBe(0);
  });
});

describe("exception loops count against the step budget", () => {
  it("a vector whose fetch faults re-enters itself, one step per exception, until the budget ends the run", async () => {
    // Stage 1 on with an empty TTBR0 table: every fetch, the vector's included, is a level-0
    // translation fault taken to EL1 (EC 0x21), and no instruction ever retires.
    const { cpu, stop } = await runAsm("nop", {
      maxSteps: 500,
      cpu: { stopOnUnvectoredEl1: false },
      setup: (c) => {
        c.sr.VBAR_EL1 = VBAR;
        c.sr.TCR_EL1 = 16n | (5n << 32n);
        c.sr.TTBR0_EL1 = 0x20_0000n;
        c.sr.SCTLR_EL1 |= 1n;
      },
    });
    expect(stop.kind).toBe("budget");
    expect(cpu.steps).toBe(500);
    expect(cpu.sr.ESR_EL1).toBe(esr(EC.IABT_CUR, 0x04));
    expect(cpu.getPC()).toBe(VBAR + 0x200n);
  });
});
