// The unicorn binding itself: register ids, flag layout, and the properties of the reference
// machine that the differential test and the benchmark rely on (EL1, MMU off, alignment).

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Unicorn, UnicornError, unicornAvailable, unicornVersion, xRegId } from "../../../lab/oracle/unicorn.ts";
import { BRK0, codeBytes } from "../../oracle/gen.ts";

const available = unicornAvailable();
if (!available.ok) console.warn(`\n*** unicorn binding tests SKIPPED: ${available.reason} ***\n`);

const CODE = 0x10000n;
const DATA = 0x20000n;
const UC_ERR_READ_UNMAPPED = 6;
const UC_ERR_EXCEPTION = 21;

const MOV_X0_SP = 0x910003e0; // add x0, sp, #0
const movX0From = (n: number) => (0xaa0003e0 | (n << 16)) >>> 0; // orr x0, xzr, xN
const MRS_X0_CURRENTEL = 0xd5384240;
const MRS_X0_SCTLR_EL1 = 0xd5381000;
const MRS_X0_NZCV = 0xd53b4200;
const CMP_X1_X2 = 0xeb02003f; // subs xzr, x1, x2
const LDR_X0_X1 = 0xf9400020; // ldr x0, [x1]
const STR_X2_X1 = 0xf9000022; // str x2, [x1]
const LDXR_X0_X1 = 0xc85f7c20; // ldxr x0, [x1]

describe.skipIf(!available.ok)("unicorn oracle binding", () => {
  let uc: Unicorn;

  /** Run `words` at CODE up to (not including) a final brk; returns the uc_err code. */
  function exec(words: number[]): number {
    uc.writeCode(CODE, codeBytes(words));
    return uc.emuStart(CODE, CODE + BigInt(4 * words.length));
  }

  beforeEach(() => {
    uc = new Unicorn();
    uc.memMap(CODE, 0x1000);
    uc.memMap(DATA, 0x1000);
  });

  afterEach(() => uc.close());

  it("is unicorn 2", () => {
    expect(unicornVersion()).toMatch(/^2\./);
  });

  it("reads back each X register it wrote, without aliasing", () => {
    for (let n = 0; n <= 30; n++) uc.setX(n, 0x1111_0000_0000_0000n * BigInt(n % 15) + BigInt(n));
    for (let n = 0; n <= 30; n++) expect(uc.getX(n)).toBe(0x1111_0000_0000_0000n * BigInt(n % 15) + BigInt(n));
    expect(() => xRegId(31)).toThrow(RangeError);
  });

  it("maps each register id to the architectural register the code sees", () => {
    for (let n = 1; n <= 30; n++) {
      for (let i = 0; i <= 30; i++) uc.setX(i, BigInt(i) << 40n);
      expect(exec([movX0From(n)])).toBe(0);
      expect(uc.getX(0)).toBe(BigInt(n) << 40n);
    }
    uc.setSP(0x20ff0n);
    exec([MOV_X0_SP]);
    expect(uc.getX(0)).toBe(0x20ff0n);
  });

  it("exchanges NZCV as bits 3..0 and agrees with the flags the code computes", () => {
    uc.setX(1, 5n);
    uc.setX(2, 7n);
    exec([CMP_X1_X2]);
    expect(uc.nzcv()).toBe(0b1000); // 5 - 7: negative, borrow (C=0)
    uc.setX(2, 5n);
    exec([CMP_X1_X2]);
    expect(uc.nzcv()).toBe(0b0110); // equal: Z, no borrow (C=1)
    uc.setNzcv(0b0101);
    exec([MRS_X0_NZCV]);
    expect(uc.getX(0)).toBe(0x5000_0000n);
  });

  it("runs code at EL1 with the MMU and alignment checking off", () => {
    exec([MRS_X0_CURRENTEL]);
    expect(uc.getX(0)).toBe(1n << 2n); // CurrentEL.EL = 1
    exec([MRS_X0_SCTLR_EL1]);
    expect(uc.getX(0) & 1n).toBe(0n); // SCTLR_EL1.M
    expect(uc.getX(0) & 2n).toBe(0n); // SCTLR_EL1.A
  });

  it("does not fault unaligned ordinary accesses, but does fault unaligned exclusives", () => {
    uc.memWrite(DATA, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
    uc.setX(1, DATA + 1n);
    expect(exec([LDR_X0_X1])).toBe(0);
    expect(uc.getX(0)).toBe(0x0908070605040302n);
    expect(exec([LDXR_X0_X1])).toBe(UC_ERR_EXCEPTION);
    expect(uc.getPC()).toBe(CODE);
  });

  it("reads and writes memory, and reports unmapped accesses as results", () => {
    uc.setX(1, DATA + 8n);
    uc.setX(2, 0x1122334455667788n);
    expect(exec([STR_X2_X1])).toBe(0);
    expect([...uc.memRead(DATA + 8n, 8)]).toEqual([0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11]);
    uc.setX(1, 0x900000n);
    expect(exec([LDR_X0_X1])).toBe(UC_ERR_READ_UNMAPPED);
    expect(() => uc.memRead(0x900000n, 4)).toThrow(UnicornError);
  });

  it("stops at `until` without executing it, and single-steps with count = 1", () => {
    uc.setX(0, 0n);
    const add1 = 0x91000400; // add x0, x0, #1
    uc.writeCode(CODE, codeBytes([add1, add1, add1]));
    expect(uc.emuStart(CODE, CODE + 8n)).toBe(0);
    expect(uc.getX(0)).toBe(2n);
    expect(uc.emuStart(uc.getPC(), 0n, 1)).toBe(0);
    expect(uc.getX(0)).toBe(3n);
    expect(uc.getPC()).toBe(CODE + 12n);
    expect(uc.emuStart(uc.getPC(), 0n, 1)).toBe(UC_ERR_EXCEPTION); // brk #0 is an exception
    expect(BRK0).toBe(0xd4200000);
  });

  it("runs rewritten code after writeCode, whatever ran there before", () => {
    const addX0 = (imm: number) => (0x91000000 | (imm << 10)) >>> 0; // add x0, x0, #imm
    for (let round = 1; round <= 20; round++) {
      const words = Array.from({ length: 1 + (round % 5) }, (_, i) => addX0(round + i));
      uc.setX(0, 0n);
      expect(exec(words)).toBe(0);
      expect(uc.getX(0)).toBe(BigInt(words.reduce((s, wd) => s + ((wd >> 10) & 0xfff), 0)));
    }
  });
});
