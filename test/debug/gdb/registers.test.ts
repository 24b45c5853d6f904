import { describe, expect, it } from "vitest";
import {
  GDB_REGISTERS, SYS_REGISTERS, decodeAllRegisters, decodeRegister, encodeAllRegisters, encodeRegister, registerValue,
  type TargetRegisters,
} from "../../../debug/gdb/registers.ts";

const regs: TargetRegisters = {
  x: Array.from({ length: 31 }, (_v, i) => BigInt(i)),
  sp: 0x4000_1000n,
  pc: 0x4000_0010n,
  cpsr: 0x6000_03c5n,
  level: "L2",
  sys: { HCR_EL2: 0x8000_0001n },
};

const byName = (n: string) => GDB_REGISTERS.find((r) => r.name === n)!;

describe("gdb register table", () => {
  it("numbers the AArch64 core registers as gdb's aarch64 target expects", () => {
    expect(GDB_REGISTERS.slice(0, 34).map((r) => r.name)).toEqual([...Array.from({ length: 31 }, (_v, i) => `x${i}`), "sp", "pc", "cpsr"]);
    expect(byName("sp").regnum).toBe(31);
    expect(byName("pc").regnum).toBe(32);
    expect(byName("cpsr")).toMatchObject({ regnum: 33, bits: 32 });
  });

  it("numbers v0-v31, fpsr and fpcr as gdb's aarch64 FP feature expects (34-67), writable", () => {
    expect(byName("v0")).toMatchObject({ regnum: 34, bits: 128, feature: "fpu", type: "aarch64v", writable: true });
    expect(byName("v31").regnum).toBe(65);
    expect(byName("fpsr")).toMatchObject({ regnum: 66, bits: 32, writable: true });
    expect(byName("fpcr")).toMatchObject({ regnum: 67, bits: 32, writable: true });
  });

  it("adds the EL1/virtual-EL2 registers and the level, read-only, after the FP registers", () => {
    const extra = GDB_REGISTERS.slice(68).map((r) => r.name);
    expect(extra).toEqual([...SYS_REGISTERS.map((n) => n.toLowerCase()), "level"]);
    for (const name of ["hcr_el2", "vttbr_el2", "vtcr_el2", "hpfar_el2", "sctlr_el1", "ttbr0_el1", "vbar_el2"]) {
      expect(byName(name).writable).toBe(false);
    }
    GDB_REGISTERS.forEach((r, i) => expect(r.regnum).toBe(i));
  });

  it("reads values from the target's register view, null when the target lacks one", () => {
    expect(registerValue(regs, byName("x7"))).toBe(7n);
    expect(registerValue(regs, byName("pc"))).toBe(0x4000_0010n);
    expect(registerValue(regs, byName("hcr_el2"))).toBe(0x8000_0001n);
    expect(registerValue(regs, byName("vttbr_el2"))).toBeNull();
    expect(registerValue(regs, byName("level"))).toBe(2n);
    expect(registerValue({ ...regs, level: "L1" }, byName("level"))).toBe(1n);
  });

  it("reads and encodes V registers as 16 little-endian bytes, xx when the target has none", () => {
    const v = Array.from({ length: 32 }, (_v, i) => BigInt(i) << 120n | 0x0102n);
    const fp = { ...regs, v, fpsr: 0x8000010n, fpcr: 0x400000n };
    expect(registerValue(fp, byName("v5"))).toBe(5n << 120n | 0x0102n);
    expect(encodeRegister(byName("v5"), 5n << 120n | 0x0102n)).toBe("0201" + "00".repeat(13) + "05");
    expect(decodeRegister(byName("v5"), "0201" + "00".repeat(13) + "05")).toBe(5n << 120n | 0x0102n);
    expect(registerValue(fp, byName("fpsr"))).toBe(0x8000010n);
    expect(registerValue(fp, byName("fpcr"))).toBe(0x400000n);
    expect(registerValue(regs, byName("v0"))).toBeNull();
    expect(encodeRegister(byName("v0"), null)).toBe("x".repeat(32));
    const back = decodeAllRegisters(encodeAllRegisters(fp))!;
    expect(back.get("v31")).toBe(31n << 120n | 0x0102n);
    expect(back.get("fpcr")).toBe(0x400000n);
  });

  it("encodes little-endian at the register's width, xx for unavailable", () => {
    expect(encodeRegister(byName("pc"), 0x4000_0010n)).toBe("1000004000000000");
    expect(encodeRegister(byName("cpsr"), 0x6000_03c5n)).toBe("c5030060");
    expect(encodeRegister(byName("x0"), -1n)).toBe("ffffffffffffffff");
    expect(encodeRegister(byName("x0"), null)).toBe("xxxxxxxxxxxxxxxx");
    expect(decodeRegister(byName("x1"), "4200000000000000")).toBe(0x42n);
    expect(decodeRegister(byName("cpsr"), "c5030060")).toBe(0x6000_03c5n);
    expect(decodeRegister(byName("x1"), "42")).toBeNull();
    expect(decodeRegister(byName("x1"), "zz00000000000000")).toBeNull();
  });

  it("g payload: every register in order; G payload decodes back to the writable ones", () => {
    const g = encodeAllRegisters(regs);
    const total = GDB_REGISTERS.reduce((n, r) => n + r.bits / 4, 0);
    expect(g.length).toBe(total);
    expect(g.slice(32 * 16, 33 * 16)).toBe("1000004000000000"); // pc
    const back = decodeAllRegisters(g)!;
    expect(back.get("x30")).toBe(30n);
    expect(back.get("cpsr")).toBe(0x6000_03c5n);
    expect(back.has("hcr_el2")).toBe(false);
    // The core alone is enough (gdb may cut the tail); less than the core, junk or too much is not.
    expect(decodeAllRegisters(g.slice(0, 33 * 16 + 8))!.get("pc")).toBe(0x4000_0010n);
    expect(decodeAllRegisters(g.slice(0, 100))).toBeNull();
    expect(decodeAllRegisters(g + "00")).toBeNull();
    expect(decodeAllRegisters("zz" + g.slice(2))).toBeNull();
  });
});
