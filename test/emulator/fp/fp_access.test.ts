// SIMD&FP access control (CPACR_EL1.FPEN, HCR_EL2.TGE, CPTR_EL2.TFP) and the architectural state:
// FPCR/FPSR through MRS/MSR, scalar writes clearing the rest of the register, V.D[1] moves, and
// the 16-byte alignment of Q accesses.

import { describe, expect, it } from "vitest";
import type { Cpu } from "../../../emulator/cpu.ts";
import { EC, ecOf, issOf } from "../../../emulator/exception.ts";
import { runAsm } from "../../helpers/machine.ts";

const BASE = 0x80000n;
const DATA = 0x10000n;
const FP_ISS = 0x1e00000; // CV = 1, COND = 0b1110
const fpen = (v: number) => (cpu: Cpu) => cpu.writeSysReg("CPACR_EL1", BigInt(v) << 20n);

/** Drop to EL0 (EL0t) at label `user`. */
const TO_EL0 = `
  adr x9, user
  msr elr_el1, x9
  msr spsr_el1, xzr
  eret
user:
`;

describe("CheckFPAdvSIMDEnabled", () => {
  it.each([
    ["fadd d0, d1, d2"], ["ldr q0, [x1]"], ["str s3, [x1, #4]"], ["mrs x0, fpcr"], ["msr fpsr, x0"], ["movi v0.2d, #0"], ["fmov x0, d1"],
  ])("%s at EL1 with FPEN = 00 traps to EL1 with EC 0x07", async (insn) => {
    const { stop } = await runAsm(`nop\n ${insn}\n brk #0`, { setup: (c) => c.setX(1, DATA) });
    expect(stop.kind).toBe("el1-exception");
    if (stop.kind !== "el1-exception") return;
    expect(ecOf(stop.esr)).toBe(EC.FP_ACCESS);
    expect(issOf(stop.esr)).toBe(FP_ISS);
    expect(stop.elr).toBe(BASE + 4n);
  });

  it("FPEN = 01 allows EL1 and traps EL0; FPEN = 11 allows both", async () => {
    const code = `${TO_EL0} fadd d0, d1, d1\n brk #0`;
    const el1 = await runAsm(`fadd d0, d1, d1\n brk #0`, { setup: fpen(1) });
    expect(el1.stop.kind).toBe("brk");
    const el0 = await runAsm(code, { setup: fpen(1) });
    expect(el0.stop.kind).toBe("el1-exception");
    if (el0.stop.kind === "el1-exception") expect(ecOf(el0.stop.esr)).toBe(EC.FP_ACCESS);
    const open = await runAsm(code, { setup: fpen(3) });
    expect(open.stop.kind).toBe("brk");
  });

  it("with HCR_EL2.TGE an EL0 access FPEN forbids goes to EL2 as an uncategorized exception", async () => {
    const { stop } = await runAsm(`${TO_EL0} fmul s0, s1, s2\n brk #0`, {
      setup: (c) => {
        fpen(1)(c);
        c.sr.HCR_EL2 = 1n << 27n;
      },
    });
    expect(stop.kind).toBe("exit");
    if (stop.kind === "exit") expect(stop.exit.ec).toBe(EC.UNKNOWN);
  });

  it("CPTR_EL2.TFP traps to EL2 with EC 0x07 once FPEN allows the access", async () => {
    const { stop } = await runAsm(`nop\n fsqrt d0, d1\n brk #0`, {
      setup: (c) => {
        fpen(3)(c);
        c.sr.CPTR_EL2 = 1n << 10n;
      },
    });
    expect(stop.kind).toBe("exit");
    if (stop.kind !== "exit") return;
    expect(stop.exit.ec).toBe(EC.FP_ACCESS);
    expect(issOf(stop.exit.esr)).toBe(FP_ISS);
    expect(stop.exit.elr).toBe(BASE + 4n);
  });
});

const E2H = 1n << 34n;
const TGE = 1n << 27n;
/** Run `code` (at EL1, or EL0 after TO_EL0) with CPACR_EL1.FPEN, HCR_EL2 and CPTR_EL2 given. */
const withTraps = (code: string, cpacrFpen: number, hcrEl2: bigint, cptrEl2: bigint) =>
  runAsm(code, {
    setup: (c) => {
      fpen(cpacrFpen)(c);
      c.sr.HCR_EL2 = hcrEl2;
      c.sr.CPTR_EL2 = cptrEl2;
    },
  });

describe("CPTR_EL2 in the layout HCR_EL2.E2H selects", () => {
  const el1 = `nop\n fadd s0, s1, s2\n brk #0`;
  const el0 = `${TO_EL0} fadd s0, s1, s2\n brk #0`;

  it.each([
    [0n, "traps"], [1n, "does not trap"], [2n, "traps"], [3n, "does not trap"],
  ])("E2H = 1: CPTR_EL2.FPEN = %i %s EL1 (TFP, bit 10, is ignored)", async (f, what) => {
    const { stop } = await withTraps(el1, 3, E2H, (f << 20n) | (1n << 10n));
    if (what === "traps") {
      expect(stop.kind).toBe("exit");
      if (stop.kind !== "exit") return;
      expect(stop.exit.ec).toBe(EC.FP_ACCESS);
      expect(issOf(stop.exit.esr)).toBe(FP_ISS);
      expect(stop.exit.esr >> 25n & 1n).toBe(1n); // IL
      expect(stop.exit.elr).toBe(BASE + 4n);
    } else expect(stop.kind).toBe("brk");
  });

  it("E2H = 0: FPEN bits of CPTR_EL2 mean nothing, TFP traps", async () => {
    expect((await withTraps(el1, 3, 0n, 0n)).stop.kind).toBe("brk");
    const trapped = await withTraps(el1, 3, 0n, 1n << 10n);
    expect(trapped.stop.kind).toBe("exit");
    if (trapped.stop.kind === "exit") expect(trapped.stop.exit.ec).toBe(EC.FP_ACCESS);
  });

  it("E2H = 1, FPEN = 01 traps EL0 only while TGE is set", async () => {
    const free = await withTraps(el0, 3, E2H, 1n << 20n);
    expect(free.stop.kind).toBe("brk");
    const host = await withTraps(el0, 0, E2H | TGE, 1n << 20n);
    expect(host.stop.kind).toBe("exit");
    if (host.stop.kind === "exit") {
      expect(host.stop.exit.ec).toBe(EC.FP_ACCESS);
      expect(issOf(host.stop.exit.esr)).toBe(FP_ISS);
    }
  });

  it("{E2H, TGE} = {1, 1}: CPACR_EL1 does not govern EL0 (the EL2&0 regime), CPTR_EL2.FPEN does", async () => {
    const open = await withTraps(el0, 0, E2H | TGE, 3n << 20n);
    expect(open.stop.kind).toBe("brk");
  });

  it("CPACR_EL1 is checked before CPTR_EL2: an EL1 access both forbid goes to EL1", async () => {
    const { stop } = await withTraps(el1, 0, E2H, 0n);
    expect(stop.kind).toBe("el1-exception");
    if (stop.kind === "el1-exception") expect(ecOf(stop.esr)).toBe(EC.FP_ACCESS);
  });
});

describe("SIMD&FP instructions not implemented yet", () => {
  it.each([[".word 0x0ee2e020 // pmull v0.1q, v1.1d, v2.1d (FEAT_PMULL)"], [".word 0x4e421420 // fadd v0.8h, v1.8h, v2.8h (FEAT_FP16)"], [".word 0x1ee22820 // fadd h0, h1, h2 (FEAT_FP16)"], [".word 0x0c408c20 // ld2 {v0.1d, v1.1d}, [x1] (reserved)"], [".word 0x4e284820 // aese v0.16b, v1.16b"]])(
    "%s is UNDEFINED (EC 0x00), never silently executed",
    async (insn) => {
      const { stop } = await runAsm(`${insn}\n brk #0`, { setup: (c) => (fpen(3)(c), c.setX(1, DATA)) });
      expect(stop.kind).toBe("el1-exception");
      if (stop.kind === "el1-exception") expect(ecOf(stop.esr)).toBe(EC.UNKNOWN);
    },
  );
});

describe("SIMD&FP state", () => {
  it("FPCR and FPSR keep only their AArch64 bits", async () => {
    const { cpu, stop } = await runAsm(`msr fpcr, x1\n msr fpsr, x1\n mrs x2, fpcr\n mrs x3, fpsr\n brk #0`, {
      setup: (c) => {
        fpen(3)(c);
        c.setX(1, (1n << 64n) - 1n);
      },
    });
    expect(stop.kind).toBe("brk");
    expect(cpu.getX(2)).toBe(0x07c00000n); // AHP, DN, FZ, RMode
    expect(cpu.getX(3)).toBe(0x0800009fn); // QC, IDC, IXC, UFC, OFC, DZC, IOC
  });

  it("scalar writes clear the upper bits; V.D[1] moves keep the low half", async () => {
    const { cpu } = await runAsm(`ldr s0, [x1]\n fmov v1.d[1], x2\n fmov x3, v1.d[1]\n fadd s4, s0, s0\n brk #0`, {
      setup: (c, mem) => {
        fpen(3)(c);
        c.setX(1, DATA);
        c.setX(2, 0x1122334455667788n);
        mem.writeBytes(Number(DATA), new Uint8Array([0, 0, 0x80, 0x3f])); // 1.0f
        for (const n of [0, 1, 4]) c.setV(n, (1n << 128n) - 1n);
      },
    });
    expect(cpu.getV(0)).toBe(0x3f800000n);
    expect(cpu.getV(1)).toBe((0x1122334455667788n << 64n) | ((1n << 64n) - 1n));
    expect(cpu.getX(3)).toBe(0x1122334455667788n);
    expect(cpu.getV(4)).toBe(0x40000000n);
  });

  it("a Q access 8- but not 16-byte aligned faults in Device memory (MMU off), with no ISV", async () => {
    const { stop, cpu } = await runAsm(`ldr q0, [x1]\n brk #0`, {
      setup: (c) => {
        fpen(3)(c);
        c.setX(1, DATA + 8n);
      },
    });
    expect(stop.kind).toBe("el1-exception");
    if (stop.kind !== "el1-exception") return;
    expect(ecOf(stop.esr)).toBe(EC.DABT_CUR);
    expect(issOf(stop.esr)).toBe(0x21);
    expect(stop.far).toBe(DATA + 8n);
    expect(cpu.getV(0)).toBe(0n);
  });

  it("LDP/STP of Q registers move 32 bytes with writeback", async () => {
    const { cpu, mem } = await runAsm(`stp q0, q1, [x1, #-32]!\n ldp q2, q3, [x1], #32\n brk #0`, {
      setup: (c) => {
        fpen(3)(c);
        c.setX(1, DATA + 64n);
        c.setV(0, 0x0f0e0d0c0b0a09080706050403020100n);
        c.setV(1, 0x1f1e1d1c1b1a19181716151413121110n);
      },
    });
    expect(cpu.getX(1)).toBe(DATA + 64n);
    expect(cpu.getV(2)).toBe(cpu.getV(0));
    expect(cpu.getV(3)).toBe(cpu.getV(1));
    expect([...mem.readBytes(Number(DATA) + 32, 32)]).toEqual(Array.from({ length: 32 }, (_, i) => i));
  });
});
