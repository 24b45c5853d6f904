// Nested ERET from vEL2 into L2 and back, direct ERETs, illegal returns, and injection into vEL2.

import { describe, expect, it } from "vitest";
import { EC, esr } from "../../emulator/exception.ts";
import { HCR_VEL2, hcrForL2 } from "../../hypervisor/emulate_nested.ts";
import { OFF, bootL1, enterL2Prologue, expectVel2Exception, symbolOf, type Vel2Exception, vectors } from "./l0_harness.ts";

/** L1 that runs `l2` at EL1h with stage 2 off (vHCR = RW | extra), VMID 5, and handles its HVCs. */
function nestedL1(l2: string, lowerSync: string, hcrExtra = "0"): string {
  return `${enterL2Prologue(hcrExtra)}
      mov64 x0, 0x40f00000
      mov sp, x0
      mov x19, #0
    first_eret:
      eret
    l2_entry:
      ${l2}
    lower_sync:
      ${lowerSync}
      ${vectors("vec", { 0x200: "b cur_sync", 0x400: "b lower_sync" })}
    cur_sync:
      mov64 x0, 0x84000008
      mov x1, #99
      smc #0`;
}

describe("nested ERET and injection", () => {
  it("ERET enters L2 at EL1h on a shadow MMU; L2's HVC comes back at VBAR_EL2 + 0x400 with vESR/vELR/vSPSR", async () => {
    const l2 = `
      mov64 x1, 0x30d01000
      msr sctlr_el1, x1
      mov64 x2, 0x40e00000
      mov sp, x2
      mov x10, #1
    hvc1:
      hvc #0x42
      mov x11, #2
    hvc2:
      hvc #0x43
      b .`;
    const handler = `
      add x19, x19, #1
      cmp x19, #1
      b.ne 2f
      mrs x20, esr_el2
      mrs x21, elr_el2
      mrs x22, spsr_el2
      mrs x23, sctlr_el1
      mrs x24, sp_el1
      mov x25, sp
      mrs x26, currentel
      eret
    2:
      mrs x27, esr_el2
      mrs x28, elr_el2
      ${OFF(0)}`;
    const src = nestedL1(l2, handler);
    const r = await bootL1(src);
    expect(r.outcome).toEqual({ kind: "system-off", code: 0 });
    expect(r.x(20)).toBe(esr(EC.HVC64, 0x42));
    expect(r.x(21)).toBe((await symbolOf(src, "hvc1")) + 4n);
    expect(r.x(22)).toBe(0x3c5n); // L2 at EL1h, DAIF masked
    expect(r.x(23)).toBe(0x30d0_1000n); // L2's SCTLR_EL1, saved across the switch
    expect(r.x(24)).toBe(0x40e0_0000n); // L2's SP_EL1
    expect(r.x(25)).toBe(0x40f0_0000n); // L1's own SP (SP_EL2)
    expect(r.x(26)).toBe(8n);
    // The ERET from the handler resumed L2 after its first HVC.
    expect(r.x(11)).toBe(2n);
    expect(r.x(27)).toBe(esr(EC.HVC64, 0x43));
    expect(r.x(28)).toBe((await symbolOf(src, "hvc2")) + 4n);

    const kvm = r.kvm;
    const vcpu = kvm.vcpus[0]!;
    expect(r.metrics.nestedErets).toBe(2);
    expect(r.metrics.injectionsToL1).toBe(2);
    expect(r.metrics.exits.HVC64).toBe(2);
    // Back in vEL2: canonical MMU, vEL2 traps, L1's SCTLR_EL2 view in hardware.
    expect(vcpu.isHypCtxt()).toBe(true);
    expect(vcpu.hwMmu).toBe(kvm.mmu);
    expect(vcpu.cpu.sr.HCR_EL2).toBe(HCR_VEL2);
    expect(vcpu.cpu.sr.SCTLR_EL1 & 1n).toBe(0n);
    // L2 ran on a shadow MMU keyed on the virtual VTTBR, with stage 2 off in L1.
    const shadow = kvm.nestedMmus.find((m) => m.valid);
    expect(shadow?.tlbVttbr).toBe(0x0005_0000_0000_0000n);
    expect(shadow?.nestedStage2Enabled).toBe(false);
    expect(shadow?.refcnt).toBe(0);
    const erets = kvm.events.recent().filter((e) => e.kind === "eret");
    expect(erets.length).toBe(2);
    expect(erets[0]!.detail).toMatch(/vEL2 -> L2 EL1h/);
  });

  it("L1's writes to L2's EL1 registers before the ERET are what L2 finds in hardware", async () => {
    const l2 = `
      mrs x12, vbar_el1
      mrs x13, tpidr_el1
      mrs x14, elr_el1
      mov x15, sp
      hvc #0`;
    const setup = `
      adr x0, l2vec
      msr vbar_el1, x0
      mov64 x0, 0x48123000
      msr elr_el1, x0
      mov64 x0, 0x48200000
      msr sp_el1, x0
      mov x0, #0x77
      msr tpidr_el1, x0`;
    const src = nestedL1(l2, OFF(0)).replace("mov x19, #0", `mov x19, #0\n${setup}`) + "\n" + vectors("l2vec", {});
    const r = await bootL1(src);
    expect(r.outcome).toEqual({ kind: "system-off", code: 0 });
    expect(r.x(12)).toBe(await symbolOf(src, "l2vec"));
    expect(r.x(13)).toBe(0x77n);
    expect(r.x(14)).toBe(0x4812_3000n);
    expect(r.x(15)).toBe(0x4820_0000n);
  });

  it("an ERET to EL0t runs L2 at EL0: its SVC goes to L2's EL1, which calls L1", async () => {
    const handler = `
      mrs x20, esr_el2
      mrs x21, spsr_el2
      mrs x22, esr_el1
      mrs x23, spsr_el1
      mrs x24, elr_el1
      ${OFF(0)}`;
    const src =
      nestedL1("svc_insn: svc #9\n b .", handler)
        .replace("mov x19, #0", "mov x19, #0\n adr x0, l2vec\n msr vbar_el1, x0")
        .replace("mov x0, #0x3c5", "mov x0, #0x3c0") +
      "\n" +
      vectors("l2vec", { 0x400: "hvc #5" });
    const r = await bootL1(src);
    expect(r.outcome).toEqual({ kind: "system-off", code: 0 });
    expect(r.x(20)).toBe(esr(EC.HVC64, 5));
    expect(r.x(21)).toBe(0x3c5n); // the HVC came from L2's EL1h handler
    expect(r.x(22)).toBe(esr(EC.SVC64, 9));
    expect(r.x(23)).toBe(0x3c0n); // L2 was at EL0t
    expect(r.x(24)).toBe((await symbolOf(src, "svc_insn")) + 4n);
    expect(r.kvm.events.recent().some((e) => e.kind === "eret" && /vEL2 -> L2 EL0t/.test(e.detail))).toBe(true);
  });

  it("the hardware HCR_EL2 for L2 carries L1's trap bits and nothing NV", () => {
    const vhcr = (1n << 31n) | 1n | (1n << 13n) | (1n << 19n) | (1n << 42n) | (1n << 27n);
    const hw = hcrForL2(vhcr);
    expect(hw & (1n << 13n)).not.toBe(0n); // TWI
    expect(hw & (1n << 19n)).not.toBe(0n); // TSC
    expect(hw & ((1n << 42n) | (1n << 43n) | (1n << 27n))).toBe(0n); // NV, NV1, TGE
    expect(hw & 1n).toBe(1n);
  });

  it("an ERET to EL2h stays in vEL2 (direct ERET) with the PSTATE from vSPSR_EL2", async () => {
    const src = `
      adr x0, target
      msr elr_el2, x0
      mov x0, #0x9               // EL2h, DAIF clear
      msr spsr_el2, x0
      eret
      b .
    target:
      mrs x20, currentel
      mrs x21, daif
      ${OFF()}`;
    const r = await bootL1(src);
    expect(r.outcome.kind).toBe("system-off");
    expect(r.x(20)).toBe(8n);
    expect(r.x(21)).toBe(0n);
    expect(r.kvm.vcpus[0]!.isHypCtxt()).toBe(true);
    expect(r.metrics.nestedErets).toBe(1);
  });

  it.each<[string, Vel2Exception]>([
    ["an illegal ERET (to EL3) sets PSTATE.IL: L1 takes an Illegal Execution state exception at vEL2", {
      body: `
      adr x0, target
      msr elr_el2, x0
      mov x0, #0x3cd             // EL3h: not implemented
      msr spsr_el2, x0
      eret
    target:
      nop
      b .`,
      esr: esr(EC.ILLEGAL, 0), elr: "target", elrOffset: 0n,
      spsr: 0x3c9n | (1n << 20n), // still EL2h, IL set
    }],
    ["L1's own HVC is taken at vEL2: vector VBAR_EL2 + 0x200, ELR after the HVC", {
      body: `
    call:
      hvc #7
      b .`,
      esr: esr(EC.HVC64, 7), elr: "call", elrOffset: 4n, spsr: 0x3c9n,
    }],
    ["an exception from vEL2 running on SP_EL0 (EL2t) uses vector offset 0x000", {
      body: `
      msr spsel, #0
    call:
      hvc #1
      b .`,
      vector: 0x000,
      esr: esr(EC.HVC64, 1), elr: "call", elrOffset: 4n,
      spsr: 0x3c8n, // EL2t
    }],
  ])("%s", (_, e) => expectVel2Exception(e));
});
