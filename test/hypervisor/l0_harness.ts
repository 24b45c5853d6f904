// Test harness for L0: assemble a small L1 (and optional L2 code in the same image) and boot it
// under runVm, as `nvlab run` does.

import { expect } from "vitest";
import { assemble } from "../../asm/assembler.ts";
import { runVm, type RunVmResult } from "../../lab/run.ts";
import type { VmConfig } from "../../hypervisor/vm.ts";

export const L1_BASE = 0x4010_0000n;

/** `smc #0` PSCI SYSTEM_OFF with exit code `code`. */
export const OFF = (code = 0): string => `mov64 x0, 0x84000008\n mov x1, #${code}\n smc #0`;

/** A vector table at a 2K boundary: `handlers` maps offsets (0x000, 0x200, 0x400…) to code. */
export function vectors(label: string, handlers: Record<number, string>): string {
  let s = `.balign 2048\n${label}:\n`;
  for (const off of [0x000, 0x080, 0x100, 0x180, 0x200, 0x280, 0x300, 0x380, 0x400]) {
    if (off > 0) s += `.balign 0x80\n`;
    s += `${handlers[off] ?? "b ."}\n`;
  }
  return s;
}

/**
 * The L1 prologue that prepares an ERET into L2 at EL1h (label `l2_entry`) with stage 2 off: its
 * vectors at `vec`, vHCR = RW | `hcrExtra`, VMID 5, ELR and SPSR; the ERET itself is the caller's.
 */
export function enterL2Prologue(hcrExtra = "0"): string {
  return `
      adr x0, vec
      msr vbar_el2, x0
      mov64 x0, 0x80000000 | (${hcrExtra})
      msr hcr_el2, x0
      mov64 x0, 0x0005000000000000
      msr vttbr_el2, x0
      adr x0, l2_entry
      msr elr_el2, x0
      mov x0, #0x3c5
      msr spsr_el2, x0`;
}

/**
 * An L1 that installs vectors at VBAR_EL2, runs `body`, and on an exception taken at vEL2 (vector
 * offset `vector`) saves ESR_EL2, ELR_EL2 and SPSR_EL2 in x20, x21, x22, then runs `tail`.
 */
export function vel2ExceptionL1(body: string, vector = 0x200, tail = OFF()): string {
  return `
      adr x0, vec
      msr vbar_el2, x0
      ${body}
    handler:
      mrs x20, esr_el2
      mrs x21, elr_el2
      mrs x22, spsr_el2
      ${tail}
      ${vectors("vec", { [vector]: "b handler" })}`;
}

/** An exception L1 takes at vEL2, as vel2ExceptionL1's handler saw it. */
export interface Vel2Exception {
  /** vel2ExceptionL1's `body` and `vector`. */
  body: string;
  vector?: number;
  esr: bigint;
  /** ELR_EL2: the address of label `elr` plus `elrOffset`. */
  elr: string;
  elrOffset: bigint;
  spsr: bigint;
}

/** Boot vel2ExceptionL1 and check that L1 took the exception `e` and then powered off. */
export async function expectVel2Exception(e: Vel2Exception): Promise<void> {
  const src = vel2ExceptionL1(e.body, e.vector);
  const r = await bootL1(src);
  expect(r.outcome.kind).toBe("system-off");
  expect(r.x(20)).toBe(e.esr);
  expect(r.x(21)).toBe((await symbolOf(src, e.elr)) + e.elrOffset);
  expect(r.x(22)).toBe(e.spsr);
}

export async function bootL1(
  src: string,
  opts: { maxSteps?: number; config?: Partial<VmConfig>; onConsole?: (b: number) => void } = {},
): Promise<RunVmResult & { x: (n: number) => bigint }> {
  const image = await assemble(src, { base: L1_BASE, file: "l1.S" });
  const r = runVm({ l1: image, maxSteps: opts.maxSteps ?? 100_000, config: { memory: 16n << 20n, ...opts.config }, onConsole: opts.onConsole });
  const cpu = r.kvm.vcpus[0]!.cpu;
  return { ...r, x: (n) => cpu.getX(n) };
}

/** Address of a label in the assembled L1. */
export async function symbolOf(src: string, name: string): Promise<bigint> {
  const image = await assemble(src, { base: L1_BASE, file: "l1.S" });
  const v = image.symbols.get(name);
  if (v === undefined) throw new Error(`no symbol ${name}`);
  return v;
}
