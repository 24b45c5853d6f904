// PLACEHOLDER — replaced by the MMU implementation (architectural VMID/ASID-tagged TLB).
export class Tlb {
  flushAll(): void {}
}
