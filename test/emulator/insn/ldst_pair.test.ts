import { describe, expect, it } from "vitest";
import { Cpu } from "../../../emulator/cpu.ts";
import { SP } from "../../../emulator/reg_slots.ts";
import { EC } from "../../../emulator/exception.ts";
import { PhysMemory } from "../../../emulator/memory.ts";
import { rawAssemble } from "../../helpers/machine.ts";
import { BASE, DATA, endOf, exceptionOf, expectCompleted, fill, hexBytes, run, setRegs } from "./ldst_run.ts";

const DFSC_ALIGNMENT = 0x21;
const DFSC_EXTERNAL = 0x10;

describe("STP/LDP", () => {
  it("stores Rt at the lower address and Rt2 above it, little-endian, and loads them back", async () => {
    const p = await run(
      `stp x1, x2, [x9, #16]
       stp w3, w4, [x9, #-8]
       ldp x5, x6, [x9, #16]
       ldp w7, w8, [x9, #-8]`,
      (cpu, mem) => {
        setRegs(cpu, { 1: 0x1111_2222_3333_4444n, 2: 0x5555_6666_7777_8888n, 3: 0xaaaa_0001_0203_0405n, 4: 0xbbbb_0607_0809_0a0bn });
        setRegs(cpu, { 7: -1n, 8: -1n, 9: BigInt(DATA + 0x100) });
        fill(mem, DATA + 0xf0, 64, 0xee);
      },
    );
    expectCompleted(p, endOf(4));
    expect(hexBytes(p.mem.readBytes(DATA + 0xf8, 8))).toBe("050403020b0a0908");
    expect(hexBytes(p.mem.readBytes(DATA + 0x110, 16))).toBe("44443333222211118888777766665555");
    expect(p.mem.read(DATA + 0x120, 1)).toBe(0xeen);
    expect(p.cpu.getX(5)).toBe(0x1111_2222_3333_4444n);
    expect(p.cpu.getX(6)).toBe(0x5555_6666_7777_8888n);
    expect(p.cpu.getX(7)).toBe(0x0203_0405n); // LDP W zero-extends
    expect(p.cpu.getX(8)).toBe(0x0809_0a0bn);
  });

  it("LDPSW sign-extends both words", async () => {
    const p = await run(`ldpsw x0, x1, [x9]`, (cpu, mem) => {
      cpu.setX(9, BigInt(DATA));
      mem.write(DATA, 4, 0x8000_0000n);
      mem.write(DATA + 4, 4, 0x7fff_ffffn);
    });
    expectCompleted(p, endOf(1));
    expect(p.cpu.getX(0)).toBe(0xffff_ffff_8000_0000n);
    expect(p.cpu.getX(1)).toBe(0x7fff_ffffn);
  });

  it("pre-index and post-index write the base back (the frame push/pop idiom)", async () => {
    const p = await run(
      `stp x29, x30, [sp, #-16]!
       stp x0, x1, [sp, #-504]!
       ldp x2, x3, [sp], #504
       ldp x4, x5, [sp], #16
       ldpsw x6, x7, [x9, #-8]!
       stp w0, w1, [x10], #252
       ldp x11, x12, [x13, #-512]`,
      (cpu, mem) => {
        setRegs(cpu, { 29: 0x2929n, 30: 0x3030n, 0: 0xa0n, 1: 0xa1n, [SP]: BigInt(DATA + 0x400) });
        setRegs(cpu, { 9: BigInt(DATA + 0x808), 10: BigInt(DATA + 0x900), 13: BigInt(DATA + 0xc00) });
        mem.write(DATA + 0x800, 8, 0xffff_fffe_0000_0005n);
        mem.write(DATA + 0xa00, 8, 0x11n);
        mem.write(DATA + 0xa08, 8, 0x12n);
      },
    );
    expectCompleted(p, endOf(7));
    const x = (n: number) => p.cpu.getX(n);
    expect(p.cpu.getSP()).toBe(BigInt(DATA + 0x400));
    expect([x(2), x(3), x(4), x(5)]).toEqual([0xa0n, 0xa1n, 0x2929n, 0x3030n]);
    expect(p.mem.read(DATA + 0x3f0, 8)).toBe(0x2929n);
    expect(p.mem.read(DATA + 0x3f0 - 504, 8)).toBe(0xa0n);
    expect([x(6), x(7), x(9)]).toEqual([5n, 0xffff_ffff_ffff_fffen, BigInt(DATA + 0x800)]);
    expect(p.mem.read(DATA + 0x900, 8)).toBe(0xa1_0000_00a0n);
    expect(x(10)).toBe(BigInt(DATA + 0x900 + 252));
    expect([x(11), x(12)]).toEqual([0x11n, 0x12n]);
  });

  it("STNP/LDNP access like signed-offset STP/LDP", async () => {
    const p = await run(
      `stnp x1, x2, [x9, #-16]
       ldnp x3, x4, [x9, #-16]
       stnp w1, w2, [x9, #4]
       ldnp w5, w6, [x9, #4]`,
      (cpu) => setRegs(cpu, { 1: 0x0123_4567_89ab_cdefn, 2: 0xfedc_ba98_7654_3210n, 9: BigInt(DATA + 0x20) }),
    );
    expectCompleted(p, endOf(4));
    expect([p.cpu.getX(3), p.cpu.getX(4)]).toEqual([0x0123_4567_89ab_cdefn, 0xfedc_ba98_7654_3210n]);
    expect([p.cpu.getX(5), p.cpu.getX(6)]).toEqual([0x89ab_cdefn, 0x7654_3210n]);
    expect(p.mem.read(DATA + 0x24, 8)).toBe(0x7654_3210_89ab_cdefn);
  });

  it("XZR: STP stores zeros, LDP into XZR discards that half", async () => {
    const p = await run(
      `stp xzr, xzr, [x9]
       ldp xzr, x1, [x10]`,
      (cpu, mem) => {
        setRegs(cpu, { 9: BigInt(DATA), 10: BigInt(DATA + 0x40) });
        fill(mem, DATA, 16, 0xff);
        mem.write(DATA + 0x48, 8, 0x99n);
      },
    );
    expectCompleted(p, endOf(2));
    expect(p.mem.read(DATA, 8)).toBe(0n);
    expect(p.mem.read(DATA + 8, 8)).toBe(0n);
    expect(p.cpu.getX(1)).toBe(0x99n);
    expect(p.cpu.getX(31)).toBe(0n);
  });

  it("a pair crossing a page boundary is split over both pages", async () => {
    const p = await run(
      `stp x1, x2, [x9]
       ldp x3, x4, [x9]`,
      (cpu) => setRegs(cpu, { 1: 0x1234n, 2: 0x5678n, 9: BigInt(DATA + 0xff8) }),
    );
    expectCompleted(p, endOf(2));
    expect(p.mem.read(DATA + 0xff8, 8)).toBe(0x1234n);
    expect(p.mem.read(DATA + 0x1000, 8)).toBe(0x5678n);
    expect([p.cpu.getX(3), p.cpu.getX(4)]).toEqual([0x1234n, 0x5678n]);
  });

  it("a store pair with writeback to a data register stores the value from before the writeback", async () => {
    const p = await run(`.word 0xa9810821 // stp x1, x2, [x1, #16]!`, (cpu) => setRegs(cpu, { 1: BigInt(DATA), 2: 0x22n }));
    expectCompleted(p, endOf(1));
    expect(p.mem.read(DATA + 16, 8)).toBe(BigInt(DATA));
    expect(p.mem.read(DATA + 24, 8)).toBe(0x22n);
    expect(p.cpu.getX(1)).toBe(BigInt(DATA + 16));
  });
});

describe("faulting pairs have no side effects", () => {
  it("a misaligned pair with the MMU off takes an alignment fault, writes nothing", async () => {
    const p = await run(`stp x1, x2, [x9, #16]!`, (cpu) => setRegs(cpu, { 1: 1n, 2: 2n, 9: BigInt(DATA + 4) }));
    const e = exceptionOf(p);
    expect(e.ec).toBe(EC.DABT_CUR);
    expect(e.iss & 0x3f).toBe(DFSC_ALIGNMENT);
    expect(e.far).toBe(BigInt(DATA + 0x14));
    expect(p.cpu.getX(9)).toBe(BigInt(DATA + 4));
    expect(p.mem.read(DATA + 0x10, 8)).toBe(0n);
  });

  /** A machine whose RAM ends at the end of the data page: the next page has nothing behind it. */
  async function edgeMachine(src: string, regs: Record<number, bigint>): Promise<Cpu> {
    const mem = new PhysMemory();
    mem.addRam(BASE, 0x1000);
    mem.addRam(DATA, 0x1000);
    mem.writeBytes(BASE, await rawAssemble(`${src}\nbrk #0`, BASE));
    const cpu = new Cpu(mem, { stopOnBrk: true, stopOnUnvectoredEl1: true });
    cpu.resetTo(BigInt(BASE));
    setRegs(cpu, regs);
    return cpu;
  }

  it("LDP whose second half faults writes neither register nor the base", async () => {
    const cpu = await edgeMachine(`ldp x0, x1, [x9, #8]!`, { 0: 0xaan, 1: 0xbbn, 9: BigInt(DATA + 0xff0) });
    cpu.mem.write(DATA + 0xff8, 8, 0x1234n);
    const stop = cpu.run(10);
    expect(stop.kind).toBe("el1-exception");
    expect(Number((cpu.sr.ESR_EL1 >> 26n) & 0x3fn)).toBe(EC.DABT_CUR);
    expect(Number(cpu.sr.ESR_EL1 & 0x3fn)).toBe(DFSC_EXTERNAL);
    expect(cpu.sr.FAR_EL1).toBe(BigInt(DATA + 0x1000));
    expect([cpu.getX(0), cpu.getX(1), cpu.getX(9)]).toEqual([0xaan, 0xbbn, BigInt(DATA + 0xff0)]);
  });

  it("STP whose second half would fault writes neither half", async () => {
    for (const [src, base] of [
      [`stp x0, x1, [x9]`, DATA + 0xff8],
      [`stp w0, w1, [x9], #8`, DATA + 0xffc],
    ] as const) {
      const cpu = await edgeMachine(src, { 0: 0x1111n, 1: 0x2222n, 9: BigInt(base) });
      const stop = cpu.run(10);
      expect(stop.kind).toBe("el1-exception");
      expect(Number(cpu.sr.ESR_EL1 & 0x3fn)).toBe(DFSC_EXTERNAL);
      expect(cpu.sr.FAR_EL1).toBe(BigInt(DATA + 0x1000));
      expect(cpu.mem.read(base, 4)).toBe(0n);
      expect(cpu.getX(9)).toBe(BigInt(base));
    }
  });

  it("SP alignment is checked for pairs too", async () => {
    const p = await run(`stp x0, x1, [sp, #-16]!`, (cpu) => {
      setRegs(cpu, { [SP]: BigInt(DATA + 0x108) });
      cpu.sr.SCTLR_EL1 |= 8n;
    });
    expect(exceptionOf(p).ec).toBe(EC.SP_ALIGN);
    expect(p.cpu.getSP()).toBe(BigInt(DATA + 0x108));
  });
});

describe("unallocated and CONSTRAINED UNPREDICTABLE pair encodings are UNDEFINED", () => {
  const cases: Record<string, number> = {
    "LDP X with Rt == Rt2": 0xa9400020, // ldp x0, x0, [x1]
    "LDP W with Rt == Rt2 (pre-index)": 0x29c00c23, // ldp w3, w3, [x1, #0]!
    "LDNP with Rt == Rt2": 0xa8400020,
    "LDP post-index whose base is Rt": 0xa8c10400, // ldp x0, x1, [x0], #16
    "LDP pre-index whose base is Rt2": 0xa9c10420, // ldp x0, x1, [x1, #16]!
    "opc = 11": 0xe9400420,
    "LDPSW no-allocate (opc 01, idx 00)": 0x68400420,
    "STGP (opc 01, L 0)": 0x69000420,
  };
  for (const [what, word] of Object.entries(cases)) {
    it(what, async () => {
      const p = await run(`.word ${word}`, (cpu) => setRegs(cpu, { 0: BigInt(DATA), 1: BigInt(DATA + 0x40) }));
      const e = exceptionOf(p);
      expect(e.ec).toBe(EC.UNKNOWN);
      expect([p.cpu.getX(0), p.cpu.getX(1)]).toEqual([BigInt(DATA), BigInt(DATA + 0x40)]);
    });
  }
});
