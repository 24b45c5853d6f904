import { describe, expect, it } from "vitest";
import { SP } from "../../../emulator/reg_slots.ts";
import { EC } from "../../../emulator/exception.ts";
import { BASE, DATA, MASK64, endOf, exceptionOf, expectCompleted, fill, hexBytes, run, setRegs } from "./ldst_run.ts";

const GARBAGE = 0xdead_beef_cafe_f00dn;
const DFSC_ALIGNMENT = 0x21;
const ISS_WNR = 1 << 6;

describe("single-register loads", () => {
  it("loads every size with an unsigned scaled offset, zero-extending into the X register", async () => {
    const p = await run(
      `ldrb w0, [x9, #8]
       ldrh w1, [x9, #8]
       ldr w2, [x9, #8]
       ldr x3, [x9, #8]
       ldrb w4, [x9, #15]
       ldrh w5, [x9, #14]
       ldr x6, [x9, #32760]
       ldr w7, [x9, #16380]`,
      (cpu, mem) => {
        for (let i = 0; i < 8; i++) cpu.setX(i, GARBAGE);
        cpu.setX(9, BigInt(DATA));
        mem.write(DATA + 8, 8, 0x8877_6655_4433_2211n);
        mem.write(DATA + 32760, 8, 0xfedc_ba98_7654_3210n);
        mem.write(DATA + 16380, 4, 0x9abc_def0n);
      },
    );
    expectCompleted(p, endOf(8));
    const x = (n: number) => p.cpu.getX(n);
    expect([x(0), x(1), x(2), x(3)]).toEqual([0x11n, 0x2211n, 0x4433_2211n, 0x8877_6655_4433_2211n]);
    expect([x(4), x(5)]).toEqual([0x88n, 0x8877n]);
    expect(x(6)).toBe(0xfedc_ba98_7654_3210n);
    expect(x(7)).toBe(0x9abc_def0n);
  });

  it("sign-extends LDRSB/LDRSH to W (upper word cleared) and to X, and LDRSW", async () => {
    const p = await run(
      `ldrsb w0, [x9]
       ldrsb x1, [x9]
       ldrsh w2, [x9, #2]
       ldrsh x3, [x9, #2]
       ldrsw x4, [x9, #4]
       ldrsb x5, [x9, #8]
       ldrsh w6, [x9, #10]
       ldrsw x7, [x9, #12]`,
      (cpu, mem) => {
        for (let i = 0; i < 8; i++) cpu.setX(i, GARBAGE);
        cpu.setX(9, BigInt(DATA));
        mem.write(DATA, 1, 0x80n);
        mem.write(DATA + 2, 2, 0x8001n);
        mem.write(DATA + 4, 4, 0x8000_0002n);
        mem.write(DATA + 8, 1, 0x7fn);
        mem.write(DATA + 10, 2, 0x7fffn);
        mem.write(DATA + 12, 4, 0x7fff_ffffn);
      },
    );
    expectCompleted(p, endOf(8));
    const x = (n: number) => p.cpu.getX(n);
    expect(x(0)).toBe(0xffff_ff80n);
    expect(x(1)).toBe(0xffff_ffff_ffff_ff80n);
    expect(x(2)).toBe(0xffff_8001n);
    expect(x(3)).toBe(0xffff_ffff_ffff_8001n);
    expect(x(4)).toBe(0xffff_ffff_8000_0002n);
    expect(x(5)).toBe(0x7fn);
    expect(x(6)).toBe(0x7fffn);
    expect(x(7)).toBe(0x7fff_ffffn);
  });

  it("loads into XZR are discarded and XZR stores zeros", async () => {
    const p = await run(
      `ldr xzr, [x9]
       str xzr, [x9, #8]
       strb wzr, [x9, #16]
       ldr x1, [x9]`,
      (cpu, mem) => {
        cpu.setX(9, BigInt(DATA));
        mem.write(DATA, 8, 0x1234n);
        fill(mem, DATA + 8, 9, 0xff);
      },
    );
    expectCompleted(p, endOf(4));
    expect(p.cpu.getX(31)).toBe(0n);
    expect(p.cpu.getX(1)).toBe(0x1234n);
    expect(p.mem.read(DATA + 8, 8)).toBe(0n);
    expect(p.mem.read(DATA + 16, 1)).toBe(0n);
  });
});

describe("single-register stores", () => {
  it("stores the low bytes of the register, little-endian, touching nothing else", async () => {
    const p = await run(
      `strb w1, [x9, #1]
       strh w1, [x9, #4]
       str w1, [x9, #8]
       str x1, [x9, #16]`,
      (cpu, mem) => {
        cpu.setX(1, 0x8877_6655_4433_2211n);
        cpu.setX(9, BigInt(DATA));
        fill(mem, DATA, 32, 0xee);
      },
    );
    expectCompleted(p, endOf(4));
    expect(hexBytes(p.mem.readBytes(DATA, 32))).toBe(
      "ee11eeee" + "1122eeee" + "11223344" + "eeeeeeee" + "1122334455667788" + "eeeeeeeeeeeeeeee",
    );
  });
});

describe("unscaled, unprivileged, pre-index and post-index forms", () => {
  it("LDUR/STUR take signed byte offsets", async () => {
    const p = await run(
      `ldur x0, [x9, #-8]
       ldursb x1, [x9, #-255]
       ldursh w2, [x9, #-10]
       ldur w3, [x9, #252]
       stur x0, [x9, #8]
       sturb w1, [x9, #3]
       sturh w2, [x9, #-6]`,
      (cpu, mem) => {
        cpu.setX(9, BigInt(DATA + 0x100));
        mem.write(DATA + 0xf8, 8, 0x0102_0304_0506_0708n);
        mem.write(DATA + 1, 1, 0xc3n);
        mem.write(DATA + 0xf6, 2, 0x8642n);
        mem.write(DATA + 0x1fc, 4, 0x5555_aaaan);
      },
    );
    expectCompleted(p, endOf(7));
    expect(p.cpu.getX(0)).toBe(0x0102_0304_0506_0708n);
    expect(p.cpu.getX(1)).toBe(0xffff_ffff_ffff_ffc3n);
    expect(p.cpu.getX(2)).toBe(0xffff_8642n);
    expect(p.cpu.getX(3)).toBe(0x5555_aaaan);
    expect(p.mem.read(DATA + 0x108, 8)).toBe(0x0102_0304_0506_0708n);
    expect(p.mem.read(DATA + 0x103, 1)).toBe(0xc3n);
    expect(p.mem.read(DATA + 0xfa, 2)).toBe(0x8642n);
  });

  it("LDTR/STTR at EL1 with the MMU off behave as ordinary accesses", async () => {
    const p = await run(
      `ldtr x0, [x9, #8]
       ldtrsb x1, [x9, #-1]
       ldtrsw x2, [x9, #16]
       ldtrh w3, [x9, #16]
       sttr w0, [x9, #32]
       sttrb w1, [x9, #-2]`,
      (cpu, mem) => {
        cpu.setX(9, BigInt(DATA + 0x10));
        mem.write(DATA + 0x18, 8, 0x1111_2222_3333_4444n);
        mem.write(DATA + 0xf, 1, 0x90n);
        mem.write(DATA + 0x20, 4, 0xf000_000fn);
      },
    );
    expectCompleted(p, endOf(6));
    expect(p.cpu.getX(0)).toBe(0x1111_2222_3333_4444n);
    expect(p.cpu.getX(1)).toBe(0xffff_ffff_ffff_ff90n);
    expect(p.cpu.getX(2)).toBe(0xffff_ffff_f000_000fn);
    expect(p.cpu.getX(3)).toBe(0x000fn);
    expect(p.mem.read(DATA + 0x30, 8)).toBe(0x3333_4444n); // STTR W stores 4 bytes only
    expect(p.mem.read(DATA + 0xe, 1)).toBe(0x90n);
  });

  it("pre-index accesses at base+offset and post-index at base, both writing the base back", async () => {
    const p = await run(
      `ldr x0, [x9, #8]!
       ldr w1, [x9], #-4
       strb w2, [x10], #1
       strb w2, [x10], #1
       ldrsh x3, [x11, #-2]!
       str x4, [x12, #-256]!
       ldrb w5, [x13], #255`,
      (cpu, mem) => {
        setRegs(cpu, { 2: 0x1abn, 4: 0x4444n, 9: BigInt(DATA), 10: BigInt(DATA + 0x40), 11: BigInt(DATA + 0x52) });
        setRegs(cpu, { 12: BigInt(DATA + 0x200), 13: BigInt(DATA + 0x60) });
        mem.write(DATA + 8, 8, 0x7777_6666_5555_4444n);
        mem.write(DATA + 0x50, 2, 0x8000n);
        mem.write(DATA + 0x60, 1, 0xf1n);
      },
    );
    expectCompleted(p, endOf(7));
    const x = (n: number) => p.cpu.getX(n);
    expect(x(0)).toBe(0x7777_6666_5555_4444n);
    expect(x(1)).toBe(0x5555_4444n);
    expect(x(9)).toBe(BigInt(DATA + 4));
    expect(x(10)).toBe(BigInt(DATA + 0x42));
    expect(p.mem.read(DATA + 0x40, 2)).toBe(0xababn);
    expect(x(3)).toBe(0xffff_ffff_ffff_8000n);
    expect(x(11)).toBe(BigInt(DATA + 0x50));
    expect(x(12)).toBe(BigInt(DATA + 0x100));
    expect(p.mem.read(DATA + 0x100, 8)).toBe(0x4444n);
    expect(x(5)).toBe(0xf1n);
    expect(x(13)).toBe(BigInt(DATA + 0x60 + 255));
  });

  it("pushes and pops through SP with writeback", async () => {
    const p = await run(
      `str x0, [sp, #-16]!
       str w1, [sp, #-16]!
       ldr w2, [sp], #16
       ldr x3, [sp], #16`,
      (cpu) => setRegs(cpu, { 0: 0xaaaa_bbbb_cccc_ddddn, 1: 0x1234_5678n, [SP]: BigInt(DATA + 0x100) }),
    );
    expectCompleted(p, endOf(4));
    expect(p.cpu.getSP()).toBe(BigInt(DATA + 0x100));
    expect(p.cpu.getX(2)).toBe(0x1234_5678n);
    expect(p.cpu.getX(3)).toBe(0xaaaa_bbbb_cccc_ddddn);
    expect(p.mem.read(DATA + 0xf0, 8)).toBe(0xaaaa_bbbb_cccc_ddddn);
  });

  it("a store with writeback to its own data register stores the value from before the writeback", async () => {
    const p = await run(
      `.word 0xf8008c21 // str x1, [x1, #8]!
       .word 0xf8008442 // str x2, [x2], #8`,
      (cpu) => setRegs(cpu, { 1: BigInt(DATA), 2: BigInt(DATA + 0x40) }),
    );
    expectCompleted(p, endOf(2));
    expect(p.mem.read(DATA + 8, 8)).toBe(BigInt(DATA));
    expect(p.cpu.getX(1)).toBe(BigInt(DATA + 8));
    expect(p.mem.read(DATA + 0x40, 8)).toBe(BigInt(DATA + 0x40));
    expect(p.cpu.getX(2)).toBe(BigInt(DATA + 0x48));
  });

  it("a load with writeback into its own base register is UNDEFINED and changes nothing", async () => {
    for (const word of [0xf8408c21 /* ldr x1, [x1, #8]! */, 0x38401421 /* ldrb w1, [x1], #1 */]) {
      const p = await run(`.word ${word}`, (cpu) => cpu.setX(1, BigInt(DATA)));
      const e = exceptionOf(p);
      expect(e.ec).toBe(EC.UNKNOWN);
      expect(e.elr).toBe(BigInt(BASE));
      expect(p.cpu.getX(1)).toBe(BigInt(DATA));
    }
  });
});

describe("register offset", () => {
  it("extends and scales Rm: LSL, UXTW, SXTW, SXTX, XZR", async () => {
    const p = await run(
      `ldr x0, [x9, x1, lsl #3]
       ldrb w2, [x10, x3]
       ldr w4, [x9, w5, uxtw #2]
       ldr w6, [x11, w7, sxtw]
       ldrsh x8, [x11, x12, sxtx #1]
       ldr x13, [x14, w15, uxtw #3]
       strh w16, [x9, x17, lsl #1]
       str x16, [x9, xzr]`,
      (cpu, mem) => {
        setRegs(cpu, { 9: BigInt(DATA), 10: BigInt(DATA + 1), 11: BigInt(DATA + 0x20), 14: 0x10n, 16: 0xbeef_0123n });
        setRegs(cpu, { 1: 2n, 3: -1n, 5: 0xffff_ffff_0000_0003n, 7: 0x1234_5678_ffff_fff0n, 12: -2n, 15: 0x8000_0000n, 17: 0x30n });
        mem.write(DATA, 8, 0x55n);
        mem.write(DATA + 0x10, 8, 0x1010_1010_1010_1010n);
        mem.write(DATA + 0xc, 4, 0xcccc_ccccn);
        mem.write(DATA + 0x1c, 2, 0x8123n);
        mem.write(0x4_0000_0010, 8, 0x4_0000_0010n);
      },
    );
    expectCompleted(p, endOf(8));
    const x = (n: number) => p.cpu.getX(n);
    expect(x(0)).toBe(0x1010_1010_1010_1010n); // DATA + 2*8
    expect(x(2)).toBe(0x55n); // DATA+1 + (-1)
    expect(x(4)).toBe(0xcccc_ccccn); // only W5 is used: 3*4
    expect(x(6)).toBe(0x1010_1010n); // DATA+0x20 - 16
    expect(x(8)).toBe(0xffff_ffff_ffff_8123n); // DATA+0x20 - 4
    expect(x(13)).toBe(0x4_0000_0010n); // 0x80000000 << 3 carries into the upper word
    expect(p.mem.read(DATA + 0x60, 2)).toBe(0x0123n);
    expect(p.mem.read(DATA, 8)).toBe(0xbeef_0123n);
  });

  it("reserved extend options (UXTB/UXTH/SXTB/SXTH) are UNDEFINED", async () => {
    // ldr x0, [x1, w2, <option>] with option 000, 001, 100, 101
    for (const option of [0, 1, 4, 5]) {
      const word = (0xf8600800 | (2 << 16) | (option << 13) | (1 << 5)) >>> 0;
      const p = await run(`.word ${word}`, (cpu) => setRegs(cpu, { 1: BigInt(DATA), 0: 7n }));
      const e = exceptionOf(p);
      expect(e.ec).toBe(EC.UNKNOWN);
      expect(p.cpu.getX(0)).toBe(7n);
    }
  });
});

describe("literal and prefetch", () => {
  it("loads PC-relative literals forwards and backwards; PRFM literal does nothing", async () => {
    const p = await run(
      `ldr w0, lit32
       ldr x1, lit64
       ldrsw x2, lit32
       prfm pldl1keep, lit32
       ldr x3, . - 24`,
      (cpu, mem) => {
        cpu.setX(0, GARBAGE);
        mem.write(BASE - 8, 8, 0x0bad_cafe_0000_0001n);
      },
      `lit32: .word 0x80000001
       .word 0
       lit64: .quad 0x1122334455667788`,
    );
    expectCompleted(p, endOf(5));
    expect(p.cpu.getX(0)).toBe(0x8000_0001n);
    expect(p.cpu.getX(1)).toBe(0x1122_3344_5566_7788n);
    expect(p.cpu.getX(2)).toBe(0xffff_ffff_8000_0001n);
    expect(p.cpu.getX(3)).toBe(0x0bad_cafe_0000_0001n);
  });

  it("PRFM/PRFUM never access memory or fault, even on a misaligned SP with SCTLR_EL1.SA", async () => {
    const p = await run(
      `prfm pldl1keep, [x9, #8]
       prfm pstl2strm, [x9, x1]
       prfum pldl1keep, [x9, #-1]
       prfm pldl1keep, [sp]
       prfm pldl3strm, [x10]`,
      (cpu) => {
        setRegs(cpu, { 9: BigInt(DATA + 3), 1: 5n, 10: 0xffff_ffff_ffff_fff1n, [SP]: BigInt(DATA + 4) });
        cpu.sr.SCTLR_EL1 |= 8n;
      },
    );
    expectCompleted(p, endOf(5));
  });
});

describe("alignment", () => {
  it("SP alignment fault (EC 0x26) when SP[3:0] != 0 is a base and SCTLR_EL1.SA is set", async () => {
    const p = await run(
      `ldr x0, [sp, #8]`,
      (cpu) => {
        setRegs(cpu, { [SP]: BigInt(DATA + 8), 0: 5n });
        cpu.sr.SCTLR_EL1 |= 8n;
      },
    );
    const e = exceptionOf(p);
    expect(e.ec).toBe(EC.SP_ALIGN);
    expect(e.iss).toBe(0);
    expect(e.elr).toBe(BigInt(BASE));
    expect(p.cpu.getX(0)).toBe(5n);
  });

  it("checks the base SP before the offset: a pre-index that leaves SP misaligned faults on the next use", async () => {
    const p = await run(
      `str x1, [sp, #-8]!
       str x2, [sp, #-8]!`,
      (cpu) => {
        setRegs(cpu, { [SP]: BigInt(DATA + 0x20), 1: 1n, 2: 2n });
        cpu.sr.SCTLR_EL1 |= 8n;
      },
    );
    const e = exceptionOf(p);
    expect(e.ec).toBe(EC.SP_ALIGN);
    expect(e.elr).toBe(BigInt(BASE + 4));
    expect(p.cpu.readSpEl(1)).toBe(BigInt(DATA + 0x18)); // the second store left SP unchanged
    expect(p.mem.read(DATA + 0x18, 8)).toBe(1n);
    expect(p.mem.read(DATA + 0x10, 8)).toBe(0n);
  });

  it("a misaligned SP is fine without SCTLR_EL1.SA", async () => {
    const p = await run(`ldr x0, [sp, #8]`, (cpu, mem) => {
      setRegs(cpu, { [SP]: BigInt(DATA + 8) });
      mem.write(DATA + 16, 8, 42n);
    });
    expectCompleted(p, endOf(1));
    expect(p.cpu.getX(0)).toBe(42n);
  });

  it("at EL0 SCTLR_EL1.SA0 governs the SP check (and SA does not)", async () => {
    const program = `ldr x0, [sp]`;
    const atEl0 = (sctlrBits: bigint) =>
      run(program, (cpu) => {
        cpu.setMode(0, 0);
        setRegs(cpu, { [SP]: BigInt(DATA + 4) });
        cpu.sr.SCTLR_EL1 |= sctlrBits;
      });
    const faulted = exceptionOf(await atEl0(16n));
    expect(faulted.ec).toBe(EC.SP_ALIGN);
    const p = await atEl0(8n);
    // Without SA0 the load proceeds (and, MMU off, faults only on the Device alignment of SP+0).
    const e = exceptionOf(p);
    expect(e.ec).toBe(EC.DABT_LOW);
    expect(e.iss & 0x3f).toBe(DFSC_ALIGNMENT);
  });

  it("a misaligned plain access with the MMU off faults (Device memory) without side effects", async () => {
    const p = await run(`ldr x0, [x9, #4]!`, (cpu) => setRegs(cpu, { 9: BigInt(DATA), 0: 3n }));
    const e = exceptionOf(p);
    expect(e.ec).toBe(EC.DABT_CUR);
    expect(e.iss & 0x3f).toBe(DFSC_ALIGNMENT);
    expect(e.iss & ISS_WNR).toBe(0);
    expect(e.far).toBe(BigInt(DATA + 4));
    expect(p.cpu.getX(0)).toBe(3n);
    expect(p.cpu.getX(9)).toBe(BigInt(DATA));

    const s = await run(`str w1, [x9], #4`, (cpu) => setRegs(cpu, { 9: BigInt(DATA + 2), 1: 0xffff_ffffn }));
    const se = exceptionOf(s);
    expect(se.ec).toBe(EC.DABT_CUR);
    expect(se.iss & 0x3f).toBe(DFSC_ALIGNMENT);
    expect(se.iss & ISS_WNR).toBe(ISS_WNR);
    expect(s.cpu.getX(9)).toBe(BigInt(DATA + 2));
    expect(s.mem.read(DATA, 8)).toBe(0n);
  });

  it("wraps addresses modulo 2^64", async () => {
    const p = await run(`ldr x0, [x9, #16]`, (cpu, mem) => {
      cpu.setX(9, MASK64 - 7n); // -8
      mem.write(8, 8, 0x77n);
    });
    expectCompleted(p, endOf(1));
    expect(p.cpu.getX(0)).toBe(0x77n);
  });
});

describe("unallocated single-register encodings", () => {
  const cases: Record<string, number> = {
    "PRFM with writeback (size 11, opc 10, post-index)": 0xf8800420,
    "LDTR size 11 opc 10": 0xf8800820,
    "LDRSW-form with opc 11": 0xb9c00020,
    "LDR X with opc 11": 0xf9c00020,
    "LDADD (LSE not implemented)": 0xf8200041,
    "LDAPR (not implemented)": 0xf8bfc020,
    "LDRAA (PAuth)": 0xf8200420,
  };
  for (const [what, word] of Object.entries(cases)) {
    it(`${what} is UNDEFINED`, async () => {
      const p = await run(`.word ${word}`, (cpu) => setRegs(cpu, { 1: BigInt(DATA), 2: BigInt(DATA) }));
      expect(exceptionOf(p).ec).toBe(EC.UNKNOWN);
    });
  }
});
