// Vector FP instructions end to end (assembled, decoded, executed): round-to-odd narrowing, the
// halves FCVTN2/FCVTL2 touch, pairwise and across-lanes NaN handling, FMULX, by-element lanes,
// fixed-point conversions; FPSR accumulates over the lanes.

import { describe, expect, it } from "vitest";
import type { Cpu } from "../../../emulator/cpu.ts";
import { FPSR } from "../../../emulator/fp/fp_format.ts";
import { runAsm } from "../../helpers/machine.ts";

const D = (x: number): bigint => new BigUint64Array(new Float64Array([x]).buffer)[0]!;
const S = (x: number): bigint => BigInt(new Uint32Array(new Float32Array([x]).buffer)[0]!);
const lanes32 = (...l: bigint[]): bigint => l.reduce((acc, v, i) => acc | (v << BigInt(32 * i)), 0n);
const lanes64 = (lo: bigint, hi: bigint): bigint => (hi << 64n) | lo;
const lane32 = (v: bigint, i: number): bigint => (v >> BigInt(32 * i)) & 0xffffffffn;

async function run(code: string, v: Record<number, bigint>, fpcr = 0): Promise<Cpu> {
  const { cpu, stop } = await runAsm(`${code}\n brk #0`, {
    setup: (c) => {
      c.writeSysReg("CPACR_EL1", 3n << 20n);
      c.fpcr = fpcr;
      for (const [n, val] of Object.entries(v)) c.setV(Number(n), val);
    },
  });
  expect(stop.kind).toBe("brk");
  return cpu;
}

describe("FCVTXN (round to odd) and the narrowing/lengthening halves", () => {
  it("an inexact narrowing sets the lowest bit; an exact one is unchanged", async () => {
    const cpu = await run("fcvtxn v0.2s, v1.2d", { 0: -1n, 1: lanes64(D(1 + 2 ** -30), D(1.5)) });
    expect(cpu.getV(0)).toBe(lanes32(0x3f800001n, S(1.5)));
    expect(cpu.fpsr).toBe(FPSR.IXC);
  });

  it("rounds like truncation on overflow (largest normal), whatever FPCR.RMode says", async () => {
    const cpu = await run("fcvtxn s0, d1", { 1: D(-1e300) });
    expect(cpu.getV(0)).toBe(0xff7fffffn);
    expect(cpu.fpsr).toBe(FPSR.OFC | FPSR.IXC);
  });

  it("FCVTN2 writes the upper half and keeps the lower; FCVTL2 reads the upper half", async () => {
    const cpu = await run("fcvtn2 v0.4s, v1.2d\n fcvtl2 v2.2d, v3.4s", {
      0: 0x1111111122222222n,
      1: lanes64(D(0.5), D(-2)),
      3: lanes32(S(9), S(9), S(0.25), S(-3)),
    });
    expect(cpu.getV(0)).toBe(lanes32(0x22222222n, 0x11111111n, S(0.5), S(-2)));
    expect(cpu.getV(2)).toBe(lanes64(D(0.25), D(-3)));
  });
});

describe("pairwise and across-lanes NaN handling", () => {
  it("FMAXP quietens a signalling NaN of a pair (IOC); other pairs are unaffected", async () => {
    const cpu = await run("fmaxp v0.4s, v1.4s, v2.4s", {
      1: lanes32(S(1), 0x7f800001n, S(-1), S(-2)),
      2: lanes32(S(3), S(4), 0x7fc00005n, S(7)),
    });
    expect(cpu.getV(0)).toBe(lanes32(0x7fc00001n, S(-1), S(4), 0x7fc00005n));
    expect(cpu.fpsr).toBe(FPSR.IOC);
  });

  it("FMAXNMP/FMINNMP prefer a number over a quiet NaN; FADDP scalar adds the two lanes", async () => {
    const cpu = await run("fmaxnmp s0, v1.2s\n fminnmp d2, v3.2d\n faddp d4, v5.2d", {
      1: lanes32(0xffc00000n, S(-5)),
      3: lanes64(D(8), 0x7ff8000000000000n),
      5: lanes64(D(0.5), D(0.25)),
    });
    expect(cpu.getV(0)).toBe(S(-5));
    expect(cpu.getV(2)).toBe(D(8));
    expect(cpu.getV(4)).toBe(D(0.75));
    expect(cpu.fpsr).toBe(0);
  });

  it("FMINV reduces the halves first, then min(low, high): the low half's NaN wins", async () => {
    const cpu = await run("fminv s0, v1.4s", { 1: lanes32(S(1), 0x7fc00001n, 0x7fc00002n, S(0)) });
    expect(cpu.getV(0)).toBe(0x7fc00001n);
  });
});

describe("FMULX, by element, fixed point", () => {
  it("FMULX gives +-2 for infinity times zero in each lane, no IOC", async () => {
    const cpu = await run("fmulx v0.4s, v1.4s, v2.4s", {
      1: lanes32(0x7f800000n, S(-0), S(3), 0xff800000n),
      2: lanes32(S(0), 0x7f800000n, S(2), S(0)),
    });
    expect(cpu.getV(0)).toBe(lanes32(S(2), S(-2), S(6), S(-2)));
    expect(cpu.fpsr).toBe(0);
  });

  it("FMLA by element multiplies every lane by one lane of Vm (V16-V31 allowed for S lanes)", async () => {
    const cpu = await run("fmla v0.4s, v1.4s, v17.s[3]\n fmul d2, d3, v18.d[1]", {
      0: lanes32(S(1), S(1), S(1), S(1)),
      1: lanes32(S(1), S(2), S(3), S(4)),
      17: lanes32(S(9), S(9), S(9), S(0.5)),
      3: D(3),
      18: lanes64(D(7), D(-2)),
    });
    expect(cpu.getV(0)).toBe(lanes32(S(1.5), S(2), S(2.5), S(3)));
    expect(cpu.getV(2)).toBe(D(-6));
  });

  it("SCVTF/FCVTZU with #fbits scale by 2^fbits; saturation raises IOC", async () => {
    const cpu = await run("scvtf v0.2d, v1.2d, #4\n fcvtzu v2.4s, v3.4s, #8", {
      1: lanes64(40n, BigInt.asUintN(64, -8n)),
      3: lanes32(S(1.5), S(-1), S(2 ** 30), S(0.00390625)),
    });
    expect(cpu.getV(0)).toBe(lanes64(D(2.5), D(-0.5)));
    expect(lane32(cpu.getV(2), 0)).toBe(384n);
    expect(lane32(cpu.getV(2), 1)).toBe(0n);
    expect(lane32(cpu.getV(2), 2)).toBe(0xffffffffn);
    expect(lane32(cpu.getV(2), 3)).toBe(1n);
    expect(cpu.fpsr).toBe(FPSR.IOC);
  });
});
