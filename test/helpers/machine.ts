// Test helper: assemble a snippet and run it on a fresh flat machine at EL1, MMU off.

import { Keystone, Const, loadKeystone } from "keystone-wasm";
import { Cpu, type CpuOptions, type Stop } from "../../emulator/cpu.ts";
import { keyAt } from "../../emulator/item_at.ts";
import { PhysMemory } from "../../emulator/memory.ts";

let ks: Keystone | null = null;

/** Raw keystone assembly (no nvlab directives): bytes placed at `base`. */
export async function rawAssemble(src: string, base = 0x80000): Promise<Uint8Array> {
  if (!ks) {
    await loadKeystone();
    ks = new Keystone(keyAt(Const, "KS_ARCH_ARM64", "keystone"), keyAt(Const, "KS_MODE_LITTLE_ENDIAN", "keystone"));
  }
  return ks.asm(src, { address: base });
}

export interface Program {
  cpu: Cpu;
  mem: PhysMemory;
  stop: Stop;
}

/**
 * Assemble `src` at `base`, run it until `brk #0` (or `maxSteps`), and return the machine.
 * `setup` may seed registers or memory before the run.
 */
export async function runAsm(
  src: string,
  opts: { base?: number; maxSteps?: number; cpu?: CpuOptions; setup?: (cpu: Cpu, mem: PhysMemory) => void } = {},
): Promise<Program> {
  const base = opts.base ?? 0x80000;
  const bytes = await rawAssemble(src, base);
  const mem = new PhysMemory({ autoAllocate: true });
  mem.writeBytes(base, bytes);
  const cpu = new Cpu(mem, { stopOnBrk: true, stopOnUnvectoredEl1: true, ...opts.cpu });
  cpu.resetTo(BigInt(base));
  opts.setup?.(cpu, mem);
  const stop = cpu.run(opts.maxSteps ?? 100_000);
  return { cpu, mem, stop };
}
