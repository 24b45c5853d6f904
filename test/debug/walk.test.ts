// The debugger's traced table walks on hand-built tables: every descriptor kept, blocks, pages,
// invalid and reserved encodings, unreadable tables, access flags and stage-off identities.

import { describe, expect, it } from "vitest";
import {
  identityWalk, newWalk, stage1Perms, stage1TracedWalk, stage2Perms, stage2TracedWalk,
} from "../../debug/walk.ts";

/** A sparse 64-bit memory: address → descriptor. */
function memory(entries: [bigint, bigint][]): (a: bigint) => bigint | string | null {
  const m = new Map(entries);
  return (a) => (a >= 0x9000_0000n ? "not memory" : (m.get(a) ?? 0n));
}

// 4K granule, T0SZ 25 (39-bit VAs: start level 1), EPD1, IPS 48 bits.
const TCR = 25n | (1n << 23n) | (5n << 32n);
const regs = (ttbr: bigint) => ({ SCTLR_EL1: 1n, TCR_EL1: TCR, TTBR0_EL1: ttbr, TTBR1_EL1: 0n, MAIR_EL1: 0xffn });
// VTCR_EL2: T0SZ 24 (40 bits), SL0 1 (start level 1), 4K, PS 40 bits.
const VTCR = 24n | (1n << 6n) | (2n << 16n);

describe("traced walks", () => {
  it("stage 1: table, table, page, with each descriptor and its meaning", () => {
    const read = memory([
      [0x1000n, 0x2003n],
      [0x2008n, 0x3003n],
      [0x3018n, 0x5000n | 0x403n | (1n << 54n)],
    ]);
    const w = stage1TracedWalk(newWalk("s1", "VA", "IPA", "IPA", 0x20_3abcn), regs(0x1000n), 0x20_3abcn, read);
    expect(w.output).toBe(0x5abcn);
    expect(w.size).toBe(0x1000n);
    expect(w.steps.map((s) => [s.level, s.table, s.index, s.address, s.desc])).toEqual([
      [1, 0x1000n, 0, 0x1000n, 0x2003n],
      [2, 0x2000n, 1, 0x2008n, 0x3003n],
      [3, 0x3000n, 3, 0x3018n, 0x5000n | 0x403n | (1n << 54n)],
    ]);
    expect(w.steps[0]!.meaning).toBe("table → 0x2000");
    expect(w.perms).toBe("EL1 rw, EL0 none UXN");
  });

  it("stage 1: a 2M block, an invalid entry, a clear access flag, an unreadable table", () => {
    const block = stage1TracedWalk(newWalk("s1", "VA", "IPA", "IPA", 0x20_1234n), regs(0x1000n), 0x20_1234n,
      memory([[0x1000n, 0x2003n], [0x2008n, 0x4060_0000n | 0x401n]]));
    expect(block.output).toBe(0x4060_1234n);
    expect(block.size).toBe(0x20_0000n);
    expect(block.steps[1]!.meaning).toBe("block → 0x40600000 (EL1 rw, EL0 none)");
    const invalid = stage1TracedWalk(newWalk("s1", "VA", "IPA", "IPA", 0x20_0000n), regs(0x1000n), 0x20_0000n, memory([[0x1000n, 0x2003n]]));
    expect(invalid.output).toBeNull();
    expect(invalid.stopped).toBe("level 2: invalid descriptor (translation fault)");
    const noAf = stage1TracedWalk(newWalk("s1", "VA", "IPA", "IPA", 0n), regs(0x1000n), 0n,
      memory([[0x1000n, 0x2003n], [0x2000n, 0x3003n], [0x3000n, 0x5003n]]));
    expect(noAf.stopped).toBe("level 3: access flag clear (access flag fault)");
    const far = stage1TracedWalk(newWalk("s1", "VA", "IPA", "tables", 0n), regs(0x9000_0000n), 0n, memory([]));
    expect(far.stopped).toBe("level 1: the descriptor at tables 0x90000000 cannot be read (not memory)");
    expect(far.steps[0]!.desc).toBeNull();
  });

  it("stage 1: a VA outside TTBR0's range, and a block at level 3", () => {
    const out = stage1TracedWalk(newWalk("s1", "VA", "IPA", "IPA", 1n << 40n), regs(0x1000n), 1n << 40n, memory([]));
    expect(out.stopped).toMatch(/^level 0: 0x10000000000 is outside the ranges TCR_EL1/);
    const l3block = stage1TracedWalk(newWalk("s1", "VA", "IPA", "IPA", 0n), regs(0x1000n), 0n,
      memory([[0x1000n, 0x2003n], [0x2000n, 0x3003n], [0x3000n, 0x5401n]]));
    expect(l3block.stopped).toBe("level 3: block encoding at level 3 (translation fault)");
    expect(l3block.steps[2]!.meaning).toBe("reserved encoding");
  });

  it("stage 2: a page with S2AP and XN, and an IPA above the input size", () => {
    // Two concatenated level-1 tables: the base is 8K-aligned.
    const read = memory([[0x8008n, 0x2003n], [0x2000n, 0x3003n], [0x3000n, 0x7000n | 0x4c3n]]);
    const w = stage2TracedWalk(newWalk("s2", "IPA", "PA", "PA", 0x4000_0123n), VTCR, 0x8000n, 0x4000_0123n, read);
    expect(w.output).toBe(0x7123n);
    expect(w.perms).toBe("RWX");
    expect(stage2Perms(0x443n | (1n << 54n))).toBe("R--");
    const big = stage2TracedWalk(newWalk("s2", "IPA", "PA", "PA", 1n << 41n), VTCR, 0x1000n, 1n << 41n, read);
    expect(big.stopped).toBe("level 0: 0x20000000000 is above the 40-bit input size (translation fault)");
    const bad = stage2TracedWalk(newWalk("s2", "IPA", "PA", "PA", 0n), 3n << 6n, 0x1000n, 0n, read);
    expect(bad.stopped).toMatch(/^level 0: VTCR_EL2 0xc0 .* cannot be walked$/);
  });

  it("a stage that is off maps an address to itself", () => {
    const w = identityWalk(newWalk("s1", "VA", "IPA", "IPA", 0x1234n));
    expect(w).toMatchObject({ enabled: false, output: 0x1234n, steps: [] });
    expect(stage1Perms(0x80n | 0x40n)).toBe("EL1 ro, EL0 ro");
  });
});
