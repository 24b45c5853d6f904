// PLACEHOLDER — replaced by the MMU implementation. Flat VA = PA while stage 1 and stage 2 are off.
import type { Cpu } from "../cpu.ts";
import { AccessKind, type Fault } from "../fault.ts";

export type Translation = { ok: true; pa: number; device: boolean } | { ok: false; fault: Fault };

export function translate(cpu: Cpu, vaddr: bigint, kind: AccessKind, _el0: boolean): Translation {
  void cpu;
  return { ok: true, pa: Number(vaddr), device: kind !== AccessKind.Fetch };
}
