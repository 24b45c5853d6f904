import { describe, expect, it } from "vitest";
import { GuestError, HostError, formatGuestReport } from "../../hypervisor/errors.ts";

describe("HostError and GuestError", () => {
  it("HostError is an Error with its own name and message", () => {
    const e = new HostError("host page pool exhausted", { cause: 3 });
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe("HostError");
    expect(e.message).toBe("host page pool exhausted");
    expect(e.cause).toBe(3);
    expect(String(e)).toBe("HostError: host page pool exhausted");
  });

  it("GuestError carries its report and renders it as the message", () => {
    const e = new GuestError({ reason: "store to 0x0a000000: not RAM or a device", level: "L1" });
    expect(e).toBeInstanceOf(Error);
    expect(e).not.toBeInstanceOf(HostError);
    expect(e.name).toBe("GuestError");
    expect(e.message).toBe("[L1] store to 0x0a000000: not RAM or a device");
    expect(new GuestError("bad ERET").report).toEqual({ reason: "bad ERET" });
  });

  it("the message follows what outer layers add to the report", () => {
    const e = new GuestError({ reason: "unhandled SMC", level: "L2" });
    e.report.exit = { ec: "SMC64", esr: "0x5e000000" };
    e.report.regs = { x0: "0x1", x1: "0x2", x2: "0x3", x3: "0x4", pc: "0x40100000" };
    e.report.events = ["#12 exit SMC64", "#13 inject"];
    expect(e.message.split("\n")).toEqual([
      "[L2] unhandled SMC",
      "  exit: ec=SMC64 esr=0x5e000000",
      "  registers:",
      "       x0=0x1     x1=0x2     x2=0x3     x3=0x4",
      "       pc=0x40100000",
      "  last 2 events:",
      "    #12 exit SMC64",
      "    #13 inject",
    ]);
    expect(formatGuestReport(e.report)).toBe(e.message);
    expect(String(e).startsWith("GuestError: [L2] unhandled SMC\n")).toBe(true);
  });
});
