// LDTR/STTR with stage 1 on: at EL1 they are checked with EL0 permissions, except when
// HCR_EL2.{NV,NV1} = {1,1} (a guest hypervisor's EL1 standing in for EL2).

import { describe, expect, it } from "vitest";
import type { Cpu } from "../../../emulator/cpu.ts";
import { EC } from "../../../emulator/exception.ts";
import type { PhysMemory } from "../../../emulator/memory.ts";
import { endOf, exceptionOf, expectCompleted, run, setRegs } from "./ldst_run.ts";

const S1_ROOT = 0x20_0000;
const DATA = 0x4000_0100;
const DFSC_PERMISSION_L1 = 0x0d;
const ISS_WNR = 1 << 6;
const AP_RW_EL1 = 0n << 6n;
const AP_RW_ALL = 1n << 6n;
const HCR_NV_NV1 = (1n << 42n) | (1n << 43n);

/**
 * Stage 1 on: 4K granule, 39-bit VA from level 1, identity blocks: the first GiB (code, tables)
 * EL1-only, the second GiB (the data at DATA_VA) with `ap`.
 */
function enableStage1(cpu: Cpu, mem: PhysMemory, ap: bigint): void {
  const block = 1n | (3n << 8n) | (1n << 10n); // AttrIndx 0 (Normal WB), SH inner, AF
  mem.write(S1_ROOT, 8, block | AP_RW_EL1);
  mem.write(S1_ROOT + 8, 8, 0x4000_0000n | block | ap);
  cpu.writeSysReg("MAIR_EL1", 0xffn);
  cpu.writeSysReg("TCR_EL1", 25n | (1n << 23n) | (5n << 32n)); // T0SZ 25, EPD1, IPS 48 bits
  cpu.writeSysReg("TTBR0_EL1", BigInt(S1_ROOT));
  cpu.writeSysReg("SCTLR_EL1", cpu.sr.SCTLR_EL1 | 1n);
}

describe("unprivileged loads and stores with stage 1 on", () => {
  it("LDTR at EL1 of a page EL0 cannot access takes a permission fault; LDR does not", async () => {
    const p = await run(
      `ldr x0, [x9]
       ldtr x1, [x9]`,
      (cpu, mem) => {
        enableStage1(cpu, mem, AP_RW_EL1);
        setRegs(cpu, { 9: BigInt(DATA), 1: 0x11n });
        mem.write(DATA, 8, 0x77n);
      },
    );
    const e = exceptionOf(p);
    expect(e.ec).toBe(EC.DABT_CUR);
    expect(e.iss & 0x3f).toBe(DFSC_PERMISSION_L1);
    expect(e.far).toBe(BigInt(DATA));
    expect(p.cpu.getX(0)).toBe(0x77n);
    expect(p.cpu.getX(1)).toBe(0x11n);
  });

  it("STTR at EL1 of a page EL0 cannot write faults as a write", async () => {
    const p = await run(`sttrb w1, [x9, #3]`, (cpu, mem) => {
      enableStage1(cpu, mem, AP_RW_EL1);
      setRegs(cpu, { 9: BigInt(DATA), 1: 0xabn });
    });
    const e = exceptionOf(p);
    expect(e.iss & 0x3f).toBe(DFSC_PERMISSION_L1);
    expect(e.iss & ISS_WNR).toBe(ISS_WNR);
    expect(p.mem.read(DATA + 3, 1)).toBe(0n);
  });

  it("LDTR/STTR of a page EL0 may access succeed at EL1", async () => {
    const p = await run(
      `ldtrsh x1, [x9]
       sttr w1, [x9, #8]`,
      (cpu, mem) => {
        enableStage1(cpu, mem, AP_RW_ALL);
        cpu.setX(9, BigInt(DATA));
        mem.write(DATA, 2, 0x8001n);
      },
    );
    expectCompleted(p, endOf(2));
    expect(p.cpu.getX(1)).toBe(0xffff_ffff_ffff_8001n);
    expect(p.mem.read(DATA + 8, 4)).toBe(0xffff_8001n);
  });

  it("with HCR_EL2.{NV,NV1} = {1,1} LDTR/STTR at EL1 are ordinary accesses", async () => {
    const p = await run(
      `ldtr x1, [x9]
       sttrh w1, [x9, #8]`,
      (cpu, mem) => {
        enableStage1(cpu, mem, AP_RW_EL1);
        cpu.writeSysReg("HCR_EL2", cpu.sr.HCR_EL2 | HCR_NV_NV1);
        cpu.setX(9, BigInt(DATA));
        mem.write(DATA, 8, 0x1234_5678n);
      },
    );
    expectCompleted(p, endOf(2));
    expect(p.cpu.getX(1)).toBe(0x1234_5678n);
    expect(p.mem.read(DATA + 8, 2)).toBe(0x5678n);
  });
});
