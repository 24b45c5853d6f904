// What the benchmark drivers play of L1 without running it: its stage-2 tables (4K pages, 39-bit
// IPA, start level 1) written into L1 memory through the memslot, the virtual EL2 registers it
// programs before entering an L2, and the stage-2 abort the CPU reports when that L2 misses.

import { EC, esr, type Exit } from "../../emulator/exception.ts";
import {
  PTE_AF, PTE_S2AP_R, PTE_S2AP_W, PTE_SH_INNER, PTE_TABLE, pteAddrMask, pteS2MemAttr, S2_MEMATTR_NORMAL,
} from "../../emulator/mmu/descriptor.ts";
import { HCR_RW, HCR_VM } from "../../emulator/mmu/regs.ts";
import type { Memslot } from "../../hypervisor/memslot.ts";
import { checkNestedVcpuRequests, type KvmS2Mmu, kvmVcpuLoadHwMmu } from "../../hypervisor/nested.ts";
import type { KvmVcpu } from "../../hypervisor/vcpu.ts";

const PAGE = 0x1000n;
/** L1's VTCR: 4K granule, T0SZ 25 (39-bit IPA), start level 1, PS 40-bit, inner-shareable WBWA. */
export const L1_VTCR = 25n | (1n << 6n) | (2n << 16n) | (3n << 12n) | (1n << 10n) | (1n << 8n);
/** Stage-2 page descriptor attributes: page, MemAttr normal WB, S2AP RW, SH inner, AF. */
const LEAF_ATTRS = PTE_TABLE | pteS2MemAttr(S2_MEMATTR_NORMAL) | PTE_S2AP_R | PTE_S2AP_W | PTE_SH_INNER | PTE_AF;
const OA_MASK = pteAddrMask(12);

/** Bump allocator of zeroed table pages in L1 memory, [next, end); stage-2s may share one. */
export class L1TablePages {
  constructor(
    private readonly slot: Memslot,
    private next: bigint,
    private readonly end: bigint,
  ) {}

  alloc(): bigint {
    if (this.next >= this.end) throw new Error(`L1 table area exhausted at 0x${this.end.toString(16)}`);
    const t = this.next;
    this.next += PAGE;
    this.slot.writeBytes(t, new Uint8Array(4096));
    return t;
  }
}

/** One guest's stage-2 (4K pages only), written into L1 memory through the memslot. */
export class L1Stage2 {
  readonly root: bigint;
  private readonly word = new Uint8Array(8);
  private readonly view = new DataView(this.word.buffer);

  constructor(
    private readonly slot: Memslot,
    private readonly pages: L1TablePages,
  ) {
    this.root = pages.alloc();
  }

  /** A valid 4K leaf for nested `nipa` → canonical `cipa`: read/write/execute, normal memory, AF set. */
  map(nipa: bigint, cipa: bigint): void {
    this.write(this.leafSlot(nipa), cipa | LEAF_ATTRS);
  }

  /** Invalidate the leaf for `nipa` (the tables on the way stay). */
  clear(nipa: bigint): void {
    this.write(this.leafSlot(nipa), 0n);
  }

  /** The level-3 entry's address for `nipa`, creating the tables on the way. */
  private leafSlot(nipa: bigint): bigint {
    let table = this.root;
    for (let level = 1; level < 3; level++) {
      const at = table + ((nipa >> BigInt(39 - 9 * level)) & 0x1ffn) * 8n;
      let d = this.slot.read(at, 8);
      if ((d & PTE_TABLE) !== PTE_TABLE) {
        d = this.pages.alloc() | PTE_TABLE;
        this.write(at, d);
      }
      table = d & OA_MASK;
    }
    return table + ((nipa >> 12n) & 0x1ffn) * 8n;
  }

  private write(ipa: bigint, v: bigint): void {
    this.view.setBigUint64(0, v, true);
    this.slot.writeBytes(ipa, this.word);
  }
}

/** L1 points its virtual VTTBR/VTCR/HCR at an L2's stage-2 (VM and RW set), as before an ERET. */
export function setL2Context(vcpu: KvmVcpu, vmid: number, root: bigint): void {
  vcpu.vcpuWriteSysReg("VTTBR_EL2", (BigInt(vmid) << 48n) | root);
  vcpu.vcpuWriteSysReg("VTCR_EL2", L1_VTCR);
  vcpu.vcpuWriteSysReg("HCR_EL2", HCR_VM | HCR_RW);
}

/** L1 ERETs into the L2 of `vmid` and `root`: the vCPU takes the shadow MMU L0 finds for it. */
export function enterL2(vcpu: KvmVcpu, vmid: number, root: bigint): KvmS2Mmu {
  setL2Context(vcpu, vmid, root);
  kvmVcpuLoadHwMmu(vcpu);
  checkNestedVcpuRequests(vcpu);
  return vcpu.hwMmu!;
}

/** A level-3 translation fault of L2 on a data read of nested `ipa`, as the CPU reports it. */
export function s2TranslationFault(ipa: bigint, far = 0xffff_0000_0000_0000n): Exit {
  return { esr: esr(EC.DABT_LOW, 0x07), ec: EC.DABT_LOW, far, hpfar: (ipa >> 12n) << 4n, elr: 0x1000n, spsr: 0x5n };
}
