// FEAT_NV at EL1 (a guest hypervisor's virtual EL2) and the other EL2 trap controls of EL1
// system register accesses: every trapped access ends the run with the exact EL2 syndrome.

import { describe, expect, it } from "vitest";
import type { Cpu, Stop } from "../../emulator/cpu.ts";
import { EC, esr, sysRegIss } from "../../emulator/exception.ts";
import { SR, SYSREG_TABLE, sysRegByEncoding } from "../../emulator/sysreg_table.ts";
import { decodeSysIss } from "../../emulator/traps.ts";
import { runAsm } from "../helpers/machine.ts";

const BASE = 0x80000n;
const NV = 1n << 42n;
const NV1 = 1n << 43n;

async function run(src: string, hcr: bigint, setup?: (cpu: Cpu) => void) {
  return runAsm(`${src}\n brk #0`, {
    setup: (c) => {
      c.sr.HCR_EL2 = hcr;
      setup?.(c);
    },
  });
}

/** The exit of a trapped instruction, asserting it is one. */
function exitOf(stop: Stop) {
  if (stop.kind !== "exit") throw new Error(`expected an exit, got ${JSON.stringify(stop, (_k, v) => (typeof v === "bigint" ? v.toString(16) : v))}`);
  return stop.exit;
}

function expectUndefined(cpu: Cpu, stop: Stop, elr = BASE): void {
  expect(stop.kind).toBe("el1-exception");
  expect(cpu.sr.ESR_EL1).toBe(esr(EC.UNKNOWN, 0));
  expect(cpu.sr.ELR_EL1).toBe(elr);
}

describe("EL2 registers at EL1", () => {
  it("MSR VTTBR_EL2 traps under NV with the full ISS, before any effect", async () => {
    const { cpu, stop } = await run("nop\n msr vttbr_el2, x1", NV, (c) => c.setX(1, 0x1234_0000_8000n));
    const exit = exitOf(stop);
    expect(exit.esr).toBe(esr(EC.SYS64, sysRegIss(3, 4, 2, 1, 0, 1, false)));
    expect(exit.esr).toBe(0x6231_0822n);
    expect(exit.elr).toBe(BASE + 4n);
    expect(exit.spsr & 0xfn).toBe(0x5n);
    expect(cpu.sr.VTTBR_EL2).toBe(0n);
  });

  it("MRS HCR_EL2 traps as a read and leaves Xt alone", async () => {
    const { cpu, stop } = await run("mrs x3, hcr_el2", NV, (c) => c.setX(3, 0xdeadn));
    expect(exitOf(stop).esr).toBe(esr(EC.SYS64, sysRegIss(3, 4, 1, 1, 0, 3, true)));
    expect(cpu.getX(3)).toBe(0xdeadn);
    const t = decodeSysIss(Number(exitOf(stop).esr & 0x1ffffffn));
    expect(t).toEqual({ op0: 3, op1: 4, crn: 1, crm: 1, op2: 0, rt: 3, isRead: true });
    expect(sysRegByEncoding(t.op0, t.op1, t.crn, t.crm, t.op2)?.name).toBe("HCR_EL2");
  });

  it("every EL2 register, SP_EL1 and every *_EL12 alias traps under NV and is UNDEFINED without it", async () => {
    const el2 = SYSREG_TABLE.filter((r) => r.flags & SR.EL2);
    expect(el2.length).toBeGreaterThan(40);
    for (const r of el2) {
      const name = `s${r.op0}_${r.op1}_c${r.crn}_c${r.crm}_${r.op2}`;
      const read = await run(`mrs x5, ${name}`, NV);
      expect(exitOf(read.stop).esr, r.name).toBe(esr(EC.SYS64, sysRegIss(r.op0, r.op1, r.crn, r.crm, r.op2, 5, true)));
      const write = await run(`msr ${name}, x6`, NV);
      expect(exitOf(write.stop).esr, r.name).toBe(esr(EC.SYS64, sysRegIss(r.op0, r.op1, r.crn, r.crm, r.op2, 6, false)));
      const bare = await run(`msr ${name}, x6`, 0n);
      expectUndefined(bare.cpu, bare.stop);
    }
  });

  it("SP_EL1 (op1=4 encoding) traps with its encoding", async () => {
    const { stop } = await run("msr sp_el1, x0", NV);
    expect(exitOf(stop).esr).toBe(esr(EC.SYS64, sysRegIss(3, 4, 4, 1, 0, 0, false)));
  });

  it("an unallocated op1=4 encoding stays UNDEFINED under NV", async () => {
    const { cpu, stop } = await run("mrs x0, s3_4_c9_c9_7", NV);
    expectUndefined(cpu, stop);
  });
});

describe("virtual EL2 view", () => {
  it("CurrentEL reads EL2 (0x8) under NV, EL1 (0x4) otherwise", async () => {
    expect((await run("mrs x0, currentel", NV)).cpu.getX(0)).toBe(0x8n);
    expect((await run("mrs x0, currentel", 0n)).cpu.getX(0)).toBe(0x4n);
  });

  it("ERET traps with EC 0x1A, ISS 0, ELR = the ERET", async () => {
    const { cpu, stop } = await run("nop\n nop\n eret", NV, (c) => {
      c.sr.ELR_EL1 = 0x9000n;
      c.sr.SPSR_EL1 = 0x3c4n;
    });
    const exit = exitOf(stop);
    expect(exit.esr).toBe(esr(EC.ERET, 0));
    expect(exit.elr).toBe(BASE + 8n);
    expect(cpu.sr.ELR_EL1).toBe(0x9000n); // ERET did nothing
  });

  it("exceptions EL1 -> EL1 record SPSR_EL1.M = EL2h with {NV,NV1} = {1,0}, EL1h with NV1", async () => {
    const a = await run("svc #0", NV);
    expect(a.stop.kind).toBe("el1-exception");
    expect(a.cpu.sr.SPSR_EL1 & 0xfn).toBe(0x9n);
    const b = await run("svc #0", NV | NV1);
    expect(b.cpu.sr.SPSR_EL1 & 0xfn).toBe(0x5n);
    const c = await run("msr spsel, #0\n svc #0", NV);
    expect(c.cpu.sr.SPSR_EL1 & 0xfn).toBe(0x8n); // EL2t
  });

  it("NV1 traps VBAR_EL1, ELR_EL1 and SPSR_EL1; NV alone does not", async () => {
    const cases: [string, number[]][] = [["vbar_el1", [3, 0, 12, 0, 0]], ["elr_el1", [3, 0, 4, 0, 1]], ["spsr_el1", [3, 0, 4, 0, 0]]];
    for (const [name, [op0, op1, crn, crm, op2]] of cases) {
      const t = await run(`mrs x2, ${name}`, NV | NV1);
      expect(exitOf(t.stop).esr, name).toBe(esr(EC.SYS64, sysRegIss(op0!, op1!, crn!, crm!, op2!, 2, true)));
      const w = await run(`msr ${name}, x2`, NV | NV1);
      expect(exitOf(w.stop).esr, name).toBe(esr(EC.SYS64, sysRegIss(op0!, op1!, crn!, crm!, op2!, 2, false)));
      const ok = await run(`msr ${name}, x2\n mrs x3, ${name}`, NV, (c) => c.setX(2, 0x4000n));
      expect(ok.stop.kind, name).toBe("brk");
      expect(ok.cpu.getX(3)).toBe(0x4000n);
    }
  });

  it("HVC from the guest hypervisor still exits with EC 0x16", async () => {
    const { stop } = await run("hvc #1", NV);
    const exit = exitOf(stop);
    expect(exit.esr).toBe(esr(EC.HVC64, 1));
    expect(exit.elr).toBe(BASE + 4n);
  });

  it("SMC traps with TSC under NV (the guest hypervisor's PSCI call)", async () => {
    const { stop } = await run("smc #0", NV | (1n << 19n));
    expect(exitOf(stop).esr).toBe(esr(EC.SMC64, 0));
    expect(exitOf(stop).elr).toBe(BASE);
  });

  it("EL2-only TLBI and AT trap under NV, are UNDEFINED without it", async () => {
    const cases: [string, number[]][] = [
      ["tlbi alle1", [1, 4, 8, 7, 4, 31]],
      ["tlbi vmalls12e1is", [1, 4, 8, 3, 6, 31]],
      ["tlbi ipas2e1is, x4", [1, 4, 8, 0, 1, 4]],
      ["tlbi alle2", [1, 4, 8, 7, 0, 31]],
      ["tlbi vae2, x1", [1, 4, 8, 7, 1, 1]],
      ["sys #4, c9, c4, #6, x2", [1, 4, 9, 4, 6, 2]], // TLBI RIPAS2LE1NXS
      ["at s12e1r, x1", [1, 4, 7, 8, 4, 1]],
      ["at s1e2w, x1", [1, 4, 7, 8, 1, 1]],
    ];
    for (const [insn, [op0, op1, crn, crm, op2, rt]] of cases) {
      const t = await run(insn, NV);
      expect(exitOf(t.stop).esr, insn).toBe(esr(EC.SYS64, sysRegIss(op0!, op1!, crn!, crm!, op2!, rt!, false)));
      const u = await run(insn, 0n);
      expectUndefined(u.cpu, u.stop);
    }
  });

  it("EL1 TLBIs are not trapped by NV (only by TTLB)", async () => {
    const { stop } = await run("tlbi vmalle1is\n tlbi vae1, x1", NV);
    expect(stop.kind).toBe("brk");
  });
});

describe("HCR_EL2 virtual memory and ID traps", () => {
  const TVM = 1n << 26n;
  const TRVM = 1n << 30n;
  const group = SYSREG_TABLE.filter((r) => r.flags & SR.TVM);

  it("TVM traps writes (not reads), TRVM traps reads (not writes) of the whole group", async () => {
    expect(group.length).toBe(11);
    for (const r of group) {
      const name = `s${r.op0}_${r.op1}_c${r.crn}_c${r.crm}_${r.op2}`;
      const w = await run(`msr ${name}, x7`, TVM);
      expect(exitOf(w.stop).esr, r.name).toBe(esr(EC.SYS64, sysRegIss(r.op0, r.op1, r.crn, r.crm, r.op2, 7, false)));
      expect((await run(`mrs x7, ${name}`, TVM)).stop.kind, r.name).toBe("brk");
      const rd = await run(`mrs x7, ${name}`, TRVM);
      expect(exitOf(rd.stop).esr, r.name).toBe(esr(EC.SYS64, sysRegIss(r.op0, r.op1, r.crn, r.crm, r.op2, 7, true)));
      expect((await run(`msr ${name}, xzr`, TRVM)).stop.kind, r.name).toBe("brk");
    }
  });

  it("a TVM-trapped write of SCTLR_EL1 does not change it", async () => {
    const { cpu } = await run("msr sctlr_el1, x1", TVM, (c) => c.setX(1, 0x30d0_0801n));
    expect(cpu.sr.SCTLR_EL1).toBe(0x30d0_0800n);
  });

  it("TID3 traps ID registers, TID2 CTR/CLIDR, TACR ACTLR_EL1, CPTR_EL2.TCPAC CPACR_EL1, MDCR_EL2.TDA MDSCR_EL1", async () => {
    const cases: [string, (c: Cpu) => void, number[]][] = [
      ["mrs x0, s3_0_c0_c7_0", (c) => (c.sr.HCR_EL2 = 1n << 18n), [3, 0, 0, 7, 0]],
      ["mrs x0, ctr_el0", (c) => (c.sr.HCR_EL2 = 1n << 17n), [3, 3, 0, 0, 1]],
      ["mrs x0, clidr_el1", (c) => (c.sr.HCR_EL2 = 1n << 17n), [3, 1, 0, 0, 1]],
      ["mrs x0, actlr_el1", (c) => (c.sr.HCR_EL2 = 1n << 21n), [3, 0, 1, 0, 1]],
      ["mrs x0, cpacr_el1", (c) => (c.sr.CPTR_EL2 = 1n << 31n), [3, 0, 1, 0, 2]],
      ["mrs x0, mdscr_el1", (c) => (c.sr.MDCR_EL2 = 1n << 9n), [2, 0, 0, 2, 2]],
    ];
    for (const [insn, setup, [op0, op1, crn, crm, op2]] of cases) {
      const { stop } = await runAsm(`${insn}\n brk #0`, { setup });
      expect(exitOf(stop).esr, insn).toBe(esr(EC.SYS64, sysRegIss(op0!, op1!, crn!, crm!, op2!, 0, true)));
    }
  });
});
