import { describe, expect, it } from "vitest";
import { PhysMemory } from "../../emulator/memory.ts";
import { KVM_PGTABLE_PROT_R as R, KVM_PGTABLE_PROT_W as W, KVM_PGTABLE_PROT_X as X, KvmPgtable, SZ_2M, SZ_4K } from "../../hypervisor/pgtable.ts";
import { HostPagePool } from "../../hypervisor/pool.ts";

const OUT = 0x20_0000_0000n;

function setup(): KvmPgtable {
  const mem = new PhysMemory();
  return new KvmPgtable(mem, new HostPagePool(mem, 0x10_0000_0000, 256));
}

describe("KvmPgtable.wrprotect (kvm_pgtable_stage2_wrprotect)", () => {
  it("clears W on every leaf the range touches, whole blocks included, and keeps output, X and software bits", () => {
    const pgt = setup();
    pgt.map(0x4000_0000n, SZ_2M, OUT, R | W | X, 2);
    pgt.map(0x4020_0000n, SZ_4K, OUT + SZ_2M, R | W, 3);
    pgt.map(0x4020_1000n, SZ_4K, OUT + SZ_2M + SZ_4K, R, 0);
    pgt.map(0x4030_0000n, SZ_4K, OUT + 2n * SZ_2M, R | W, 0);
    // Touches the end of the block and both pages after it, not the page at 0x4030_0000.
    expect(pgt.wrprotect(0x401f_f000n, 0x3000n)).toBe(2);
    expect(pgt.getLeaf(0x4000_0000n)).toMatchObject({ size: SZ_2M, pa: OUT, prot: R | X, sw: 2 });
    expect(pgt.getLeaf(0x4020_0000n)).toMatchObject({ pa: OUT + SZ_2M, prot: R, sw: 3 });
    expect(pgt.getLeaf(0x4020_1000n)!.prot).toBe(R);
    expect(pgt.getLeaf(0x4030_0000n)!.prot).toBe(R | W);
    expect(pgt.leafCount).toBe(4);
    // relaxPerms undoes it in place.
    expect(pgt.relaxPerms(0x4020_0000n, W)).toBe(true);
    expect(pgt.getLeaf(0x4020_0000n)).toMatchObject({ pa: OUT + SZ_2M, prot: R | W, sw: 3 });
  });

  it("over the whole input range of an empty table changes nothing", () => {
    expect(setup().wrprotect(0n, 1n << 48n)).toBe(0);
  });
});
