// The vCPU: L1's boot state at vEL2, the run loop's outcomes, and VM construction and image loading.

import { describe, expect, it } from "vitest";
import { assemble } from "../../asm/assembler.ts";
import { HCR_VEL2 } from "../../hypervisor/emulate_nested.ts";
import { GuestError } from "../../hypervisor/errors.ts";
import { runVm } from "../../lab/run.ts";
import { kvmArchVcpuRun } from "../../hypervisor/scheduler.ts";
import { kvmResetVcpu } from "../../hypervisor/vcpu.ts";
import { Kvm, loadGuestImage } from "../../hypervisor/vm.ts";
import { L1_BASE, OFF, bootL1 } from "./l0_harness.ts";

describe("KvmVcpu", () => {
  it("boots L1 at vEL2h with the MMU off, D/A/I/F masked, on the canonical MMU", async () => {
    const r = await bootL1(`
      mrs x20, currentel
      mrs x21, daif
      mrs x22, spsel
      mrs x23, sctlr_el2
      ${OFF()}`);
    expect(r.outcome.kind).toBe("system-off");
    expect(r.x(20)).toBe(8n);
    expect(r.x(21)).toBe(0x3c0n);
    expect(r.x(22)).toBe(1n);
    expect(r.x(23) & 1n).toBe(0n);
  });

  it("reset programs the vEL2 trap configuration and the canonical MMU", () => {
    const kvm = new Kvm({ memory: 16n << 20n });
    const vcpu = kvm.vcpus[0]!;
    kvmResetVcpu(vcpu, L1_BASE);
    expect(vcpu.isHypCtxt()).toBe(true);
    expect(vcpu.hwMmu).toBe(kvm.mmu);
    expect(vcpu.cpu.sr.HCR_EL2).toBe(HCR_VEL2);
    expect(vcpu.cpu.sr.VTTBR_EL2).toBe(kvm.mmu.vttbr());
    expect(vcpu.cpu.getPC()).toBe(L1_BASE);
    expect(vcpu.cpu.pstate()).toBe(0x3c5n);
  });

  it("a guest that never exits ends on the step budget", async () => {
    const r = await bootL1("1: b 1b", { maxSteps: 5000 });
    expect(r.outcome).toMatchObject({ kind: "budget", level: "L1" });
    expect(r.steps).toBe(5000);
  });

  it("vcpuReadSysReg/vcpuWriteSysReg follow a register to wherever it lives", () => {
    const kvm = new Kvm({ memory: 16n << 20n });
    const vcpu = kvm.vcpus[0]!;
    kvmResetVcpu(vcpu, L1_BASE);
    vcpu.vcpuWriteSysReg("ELR_EL2", 0x1234n);
    expect(vcpu.cpu.sr.ELR_EL1).toBe(0x1234n); // vEL2 runs: ELR_EL2 is in hardware ELR_EL1
    vcpu.vcpuWriteSysReg("ELR_EL1", 0x5678n); // L2's, saved
    expect(vcpu.cpu.sr.ELR_EL1).toBe(0x1234n);
    expect(vcpu.vcpuReadSysReg("ELR_EL1")).toBe(0x5678n);
    vcpu.vcpuWriteSysReg("VTCR_EL2", 0x8035_3510n);
    expect(vcpu.vcpuReadSysReg("VTCR_EL2")).toBe(0x8035_3510n);
    expect(vcpu.cpu.sr.VTCR_EL2).toBe(kvm.mmu.pgt.vtcr);
    vcpu.vcpuWriteSysReg("SPSR_EL2", 0x3c5n);
    expect(vcpu.vcpuReadSysReg("SPSR_EL2")).toBe(0x3c5n);
    expect(() => vcpu.vcpuReadSysReg("NOPE_EL2")).toThrow(/no register called NOPE_EL2/);
  });

  it("a GuestError from a handler ends the run with a report; the VM object stays usable", async () => {
    const kvm = new Kvm({ memory: 16n << 20n });
    const image = await assemble(`mov x1, #0x1000\n str x2, [x1]`, { base: L1_BASE });
    const vcpu = kvm.vcpus[0]!;
    kvmResetVcpu(vcpu, loadGuestImage(kvm, image));
    const r = kvmArchVcpuRun(vcpu, 1000);
    expect(r.kind).toBe("guest-error");
    if (r.kind !== "guest-error") return;
    expect(r.error).toBeInstanceOf(GuestError);
    expect(r.report.regs?.x1).toBe("0x0000000000001000");
    expect(r.report.regs?.sp).toBeDefined();
    expect(r.report.exit?.hpfar).toBe("0x10");
    expect(r.report.events?.length).toBeGreaterThan(0);
  });
});

describe("Kvm and loadGuestImage", () => {
  it("builds 2 shadow MMUs per vCPU and a memslot for L1 RAM", () => {
    const kvm = new Kvm({ memory: 32n << 20n, vcpus: 2 });
    expect(kvm.nestedMmus.length).toBe(4);
    expect(kvm.memslots[0]!.base).toBe(0x4000_0000n);
    expect(kvm.memslots[0]!.size).toBe(32n << 20n);
    expect(kvm.vcpus.map((v) => v.index)).toEqual([0, 1]);
    expect(kvm.vcpus[1]!.ctxt.el2.VMPIDR_EL2).toBe(0x8000_0001n);
  });

  it("loads an image at a given IPA (moved) and reports one outside RAM", async () => {
    const kvm = new Kvm({ memory: 16n << 20n });
    const image = await assemble(`.quad 0x1122334455667788\n`, { base: 0n });
    expect(loadGuestImage(kvm, image, 0x4020_0000n)).toBe(0x4020_0000n);
    expect(kvm.memslots[0]!.read(0x4020_0000n, 8)).toBe(0x1122_3344_5566_7788n);
    expect(() => loadGuestImage(kvm, image, 0x5000_0000n)).toThrow(/section \.text at 0x50000000\.\.0x50000008 lies outside L1 RAM \(0x40000000\.\.0x41000000\)/);
  });

  it("runVm reports an image outside RAM as a guest error", async () => {
    const image = await assemble(`nop`, { base: 0x8000_0000n });
    const r = runVm({ l1: image, config: { memory: 16n << 20n }, maxSteps: 10 });
    expect(r.outcome.kind).toBe("guest-error");
    expect(r.steps).toBe(0);
  });
});
