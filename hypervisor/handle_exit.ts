// Exit dispatch by exception class (KVM: handle_exit.c arm_exit_handlers). Each handler leaves
// the hardware ELR_EL2/SPSR_EL2 where the vCPU resumes; the run loop does the ERET. Handlers
// return 1 to resume the guest and 0 to end the run (vcpu.exitReason says why), as KVM's do.

import { EC, EC_NAMES, type Exit } from "../emulator/exception.ts";
import { HCR } from "../emulator/traps.ts";
import { hex } from "../emulator/types.ts";
import { kvmEmulateNestedEret, kvmInjectEl1Sync } from "./emulate_nested.ts";
import { GuestError } from "./errors.ts";
import { kvmHypHandleFpsimd } from "./fpsimd.ts";
import { kvmHandleGuestAbort } from "./mmu.ts";
import { kvmPsciCall } from "./psci.ts";
import { ESR_UNDEFINED, kvmHandleSys64 } from "./sys_regs.ts";
import type { KvmVcpu } from "./vcpu.ts";

function vhcr(vcpu: KvmVcpu, bit: number): boolean {
  return ((vcpu.ctxt.el2.HCR_EL2 >> BigInt(bit)) & 1n) !== 0n;
}

/** HVC: L2's goes to L1; L1's own (vEL2 to vEL2, no EL3) is a same-level exception. */
function kvmHandleHvc(vcpu: KvmVcpu, exit: Exit): number {
  vcpu.injectNestedSync(exit.esr);
  return 1;
}

/**
 * SMC (trapped by HCR_EL2.TSC; the preferred return is the SMC itself). From vEL2 it is a PSCI call
 * to L0. From L2 it reaches L1 only if L1 set TSC; otherwise, with no EL3, it is UNDEFINED for L2.
 */
function kvmHandleSmc(vcpu: KvmVcpu, exit: Exit): number {
  if (!vcpu.isHypCtxt()) {
    if (vhcr(vcpu, HCR.TSC)) vcpu.injectNestedSync(exit.esr);
    else kvmInjectEl1Sync(vcpu, ESR_UNDEFINED);
    return 1;
  }
  vcpu.skipInstr();
  return kvmPsciCall(vcpu);
}

/** WFI/WFE: L1's trap request (virtual TWI/TWE) is forwarded; otherwise the wait completes. */
function kvmHandleWfx(vcpu: KvmVcpu, exit: Exit): number {
  const isWfe = (exit.esr & 1n) !== 0n;
  if (!vcpu.isHypCtxt() && vhcr(vcpu, isWfe ? HCR.TWE : HCR.TWI)) {
    vcpu.injectNestedSync(exit.esr);
    return 1;
  }
  vcpu.skipInstr();
  return 1;
}

function kvmHandleEret(vcpu: KvmVcpu, exit: Exit): number {
  // L2 never runs with hardware NV set, so only vEL2's ERET traps.
  if (!vcpu.isHypCtxt()) return unexpectedExit(vcpu, exit);
  kvmEmulateNestedEret(vcpu);
  return 1;
}

function kvmHandleGuestAbortExit(vcpu: KvmVcpu, exit: Exit): number {
  kvmHandleGuestAbort(vcpu, exit);
  return 1;
}

/** Debug exceptions L1 routed to itself (MDCR_EL2.TDE) are L1's. */
function kvmHandleDebug(vcpu: KvmVcpu, exit: Exit): number {
  if (vcpu.isHypCtxt()) return unexpectedExit(vcpu, exit);
  vcpu.injectNestedSync(exit.esr);
  return 1;
}

/**
 * EC 0x07, a SIMD&FP access L0's CPTR_EL2.TFP trapped: the lazy switch (kvm_hyp_handle_fpsimd)
 * resumes the same instruction with the vCPU's registers loaded; if L1's virtual CPTR_EL2 traps the
 * access, L1 takes it with the hardware syndrome (kvm_handle_fpasimd).
 */
function kvmHandleFpasimd(vcpu: KvmVcpu, exit: Exit): number {
  if (kvmHypHandleFpsimd(vcpu)) return 1;
  vcpu.injectNestedSync(exit.esr);
  return 1;
}

function unexpectedExit(vcpu: KvmVcpu, exit: Exit): never {
  const name = EC_NAMES[exit.ec] ?? "reserved";
  throw new GuestError(
    `unexpected exit to L0: EC ${hex(exit.ec)} (${name}) from ${vcpu.isHypCtxt() ? "L1 (vEL2)" : "L2"} at ${hex(exit.elr)}, ESR ${hex(exit.esr)}`,
  );
}

type ExitHandler = (vcpu: KvmVcpu, exit: Exit) => number;

const ARM_EXIT_HANDLERS: Partial<Record<number, ExitHandler>> = {
  [EC.WFX]: kvmHandleWfx,
  [EC.FP_ACCESS]: kvmHandleFpasimd,
  [EC.HVC64]: kvmHandleHvc,
  [EC.SMC64]: kvmHandleSmc,
  [EC.SYS64]: (vcpu, exit) => {
    kvmHandleSys64(vcpu, exit);
    return 1;
  },
  [EC.ERET]: kvmHandleEret,
  [EC.IABT_LOW]: kvmHandleGuestAbortExit,
  [EC.DABT_LOW]: kvmHandleGuestAbortExit,
  [EC.BRK64]: kvmHandleDebug,
};

/** handle_exit: dispatch one exit. Returns 1 to resume the guest, 0 to end the run. */
export function handleExit(vcpu: KvmVcpu, exit: Exit): number {
  const handler = ARM_EXIT_HANDLERS[exit.ec] ?? unexpectedExit;
  return handler(vcpu, exit);
}
