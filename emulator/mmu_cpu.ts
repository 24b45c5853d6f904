// What the MMU code (emulator/mmu/) uses of the CPU it translates for: the system registers that
// select and shape the regime, the TLB it fills, physical memory to walk, and (for AT) raising the
// stage-2 fault a walk took. An interface, so that the MMU does not import the CPU that calls it.

import type { AccessKind, Fault } from "./fault.ts";
import type { PhysMemory } from "./memory.ts";
import type { Tlb } from "./mmu/tlb.ts";
import type { SysRegFile } from "./sysregs.ts";

export interface MmuCpu {
  readonly sr: SysRegFile;
  readonly tlb: Tlb;
  readonly mem: PhysMemory;
  abort(f: Fault, vaddr: bigint, kind: AccessKind, iss: number, flags: number): never;
}
