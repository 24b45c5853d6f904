// Exit dispatch: SMC and WFx from L2 with and without L1's trap bits, and exits L0 cannot handle.

import { describe, expect, it } from "vitest";
import { EC, esr } from "../../emulator/exception.ts";
import { GuestError } from "../../hypervisor/errors.ts";
import { handleExit } from "../../hypervisor/handle_exit.ts";
import { Kvm } from "../../hypervisor/vm.ts";
import { kvmResetVcpu } from "../../hypervisor/vcpu.ts";
import { OFF, bootL1, symbolOf, vectors } from "./l0_harness.ts";

const HCR_TWI = "(1 << 13)";
const HCR_TSC = "(1 << 19)";

/** L1 running `l2` at EL1h (stage 2 off, vHCR = RW | extra) and recording the first L2 exit. */
function l1With(l2: string, hcrExtra = "0"): string {
  return `
      adr x0, vec
      msr vbar_el2, x0
      mov64 x0, 0x80000000 | (${hcrExtra})
      msr hcr_el2, x0
      adr x0, l2_entry
      msr elr_el2, x0
      mov x0, #0x3c5
      msr spsr_el2, x0
      eret
    l2_entry:
      adr x0, l2vec
      msr vbar_el1, x0
      ${l2}
    lower_sync:
      mrs x20, esr_el2
      mrs x21, elr_el2
      mrs x22, esr_el1
      mrs x23, elr_el1
      ${OFF()}
      ${vectors("vec", { 0x400: "b lower_sync" })}
      ${vectors("l2vec", { 0x200: "hvc #0x99" })}`;
}

describe("handleExit", () => {
  it("SMC from L2 without virtual TSC is UNDEFINED in L2 (its own EL1 vector)", async () => {
    const src = l1With("smc_insn: smc #0\n b .");
    const r = await bootL1(src);
    expect(r.outcome.kind).toBe("system-off");
    // L2's UNDEFINED handler made an HVC, which reached L1.
    expect(r.x(20)).toBe(esr(EC.HVC64, 0x99));
    expect(r.x(22)).toBe(esr(EC.UNKNOWN, 0));
    expect(r.x(23)).toBe(await symbolOf(src, "smc_insn"));
  });

  it("SMC from L2 with virtual TSC is forwarded to L1 with the SMC as preferred return", async () => {
    const src = l1With("smc_insn: smc #3\n b .", HCR_TSC);
    const r = await bootL1(src);
    expect(r.x(20)).toBe(esr(EC.SMC64, 3));
    expect(r.x(21)).toBe(await symbolOf(src, "smc_insn"));
  });

  it("WFI from L2 is forwarded when L1 set TWI, and simply completes otherwise", async () => {
    const l2 = "wfi_insn: wfi\n hvc #1\n b .";
    const trapped = await bootL1(l1With(l2, HCR_TWI));
    expect(ecOf(trapped.x(20))).toBe(EC.WFX);
    expect(trapped.x(21)).toBe(await symbolOf(l1With(l2, HCR_TWI), "wfi_insn"));
    const plain = await bootL1(l1With(l2));
    expect(plain.x(20)).toBe(esr(EC.HVC64, 1));
  });

  it("a trap L1 asked for through its virtual HCR_EL2 (TVM) is forwarded with the hardware ESR", async () => {
    const src = l1With("msr_insn: msr sctlr_el1, x3\n b .", "(1 << 26)");
    const r = await bootL1(src);
    expect(r.x(20)).toBe(esr(EC.SYS64, (3 << 20) | (0 << 17) | (0 << 14) | (1 << 10) | (3 << 5) | (0 << 1) | 0));
    expect(r.x(21)).toBe(await symbolOf(src, "msr_insn"));
  });

  it("an exit class L0 does not handle is a GuestError naming it", () => {
    const kvm = new Kvm({ memory: 16n << 20n });
    const vcpu = kvm.vcpus[0]!;
    kvmResetVcpu(vcpu, 0x4010_0000n);
    const exit = { esr: esr(EC.ILLEGAL, 0), ec: EC.ILLEGAL, far: 0n, hpfar: 0n, elr: 0x4010_0040n, spsr: 0x3c5n };
    expect(() => handleExit(vcpu, exit)).toThrow(GuestError);
    expect(() => handleExit(vcpu, exit)).toThrow(/EC 0xe \(ILLEGAL_STATE\) from L1 \(vEL2\) at 0x40100040/);
  });
});

function ecOf(v: bigint): number {
  return Number((v >> 26n) & 0x3fn);
}
