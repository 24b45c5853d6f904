import { describe, expect, it } from "vitest";
import { enterL2, L1_VTCR, L1Stage2, L1TablePages, s2TranslationFault } from "../../../bench/lib/l1_guest.ts";
import { EC } from "../../../emulator/exception.ts";
import { faultIpaOf, kvmReadGuest } from "../../../hypervisor/mmu.ts";
import { kvmWalkNestedS2 } from "../../../hypervisor/nested_walk.ts";
import { Kvm, L1_RAM_BASE } from "../../../hypervisor/vm.ts";

const TABLES = L1_RAM_BASE + 0x10_0000n;

function setup(tablePages = 16) {
  const kvm = new Kvm({ memory: 32n << 20n });
  const slot = kvm.memslots[0]!;
  const s2 = new L1Stage2(slot, new L1TablePages(slot, TABLES, TABLES + BigInt(tablePages) * 0x1000n));
  const walk = (nipa: bigint) => kvmWalkNestedS2((a) => kvmReadGuest(kvm, a, 8), L1_VTCR, s2.root, nipa);
  return { kvm, s2, walk };
}

describe("bench L1 guest", () => {
  it("writes stage-2 tables in L1 memory that L0's walker translates, and clears leaves", () => {
    const { s2, walk } = setup();
    s2.map(0x8000_0000n, 0x4100_0000n);
    s2.map(0x8020_1000n, 0x4100_5000n);
    const a = walk(0x8000_0123n);
    expect(a.ok && a.trans.output).toBe(0x4100_0123n);
    expect(a.ok && [a.trans.level, a.trans.readable, a.trans.writable, a.trans.executable]).toEqual([3, true, true, true]);
    const b = walk(0x8020_1008n);
    expect(b.ok && b.trans.output).toBe(0x4100_5008n);
    s2.clear(0x8000_0000n);
    const c = walk(0x8000_0000n);
    expect(c.ok).toBe(false);
    expect(!c.ok && "fsc" in c && c.fsc).toBe(0x07);
  });

  it("refuses to grow past its table area", () => {
    const { s2 } = setup(3);
    s2.map(0x8000_0000n, 0x4100_0000n); // root, level 2, level 3: the area is full
    expect(() => s2.map(0x8020_0000n, 0x4100_1000n)).toThrow(/L1 table area exhausted/);
  });

  it("enters L2: the vCPU holds a shadow MMU for the VMID and L1's tables", () => {
    const { kvm, s2 } = setup();
    const vcpu = kvm.vcpus[0]!;
    vcpu.setHypCtxt(false);
    const mmu = enterL2(vcpu, 5, s2.root);
    expect(vcpu.hwMmu).toBe(mmu);
    expect(mmu.tlbVttbr).toBe((5n << 48n) | s2.root);
    expect(mmu.tlbVtcr).toBe(L1_VTCR);
  });

  it("builds the level-3 translation fault the CPU reports for a nested IPA", () => {
    const e = s2TranslationFault(0x8000_3123n);
    expect(e.ec).toBe(EC.DABT_LOW);
    expect(Number(e.esr & 0x3fn)).toBe(0x07);
    expect(faultIpaOf(e)).toBe(0x8000_3000n);
    expect(s2TranslationFault(0x8000_3000n, 0x1234n).far).toBe(0x1234n);
  });
});
