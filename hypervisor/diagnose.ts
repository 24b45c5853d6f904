// Diagnoses of guest dead ends that the architecture lets run forever or turns into a fault far
// from its cause, so the report names the cause:
//
// - A missing vector table. An exception taken by the running guest at (hardware) EL1 goes to
//   VBAR_EL1 + offset: L1's VBAR_EL2 while vEL2 runs, L2's own VBAR_EL1 while L2 runs. When that
//   vector is not memory the fetch faults at stage 2 with a syndrome about the vector, not about
//   the exception; `vectorFetchError` turns such a fetch into a GuestError naming the exception
//   that was being taken (its ESR/ELR/FAR, still in the EL1 syndrome registers).
// - A vector table of zeros (UDF): each entry takes the same exception again, without an exit,
//   until the step budget. `budgetReport` says where the vCPU was when the budget ran out and, if
//   it sits on a vector entry whose word is 0, that it is re-taking an exception there.

import { EC_NAMES, ecOf } from "../emulator/exception.ts";
import { AccessKind } from "../emulator/fault.ts";
import { translate } from "../emulator/mmu/translate.ts";
import { hex } from "../emulator/types.ts";
import { GuestError, type GuestReport } from "./errors.ts";
import { formatEvent } from "./events.ts";
import { hwPstateToVel2 } from "./el2_translate.ts";
import type { KvmVcpu } from "./vcpu.ts";

const VECTOR_TABLE_SIZE = 0x800n;
const VECTOR_ENTRY_SIZE = 0x80n;
/** How many events a GuestError report carries. */
const REPORT_EVENTS = 20;

/** Offset of `va` in the vector table at `vbar` when it is an entry's first instruction, else null. */
function vectorOffset(vbar: bigint, va: bigint): bigint | null {
  const base = vbar & ~(VECTOR_TABLE_SIZE - 1n);
  const off = va - base;
  return off >= 0n && off < VECTOR_TABLE_SIZE && off % VECTOR_ENTRY_SIZE === 0n ? off : null;
}

/** The running guest's vector base register, by the name that guest knows it. */
function vbarName(vcpu: KvmVcpu): string {
  return vcpu.isHypCtxt() ? "VBAR_EL2" : "VBAR_EL1";
}

/** The exception the guest was taking, from the hardware EL1 syndrome registers (`suffix`: its EL name). */
function pendingException(vcpu: KvmVcpu, suffix: string): string {
  const sr = vcpu.cpu.sr;
  const ec = ecOf(sr.ESR_EL1);
  return (
    `ESR_${suffix} ${hex(sr.ESR_EL1)} (EC ${hex(ec)} ${EC_NAMES[ec] ?? "reserved"}), ` +
    `ELR_${suffix} ${hex(sr.ELR_EL1)}, FAR_${suffix} ${hex(sr.FAR_EL1)}`
  );
}

/**
 * An instruction fetch that faulted at `va`, at a canonical IPA `ipa` that is not RAM: if it is
 * the first instruction of a vector entry of the running guest's table, the guest was taking an
 * exception without a vector table. Returns the GuestError to throw, or null.
 */
export function vectorFetchError(vcpu: KvmVcpu, va: bigint, ipa: bigint): GuestError | null {
  const vbar = vcpu.cpu.sr.VBAR_EL1;
  const off = vectorOffset(vbar, va);
  if (off === null) return null;
  const level = vcpu.level;
  const name = vbarName(vcpu);
  const suffix = level === "L1" ? "EL2" : "EL1";
  return new GuestError({
    reason:
      `${level} took an exception with no vector table installed (${pendingException(vcpu, suffix)}): ` +
      `${name}=${hex(vbar)}, and its vector ${name}+${hex(off)} = ${hex(va)} (canonical IPA ${hex(ipa)}) is not RAM`,
    level,
  });
}

/**
 * Where the guest resumes: the CPU's PC, or, when the budget ran out just after L0 handled an exit
 * (the CPU still at EL2), the hardware ELR_EL2/SPSR_EL2 the handler left.
 */
export function guestPc(vcpu: KvmVcpu): { pc: bigint; pstate: bigint } {
  const cpu = vcpu.cpu;
  if (cpu.el === 2) return { pc: cpu.sr.ELR_EL2, pstate: cpu.sr.SPSR_EL2 };
  return { pc: cpu.getPC(), pstate: cpu.pstate() };
}

/** What the user needs when the budget ran out: where the vCPU was, and why it may be stuck. */
export function budgetReport(vcpu: KvmVcpu): GuestReport {
  const cpu = vcpu.cpu;
  const level = vcpu.level;
  const { pc, pstate } = guestPc(vcpu);
  const regs: Record<string, string> = {};
  for (let i = 0; i < 31; i++) regs[`x${i}`] = hex(cpu.getX(i), 16);
  regs.sp = hex(cpu.getSP(), 16);
  regs.pc = hex(pc, 16);
  regs.pstate = hex(level === "L1" ? hwPstateToVel2(pstate) : pstate, 8);
  const report: GuestReport = {
    reason: `step budget exhausted while ${level} runs at pc ${hex(pc)}`,
    level,
    vcpu: vcpu.index,
    regs,
    events: vcpu.kvm.events.recent(REPORT_EVENTS).map(formatEvent),
  };
  const off = vectorOffset(cpu.sr.VBAR_EL1, pc);
  if (off !== null && cpu.el === 1) {
    const t = translate(cpu, pc, AccessKind.Fetch, false);
    if (t.ok && cpu.mem.read(t.pa, 4) === 0n) {
      const name = vbarName(vcpu);
      report.reason +=
        `: ${level} keeps re-taking an exception at ${name}+${hex(off)}, whose instruction is 0x00000000 (UDF), ` +
        `so the vector table holds no code (last: ${pendingException(vcpu, level === "L1" ? "EL2" : "EL1")})`;
    }
  }
  return report;
}


/** Complete a GuestError report with what the user needs: registers, the exit, recent events. */
export function fillGuestReport(vcpu: KvmVcpu, report: GuestReport): void {
  const cpu = vcpu.cpu;
  const exit = vcpu.lastExit;
  const fromL2 = exit ? vcpu.lastExitFromL2 : !vcpu.isHypCtxt();
  report.level ??= fromL2 ? "L2" : "L1";
  report.vcpu ??= vcpu.index;
  if (!report.regs) {
    const regs: Record<string, string> = {};
    for (let i = 0; i < 31; i++) regs[`x${i}`] = hex(cpu.getX(i), 16);
    regs.sp = hex(cpu.getSP(), 16);
    // At an exit the CPU's PC is stale: the interrupted context is in ELR_EL2/SPSR_EL2.
    const atExit = cpu.el === 2 && exit !== null;
    regs.pc = hex(atExit ? exit.elr : cpu.getPC(), 16);
    const pstate = atExit ? exit.spsr : cpu.pstate();
    regs.pstate = hex(fromL2 ? pstate : hwPstateToVel2(pstate), 8);
    report.regs = regs;
  }
  if (!report.exit && exit) {
    report.exit = {
      ec: `${hex(exit.ec)} (${EC_NAMES[exit.ec] ?? "reserved"})`,
      esr: hex(exit.esr),
      far: hex(exit.far),
      hpfar: hex(exit.hpfar),
      elr: hex(exit.elr),
    };
  }
  report.events ??= vcpu.kvm.events.recent(REPORT_EVENTS).map(formatEvent);
}
