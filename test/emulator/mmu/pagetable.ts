// Test helper: build real VMSAv8-64 translation tables in PhysMemory (either stage), plus the
// register values and descriptor bits the MMU tests use.

import { Cpu } from "../../../emulator/cpu.ts";
import { PhysMemory } from "../../../emulator/memory.ts";
import { PTE_AF, PTE_NG, PTE_PXN, PTE_S2_XN, PTE_TABLE, PTE_UXN, PTE_VALID } from "../../../emulator/mmu/descriptor.ts";
import { HCR_VM, SCTLR_M, SCTLR_WXN } from "../../../emulator/mmu/regs.ts";

export { HCR_DC, HCR_PTW, HCR_VM, SCTLR_M, SCTLR_WXN } from "../../../emulator/mmu/regs.ts";
export const VALID = PTE_VALID;
export const TABLE = PTE_TABLE;
export const AF = PTE_AF;
export const NG = PTE_NG;
export const PXN = PTE_PXN;
export const UXN = PTE_UXN;
export const XN = PTE_S2_XN;
/** AP[2:1] encodings (bits[7:6]). */
export const AP_RW_EL1 = 0n << 6n;
export const AP_RW_ALL = 1n << 6n;
export const AP_RO_EL1 = 2n << 6n;
export const AP_RO_ALL = 3n << 6n;
export const SH_INNER = 3n << 8n;
export const attrIndx = (i: number): bigint => BigInt(i) << 2n;
/** Stage-2 S2AP and MemAttr. */
export const S2AP_R = 1n << 6n;
export const S2AP_W = 2n << 6n;
export const S2AP_RW = 3n << 6n;
export const MEMATTR_NORMAL_WB = 0xfn << 2n;
export const MEMATTR_DEVICE = 0x1n << 2n;
/** Table descriptor bits. */
export const PXN_TABLE = 1n << 59n;
export const UXN_TABLE = 1n << 60n;
export const AP_TABLE_NO_EL0 = 1n << 61n;
export const AP_TABLE_RO = 1n << 62n;

/** MAIR_EL1: Attr0 Normal WB, Attr1 Device-nGnRE, Attr2 Normal NC. */
export const MAIR = 0x4404ffn;

export type GranuleName = "4K" | "16K" | "64K";
export const GRANULE_SHIFT: Record<GranuleName, number> = { "4K": 12, "16K": 14, "64K": 16 };
const TG0: Record<GranuleName, bigint> = { "4K": 0n, "64K": 1n, "16K": 2n };
const TG1: Record<GranuleName, bigint> = { "16K": 1n, "4K": 2n, "64K": 3n };

export function levelShift(g: GranuleName, level: number): number {
  const s = GRANULE_SHIFT[g];
  return s + (3 - level) * (s - 3);
}

/** Simple bump allocator of table memory, aligned to each request. */
export class Allocator {
  constructor(private next: bigint) {}
  alloc(size: number): bigint {
    const sz = BigInt(size);
    this.next = (this.next + sz - 1n) & ~(sz - 1n);
    const a = this.next;
    this.next += sz;
    return a;
  }
}

export interface TablesOptions {
  granule: GranuleName;
  startLevel: number;
  /** Input-address bits (64 - TxSZ). */
  iaBits: number;
  /** Allocates table memory (addresses in the space the walker reads: IPA at stage 1). */
  alloc: Allocator;
  /** Maps a table address to the PA the test writes (stage-1 tables behind stage 2). */
  toPa?: (addr: bigint) => bigint;
}

/** One translation-table tree; `root` goes into TTBRn_EL1 / VTTBR_EL2. */
export class Tables {
  readonly root: bigint;
  private readonly g: GranuleName;
  private readonly startBits: number;
  private readonly toPa: (addr: bigint) => bigint;

  constructor(
    readonly mem: PhysMemory,
    readonly o: TablesOptions,
  ) {
    this.g = o.granule;
    this.startBits = o.iaBits - levelShift(o.granule, o.startLevel);
    this.toPa = o.toPa ?? ((a) => a);
    this.root = o.alloc.alloc(Math.max(8 << this.startBits, 64));
  }

  private index(ia: bigint, level: number): bigint {
    const bits = level === this.o.startLevel ? this.startBits : GRANULE_SHIFT[this.g] - 3;
    return (ia >> BigInt(levelShift(this.g, level))) & ((1n << BigInt(bits)) - 1n);
  }

  read(addr: bigint): bigint {
    return this.mem.read(Number(this.toPa(addr)), 8);
  }

  write(addr: bigint, desc: bigint): void {
    this.mem.write(Number(this.toPa(addr)), 8, desc);
  }

  /** Address of the descriptor for `ia` at `level`, creating the tables above it. */
  descAddr(ia: bigint, level: number): bigint {
    let table = this.root;
    for (let l = this.o.startLevel; l < level; l++) {
      const at = table + this.index(ia, l) * 8n;
      let d = this.read(at);
      if ((d & 3n) !== 3n) {
        d = this.o.alloc.alloc(1 << GRANULE_SHIFT[this.g]) | TABLE;
        this.write(at, d);
      }
      table = d & ((1n << 48n) - (1n << BigInt(GRANULE_SHIFT[this.g])));
    }
    return table + this.index(ia, level) * 8n;
  }

  /** Write a Block (level < 3) or Page (level 3) descriptor mapping `ia` to `oa`. */
  map(ia: bigint, oa: bigint, level: number, attrs: bigint): bigint {
    const addr = this.descAddr(ia, level);
    this.write(addr, oa | attrs | (level === 3 ? 3n : 1n));
    return addr;
  }

  /** Overwrite the raw descriptor for `ia` at `level`. */
  set(ia: bigint, level: number, desc: bigint): bigint {
    const addr = this.descAddr(ia, level);
    this.write(addr, desc);
    return addr;
  }

  /** OR bits into the Table descriptor for `ia` at `level` (APTable, XNTable, ...). */
  orTable(ia: bigint, level: number, bits: bigint): void {
    const addr = this.descAddr(ia, level);
    this.write(addr, this.read(addr) | bits);
  }
}

export function tcr(o: {
  t0sz?: number; tg0?: GranuleName; t1sz?: number; tg1?: GranuleName; ips?: number; epd0?: boolean; epd1?: boolean;
  a1?: boolean; as16?: boolean; tbi0?: boolean; tbi1?: boolean; hpd0?: boolean; hpd1?: boolean;
}): bigint {
  let v = BigInt(o.t0sz ?? 16) | (TG0[o.tg0 ?? "4K"] << 14n) | (BigInt(o.t1sz ?? 16) << 16n) | (TG1[o.tg1 ?? "4K"] << 30n);
  v |= BigInt(o.ips ?? 5) << 32n;
  if (o.epd0) v |= 1n << 7n;
  if (o.epd1) v |= 1n << 23n;
  if (o.a1) v |= 1n << 22n;
  if (o.as16) v |= 1n << 36n;
  if (o.tbi0) v |= 1n << 37n;
  if (o.tbi1) v |= 1n << 38n;
  if (o.hpd0) v |= 1n << 41n;
  if (o.hpd1) v |= 1n << 42n;
  return v;
}

export function vtcr(o: { t0sz: number; sl0: number; tg0?: GranuleName; ps?: number; vs?: boolean }): bigint {
  return BigInt(o.t0sz) | (BigInt(o.sl0) << 6n) | (TG0[o.tg0 ?? "4K"] << 14n) | (BigInt(o.ps ?? 5) << 16n) | (o.vs ? 1n << 19n : 0n) | (1n << 31n);
}


export function machine(opts: { autoAllocate?: boolean } = {}): { cpu: Cpu; mem: PhysMemory } {
  const mem = new PhysMemory({ autoAllocate: opts.autoAllocate ?? true });
  const cpu = new Cpu(mem);
  return { cpu, mem };
}

/** Turn stage 1 on with these tables for TTBR0 (and optionally TTBR1). */
export function enableStage1(cpu: Cpu, t: { tcr: bigint; ttbr0?: bigint; ttbr1?: bigint; mair?: bigint; sctlr?: bigint }): void {
  cpu.sr.TCR_EL1 = t.tcr;
  cpu.sr.TTBR0_EL1 = t.ttbr0 ?? 0n;
  cpu.sr.TTBR1_EL1 = t.ttbr1 ?? 0n;
  cpu.sr.MAIR_EL1 = t.mair ?? MAIR;
  cpu.sr.SCTLR_EL1 = (cpu.sr.SCTLR_EL1 & ~SCTLR_WXN) | SCTLR_M | (t.sctlr ?? 0n);
}

export function enableStage2(cpu: Cpu, t: { vtcr: bigint; root: bigint; vmid?: number }): void {
  cpu.sr.VTCR_EL2 = t.vtcr;
  cpu.sr.VTTBR_EL2 = (BigInt(t.vmid ?? 1) << 48n) | t.root;
  cpu.sr.HCR_EL2 |= HCR_VM;
}
