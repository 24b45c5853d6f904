import { describe, expect, it } from "vitest";
import { ShadowOrigin } from "../../hypervisor/shadow_origin.ts";

describe("ShadowOrigin", () => {
  it("records the canonical page of every nested page of a leaf, by page", () => {
    const o = new ShadowOrigin();
    expect(o.get(0x4000_0000n)).toBeUndefined();
    o.set(0x4000_0123n, 0x4800_0fffn);
    expect(o.get(0x4000_0000n)).toBe(0x4800_0000n);
    o.setRange(0x8000_0000n, 0x4820_0000n, 0x20_0000n);
    expect(o.size).toBe(1 + 512);
    expect(o.get(0x8000_0000n)).toBe(0x4820_0000n);
    expect(o.get(0x801f_f000n)).toBe(0x483f_f000n);
    expect(o.get(0x8020_0000n)).toBeUndefined();
    // A later install over the same nested page replaces the record.
    o.set(0x801f_f000n, 0x4000_0000n);
    expect(o.get(0x801f_f000n)).toBe(0x4000_0000n);
    expect(o.size).toBe(1 + 512);
    // A leaf across 2M regions, and canonical page 0.
    o.setRange(0x901f_f000n, 0n, 0x2000n);
    expect(o.get(0x901f_f000n)).toBe(0n);
    expect(o.get(0x9020_0000n)).toBe(0x1000n);
    expect(o.get(0x9020_1000n)).toBeUndefined();
    expect(o.size).toBe(1 + 512 + 2);
    // 48-bit addresses round-trip exactly.
    o.set(0xffff_ffff_f000n, 0xffff_ffff_e000n);
    expect(o.get(0xffff_ffff_f000n)).toBe(0xffff_ffff_e000n);
    o.clear();
    expect(o.size).toBe(0);
  });
});
