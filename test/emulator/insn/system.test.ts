import { describe, expect, it } from "vitest";
import type { Cpu } from "../../../emulator/cpu.ts";
import { EC, ecOf, esr, issOf, sysRegIss } from "../../../emulator/exception.ts";
import { ID, SYSREG_TABLE, SR, type SysRegDef } from "../../../emulator/sysreg_table.ts";
import { runAsm } from "../../helpers/machine.ts";

const BASE = 0x80000n;

/** Generic assembler name of a register's encoding (keystone knows every S<op0>_<op1>_C<n>_C<m>_<op2>). */
const sname = (r: SysRegDef): string => `s${r.op0}_${r.op1}_c${r.crn}_c${r.crm}_${r.op2}`;

/** Prefix that drops to EL0 (SPSR_EL1 = 0, EL0t) and continues at label `user`. */
const TO_EL0 = `
  adr x9, user
  msr elr_el1, x9
  msr spsr_el1, xzr
  eret
user:
`;

describe("MRS/MSR (register)", () => {
  // Every plain EL1 register: what MSR writes, MRS reads back (masked where bits are RES0).
  const plain = SYSREG_TABLE.filter(
    (r) => r.minEl <= 1 && r.field !== undefined && !r.readOnly && !r.writeOnly && r.name !== "SCTLR_EL1",
  );
  const value = 0x0123_4567_89ab_cdefn;
  const expected: Record<string, bigint> = { VBAR_EL1: value & ~0x7ffn, CSSELR_EL1: value & 0xfn };

  it.each(plain.map((r) => [r.name, r] as const))("%s round-trips", async (name, r) => {
    const { cpu, stop } = await runAsm(`msr ${sname(r)}, x1\n mrs x2, ${sname(r)}\n brk #0`, {
      setup: (c) => c.setX(1, value),
    });
    expect(stop.kind).toBe("brk");
    expect(cpu.getX(2)).toBe(expected[name] ?? value);
    expect(cpu.sr[r.field!]).toBe(expected[name] ?? value);
  });

  it("covers the EL1 register set of the brief", () => {
    const names = new Set(plain.map((r) => r.name));
    for (const n of ["ACTLR_EL1", "CPACR_EL1", "TTBR0_EL1", "TTBR1_EL1", "TCR_EL1", "MAIR_EL1", "AMAIR_EL1", "VBAR_EL1",
      "ESR_EL1", "FAR_EL1", "ELR_EL1", "SPSR_EL1", "PAR_EL1", "CONTEXTIDR_EL1", "TPIDR_EL1", "TPIDR_EL0", "TPIDRRO_EL0",
      "AFSR0_EL1", "AFSR1_EL1", "CNTKCTL_EL1", "MDSCR_EL1"]) expect(names.has(n), n).toBe(true);
  });

  it("SCTLR_EL1 round-trips (MMU left off)", async () => {
    const { cpu } = await runAsm("msr sctlr_el1, x1\n mrs x2, sctlr_el1\n brk #0", {
      setup: (c) => c.setX(1, 0x30d0_5802n),
    });
    expect(cpu.getX(2)).toBe(0x30d0_5802n);
  });

  it("SP_EL0 is reachable from EL1h and UNDEFINED from EL1t", async () => {
    const a = await runAsm("msr sp_el0, x1\n mrs x2, sp_el0\n brk #0", { setup: (c) => c.setX(1, 0x7000n) });
    expect(a.cpu.getX(2)).toBe(0x7000n);
    expect(a.cpu.sr.SP_EL0).toBe(0x7000n);
    const b = await runAsm("msr spsel, #0\n mrs x2, sp_el0\n brk #0");
    expect(b.stop.kind).toBe("el1-exception");
    if (b.stop.kind !== "el1-exception") return;
    expect(b.stop.esr).toBe(esr(EC.UNKNOWN, 0));
    expect(b.stop.elr).toBe(BASE + 4n);
    expect(b.stop.vector).toBe(0x000n); // taken from EL1t: current EL with SP_EL0
  });

  it("reads PSTATE through NZCV, DAIF, SPSel and CurrentEL", async () => {
    const { cpu } = await runAsm(`
      cmp x0, #1           // N=1 C=0 (0 - 1)
      mrs x1, nzcv
      msr daifclr, #0xf
      msr daifset, #0x5
      mrs x2, daif
      mrs x3, spsel
      mrs x4, currentel
      mov x5, #0x60000000  // Z and C
      msr nzcv, x5
      mov x6, #0x200       // D only
      msr daif, x6
      brk #0`);
    expect(cpu.getX(1)).toBe(0x8000_0000n);
    expect(cpu.getX(2)).toBe(0x5n << 6n);
    expect(cpu.getX(3)).toBe(1n);
    expect(cpu.getX(4)).toBe(0x4n);
    expect(cpu.nzcv()).toBe(0b0110);
    expect(cpu.daif).toBe(0b1000);
  });

  it("reports the modelled features in the ID registers", async () => {
    const { cpu } = await runAsm(`
      mrs x1, s3_0_c0_c4_0   // ID_AA64PFR0_EL1
      mrs x2, s3_0_c0_c7_0   // ID_AA64MMFR0_EL1
      mrs x3, s3_0_c0_c7_1   // ID_AA64MMFR1_EL1
      mrs x4, s3_0_c0_c7_2   // ID_AA64MMFR2_EL1
      mrs x5, midr_el1
      mrs x6, mpidr_el1
      mrs x7, dczid_el0
      mrs x8, s3_0_c0_c6_0   // ID_AA64ISAR0_EL1
      mrs x10, s3_0_c0_c3_7  // reserved ID space: RAZ
      brk #0`, { cpu: { index: 3 } });
    const pfr0 = cpu.getX(1);
    expect(pfr0 & 0xfffn).toBe(0x111n); // EL0/EL1/EL2 AArch64
    expect((pfr0 >> 12n) & 0xfn).toBe(0n); // no EL3
    expect((pfr0 >> 16n) & 0xffn).toBe(0n); // FP and AdvSIMD, without FP16
    const mmfr0 = cpu.getX(2);
    expect(mmfr0 & 0xfn).toBe(5n); // 48-bit PA
    expect((mmfr0 >> 4n) & 0xfn).toBe(2n); // 16-bit ASID
    expect((mmfr0 >> 32n) & 0xfffn).toBe(0x222n); // stage-2 granules
    expect((cpu.getX(3) >> 4n) & 0xfn).toBe(2n); // 16-bit VMID
    expect((cpu.getX(3) >> 8n) & 0xfn).toBe(0n); // no VHE
    expect((cpu.getX(4) >> 24n) & 0xfn).toBe(1n); // FEAT_NV
    expect((cpu.getX(4) >> 48n) & 0xfn).toBe(1n); // FEAT_TTL
    expect(cpu.getX(5)).toBe(0x410f_d4f0n);
    expect(cpu.getX(6)).toBe(0x8000_0003n); // Aff0 = CPU index, bit 31 RES1
    expect(cpu.getX(7)).toBe(4n); // 64-byte ZVA blocks, permitted
    expect(cpu.getX(8)).toBe(ID.AA64ISAR0);
    expect((cpu.getX(8) >> 16n) & 0xffn).toBe(0n); // no CRC32, no atomics
    expect(cpu.getX(10)).toBe(0n);
  });

  it("MIDR/MPIDR read the host's VPIDR_EL2/VMPIDR_EL2", async () => {
    const { cpu } = await runAsm("mrs x1, midr_el1\n mrs x2, mpidr_el1\n brk #0", {
      setup: (c) => {
        c.sr.VPIDR_EL2 = 0x411f_d0c1n;
        c.sr.VMPIDR_EL2 = 0x8000_0102n;
      },
    });
    expect(cpu.getX(1)).toBe(0x411f_d0c1n);
    expect(cpu.getX(2)).toBe(0x8000_0102n);
  });

  it("selects CCSIDR_EL1 through CSSELR_EL1", async () => {
    const { cpu } = await runAsm(`
      msr csselr_el1, xzr
      mrs x1, ccsidr_el1
      mov x0, #2
      msr csselr_el1, x0
      mrs x2, ccsidr_el1
      brk #0`);
    expect(cpu.getX(1) & 7n).toBe(2n); // 64-byte lines
    expect((cpu.getX(2) >> 3n) & 0x3ffn).toBe(15n); // L2 16-way
  });

  it("MSR to a read-only register and unknown encodings are UNDEFINED", async () => {
    for (const insn of ["msr s3_0_c0_c7_2, x0", "mrs x0, s3_0_c9_c9_7", "msr currentel, x0", "mrs x0, s3_1_c15_c2_0"]) {
      const { stop, cpu } = await runAsm(`${insn}\n brk #0`);
      expect(stop.kind, insn).toBe("el1-exception");
      expect(cpu.sr.ESR_EL1, insn).toBe(esr(EC.UNKNOWN, 0));
      expect(cpu.sr.ELR_EL1).toBe(BASE);
    }
  });

  it("an IMPLEMENTATION DEFINED register access traps with HCR_EL2.TIDCP", async () => {
    const { stop } = await runAsm("mrs x4, s3_1_c15_c2_0\n brk #0", { setup: (c) => (c.sr.HCR_EL2 = 1n << 20n) });
    expect(stop.kind).toBe("exit");
    if (stop.kind !== "exit") return;
    expect(stop.exit.esr).toBe(esr(EC.SYS64, sysRegIss(3, 1, 15, 2, 0, 4, true)));
  });
});

describe("EL0 accesses", () => {
  async function atEl0(body: string, setup?: (cpu: Cpu) => void) {
    return runAsm(`${TO_EL0}${body}\n brk #0`, { ...(setup ? { setup } : {}) });
  }

  it("EL1 registers are UNDEFINED from EL0 (EC 0 to EL1's lower-EL vector)", async () => {
    for (const insn of ["mrs x1, sctlr_el1", "msr ttbr0_el1, x1", "mrs x1, currentel", "mrs x1, s3_0_c0_c7_0", "msr spsel, #1", "msr tpidrro_el0, x1"]) {
      const { stop } = await atEl0(insn);
      expect(stop.kind, insn).toBe("el1-exception");
      if (stop.kind !== "el1-exception") continue;
      expect(stop.esr, insn).toBe(esr(EC.UNKNOWN, 0));
      expect(stop.vector).toBe(0x400n);
      expect(stop.elr).toBe(BASE + 16n);
    }
  });

  it("EL0 registers work from EL0", async () => {
    const { cpu, stop } = await atEl0("msr tpidr_el0, x1\n mrs x2, tpidr_el0\n mrs x3, tpidrro_el0\n mrs x4, nzcv", (c) => {
      c.setX(1, 0xabcdn);
      c.sr.TPIDRRO_EL0 = 0x55n;
    });
    expect(stop.kind).toBe("brk");
    expect(cpu.el).toBe(0);
    expect(cpu.getX(2)).toBe(0xabcdn);
    expect(cpu.getX(3)).toBe(0x55n);
  });

  it("DAIF and CTR_EL0 trap to EL1 (EC 0x18) unless SCTLR_EL1.UMA / UCT", async () => {
    const a = await atEl0("mrs x1, daif");
    expect(a.stop.kind).toBe("el1-exception");
    if (a.stop.kind === "el1-exception") expect(a.stop.esr).toBe(esr(EC.SYS64, sysRegIss(3, 3, 4, 2, 1, 1, true)));
    const b = await atEl0("msr daifset, #2");
    if (b.stop.kind === "el1-exception") expect(b.stop.esr).toBe(esr(EC.SYS64, sysRegIss(0, 3, 4, 2, 6, 31, false)));
    else expect.unreachable();
    const c = await atEl0("mrs x1, ctr_el0\n mrs x2, daif", (cpu) => (cpu.sr.SCTLR_EL1 |= (1n << 15n) | (1n << 9n)));
    expect(c.stop.kind).toBe("brk");
    expect(c.cpu.getX(1)).toBe(ID.CTR);
  });

  it("DC ZVA traps at EL0 without SCTLR_EL1.DZE; DCZID_EL0 reports it (DZP)", async () => {
    const a = await atEl0("mrs x2, dczid_el0\n dc zva, x1", (c) => c.setX(1, 0x9000n));
    expect(a.cpu.getX(2)).toBe(0x14n);
    expect(a.stop.kind).toBe("el1-exception");
    if (a.stop.kind === "el1-exception") expect(ecOf(a.stop.esr)).toBe(EC.SYS64);
  });

  it("cache maintenance at EL0: UCI traps CVAC, DC IVAC is UNDEFINED", async () => {
    const a = await atEl0("dc cvac, x1", (c) => c.setX(1, 0x9000n));
    if (a.stop.kind === "el1-exception") expect(a.stop.esr).toBe(esr(EC.SYS64, sysRegIss(1, 3, 7, 10, 1, 1, false)));
    else expect.unreachable();
    const b = await atEl0("dc cvac, x1\n ic ivau, x1", (c) => {
      c.setX(1, 0x9000n);
      c.sr.SCTLR_EL1 |= 1n << 26n;
    });
    expect(b.stop.kind).toBe("brk");
    const d = await atEl0("dc ivac, x1", (c) => (c.sr.SCTLR_EL1 |= 1n << 26n));
    if (d.stop.kind === "el1-exception") expect(d.stop.esr).toBe(esr(EC.UNKNOWN, 0));
    else expect.unreachable();
  });
});

describe("MSR (immediate)", () => {
  it("SPSel switches the stack pointer bank", async () => {
    const { cpu } = await runAsm(`
      mov x1, #0x1000
      mov sp, x1
      msr spsel, #0
      mov x2, #0x2000
      mov sp, x2
      msr spsel, #1
      mov x3, sp
      brk #0`);
    expect(cpu.getX(3)).toBe(0x1000n);
    expect(cpu.sr.SP_EL0).toBe(0x2000n);
  });

  it("DAIFSet/DAIFClr set and clear PSTATE mask bits", async () => {
    const { cpu } = await runAsm("msr daifclr, #0xf\n msr daifset, #0xa\n msr daifclr, #0x2\n brk #0");
    expect(cpu.daif).toBe(0x8);
  });

  it("PSTATE fields of unimplemented features are UNDEFINED (PAN, UAO)", async () => {
    for (const word of ["0xd500409f", "0xd500407f"]) {
      const { cpu, stop } = await runAsm(`.word ${word}\n brk #0`);
      expect(stop.kind).toBe("el1-exception");
      expect(cpu.sr.ESR_EL1).toBe(esr(EC.UNKNOWN, 0));
    }
  });
});

describe("hints and barriers", () => {
  it("NOP, YIELD, SEV, SEVL, ESB, unallocated hints and barriers just continue", async () => {
    const { cpu, stop } = await runAsm(`
      nop
      yield
      sev
      sevl
      hint #0x10
      hint #0x7f
      dsb sy
      dmb ishld
      isb
      .word 0xd50330ff  // SB
      .word 0xd503323f  // DSB nXS
      add x0, x0, #1
      brk #0`);
    expect(stop.kind).toBe("brk");
    expect(cpu.getX(0)).toBe(1n);
  });

  it("CLREX clears the exclusive monitor", async () => {
    const { cpu } = await runAsm(`
      mov x1, #0x9000
      ldxr x2, [x1]
      clrex
      stxr w3, x2, [x1]
      brk #0`);
    expect(cpu.getX(3)).toBe(1n); // store-exclusive failed
  });

  it("WFE completes; WFI completes unless stopOnWfi", async () => {
    const a = await runAsm("wfe\n wfi\n brk #0");
    expect(a.stop.kind).toBe("brk");
    const b = await runAsm("nop\n wfi\n brk #0", { cpu: { stopOnWfi: true } });
    expect(b.stop).toEqual({ kind: "wfi", pc: BASE + 4n });
  });

  it("HCR_EL2.TWI traps WFI to EL2 (EC 0x01, ISS CV=1 COND=0xE TI=0)", async () => {
    const { stop } = await runAsm("wfi\n brk #0", { setup: (c) => (c.sr.HCR_EL2 = 1n << 13n), cpu: { stopOnWfi: true } });
    expect(stop.kind).toBe("exit");
    if (stop.kind !== "exit") return;
    expect(stop.exit.esr).toBe(esr(EC.WFX, 0x1e0_0000));
    expect(stop.exit.elr).toBe(BASE);
  });

  it("HCR_EL2.TWE traps WFE (TI=1); EL0 WFI traps to EL1 first when SCTLR_EL1.nTWI=0", async () => {
    const a = await runAsm("wfe\n brk #0", { setup: (c) => (c.sr.HCR_EL2 = 1n << 14n) });
    if (a.stop.kind === "exit") expect(issOf(a.stop.exit.esr)).toBe(0x1e0_0001);
    else expect.unreachable();
    const b = await runAsm(`${TO_EL0} wfi\n brk #0`, { setup: (c) => (c.sr.HCR_EL2 = 1n << 13n) });
    expect(b.stop.kind).toBe("el1-exception");
    if (b.stop.kind === "el1-exception") expect(b.stop.esr).toBe(esr(EC.WFX, 0x1e0_0000));
    const c = await runAsm(`${TO_EL0} wfi\n brk #0`, {
      setup: (cpu) => {
        cpu.sr.HCR_EL2 = 1n << 13n;
        cpu.sr.SCTLR_EL1 |= 1n << 16n;
      },
    });
    expect(c.stop.kind).toBe("exit");
  });
});

describe("SYS: DC, IC, AT", () => {
  it("DC ZVA zeroes exactly the aligned 64-byte block", async () => {
    const { mem, stop } = await runAsm("dc zva, x1\n brk #0", {
      setup: (c, m) => {
        for (let a = 0x9000; a < 0x9100; a += 8) m.write(a, 8, 0x1111_1111_1111_1111n);
        c.setX(1, 0x9047n);
      },
    });
    expect(stop.kind).toBe("brk");
    expect(mem.read(0x903f, 1)).toBe(0x11n);
    for (let a = 0x9040; a < 0x9080; a += 8) expect(mem.read(a, 8)).toBe(0n);
    expect(mem.read(0x9080, 1)).toBe(0x11n);
  });

  it("HCR_EL2.TDZ traps DC ZVA; TPCP, TPU and TSW trap the cache maintenance groups", async () => {
    const cases: [string, number, number][] = [
      ["dc zva, x1", 28, sysRegIss(1, 3, 7, 4, 1, 1, false)],
      ["dc civac, x1", 23, sysRegIss(1, 3, 7, 14, 1, 1, false)],
      ["ic ivau, x1", 24, sysRegIss(1, 3, 7, 5, 1, 1, false)],
      ["ic iallu", 24, sysRegIss(1, 0, 7, 5, 0, 31, false)],
      ["dc cisw, x2", 22, sysRegIss(1, 0, 7, 14, 2, 2, false)],
    ];
    for (const [insn, bit, iss] of cases) {
      const { stop, mem } = await runAsm(`${insn}\n brk #0`, {
        setup: (c, m) => {
          c.sr.HCR_EL2 = 1n << BigInt(bit);
          c.setX(1, 0x9000n);
          m.write(0x9000, 8, 0x77n);
        },
      });
      expect(stop.kind, insn).toBe("exit");
      if (stop.kind === "exit") expect(stop.exit.esr, insn).toBe(esr(EC.SYS64, iss));
      expect(mem.read(0x9000, 8)).toBe(0x77n); // trapped before any effect
    }
  });

  it("cache maintenance by set/way and IC IALLU execute at EL1", async () => {
    const { stop } = await runAsm("dc isw, x0\n dc csw, x0\n dc cisw, x0\n ic iallu\n ic ialluis\n dc ivac, x1\n dc cvau, x1\n brk #0", {
      setup: (c) => c.setX(1, 0x9000n),
    });
    expect(stop.kind).toBe("brk");
  });

  it("unallocated SYS encodings and SYSL are UNDEFINED", async () => {
    for (const insn of ["sys #0, c7, c0, #0, x0", "sys #1, c8, c7, #0, x0", "sysl x0, #0, c7, c0, #0", "dc cvap, x0"]) {
      const { stop, cpu } = await runAsm(`${insn}\n brk #0`);
      expect(stop.kind, insn).toBe("el1-exception");
      expect(cpu.sr.ESR_EL1).toBe(esr(EC.UNKNOWN, 0));
    }
  });

  it("AT S1E1R with the MMU off writes the flat translation to PAR_EL1", async () => {
    const { cpu, stop } = await runAsm("at s1e1r, x1\n mrs x2, par_el1\n brk #0", { setup: (c) => c.setX(1, 0x12345678n) });
    expect(stop.kind).toBe("brk");
    expect(cpu.getX(2) & 1n).toBe(0n); // F = 0
    expect(cpu.getX(2) & 0xffff_ffff_f000n).toBe(0x1234_5000n);
  });

  it("AT is UNDEFINED at EL0 and trapped by HCR_EL2.AT at EL1", async () => {
    const a = await runAsm(`${TO_EL0} at s1e0r, x1\n brk #0`);
    if (a.stop.kind === "el1-exception") expect(a.stop.esr).toBe(esr(EC.UNKNOWN, 0));
    else expect.unreachable();
    const b = await runAsm("at s1e0w, x1\n brk #0", { setup: (c) => (c.sr.HCR_EL2 = 1n << 44n) });
    if (b.stop.kind === "exit") expect(b.stop.exit.esr).toBe(esr(EC.SYS64, sysRegIss(1, 0, 7, 8, 3, 1, false)));
    else expect.unreachable();
  });
});

describe("register table flags used above", () => {
  it("marks the TVM group", () => {
    const tvm = SYSREG_TABLE.filter((r) => r.flags & SR.TVM).map((r) => r.name).sort();
    expect(tvm).toEqual(["AFSR0_EL1", "AFSR1_EL1", "AMAIR_EL1", "CONTEXTIDR_EL1", "ESR_EL1", "FAR_EL1", "MAIR_EL1",
      "SCTLR_EL1", "TCR_EL1", "TTBR0_EL1", "TTBR1_EL1"]);
  });
});
