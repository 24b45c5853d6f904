import { describe, expect, test } from "vitest";
import type { Cpu } from "../../../emulator/cpu.ts";
import { runAsm } from "../../helpers/machine.ts";
import { expectUndefined } from "./undefined.ts";

const M64 = (1n << 64n) - 1n;
const NZCV = { N: 8, Z: 4, C: 2, V: 1 };

/** Run `src` (a trailing `brk #0` is added) and return the CPU; the run must reach the brk. */
async function run(src: string, setup?: (cpu: Cpu) => void, base?: number): Promise<Cpu> {
  const p = await runAsm(`${src}\nbrk #0`, { setup: (cpu) => setup?.(cpu), base });
  expect(p.stop.kind).toBe("brk");
  return p.cpu;
}

/** Seed X registers before the run. */
const regs = (vals: Record<number, bigint>) => (cpu: Cpu) => {
  for (const [n, v] of Object.entries(vals)) cpu.setX(Number(n), BigInt.asUintN(64, v));
};

describe("ADR/ADRP", () => {
  test("ADR forward and backward, ADRP page arithmetic", async () => {
    const cpu = await run(
      `back: movz x9, #0
       adr x0, fwd
       adr x1, back
       adrp x2, #0x12345000
       adr xzr, fwd
       fwd: movz x9, #0`,
    );
    expect(cpu.getX(0)).toBe(0x80000n + 20n);
    expect(cpu.getX(1)).toBe(0x80000n);
    expect(cpu.getX(2)).toBe(0x12345000n);
  });

  test("ADRP carries into the high half and reaches negative offsets", async () => {
    // Raw words: adrp x0, .+0x1000 page; adrp x1, -0xfffff pages; adr x2, .+0x1000; adrp x3, +0x12345 pages
    const base = 0xfffff000;
    const cpu = await run(`.word 0xb0000000\n.word 0xb0800001\n.word 0x10008002\n.word 0xb0091a23`, undefined, base);
    expect(cpu.getX(0)).toBe(0x1_0000_0000n);
    expect(cpu.getX(1)).toBe(0n);
    expect(cpu.getX(2)).toBe(0x1_0000_0008n);
    expect(cpu.getX(3)).toBe(0xfffff000n + 0x12345000n);
  });
});

describe("ADD/SUB (immediate)", () => {
  test("plain results, LSL #12 and 32-bit zero-extension", async () => {
    const cpu = await run(
      `add x1, x0, #0xfff
       add x2, x0, #0xabc, lsl #12
       sub x3, x0, #1
       add w4, w0, #1
       sub w5, w10, #1
       add x6, x7, #1
       sub x8, x9, #1`,
      regs({ 0: 0xffff_ffff_ffff_ffffn, 7: 0xffff_ffffn, 9: 0x1_0000_0000n, 10: 0xffff_ffff_0000_0000n }),
    );
    expect(cpu.getX(1)).toBe(0xffen);
    expect(cpu.getX(2)).toBe(0xabbfffn);
    expect(cpu.getX(3)).toBe(0xffff_ffff_ffff_fffen);
    expect(cpu.getX(4)).toBe(0n);
    expect(cpu.getX(5)).toBe(0xffff_ffffn);
    expect(cpu.getX(6)).toBe(0x1_0000_0000n);
    expect(cpu.getX(8)).toBe(0xffff_ffffn);
  });

  test("register 31 is SP for ADD/SUB and ZR for the flag-setting forms", async () => {
    const cpu = await run(
      `mov sp, x0
       add x1, sp, #8
       sub sp, sp, #16
       mov x2, sp
       adds x3, sp, #0
       cmp sp, #0x1000
       mov x4, sp`,
      regs({ 0: 0x1_0000_1000n }),
    );
    expect(cpu.getX(1)).toBe(0x1_0000_1008n);
    expect(cpu.getX(2)).toBe(0x1_0000_0ff0n);
    expect(cpu.getX(3)).toBe(0x1_0000_0ff0n);
    // cmp writes XZR: SP untouched.
    expect(cpu.getX(4)).toBe(0x1_0000_0ff0n);
    expect(cpu.getSP()).toBe(0x1_0000_0ff0n);
    expect(cpu.nzcv()).toBe(NZCV.C);
  });

  test.each([
    // op, operand, immediate, result, flags
    ["adds x1, x0, #1", 0x7fff_ffff_ffff_ffffn, 0x8000_0000_0000_0000n, NZCV.N | NZCV.V],
    ["adds x1, x0, #1", 0xffff_ffff_ffff_ffffn, 0n, NZCV.Z | NZCV.C],
    ["adds x1, x0, #0", 0n, 0n, NZCV.Z],
    ["subs x1, x0, #1", 0n, 0xffff_ffff_ffff_ffffn, NZCV.N],
    ["subs x1, x0, #1", 1n, 0n, NZCV.Z | NZCV.C],
    ["subs x1, x0, #1", 0x8000_0000_0000_0000n, 0x7fff_ffff_ffff_ffffn, NZCV.C | NZCV.V],
    ["subs x1, x0, #0", 0n, 0n, NZCV.Z | NZCV.C],
    ["adds w1, w0, #1", 0xffff_ffff_7fff_ffffn, 0x8000_0000n, NZCV.N | NZCV.V],
    ["adds w1, w0, #1", 0x1234_5678_ffff_ffffn, 0n, NZCV.Z | NZCV.C],
    ["subs w1, w0, #1", 0xffff_ffff_0000_0000n, 0xffff_ffffn, NZCV.N],
    ["subs w1, w0, #1", 0x8000_0000n, 0x7fff_ffffn, NZCV.C | NZCV.V],
    ["subs w1, w0, #0xfff, lsl #12", 0xfff000n, 0n, NZCV.Z | NZCV.C],
  ])("%s with x0=%s", async (src, x0, result, flags) => {
    const cpu = await run(src, regs({ 0: x0 }));
    expect(cpu.getX(1)).toBe(result);
    expect(cpu.nzcv()).toBe(flags);
  });
});

describe("logical (immediate)", () => {
  test("AND/ORR/EOR/ANDS with assorted element sizes", async () => {
    const cpu = await run(
      `and x1, x0, #0xff00ff00ff00ff00
       orr x2, xzr, #0x5555555555555555
       eor x3, x0, #1
       orr w4, wzr, #0xf0f0f0f0
       and x5, x0, #0x7ffffffffffffffe
       eor x6, x0, #0x3333333333333333
       orr x7, xzr, #0x0000000100000001
       and w8, w0, #0x80000001
       orr x9, xzr, #0xfffffffffffffffe
       eor w10, w0, #0x7fffffff`,
      regs({ 0: 0x0123_4567_89ab_cdefn }),
    );
    const a = 0x0123_4567_89ab_cdefn;
    expect(cpu.getX(1)).toBe(a & 0xff00ff00ff00ff00n);
    expect(cpu.getX(2)).toBe(0x5555_5555_5555_5555n);
    expect(cpu.getX(3)).toBe(a ^ 1n);
    expect(cpu.getX(4)).toBe(0xf0f0_f0f0n);
    expect(cpu.getX(5)).toBe(a & 0x7fff_ffff_ffff_fffen);
    expect(cpu.getX(6)).toBe(a ^ 0x3333_3333_3333_3333n);
    expect(cpu.getX(7)).toBe(0x1_0000_0001n);
    expect(cpu.getX(8)).toBe(a & 0x8000_0001n);
    expect(cpu.getX(9)).toBe(0xffff_ffff_ffff_fffen);
    expect(cpu.getX(10)).toBe((a & 0xffff_ffffn) ^ 0x7fff_ffffn);
  });

  test("AND (imm) writes SP; ANDS writes ZR and sets N/Z, clears C/V", async () => {
    const cpu = await run(
      `and sp, x0, #0xfffffffffffffff0
       mov x1, sp
       ands x2, x0, #0x8000000000000000
       tst x0, #0xf`,
      (c) => {
        regs({ 0: 0x8000_0000_0000_1238n })(c);
        c.setNzcv(NZCV.C | NZCV.V);
      },
    );
    expect(cpu.getX(1)).toBe(0x8000_0000_0000_1230n);
    expect(cpu.getX(2)).toBe(0x8000_0000_0000_0000n);
    expect(cpu.getSP()).toBe(0x8000_0000_0000_1230n); // tst (ANDS to register 31) left SP alone
    expect(cpu.nzcv()).toBe(0); // tst: 8 & 0xf != 0, positive
  });

  test("ANDS flags: negative, zero, 32-bit sign bit", async () => {
    let cpu = await run(`ands x1, x0, #0x8000000000000000`, (c) => {
      regs({ 0: M64 })(c);
      c.setNzcv(NZCV.C | NZCV.V);
    });
    expect(cpu.nzcv()).toBe(NZCV.N);
    cpu = await run(`ands w1, w0, #0x80000000`, regs({ 0: 0x8000_0000n }));
    expect(cpu.nzcv()).toBe(NZCV.N);
    expect(cpu.getX(1)).toBe(0x8000_0000n);
    cpu = await run(`ands w1, w0, #0xff`, regs({ 0: 0xff_0000_0000n }));
    expect(cpu.nzcv()).toBe(NZCV.Z);
  });
});

describe("move wide", () => {
  test("MOVZ/MOVN/MOVK in every halfword, 64 and 32 bit", async () => {
    const cpu = await run(
      `movz x0, #0x1234, lsl #48
       movn x1, #0
       movn x2, #0x1234, lsl #16
       movk x3, #0xbeef, lsl #32
       movn w4, #0
       movk w5, #0xabcd, lsl #16
       movz w6, #0xffff, lsl #16
       movk x7, #0x0
       movz x8, #0`,
      regs({ 3: M64, 5: M64, 7: M64, 8: M64 }),
    );
    expect(cpu.getX(0)).toBe(0x1234_0000_0000_0000n);
    expect(cpu.getX(1)).toBe(M64);
    expect(cpu.getX(2)).toBe(0xffff_ffff_edcb_ffffn);
    expect(cpu.getX(3)).toBe(0xffff_beef_ffff_ffffn);
    expect(cpu.getX(4)).toBe(0xffff_ffffn);
    expect(cpu.getX(5)).toBe(0xabcd_ffffn);
    expect(cpu.getX(6)).toBe(0xffff_0000n);
    expect(cpu.getX(7)).toBe(0xffff_ffff_ffff_0000n);
    expect(cpu.getX(8)).toBe(0n);
  });
});

describe("bitfield", () => {
  const a = 0x8123_4567_89ab_cdefn;
  test("shift aliases by 0, 1, 31, 32, 63", async () => {
    const cpu = await run(
      `lsl x1, x0, #0
       lsl x2, x0, #1
       lsl x3, x0, #31
       lsl x4, x0, #32
       lsl x5, x0, #63
       lsr x6, x0, #1
       lsr x7, x0, #32
       lsr x8, x0, #63
       asr x9, x0, #1
       asr x10, x0, #31
       asr x11, x0, #63
       lsl w12, w0, #31
       lsr w13, w0, #31
       asr w14, w0, #31
       asr w15, w0, #0
       ror x16, x0, #0
       ror x17, x0, #36`,
      regs({ 0: a }),
    );
    const s = BigInt.asIntN(64, a);
    const w = a & 0xffff_ffffn;
    expect(cpu.getX(1)).toBe(a);
    expect(cpu.getX(2)).toBe((a << 1n) & M64);
    expect(cpu.getX(3)).toBe((a << 31n) & M64);
    expect(cpu.getX(4)).toBe((a << 32n) & M64);
    expect(cpu.getX(5)).toBe((a << 63n) & M64);
    expect(cpu.getX(6)).toBe(a >> 1n);
    expect(cpu.getX(7)).toBe(a >> 32n);
    expect(cpu.getX(8)).toBe(1n);
    expect(cpu.getX(9)).toBe(BigInt.asUintN(64, s >> 1n));
    expect(cpu.getX(10)).toBe(BigInt.asUintN(64, s >> 31n));
    expect(cpu.getX(11)).toBe(M64);
    expect(cpu.getX(12)).toBe((w << 31n) & 0xffff_ffffn);
    expect(cpu.getX(13)).toBe(1n);
    expect(cpu.getX(14)).toBe(0xffff_ffffn);
    expect(cpu.getX(15)).toBe(w);
    expect(cpu.getX(16)).toBe(a);
    expect(cpu.getX(17)).toBe(((a >> 36n) | (a << 28n)) & M64);
  });

  test("extract/insert aliases", async () => {
    const cpu = await run(
      `ubfx x1, x0, #4, #8
       sbfx x2, x0, #60, #4
       sbfx x3, x0, #4, #8
       uxtb w4, w0
       uxth w5, w0
       sxtb x6, w0
       sxth x7, w0
       sxtw x8, w0
       bfi x9, x0, #8, #16
       bfxil x10, x0, #56, #8
       sbfiz x11, x0, #60, #4
       ubfiz w12, w0, #24, #8
       sxtb w13, w0
       bfi w14, w0, #28, #4
       ubfx x15, x0, #0, #64`,
      regs({ 0: a, 9: M64, 10: 0n, 14: M64 }),
    );
    const field = (v: bigint, lsb: number, width: number) => (v >> BigInt(lsb)) & ((1n << BigInt(width)) - 1n);
    const sx = (v: bigint, bits: number) => BigInt.asUintN(64, BigInt.asIntN(bits, v));
    expect(cpu.getX(1)).toBe(field(a, 4, 8));
    expect(cpu.getX(2)).toBe(sx(field(a, 60, 4), 4));
    expect(cpu.getX(3)).toBe(sx(field(a, 4, 8), 8));
    expect(cpu.getX(4)).toBe(0xefn);
    expect(cpu.getX(5)).toBe(0xcdefn);
    expect(cpu.getX(6)).toBe(sx(0xefn, 8));
    expect(cpu.getX(7)).toBe(sx(0xcdefn, 16));
    expect(cpu.getX(8)).toBe(sx(0x89ab_cdefn, 32));
    expect(cpu.getX(9)).toBe(0xffff_ffff_ffcd_efffn);
    expect(cpu.getX(10)).toBe(0x81n);
    expect(cpu.getX(11)).toBe(0xf000_0000_0000_0000n);
    expect(cpu.getX(12)).toBe(0xef00_0000n);
    expect(cpu.getX(13)).toBe(0xffff_ffefn);
    expect(cpu.getX(14)).toBe(0xffff_ffffn);
    expect(cpu.getX(15)).toBe(a);
  });

  test("BFM with the same source and destination register", async () => {
    const cpu = await run(`bfi x0, x0, #32, #32\nbfxil w1, w1, #16, #16`, regs({ 0: 0x1122_3344_5566_7788n, 1: 0xdead_0000_1234_5678n }));
    expect(cpu.getX(0)).toBe(0x5566_7788_5566_7788n);
    expect(cpu.getX(1)).toBe(0x1234_1234n);
  });
});

describe("EXTR", () => {
  test("lsb 0, 1, 31, 32, 63 and the 32-bit form", async () => {
    const cpu = await run(
      `extr x2, x0, x1, #0
       extr x3, x0, x1, #1
       extr x4, x0, x1, #31
       extr x5, x0, x1, #32
       extr x6, x0, x1, #63
       extr w7, w0, w1, #0
       extr w8, w0, w1, #12
       extr w9, w0, w1, #31
       ror w10, w0, #8`,
      regs({ 0: 0x0123_4567_89ab_cdefn, 1: 0xfedc_ba98_7654_3210n }),
    );
    const cat = (0x0123_4567_89ab_cdefn << 64n) | 0xfedc_ba98_7654_3210n;
    for (const [reg, lsb] of [[2, 0], [3, 1], [4, 31], [5, 32], [6, 63]] as const) {
      expect(cpu.getX(reg)).toBe((cat >> BigInt(lsb)) & M64);
    }
    const cat32 = (0x89ab_cdefn << 32n) | 0x7654_3210n;
    expect(cpu.getX(7)).toBe(0x7654_3210n);
    expect(cpu.getX(8)).toBe((cat32 >> 12n) & 0xffff_ffffn);
    expect(cpu.getX(9)).toBe((cat32 >> 31n) & 0xffff_ffffn);
    expect(cpu.getX(10)).toBe(0xef89_abcdn);
  });
});

describe("unallocated immediate encodings are UNDEFINED", () => {
  test.each([
    ["AND (imm) sf=0 N=1", 0x12400000],
    ["AND (imm) all-ones element", 0x9240fc00],
    ["ORR (imm) len<1 (N=0 imms=111111)", 0x3200fc00],
    ["move wide opc=01", 0x32800000],
    ["MOVZ sf=0 hw=2", 0x52c00000],
    ["MOVN sf=0 hw=3", 0x12e00000],
    ["SBFM sf=1 N=0", 0x93000000],
    ["UBFM sf=0 N=1", 0x53400000],
    ["UBFM sf=0 immr=32", 0x53200000],
    ["BFM opc=11", 0x73000000],
    ["EXTR sf=0 imms=32", 0x13808000],
    ["EXTR sf=1 N=0", 0x93000000 | (1 << 23)],
    ["EXTR o0=1", 0x93e00000],
  ])("%s (%s)", (_name, word) => expectUndefined(word));
});
