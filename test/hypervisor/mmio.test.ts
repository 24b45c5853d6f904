// PL011 emulation from the data-abort syndrome, and the accesses it must refuse.

import { describe, expect, it } from "vitest";
import { OFF, bootL1 } from "./l0_harness.ts";

describe("ioMemAbort", () => {
  it("prints through the UART data register and reads the flag register (ISV=1)", async () => {
    const bytes: number[] = [];
    const src = `
      mov64 x1, 0x09000000
      mov w2, #'o'
      strb w2, [x1]
      mov w2, #'k'
      str w2, [x1]
      ldr w3, [x1, #0x18]
      ldrsb x4, [x1, #0x18]
      ldrsb w5, [x1, #0x18]
      mov64 x6, 0xffffffffffffffff
      ldrb w6, [x1, #0x4]
      ${OFF(5)}`;
    const r = await bootL1(src, { onConsole: (b) => bytes.push(b) });
    expect(r.outcome).toEqual({ kind: "system-off", code: 5 });
    expect(r.console).toBe("ok");
    expect(bytes).toEqual([0x6f, 0x6b]);
    expect(r.x(3)).toBe(0x90n); // TXFE | RXFE
    expect(r.x(4)).toBe(0xffff_ffff_ffff_ff90n); // sign-extended to 64 bits
    expect(r.x(5)).toBe(0xffff_ff90n); // to 32 bits, upper half zero
    expect(r.x(6)).toBe(0n);
    expect(r.metrics.mmioAccesses).toBe(6);
  });

  it("an MMIO access without a valid syndrome (stp) is a GuestError with registers, exit and events", async () => {
    const src = `
      mov64 x1, 0x09000000
      mov x7, #0x77
      stp x2, x3, [x1]
      ${OFF()}`;
    const r = await bootL1(src);
    expect(r.outcome.kind).toBe("guest-error");
    if (r.outcome.kind !== "guest-error") return;
    const rep = r.outcome.report;
    expect(rep.reason).toMatch(/MMIO access without a valid syndrome \(pair\/writeback\?\) at canonical IPA 0x9000000/);
    expect(rep.level).toBe("L1");
    expect(rep.regs?.x7).toBe("0x0000000000000077");
    expect(rep.regs?.pc).toBe("0x0000000040100014");
    expect(rep.regs?.pstate).toBe("0x000003c9");
    expect(rep.exit?.ec).toBe("0x24 (DABT_LOW)");
    expect(rep.exit?.far).toBe("0x9000000");
    expect(rep.events?.at(-1)).toMatch(/DABT_LOW from L1/);
    expect(r.outcome.message).toMatch(/registers:/);
  });

  it("an access outside RAM and devices is a GuestError", async () => {
    const r = await bootL1(`mov x1, #0x1000\n ldr x2, [x1]\n ${OFF()}`);
    expect(r.outcome.kind).toBe("guest-error");
    if (r.outcome.kind === "guest-error") {
      expect(r.outcome.report.reason).toMatch(/access to canonical IPA 0x1000 \(VA 0x1000\) outside RAM and devices/);
    }
  });

  it("an instruction fetch from the UART is a GuestError", async () => {
    const r = await bootL1(`mov64 x1, 0x09000000\n br x1`);
    expect(r.outcome.kind).toBe("guest-error");
    if (r.outcome.kind === "guest-error") expect(r.outcome.report.reason).toMatch(/instruction fetch from canonical IPA 0x9000000/);
  });

  it("a stage-1 table walk outside RAM during a fetch is described as the walk, not as the fetch", async () => {
    // L1 turns its stage-1 on with TTBR0_EL2 at canonical IPA 0x1000 (not RAM): the next fetch's
    // walk reads there, an IABT with S1PTW set.
    const r = await bootL1(`
      mov64 x0, 0x80803510
      msr tcr_el2, x0
      mov x0, #0x1000
      msr ttbr0_el2, x0
      mrs x0, sctlr_el2
      orr x0, x0, #1
      msr sctlr_el2, x0
      isb
      ${OFF(3)}`);
    expect(r.outcome.kind).toBe("guest-error");
    if (r.outcome.kind !== "guest-error") return;
    const rep = r.outcome.report;
    expect(rep.exit?.ec).toBe("0x20 (IABT_LOW)");
    expect(BigInt(rep.exit?.esr ?? "0") & 0x80n).toBe(0x80n); // S1PTW
    expect(rep.reason).toBe(
      "stage-1 page-table walk for an instruction fetch at VA 0x40100028 reads a table in the page at canonical IPA 0x1000, " +
        "which is not RAM: L1's stage-1 tables point outside its memory",
    );
    expect(rep.reason).not.toMatch(/^instruction fetch/);
  });
});
