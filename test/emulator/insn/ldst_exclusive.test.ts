import { describe, expect, it } from "vitest";
import { Cpu } from "../../../emulator/cpu.ts";
import { SP } from "../../../emulator/reg_slots.ts";
import { EC } from "../../../emulator/exception.ts";
import { PhysMemory } from "../../../emulator/memory.ts";
import { DATA, endOf, exceptionOf, expectCompleted, run, setRegs } from "./ldst_run.ts";

const DFSC_ALIGNMENT = 0x21;
const ISS_WNR = 1 << 6;
const CLREX = 0xd503305f;
const clrexDecodes = new Cpu(new PhysMemory()).decoder.decode(CLREX).name !== "UNDEFINED";

describe("load/store exclusive", () => {
  it("STXR without a preceding LDXR fails (status 1) and stores nothing", async () => {
    const p = await run(`stxr w0, x1, [x9]`, (cpu, mem) => {
      setRegs(cpu, { 0: 0xffn, 1: 0x1234n, 9: BigInt(DATA) });
      mem.write(DATA, 8, 0x5555n);
    });
    expectCompleted(p, endOf(1));
    expect(p.cpu.getX(0)).toBe(1n);
    expect(p.mem.read(DATA, 8)).toBe(0x5555n);
  });

  it("LDXR then STXR to the same address succeeds once; the monitor is then clear", async () => {
    const p = await run(
      `ldxr x2, [x9]
       stxr w0, x1, [x9]
       stxr w3, x4, [x9]`,
      (cpu, mem) => {
        setRegs(cpu, { 0: 0xffn, 1: 0xaaaa_bbbb_cccc_ddddn, 4: 0x4444n, 9: BigInt(DATA + 0x10) });
        mem.write(DATA + 0x10, 8, 0x0102_0304_0506_0708n);
      },
    );
    expectCompleted(p, endOf(3));
    expect(p.cpu.getX(2)).toBe(0x0102_0304_0506_0708n);
    expect(p.cpu.getX(0)).toBe(0n);
    expect(p.cpu.getX(3)).toBe(1n);
    expect(p.mem.read(DATA + 0x10, 8)).toBe(0xaaaa_bbbb_cccc_ddddn);
  });

  it("works for every size, zero-extending loads and storing only the element", async () => {
    const p = await run(
      `ldxrb w0, [x9]
       stxrb w10, w1, [x9]
       ldaxrh w2, [x11]
       stlxrh w12, w3, [x11]
       ldxr w4, [x13]
       stlxr w14, w5, [x13]`,
      (cpu, mem) => {
        setRegs(cpu, { 1: 0x1ffn, 3: 0x1_8001n, 5: 0xffff_ffff_8765_4321n, 9: BigInt(DATA), 11: BigInt(DATA + 2), 13: BigInt(DATA + 4) });
        setRegs(cpu, { 0: -1n, 2: -1n, 4: -1n, 10: 9n, 12: 9n, 14: 9n });
        mem.write(DATA, 8, 0xf0e0_d0c0_b0a0_9080n);
      },
    );
    expectCompleted(p, endOf(6));
    const x = (n: number) => p.cpu.getX(n);
    expect([x(0), x(2), x(4)]).toEqual([0x80n, 0xb0a0n, 0xf0e0_d0c0n]);
    expect([x(10), x(12), x(14)]).toEqual([0n, 0n, 0n]);
    expect(p.mem.read(DATA, 8)).toBe(0x8765_4321_8001_90ffn);
  });

  it("a store-exclusive to another address than the monitored one fails", async () => {
    const p = await run(
      `ldxr x2, [x9]
       stxr w0, x1, [x10]`,
      (cpu) => setRegs(cpu, { 1: 7n, 9: BigInt(DATA), 10: BigInt(DATA + 8) }),
    );
    expectCompleted(p, endOf(2));
    expect(p.cpu.getX(0)).toBe(1n);
    expect(p.mem.read(DATA + 8, 8)).toBe(0n);
  });

  it.skipIf(!clrexDecodes)("CLREX clears the monitor", async () => {
    const p = await run(
      `ldxr x2, [x9]
       clrex
       stxr w0, x1, [x9]`,
      (cpu) => setRegs(cpu, { 1: 7n, 9: BigInt(DATA) }),
    );
    expectCompleted(p, endOf(3));
    expect(p.cpu.getX(0)).toBe(1n);
    expect(p.mem.read(DATA, 8)).toBe(0n);
  });

  it("LDXP/STXP and LDAXP/STLXP move register pairs (W and X)", async () => {
    const p = await run(
      `ldxp x0, x1, [x9]
       stxp w2, x3, x4, [x9]
       ldaxp w5, w6, [x10]
       stlxp w7, w3, w4, [x10]`,
      (cpu, mem) => {
        setRegs(cpu, { 3: 0x3333_3333_aaaa_aaaan, 4: 0x4444_4444_bbbb_bbbbn, 5: -1n, 6: -1n, 9: BigInt(DATA), 10: BigInt(DATA + 0x18) });
        mem.write(DATA, 8, 0x11n);
        mem.write(DATA + 8, 8, 0x22n);
        mem.write(DATA + 0x18, 8, 0x8000_0002_8000_0001n);
      },
    );
    expectCompleted(p, endOf(4));
    const x = (n: number) => p.cpu.getX(n);
    expect([x(0), x(1), x(2)]).toEqual([0x11n, 0x22n, 0n]);
    expect(p.mem.read(DATA, 8)).toBe(0x3333_3333_aaaa_aaaan);
    expect(p.mem.read(DATA + 8, 8)).toBe(0x4444_4444_bbbb_bbbbn);
    expect([x(5), x(6), x(7)]).toEqual([0x8000_0001n, 0x8000_0002n, 0n]);
    expect(p.mem.read(DATA + 0x18, 8)).toBe(0xbbbb_bbbb_aaaa_aaaan);
  });

  it("SP as the base is checked for alignment", async () => {
    const p = await run(`ldxr x0, [sp]`, (cpu) => {
      setRegs(cpu, { [SP]: BigInt(DATA + 8) });
      cpu.sr.SCTLR_EL1 |= 8n;
    });
    expect(exceptionOf(p).ec).toBe(EC.SP_ALIGN);
  });
});

describe("load-acquire / store-release", () => {
  it("LDAR/STLR of every size", async () => {
    const p = await run(
      `ldarb w0, [x9]
       ldarh w1, [x9]
       ldar w2, [x9]
       ldar x3, [x9]
       stlrb w4, [x10]
       stlrh w4, [x10]
       stlr w5, [x11]
       stlr x5, [x12]`,
      (cpu, mem) => {
        setRegs(cpu, { 0: -1n, 1: -1n, 2: -1n, 4: 0xabcdn, 5: 0x1111_2222_3333_4444n });
        setRegs(cpu, { 9: BigInt(DATA), 10: BigInt(DATA + 0x20), 11: BigInt(DATA + 0x30), 12: BigInt(DATA + 0x38) });
        mem.write(DATA, 8, 0x8877_6655_4433_2211n);
      },
    );
    expectCompleted(p, endOf(8));
    const x = (n: number) => p.cpu.getX(n);
    expect([x(0), x(1), x(2), x(3)]).toEqual([0x11n, 0x2211n, 0x4433_2211n, 0x8877_6655_4433_2211n]);
    expect(p.mem.read(DATA + 0x20, 8)).toBe(0xabcdn);
    expect(p.mem.read(DATA + 0x30, 8)).toBe(0x3333_4444n);
    expect(p.mem.read(DATA + 0x38, 8)).toBe(0x1111_2222_3333_4444n);
  });

  it("LDLAR/STLLR behave as LDAR/STLR", async () => {
    const p = await run(
      `.word 0xc8df7d20 // ldlar x0, [x9]
       .word 0x889f7d41 // stllr w1, [x10]`,
      (cpu, mem) => {
        setRegs(cpu, { 1: 0x5678_9abcn, 9: BigInt(DATA), 10: BigInt(DATA + 0x10) });
        mem.write(DATA, 8, 0x0123_4567_89ab_cdefn);
      },
    );
    expectCompleted(p, endOf(2));
    expect(p.cpu.getX(0)).toBe(0x0123_4567_89ab_cdefn);
    expect(p.mem.read(DATA + 0x10, 8)).toBe(0x5678_9abcn);
  });
});

describe("alignment of exclusive and ordered accesses", () => {
  const cases: { what: string; src: string; addr: number; write: boolean }[] = [
    { what: "LDAR", src: "ldar w0, [x9]", addr: DATA + 2, write: false },
    { what: "STLR", src: "stlr x0, [x9]", addr: DATA + 4, write: true },
    { what: "LDAXRH", src: "ldaxrh w0, [x9]", addr: DATA + 1, write: false },
    { what: "LDXR", src: "ldxr x0, [x9]", addr: DATA + 4, write: false },
    { what: "STXR (even with no monitor)", src: "stxr w1, w0, [x9]", addr: DATA + 2, write: true },
    { what: "LDXP X (the pair needs 16-byte alignment)", src: "ldxp x0, x2, [x9]", addr: DATA + 8, write: false },
    { what: "STXP W (8-byte alignment)", src: "stxp w1, w0, w2, [x9]", addr: DATA + 4, write: true },
  ];
  for (const c of cases) {
    it(`${c.what} at a misaligned address takes an alignment fault (EC 0x25, DFSC 0x21)`, async () => {
      const p = await run(c.src, (cpu) => setRegs(cpu, { 0: 0x77n, 1: 0x99n, 9: BigInt(c.addr) }));
      const e = exceptionOf(p);
      expect(e.ec).toBe(EC.DABT_CUR);
      expect(e.iss & 0x3f).toBe(DFSC_ALIGNMENT);
      expect(e.iss & ISS_WNR).toBe(c.write ? ISS_WNR : 0);
      expect(e.far).toBe(BigInt(c.addr));
      expect([p.cpu.getX(0), p.cpu.getX(1)]).toEqual([0x77n, 0x99n]);
      expect(p.mem.read(DATA, 8)).toBe(0n);
    });
  }
});

describe("UNDEFINED exclusive encodings", () => {
  const cases: Record<string, number> = {
    "STXR with Rs == Rt": 0xc8007d20, // stxr w0, x0, [x9]
    "STXR with Rs == Rn": 0xc8097d21, // stxr w9, x1, [x9]
    "STXP with Rs == Rt2": 0xc8210520, // stxp w1, x0, x1, [x9]
    "LDXP with Rt == Rt2": 0xc87f0120, // ldxp x0, x0, [x9]
    "CAS (LSE not implemented)": 0xc8a07d21,
    "CASP (LSE not implemented)": 0x48207d22,
  };
  for (const [what, word] of Object.entries(cases)) {
    it(what, async () => {
      const p = await run(`.word ${word}`, (cpu) => setRegs(cpu, { 9: BigInt(DATA), 0: 5n, 1: 6n }));
      expect(exceptionOf(p).ec).toBe(EC.UNKNOWN);
      expect([p.cpu.getX(0), p.cpu.getX(1)]).toEqual([5n, 6n]);
    });
  }
});
