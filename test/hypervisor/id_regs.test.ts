// The ID registers L1 and L2 read: L0's sanitised table, not the hardware's values.

import { describe, expect, it } from "vitest";
import { EC, esr } from "../../emulator/exception.ts";
import { sysRegByEncoding, sysRegEncodingName } from "../../emulator/sysreg_table.ts";
import { NV_ID_REGS, idField, idRegValue, kvmReadVmIdReg, type IdRegView } from "../../hypervisor/id_regs.ts";
import { OFF, bootL1, enterL2Prologue, expectVel2Exception, vectors } from "./l0_harness.ts";

const mrsName = (r: IdRegView): string => sysRegEncodingName({ op0: r.enc[0], op1: r.enc[1], crn: r.enc[2], crm: r.enc[3], op2: r.enc[4] }).toLowerCase();
const hardware = (r: IdRegView): bigint => sysRegByEncoding(...r.enc)?.reset ?? 0n;

/** `mrs` of every table register into x2, x3… in table order (OFF clobbers x0 and x1). */
const readAll = NV_ID_REGS.map((r, i) => `mrs x${i + 2}, ${mrsName(r)}`).join("\n");

/** L1 that enters L2 (stage 2 off) with `vhcrExtra` in its HCR_EL2; L2 runs `l2`, then HVCs back and L1 powers off. */
function withL2(l2: string, vhcrExtra: string): string {
  return `${enterL2Prologue(vhcrExtra)}
      eret
    l2_entry:
      ${l2}
      hvc #0
    lower_sync:
      mrs x20, esr_el2
      ${OFF()}
      ${vectors("vec", { 0x400: "b lower_sync" })}`;
}

describe("ID registers L1 sees", () => {
  it("every field L1 reads with mrs is the sanitised one", async () => {
    expect(NV_ID_REGS.length).toBeLessThan(18); // x2..x18 hold them
    const r = await bootL1(`${readAll}\n${OFF()}`);
    expect(r.outcome).toEqual({ kind: "system-off", code: 0 });
    NV_ID_REGS.forEach((reg, i) => {
      const got = r.x(i + 2);
      for (const f of reg.fields) expect(`${reg.name}.${f.name} = ${idField(got, f.lsb)}`).toBe(`${reg.name}.${f.name} = ${f.value}`);
      expect(got).toBe(idRegValue(reg));
    });
    // Each read trapped to L0 (TID3) and was counted.
    expect(r.metrics.sysregTraps).toBe(NV_ID_REGS.length);
  });

  it("NV reads 0 and EL2 1, although the CPU under L0 has FEAT_NV", async () => {
    const mmfr2 = NV_ID_REGS.find((x) => x.name === "ID_AA64MMFR2_EL1")!;
    expect(idField(hardware(mmfr2), 24)).toBe(1);
    const r = await bootL1(`mrs x2, s3_0_c0_c7_2\n mrs x3, s3_0_c0_c4_0\n mrs x4, s3_0_c0_c7_1\n ${OFF()}`);
    expect(idField(r.x(2), 24)).toBe(0); // NV
    expect(idField(r.x(2), 48)).toBe(1); // TTL
    expect(idField(r.x(3), 8)).toBe(1); // EL2
    expect(idField(r.x(3), 16)).toBe(0); // FP, implemented without FP16
    expect(idField(r.x(4), 8)).toBe(0); // VH
  });

  it("ID registers outside the table (AArch32 ones, reserved encodings) read as zero", async () => {
    const r = await bootL1(`mrs x2, s3_0_c0_c1_0\n mrs x3, s3_0_c0_c4_2\n mrs x4, s3_0_c0_c6_3\n ${OFF()}`);
    expect([r.x(2), r.x(3), r.x(4)]).toEqual([0n, 0n, 0n]);
    expect(kvmReadVmIdReg(3, 0, 0, 7, 2)).toBe(idRegValue(NV_ID_REGS.find((x) => x.name === "ID_AA64MMFR2_EL1")!));
  });

  it("an MSR to an ID register is UNDEFINED for L1 (taken at vEL2), and the value does not change", async () => {
    await expectVel2Exception({
      body: "mov x1, #0\n bad: msr s3_0_c0_c7_2, x1\n b .",
      esr: esr(EC.UNKNOWN, 0),
      elr: "bad",
      elrOffset: 0n,
      spsr: 0x3c9n,
    });
    const r = await bootL1(`mov x1, #0x7\n adr x0, v\n msr vbar_el2, x0\n msr s3_0_c0_c7_2, x1\n b .\n cont: mrs x2, s3_0_c0_c7_2\n ${OFF()}\n ${vectors("v", { 0x200: "mrs x0, elr_el2\n add x0, x0, #8\n msr elr_el2, x0\n eret" })}`);
    expect(r.outcome.kind).toBe("system-off");
    expect(r.x(2)).toBe(idRegValue(NV_ID_REGS.find((x) => x.name === "ID_AA64MMFR2_EL1")!));
  });

  it("L2 reads the same sanitised values, unless L1 traps them (its TID3): then L1 gets the trap", async () => {
    const l2 = readAll;
    const own = await bootL1(withL2(l2, "0"));
    expect(own.outcome).toEqual({ kind: "system-off", code: 0 });
    NV_ID_REGS.forEach((reg, i) => expect(own.x(i + 2)).toBe(idRegValue(reg)));
    expect(own.x(20) >> 26n).toBe(BigInt(EC.HVC64));

    const trapped = await bootL1(withL2("mrs x2, s3_0_c0_c7_2", "1 << 18"));
    expect(trapped.outcome).toEqual({ kind: "system-off", code: 0 });
    expect(trapped.x(20) >> 26n).toBe(BigInt(EC.SYS64));
    expect(trapped.x(20) & 1n).toBe(1n); // a read
  });
});

describe("the sanitised table", () => {
  it("never offers more than the CPU under L0 has, and names every feature it hides", () => {
    for (const reg of NV_ID_REGS) {
      const hw = hardware(reg);
      const listed = new Set(reg.fields.map((f) => f.lsb));
      for (const f of reg.fields) {
        // FP and AdvSIMD are signed (0xF = not implemented); the rest count up.
        if (f.name !== "FP" && f.name !== "AdvSIMD") expect(`${reg.name}.${f.name} ≤ ${idField(hw, f.lsb)}: ${f.value}`).toBe(`${reg.name}.${f.name} ≤ ${idField(hw, f.lsb)}: ${Math.min(f.value, idField(hw, f.lsb))}`);
        expect(f.why.length).toBeGreaterThan(0);
        expect(f.why).not.toMatch(/\n/);
      }
      for (let lsb = 0; lsb < 64; lsb += 4) {
        if (idField(hw, lsb) !== 0) expect(`${reg.name}[${lsb + 3}:${lsb}] listed`).toBe(listed.has(lsb) ? `${reg.name}[${lsb + 3}:${lsb}] listed` : "not listed");
      }
      expect(listed.size).toBe(reg.fields.length); // no field twice
      expect(reg.fields.every((f) => f.lsb % 4 === 0 && f.lsb < 64 && f.value >= 0 && f.value <= 0xf)).toBe(true);
    }
  });
});
