import { describe, expect, it } from "vitest";
import { Cpu } from "../../emulator/cpu.ts";
import { PhysMemory } from "../../emulator/memory.ts";
import {
  ID, PHYS_MIDR, SR, SYSREG_TABLE, physicalMpidr, sysRegByEncoding, sysRegByName, sysRegEncodingName, sysRegKey,
} from "../../emulator/sysreg_table.ts";

const cpu = (index = 0) => new Cpu(new PhysMemory({ autoAllocate: true }), { index });

describe("system register table", () => {
  it("has unique names and encodings", () => {
    expect(new Set(SYSREG_TABLE.map((r) => r.name.toUpperCase())).size).toBe(SYSREG_TABLE.length);
    expect(new Set(SYSREG_TABLE.map((r) => sysRegKey(r.op0, r.op1, r.crn, r.crm, r.op2))).size).toBe(SYSREG_TABLE.length);
  });

  it("matches the Arm ARM encodings", () => {
    const enc: Record<string, number[]> = {
      SCTLR_EL1: [3, 0, 1, 0, 0], CPACR_EL1: [3, 0, 1, 0, 2], TTBR0_EL1: [3, 0, 2, 0, 0], TTBR1_EL1: [3, 0, 2, 0, 1],
      TCR_EL1: [3, 0, 2, 0, 2], SPSR_EL1: [3, 0, 4, 0, 0], ELR_EL1: [3, 0, 4, 0, 1], SP_EL0: [3, 0, 4, 1, 0],
      SPSel: [3, 0, 4, 2, 0], CurrentEL: [3, 0, 4, 2, 2], AFSR0_EL1: [3, 0, 5, 1, 0], AFSR1_EL1: [3, 0, 5, 1, 1],
      ESR_EL1: [3, 0, 5, 2, 0], FAR_EL1: [3, 0, 6, 0, 0], PAR_EL1: [3, 0, 7, 4, 0], MAIR_EL1: [3, 0, 10, 2, 0],
      AMAIR_EL1: [3, 0, 10, 3, 0], VBAR_EL1: [3, 0, 12, 0, 0], CONTEXTIDR_EL1: [3, 0, 13, 0, 1],
      TPIDR_EL1: [3, 0, 13, 0, 4], MIDR_EL1: [3, 0, 0, 0, 0], MPIDR_EL1: [3, 0, 0, 0, 5],
      ID_AA64MMFR0_EL1: [3, 0, 0, 7, 0], NZCV: [3, 3, 4, 2, 0], DAIF: [3, 3, 4, 2, 1], TPIDR_EL0: [3, 3, 13, 0, 2],
      TPIDRRO_EL0: [3, 3, 13, 0, 3], VPIDR_EL2: [3, 4, 0, 0, 0], VMPIDR_EL2: [3, 4, 0, 0, 5],
      SCTLR_EL2: [3, 4, 1, 0, 0], HCR_EL2: [3, 4, 1, 1, 0], MDCR_EL2: [3, 4, 1, 1, 1], CPTR_EL2: [3, 4, 1, 1, 2],
      HSTR_EL2: [3, 4, 1, 1, 3], TTBR0_EL2: [3, 4, 2, 0, 0], TCR_EL2: [3, 4, 2, 0, 2], VTTBR_EL2: [3, 4, 2, 1, 0],
      VTCR_EL2: [3, 4, 2, 1, 2], SPSR_EL2: [3, 4, 4, 0, 0], ELR_EL2: [3, 4, 4, 0, 1], SP_EL1: [3, 4, 4, 1, 0],
      ESR_EL2: [3, 4, 5, 2, 0], FAR_EL2: [3, 4, 6, 0, 0], HPFAR_EL2: [3, 4, 6, 0, 4], MAIR_EL2: [3, 4, 10, 2, 0],
      VBAR_EL2: [3, 4, 12, 0, 0], TPIDR_EL2: [3, 4, 13, 0, 2], CNTVOFF_EL2: [3, 4, 14, 0, 3],
      CNTHCTL_EL2: [3, 4, 14, 1, 0], SPSR_EL12: [3, 5, 4, 0, 0], MDSCR_EL1: [2, 0, 0, 2, 2], CTR_EL0: [3, 3, 0, 0, 1],
      DCZID_EL0: [3, 3, 0, 0, 7],
    };
    for (const [name, [op0, op1, crn, crm, op2]] of Object.entries(enc)) {
      const r = sysRegByName(name);
      expect(r, name).toBeDefined();
      expect([r!.op0, r!.op1, r!.crn, r!.crm, r!.op2], name).toEqual([op0, op1, crn, crm, op2]);
      expect(sysRegByEncoding(op0!, op1!, crn!, crm!, op2!)).toBe(r);
    }
  });

  it("looks names up case-insensitively and by generic S-name", () => {
    expect(sysRegByName("currentel")?.name).toBe("CurrentEL");
    expect(sysRegByName("S3_4_C1_C1_0")?.name).toBe("HCR_EL2");
    expect(sysRegByName("s3_0_c0_c7_3")).toMatchObject({ name: "S3_0_C0_C7_3", readOnly: true, reset: 0n });
    expect(sysRegByName("S3_0_C16_C0_0")).toBeUndefined();
    expect(sysRegByName("NOPE_EL1")).toBeUndefined();
    expect(sysRegByEncoding(3, 0, 9, 9, 7)).toBeUndefined();
    expect(sysRegEncodingName({ op0: 3, op1: 5, crn: 1, crm: 0, op2: 0 })).toBe("S3_5_C1_C0_0");
  });

  it("classifies registers for the EL2 controls", () => {
    const flagged = (flag: number) => SYSREG_TABLE.filter((r) => r.flags & flag).map((r) => r.name);
    expect(flagged(SR.NV1).sort()).toEqual(["ELR_EL1", "SPSR_EL1", "VBAR_EL1"]);
    for (const r of SYSREG_TABLE.filter((x) => x.op1 === 4 || x.op1 === 5)) {
      expect(r.flags & SR.EL2, r.name).toBeTruthy();
      expect(r.minEl, r.name).toBe(2);
    }
    expect(sysRegByName("SP_EL0")!.flags & SR.SPSEL0).toBeTruthy();
    expect(sysRegByName("ID_AA64PFR0_EL1")!.flags & SR.TID3).toBeTruthy();
  });

  it("gives the host a view by name: EL12 aliases are the EL1 registers, SP_EL1 the banked SP", () => {
    const c = cpu();
    c.setSP(0x8000n); // EL1h: SP_EL1 is live
    expect(sysRegByName("SP_EL1")!.read(c)).toBe(0x8000n);
    sysRegByName("SPSR_EL12")!.write(c, 0x3c5n);
    expect(c.sr.SPSR_EL1).toBe(0x3c5n);
    expect(sysRegByName("VBAR_EL12")!.read(c)).toBe(0n);
    sysRegByName("HCR_EL2")!.write(c, 1n << 42n);
    expect(sysRegByName("CurrentEL")!.read(c)).toBe(0x8n);
  });

  it("ID values: PHYS_MIDR, physical MPIDR and VMPIDR_EL2 at reset", () => {
    const c = cpu(5);
    expect(physicalMpidr(c)).toBe(0x8000_0005n);
    expect(c.sr.VMPIDR_EL2).toBe(0x8000_0005n);
    expect(sysRegByName("MPIDR_EL1")!.read(c)).toBe(0x8000_0005n);
    expect(sysRegByName("MIDR_EL1")!.reset).toBe(PHYS_MIDR);
    expect(sysRegByName("ID_AA64MMFR2_EL1")!.read(c)).toBe(ID.AA64MMFR2);
    expect((ID.AA64ISAR0 >> 16n) & 0xfn).toBe(0n); // no CRC32
    expect((ID.AA64ISAR0 >> 20n) & 0xfn).toBe(0n); // no LSE atomics
    expect(ID.AA64PFR0 & 0xffffn).toBe(0x0111n);
  });

  it("DCZID_EL0 reports DC ZVA prohibited under HCR_EL2.TDZ", () => {
    const c = cpu();
    expect(sysRegByName("DCZID_EL0")!.read(c)).toBe(4n);
    c.sr.HCR_EL2 = 1n << 28n;
    expect(sysRegByName("DCZID_EL0")!.read(c)).toBe(0x14n);
  });
});
