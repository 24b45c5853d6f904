// Invariant L (lab/check_l1.ts): after L0 handles an L1 stage-2 TLBI, every shadow leaf the TLBI
// covers (L1's whole cached leaf, as the architecture says) agrees with L1's stage-2 as it is now,
// or is gone. Driven on the real L0 paths: L1's tables in L1 memory, shadow faults through
// kvmHandleGuestAbort, L1's TLBIs through kvmHandleSysTlbi.

import { describe, expect, it } from "vitest";
import { sysRegIss } from "../../emulator/exception.ts";
import { tlbiByName } from "../../emulator/tlbi.ts";
import { kvmHandleGuestAbort } from "../../hypervisor/mmu.ts";
import { kvmHandleSysTlbi } from "../../hypervisor/tlbi.ts";
import { Kvm, type VmConfig } from "../../hypervisor/vm.ts";
import { checkInvariants, formatViolation, violationDetails } from "../../lab/check.ts";
import { enterL2, L1Stage2, s2Abort, useL1Stage2 } from "../../lab/fixtures/l1_stage2.ts";
import { hex } from "../../emulator/types.ts";

const SZ_4K = 0x1000n;
const SZ_2M = 0x20_0000n;
const NESTED = 0x8000_0000n;
/** Two canonical 2M blocks of L2 memory: the old one and the one L1 moves the mapping to. */
const OLD = 0x4200_0000n;
const NEW = 0x4240_0000n;
const VMID = 1;

/**
 * The VM configuration that keeps the split-and-keep partial unmap (nvlab's behaviour before it
 * unmapped whole leaves as KVM does): the bug of the issue L was first written to catch.
 */
const SPLIT_AND_KEEP: Partial<VmConfig> = { stage2UnmapSplit: true };

function tlbi(kvm: Kvm, name: string, xt: bigint): void {
  const op = tlbiByName(name)!;
  kvmHandleSysTlbi(kvm.vcpus[0]!, sysRegIss(1, op.op1, op.crn, op.crm, op.op2, 1, false), xt);
}

/** RIPAS2E1 operand: `pages` 4K pages from `ipa` (TG 4K, SCALE 0, even counts 2..64). */
const ripas = (ipa: bigint, pages: number): bigint => (1n << 46n) | (BigInt(pages / 2 - 1) << 39n) | (ipa >> 12n);
/** IPAS2E1 operand with a TTL hint. */
const ipas = (ipa: bigint, ttl = 0): bigint => (BigInt(ttl) << 44n) | (ipa >> 12n);

/** L1 maps nested 2M at NESTED → OLD with a block, L2 touches one page: the shadow leaf is installed. */
function world(config: Partial<VmConfig> = {}, l1Block = true) {
  const kvm = new Kvm({ memory: 48n << 20n, vcpus: 1, blocks: true, ...config });
  const vcpu = kvm.vcpus[0]!;
  vcpu.setHypCtxt(false);
  const s2 = new L1Stage2(kvm.memslots[0]!, 0x4100_0000n);
  if (l1Block) s2.map(NESTED, OLD, SZ_2M);
  else for (let k = 0n; k < 16n; k++) s2.map(NESTED + k * SZ_4K, OLD + k * SZ_4K);
  const mmu = enterL2(vcpu, s2, VMID);
  /** L2 touches `ipa`; the checker runs right after, as it does after every L0 action. */
  const fault = (ipa: bigint): void => {
    enterL2(vcpu, s2, VMID);
    kvmHandleGuestAbort(vcpu, s2Abort(ipa));
    expect(checkInvariants(kvm)).toBeNull();
  };
  fault(NESTED + 0x5000n);
  /** L1 runs (at vEL2) with its registers pointing at the L2's stage-2, as when it issues TLBIs. */
  const asL1 = (): void => {
    useL1Stage2(vcpu, s2, VMID);
  };
  return { kvm, vcpu, s2, mmu, fault, asL1 };
}

describe("L catches item 1: L1 moves a 2M block and invalidates 8K inside it", () => {
  it("with split-and-keep partial unmaps, the 510 pieces outside the 8K survive RIPAS2E1IS: invariant L names the TLBI", () => {
    const w = world(SPLIT_AND_KEEP);
    expect([...w.mmu.pgt.leaves()].map((l) => l.size)).toEqual([SZ_2M]);
    // Break-before-make: invalid, TLBI over 8K inside the block, then the new block.
    w.s2.clear(NESTED, 2);
    w.asL1();
    tlbi(w.kvm, "RIPAS2E1IS", ripas(NESTED + 0x10_0000n, 2));
    expect([...w.mmu.pgt.leaves()].length).toBe(510);
    const v = checkInvariants(w.kvm)!;
    expect(v, "L must catch the surviving pieces").not.toBeNull();
    expect(v.invariant).toBe("L");
    expect(v.reason).toMatch(/survived L1's TLBI, but L1's stage-2 does not translate it/);
    expect(v.tlbi).toBe(`TLBI RIPAS2E1IS ${hex(ripas(NESTED + 0x10_0000n, 2))} (L1 VMID 1)`);
    expect(v.leaf.size).toBe(SZ_4K);
    expect(v.canonicalIpa).toBe(OLD + (v.nestedIpa - NESTED));
    expect(v.l1Maps).toBeNull();
    const text = formatViolation(v);
    expect(text).toMatch(/^invariant L \(L1 consistency\) violated/);
    expect(text).toContain("after: TLBI RIPAS2E1IS");
    expect(violationDetails(v)).toMatchObject({ invariant: "L", title: "L1 consistency", tlbi: v.tlbi, l1Maps: null });
  });

  it("once L1 maps the new block, a piece that survived maps the old block's page: L says what L1 maps now", () => {
    const w = world(SPLIT_AND_KEEP);
    w.s2.clear(NESTED, 2);
    w.s2.map(NESTED, NEW, SZ_2M);
    w.asL1();
    tlbi(w.kvm, "RIPAS2E1IS", ripas(NESTED + 0x10_0000n, 2));
    const v = checkInvariants(w.kvm)!;
    expect(v.invariant).toBe("L");
    expect(v.reason).toContain(`L1's stage-2 now maps canonical IPA ${hex(NEW + (v.nestedIpa - NESTED))}`);
    expect(v.l1Maps).toBe(NEW + (v.nestedIpa - NESTED));
  });
});

describe("L: what a TLBI covers, and what it does not", () => {
  it("IPAS2E1IS without a hint inside L1's 2M block: KVM sizes it from the shadow leaf's level tag, the whole leaf goes, L holds", () => {
    const w = world();
    w.s2.clear(NESTED, 2);
    w.asL1();
    tlbi(w.kvm, "IPAS2E1IS", ipas(NESTED + 0x10_0000n));
    expect([...w.mmu.pgt.leaves()]).toEqual([]);
    expect(checkInvariants(w.kvm)).toBeNull();
  });

  it("a TTL hint that names another level than L1's leaf requires nothing: the surviving leaf is not L's business", () => {
    const w = world();
    w.s2.clear(NESTED, 2);
    w.asL1();
    // TTL 4K level 3 for a 2M block: a wrong hint.
    tlbi(w.kvm, "IPAS2E1IS", ipas(NESTED + 0x10_0000n, 0b0111));
    expect(checkInvariants(w.kvm)).toBeNull();
  });

  it("L1 changing its tables without a TLBI leaves the shadow stale, as a TLB may be: no violation until a TLBI covers it", () => {
    const w = world();
    w.s2.clear(NESTED, 2);
    w.s2.map(NESTED, NEW, SZ_2M);
    expect(checkInvariants(w.kvm)).toBeNull();
    // A TLBI elsewhere does not cover it either.
    w.asL1();
    tlbi(w.kvm, "IPAS2E1IS", ipas(NESTED + 0x40_0000n, 0b0110));
    expect(checkInvariants(w.kvm)).toBeNull();
  });

  it("a TLBI for another VMID does not cover the MMU", () => {
    const w = world();
    w.s2.clear(NESTED, 2);
    w.kvm.vcpus[0]!.vcpuWriteSysReg("VTTBR_EL2", w.s2.vttbr(VMID + 1));
    tlbi(w.kvm, "VMALLS12E1IS", 0n);
    expect(w.mmu.pgt.hasLeafIn(NESTED, SZ_2M)).toBe(true);
    expect(checkInvariants(w.kvm)).toBeNull();
  });

  it("4K host backing: RIPAS2E1IS over 8K of L1's block unmaps only those 8K (KVM's handle_ripas2e1is); the architecture's L catches the rest, KVM's reach does not", () => {
    const w = world({ blocks: false });
    w.fault(NESTED + 0x1000n);
    expect([...w.mmu.pgt.leaves()].map((l) => l.size)).toEqual([SZ_4K, SZ_4K]);
    w.s2.clear(NESTED, 2);
    w.asL1();
    tlbi(w.kvm, "RIPAS2E1IS", ripas(NESTED + 0x4000n, 2));
    // 0x5000 went, 0x1000 is outside the range but inside L1's block.
    expect([...w.mmu.pgt.leaves()].map((l) => l.ipa)).toEqual([NESTED + 0x1000n]);
    const again = (): ReturnType<typeof world> => {
      const x = world({ blocks: false });
      x.fault(NESTED + 0x1000n);
      x.s2.clear(NESTED, 2);
      x.asL1();
      tlbi(x.kvm, "RIPAS2E1IS", ripas(NESTED + 0x4000n, 2));
      return x;
    };
    expect(checkInvariants(again().kvm, { rangeTlbi: "kvm" })).toBeNull();
    const v = checkInvariants(w.kvm)!;
    expect(v.invariant).toBe("L");
    expect(v.nestedIpa).toBe(NESTED + 0x1000n);
  });

  it("VMALLS12E1IS covers every leaf of the VMID; permissions wider than L1's now are L too", () => {
    const w = world({}, false);
    expect([...w.mmu.pgt.leaves()].length).toBe(1);
    // L1 makes the page read-only and invalidates the VMID; L0 empties the MMU: fine.
    w.s2.map(NESTED + 0x5000n, OLD + 0x5000n, SZ_4K, { w: false });
    w.asL1();
    tlbi(w.kvm, "VMALLS12E1IS", 0n);
    expect(checkInvariants(w.kvm)).toBeNull();
    // A leaf that survived with write permission L1 took away: planted behind L0's back.
    w.fault(NESTED + 0x5000n);
    expect(checkInvariants(w.kvm)).toBeNull();
    const leaf = w.mmu.pgt.getLeaf(NESTED + 0x5000n)!;
    w.mmu.pgt.unmap(NESTED + 0x5000n, SZ_4K);
    w.mmu.pgt.map(NESTED + 0x5000n, SZ_4K, leaf.pa, leaf.prot | 2);
    expect(checkInvariants(w.kvm)).toBeNull();
    w.mmu.pgt.unmap = () => ({ removed: 0, start: 0n, end: 0n });
    w.asL1();
    tlbi(w.kvm, "VMALLS12E1IS", 0n);
    const v = checkInvariants(w.kvm)!;
    expect(v.invariant).toBe("L");
    expect(v.reason).toMatch(/permissions wider than L1's/);
  });
});

describe("the checker's records (lab/check_truth.ts)", () => {
  it("pieces of a split shadow block keep the block's record: a split after L1 changed its tables (no TLBI) is no violation", () => {
    const w = world();
    w.s2.clear(NESTED, 2);
    w.s2.map(NESTED, NEW, SZ_2M);
    // Walked now, a piece would name NEW; inherited, it names OLD, which its host page backs.
    expect(w.mmu.pgt.split(NESTED, SZ_2M)).toBe(1);
    expect([...w.mmu.pgt.leaves()].length).toBe(512);
    expect(checkInvariants(w.kvm)).toBeNull();
    // A TLBI covering the block makes the stale pieces L's business.
    w.asL1();
    tlbi(w.kvm, "IPAS2E1IS", ipas(NESTED + 0x3000n, 0b0110));
    expect(checkInvariants(w.kvm)).toBeNull();
    expect([...w.mmu.pgt.leaves()]).toEqual([]);
  });

  it("a recycled MMU starts afresh: its leaves under the next context are walked in that context's tables", () => {
    const w = world();
    const other = new L1Stage2(w.kvm.memslots[0]!, 0x4110_0000n);
    other.map(NESTED, NEW, SZ_2M);
    w.mmu.tlbVttbr = 1n; // invalid: emptied as a recycle leaves it (its table is emptied next)
    w.mmu.pgt.unmap(NESTED, SZ_2M);
    expect(checkInvariants(w.kvm)).toBeNull();
    w.vcpu.vcpuWriteSysReg("VTTBR_EL2", other.vttbr(VMID + 1));
    w.kvm.vcpus[0]!.hwMmu = null;
    w.mmu.refcnt = 0;
    const mmu = enterL2(w.vcpu, other, VMID + 1);
    kvmHandleGuestAbort(w.vcpu, s2Abort(NESTED + 0x5000n));
    expect(mmu.pgt.getLeaf(NESTED)).not.toBeNull();
    expect(checkInvariants(w.kvm)).toBeNull();
  });
});
