// Address parsing for debugger commands.

import { describe, expect, it } from "vitest";
import { DebugError, isNumber, parseAddress } from "../../debug/errors.ts";

describe("parseAddress", () => {
  it("reads hex, decimal and underscores", () => {
    expect(parseAddress("0x4000_0000")).toBe(0x4000_0000n);
    expect(parseAddress("4096")).toBe(4096n);
    expect(parseAddress(" 0XfF ")).toBe(255n);
  });

  it("rejects what is not a 64-bit number, naming it", () => {
    expect(() => parseAddress("l2_entry", "addr")).toThrow(new DebugError("addr: 'l2_entry' is not a number (use 0x-hex or decimal)"));
    expect(() => parseAddress("-1")).toThrow(DebugError);
    expect(() => parseAddress("0x1_0000_0000_0000_0000")).toThrow(/does not fit in 64 bits/);
  });

  it("tells numbers from symbols", () => {
    expect(isNumber("0x10")).toBe(true);
    expect(isNumber("12")).toBe(true);
    expect(isNumber("x12")).toBe(false);
    expect(isNumber("l2_entry+4")).toBe(false);
  });
});
