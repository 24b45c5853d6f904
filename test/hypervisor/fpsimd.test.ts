// L0's SIMD&FP handling: one lazily switched context per vCPU (KVM's fp_owner), L1's virtual
// CPTR_EL2.TFP checked at vEL2 through the hardware CPACR_EL1 and forwarded for L2's accesses, and
// L1's CPACR_EL1 accesses pointed at L2's copy.

import { describe, expect, it } from "vitest";
import { EC, esr } from "../../emulator/exception.ts";
import { FP_ACCESS_ISS } from "../../emulator/fp/fp_access.ts";
import { translateCptrEl2ToCpacrEl1 } from "../../hypervisor/el2_translate.ts";
import { kvmSwitchToL2, kvmSwitchToVel2 } from "../../hypervisor/emulate_nested.ts";
import {
  guestHypFpsimdTrapsEnabled, kvmFpsimdRegsWritten, kvmHypHandleFpsimd,
} from "../../hypervisor/fpsimd.ts";
import { kvmResetVcpu, type KvmVcpu } from "../../hypervisor/vcpu.ts";
import { Kvm } from "../../hypervisor/vm.ts";
import { L1_BASE, OFF, bootL1, enterL2Prologue, expectVel2Exception, symbolOf, vectors } from "./l0_harness.ts";

const FP_ESR = esr(EC.FP_ACCESS, FP_ACCESS_ISS);
const TFP = "(1 << 10)";

/** L1 that enables FP for L2 (CPACR_EL1.FPEN = 11), runs `l2`, and handles lower-EL syncs with `lowerSync`. */
function fpL1(pre: string, l2: string, lowerSync: string): string {
  return `${enterL2Prologue()}
      mov64 x0, 0x40f00000
      mov sp, x0
      mov x0, #(3 << 20)
      msr cpacr_el1, x0
      ${pre}
      eret
    l2_entry:
      ${l2}
    lower_sync:
      ${lowerSync}
      ${vectors("vec", { 0x200: "b cur_sync", 0x400: "b lower_sync" })}
    cur_sync:
      ${OFF(99)}`;
}

describe("translate_cptr_el2_to_cpacr_el1", () => {
  it("TFP clear opens FPEN, TFP set closes it; TTA moves to bit 28", () => {
    expect(translateCptrEl2ToCpacrEl1(0n)).toBe(3n << 20n);
    expect(translateCptrEl2ToCpacrEl1(1n << 10n)).toBe(0n);
    expect(translateCptrEl2ToCpacrEl1(1n << 20n)).toBe((3n << 20n) | (1n << 28n));
  });
});

describe("lazy SIMD&FP switching (fp_owner)", () => {
  it("the first SIMD&FP instruction at vEL2 after reset exits once; L0 loads the state and re-executes it", async () => {
    const r = await bootL1(`
      fmov d0, #1.5
      fadd d1, d0, d0
      fmov x2, d1
      ${OFF()}`);
    expect(r.outcome.kind).toBe("system-off");
    expect(r.x(2)).toBe(0x4008_0000_0000_0000n); // 3.0
    expect(r.metrics.exits.FP_ACCESS).toBe(1);
    expect(r.metrics["fpsimd.switches"]).toBe(1);
    expect(r.kvm.vcpus[0]!.fp.owner).toBe("guest");
  });

  it("a guest that never touches SIMD&FP never exits for it", async () => {
    const r = await bootL1(`mov x2, #1\n ${OFF()}`);
    expect(r.metrics.exits.FP_ACCESS).toBeUndefined();
    expect(r.metrics["fpsimd.switches"]).toBeUndefined();
  });

  it("every world switch puts the registers back: L1 and L2 each trap once per entry, and share one register file", async () => {
    // L1 sets d0, enters L2, which reads d0 (the architecture does not bank the registers by EL),
    // writes d3 and calls back; L1 reads d3 after the injection.
    const src = fpL1(
      `fmov d0, #2.0`,
      `fmov x5, d0
       fmov d3, #-1.0
       hvc #1`,
      `fmov x6, d3
       ${OFF()}`,
    );
    const r = await bootL1(src);
    expect(r.outcome.kind).toBe("system-off");
    expect(r.x(5)).toBe(0x4000_0000_0000_0000n);
    expect(r.x(6)).toBe(0xbff0_0000_0000_0000n);
    // vEL2 first use, L2 first use after the ERET, vEL2 first use after the injection.
    expect(r.metrics.exits.FP_ACCESS).toBe(3);
    expect(r.metrics["fpsimd.switches"]).toBe(3);
    expect(r.metrics["fpsimd.saves"]).toBe(2);
  });
});

describe("L1's virtual CPTR_EL2", () => {
  it("TFP traps L1's own SIMD&FP use at vEL2: EC 0x07 taken at vEL2, not an exit to L0", async () => {
    await expectVel2Exception({
      body: `mov x0, #${TFP}\n msr cptr_el2, x0\n fpuse: fadd d0, d1, d2`,
      esr: FP_ESR, elr: "fpuse", elrOffset: 0n, spsr: 0x3c9n,
    });
  });

  it("TFP forwards L2's SIMD&FP use to L1 with EC 0x07, CV = 1, COND = 0b1110; clearing it lets L2 re-execute", async () => {
    const src = fpL1(
      `mov x0, #${TFP}
       msr cptr_el2, x0
       mov x19, #0`,
      `fmov d4, #3.0
       fadd d4, d4, d4
       fmov x7, d4
       hvc #2`,
      `add x19, x19, #1
       mrs x20, esr_el2
       mrs x21, elr_el2
       lsr x0, x20, #26
       cmp x0, #0x16
       b.eq done
       msr cptr_el2, xzr
       eret
     done:
       ${OFF()}`,
    );
    const r = await bootL1(src);
    expect(r.outcome.kind).toBe("system-off");
    expect(r.x(19)).toBe(2n); // the FP trap, then the HVC
    expect(r.x(7)).toBe(0x4018_0000_0000_0000n); // 6.0
    const r2 = await bootL1(src.replace("b.eq done", "b.eq done\n b done"));
    expect(r2.x(20)).toBe(FP_ESR);
    expect(r2.x(21)).toBe(await symbolOf(src, "l2_entry"));
    expect(r.metrics.injectionsToL1).toBe(2);
  });

  it("L1's CPACR_EL1 accesses at vEL2 reach L2's register, not vEL2's translated CPTR_EL2", async () => {
    const r = await bootL1(`
      mov x0, #${TFP}
      msr cptr_el2, x0
      mov x1, #(1 << 20)
      msr cpacr_el1, x1
      mrs x2, cpacr_el1
      ${OFF()}`);
    expect(r.outcome.kind).toBe("system-off");
    expect(r.x(2)).toBe(1n << 20n);
    const vcpu = r.kvm.vcpus[0]!;
    expect(vcpu.ctxt.el1.CPACR_EL1).toBe(1n << 20n);
    expect(vcpu.cpu.sr.CPACR_EL1).toBe(0n); // vEL2's TFP, translated
  });
});

function freshVcpu(): KvmVcpu {
  const kvm = new Kvm({ memory: 16n << 20n });
  const vcpu = kvm.vcpus[0]!;
  kvmResetVcpu(vcpu, L1_BASE);
  return vcpu;
}
const hwTfp = (vcpu: KvmVcpu): bigint => (vcpu.cpu.sr.CPTR_EL2 >> 10n) & 1n;

describe("fp_owner bookkeeping", () => {
  it("reset: host-owned, TFP set in hardware; the trap loads the vCPU's copy and clears TFP", () => {
    const vcpu = freshVcpu();
    expect(vcpu.fp.owner).toBe("host");
    expect(hwTfp(vcpu)).toBe(1n);
    vcpu.fp.vregs[5] = 0xdead;
    vcpu.fp.fpcr = 0x0040_0000;
    expect(kvmHypHandleFpsimd(vcpu)).toBe(true);
    expect(vcpu.cpu.vregs[5]).toBe(0xdead);
    expect(vcpu.cpu.fpcr).toBe(0x0040_0000);
    expect(vcpu.fp.owner).toBe("guest");
    expect(hwTfp(vcpu)).toBe(0n);
  });

  it("a world switch saves guest-owned registers into the vCPU and hands them back to the host", () => {
    const vcpu = freshVcpu();
    kvmHypHandleFpsimd(vcpu);
    vcpu.cpu.vregs[127] = 0x1234_5678;
    vcpu.cpu.fpsr = 0x1f;
    kvmSwitchToL2(vcpu);
    expect(vcpu.fp.vregs[127]).toBe(0x1234_5678);
    expect(vcpu.fp.fpsr).toBe(0x1f);
    expect(vcpu.fp.owner).toBe("host");
    expect(hwTfp(vcpu)).toBe(1n);
    expect(vcpu.kvm.metrics.get("fpsimd.saves")).toBe(1);
    kvmSwitchToVel2(vcpu); // nothing guest-owned to save
    expect(vcpu.kvm.metrics.get("fpsimd.saves")).toBe(1);
  });

  it("while L2 runs with the registers loaded, L1's TFP keeps the hardware trap set; at vEL2 it does not", () => {
    const vcpu = freshVcpu();
    vcpu.vcpuWriteSysReg("CPTR_EL2", 1n << 10n);
    kvmSwitchToL2(vcpu);
    expect(guestHypFpsimdTrapsEnabled(vcpu)).toBe(true);
    expect(kvmHypHandleFpsimd(vcpu)).toBe(false); // L1's to take
    expect(vcpu.fp.owner).toBe("host");
    vcpu.ctxt.el2.CPTR_EL2 = 0n;
    expect(kvmHypHandleFpsimd(vcpu)).toBe(true);
    expect(hwTfp(vcpu)).toBe(0n);
  });

  it("guest_hyp_fpsimd_traps_enabled with a VHE guest hypervisor reads FPEN (x0 traps, 01 only EL0 under TGE)", () => {
    const vcpu = freshVcpu();
    const E2H = 1n << 34n;
    const TGE = 1n << 27n;
    vcpu.ctxt.el2.HCR_EL2 = E2H;
    vcpu.ctxt.el2.CPTR_EL2 = 1n << 10n; // TFP means nothing with E2H
    expect(guestHypFpsimdTrapsEnabled(vcpu)).toBe(true); // FPEN = 00
    vcpu.ctxt.el2.CPTR_EL2 = 3n << 20n;
    expect(guestHypFpsimdTrapsEnabled(vcpu)).toBe(false);
    vcpu.ctxt.el2.CPTR_EL2 = 1n << 20n;
    expect(guestHypFpsimdTrapsEnabled(vcpu)).toBe(false);
    vcpu.ctxt.el2.HCR_EL2 = E2H | TGE;
    expect(guestHypFpsimdTrapsEnabled(vcpu)).toBe(false); // at vEL2
    vcpu.setHypCtxt(false);
    expect(guestHypFpsimdTrapsEnabled(vcpu)).toBe(true);
  });

  it("a debugger's write to the registers while the host owns them is what the next trap loads", () => {
    const vcpu = freshVcpu();
    vcpu.cpu.vregs[0] = 42;
    kvmFpsimdRegsWritten(vcpu);
    vcpu.cpu.vregs[0] = 0;
    kvmHypHandleFpsimd(vcpu);
    expect(vcpu.cpu.vregs[0]).toBe(42);
  });
});
