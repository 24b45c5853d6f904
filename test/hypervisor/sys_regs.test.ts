// The virtual EL2 register file: L1's trapped EL2 and EL1 register accesses.

import { describe, expect, it } from "vitest";
import { EC, esr } from "../../emulator/exception.ts";
import { hex } from "../../emulator/types.ts";
import { HCR_VEL2 } from "../../hypervisor/emulate_nested.ts";
import {
  spsrEl2ToHw, translateSctlrEl2ToEl1, translateTcrEl2ToEl1, translateTtbr0El2ToEl1,
} from "../../hypervisor/el2_translate.ts";
import {
  EL1_CTXT_REGS, EL2_TO_EL1, type El1CtxtReg, loadEl1State, loadVel2State, saveEl1State, saveVel2State, type Vel2Reg,
} from "../../hypervisor/sys_regs.ts";
import type { SysRegName } from "../../emulator/sysregs.ts";
import { Kvm } from "../../hypervisor/vm.ts";
import { OFF, bootL1, expectVel2Exception, symbolOf, vectors, vel2ExceptionL1 } from "./l0_harness.ts";

describe("vEL2 register file", () => {
  it("VTTBR_EL2, HCR_EL2 and VBAR_EL2 round-trip through the vEL2 file, not the hardware", async () => {
    const src = `
      mov64 x1, 0x0001000040200000
      msr vttbr_el2, x1
      mrs x2, vttbr_el2
      mov64 x3, 0x80000001
      msr hcr_el2, x3
      mrs x4, hcr_el2
      adr x5, vec
      orr x8, x5, #0x7f0
      msr vbar_el2, x8
      mrs x6, vbar_el2
      mrs x7, vbar_el1
      ${OFF()}
      ${vectors("vec", {})}`;
    const r = await bootL1(src);
    const vec = await symbolOf(src, "vec");
    expect(r.outcome).toEqual({ kind: "system-off", code: 0 });
    expect(r.x(2)).toBe(0x0001_0000_4020_0000n);
    expect(r.x(4)).toBe(0x8000_0001n);
    expect(r.x(6)).toBe(vec); // VBAR_EL2[10:0] are RES0
    expect(r.x(7)).toBe(0n); // VBAR_EL1 is L2's
    const vcpu = r.kvm.vcpus[0]!;
    expect(vcpu.ctxt.el2.VTTBR_EL2).toBe(0x0001_0000_4020_0000n);
    expect(vcpu.ctxt.el2.HCR_EL2).toBe(0x8000_0001n);
    // The hardware keeps L0's values: the canonical MMU and the vEL2 trap configuration.
    expect(vcpu.cpu.sr.VTTBR_EL2).toBe(r.kvm.mmu.vttbr());
    expect(vcpu.cpu.sr.HCR_EL2).toBe(HCR_VEL2);
    // L1's vectors are live in the hardware VBAR_EL1 while vEL2 runs.
    expect(vcpu.cpu.sr.VBAR_EL1).toBe(vec);
    expect(r.metrics.sysregTraps).toBe(7);
  });

  it("CurrentEL reads EL2 at vEL2", async () => {
    const r = await bootL1(`mrs x5, currentel\n ${OFF()}`);
    expect(r.x(5)).toBe(8n);
  });

  it("L1's EL1 register writes (TVM, NV1, SP_EL1) land in L2's saved context, not in hardware", async () => {
    const src = `
      mov64 x1, 0x30d01005
      msr sctlr_el1, x1
      mrs x2, sctlr_el1
      mov64 x3, 0x40300000
      msr ttbr0_el1, x3
      mov64 x4, 0x48001234
      msr elr_el1, x4
      mov64 x5, 0x48100000
      msr sp_el1, x5
      mrs x6, sp_el1
      mov x7, sp
      ${OFF()}`;
    const r = await bootL1(src);
    const vcpu = r.kvm.vcpus[0]!;
    expect(r.outcome.kind).toBe("system-off");
    expect(r.x(2)).toBe(0x30d0_1005n);
    expect(r.x(6)).toBe(0x4810_0000n);
    expect(vcpu.ctxt.el1.SCTLR_EL1).toBe(0x30d0_1005n);
    expect(vcpu.ctxt.el1.TTBR0_EL1).toBe(0x4030_0000n);
    expect(vcpu.ctxt.el1.ELR_EL1).toBe(0x4800_1234n);
    expect(vcpu.ctxt.el1.SP_EL1).toBe(0x4810_0000n);
    // Hardware SCTLR_EL1 is still vEL2's SCTLR_EL2 (MMU off), and L1's own SP is untouched.
    expect(vcpu.cpu.sr.SCTLR_EL1 & 1n).toBe(0n);
    expect(vcpu.cpu.sr.SCTLR_EL1).toBe(translateSctlrEl2ToEl1(vcpu.ctxt.el2.SCTLR_EL2));
    expect(vcpu.cpu.sr.TTBR0_EL1).toBe(0n);
    expect(r.x(7)).not.toBe(0x4810_0000n);
  });

  it.each([
    ["SCTLR_EL2", "SCTLR_EL1", 0x30c5_183cn, translateSctlrEl2ToEl1(0x30c5_183cn)],
    ["TCR_EL2", "TCR_EL1", 0x8085_3510n, translateTcrEl2ToEl1(0x8085_3510n)],
    ["TTBR0_EL2", "TTBR0_EL1", 0xabcd_0000_4040_0000n, 0x4040_0000n],
  ] as const)("%s reaches the hardware %s translated, and reads back as written", async (reg, hw, value, hwValue) => {
    const r = await bootL1(`
      mov64 x1, ${hex(value)}
      msr ${reg.toLowerCase()}, x1
      mrs x2, ${reg.toLowerCase()}
      ${OFF()}`);
    expect(r.x(2)).toBe(value);
    expect(r.kvm.vcpus[0]!.cpu.sr[hw]).toBe(hwValue);
  });

  it("translates the nVHE EL2 formats the way KVM does", () => {
    // TCR_EL2: T0SZ=16, IRGN0/ORGN0 WB, SH0 inner, TG0 4K, PS=5 (48-bit), TBI → TBI0.
    const tcr = 16n | (1n << 8n) | (1n << 10n) | (3n << 12n) | (5n << 16n) | (1n << 20n) | (1n << 23n) | (1n << 31n);
    expect(translateTcrEl2ToEl1(tcr)).toBe(16n | (1n << 8n) | (1n << 10n) | (3n << 12n) | (1n << 23n) | (5n << 32n) | (1n << 37n));
    // SCTLR_EL2: M, C, I, WXN, EE survive; EL2-only RES1 bits do not; EL1 RES1 appear.
    expect(translateSctlrEl2ToEl1(0x30c5_0830n | 1n | 4n | (1n << 12n))).toBe(0x30d0_0800n | 1n | 4n | (1n << 12n));
    expect(translateTtbr0El2ToEl1(0xffff_0000_1234_5000n)).toBe(0x1234_5000n);
  });

  it("*_EL12 is UNDEFINED for an nVHE vEL2: the UNDEFINED exception is injected at vVBAR_EL2 + 0x200", () =>
    expectVel2Exception({
      body: `
    bad:
      msr sctlr_el12, x1
      b .`,
      esr: esr(EC.UNKNOWN, 0), elr: "bad", elrOffset: 0n,
      spsr: 0x3c9n, // EL2h, DAIF masked
    }));

  it("an exception L1 takes at its own level is reported with EL2h in SPSR_EL2, and a direct ERET returns", async () => {
    const body = `
      mov x1, #0x3c5
      msr spsr_el2, x1        // an L2 target: must not be mistaken for the exception's SPSR
    call:
      svc #5
      mov x25, #1
      ${OFF()}`;
    const src = vel2ExceptionL1(body, 0x200, "eret");
    const r = await bootL1(src);
    expect(r.outcome.kind).toBe("system-off");
    expect(r.x(20)).toBe(esr(EC.SVC64, 5));
    expect(r.x(21)).toBe((await symbolOf(src, "call")) + 4n);
    expect(r.x(22)).toBe(0x3c9n);
    expect(r.x(25)).toBe(1n);
  });
});

describe("EL1 context switch halves", () => {
  it("saveEl1State and loadEl1State copy every register of EL1_CTXT_REGS, and only those", () => {
    const kvm = new Kvm({ memory: 32n << 20n });
    const vcpu = kvm.vcpus[0]!;
    const cpu = vcpu.cpu;
    cpu.resetTo(0x4010_0000n, 1);
    const value = (i: number, salt: bigint): bigint => (salt << 32n) | BigInt(0x1000 * (i + 1));
    const hw = (r: El1CtxtReg): bigint => (r === "SP_EL1" ? cpu.readSpEl(1) : cpu.sr[r]);
    EL1_CTXT_REGS.forEach((r, i) => (r === "SP_EL1" ? cpu.writeSpEl(1, value(i, 0xaan)) : (cpu.sr[r] = value(i, 0xaan))));
    const untouched = cpu.sr.TPIDR_EL1;
    saveEl1State(vcpu);
    EL1_CTXT_REGS.forEach((r, i) => expect([r, vcpu.ctxt.el1[r]]).toEqual([r, value(i, 0xaan)]));
    EL1_CTXT_REGS.forEach((r, i) => (vcpu.ctxt.el1[r] = value(i, 0xbbn)));
    loadEl1State(vcpu);
    EL1_CTXT_REGS.forEach((r, i) => expect([r, hw(r)]).toEqual([r, value(i, 0xbbn)]));
    expect(cpu.sr.TPIDR_EL1).toBe(untouched);
  });
});

describe("vEL2 context switch halves", () => {
  it("loadVel2State puts every EL2_TO_EL1 register into its EL1 register through its translation; saveVel2State reads back the hardware-held ones", () => {
    const kvm = new Kvm({ memory: 32n << 20n });
    const vcpu = kvm.vcpus[0]!;
    const cpu = vcpu.cpu;
    cpu.resetTo(0x4010_0000n, 1);
    const entries = Object.entries(EL2_TO_EL1) as [Vel2Reg, NonNullable<(typeof EL2_TO_EL1)[Vel2Reg]>][];
    const hw = (r: SysRegName): bigint => (r === "SP_EL1" ? cpu.readSpEl(1) : cpu.sr[r]);
    entries.forEach(([r], i) => (vcpu.ctxt.el2[r] = (0xc5n << 40n) | BigInt(0x3c5 + 0x1000 * i)));
    const untouched = cpu.sr.TPIDR_EL1;
    loadVel2State(vcpu);
    for (const [r, map] of entries) {
      const v = vcpu.ctxt.el2[r];
      const want = r === "SPSR_EL2" ? spsrEl2ToHw(v) : map.xlate ? map.xlate(v) : v;
      expect([r, hw(map.el1)]).toEqual([r, want]);
    }
    expect(cpu.sr.TPIDR_EL1).toBe(untouched);
    // The hardware changes what it holds (an exception at vEL2 writes ELR/ESR/FAR, L1 moves SP).
    entries.forEach(([, map], i) => (map.el1 === "SP_EL1" ? cpu.writeSpEl(1, BigInt(0x7000 + i)) : (cpu.sr[map.el1] = BigInt(0x7000 + i))));
    const before = { ...vcpu.ctxt.el2 };
    saveVel2State(vcpu);
    for (const [r, map] of entries) {
      if (r === "SPSR_EL2") continue; // synced from the hardware only when an exception rewrote it (syncVel2Spsr)
      expect([r, vcpu.ctxt.el2[r]]).toEqual([r, map.memory ? before[r] : hw(map.el1)]);
    }
  });
});
