import { describe, expect, it } from "vitest";
import { UsageError } from "../../cli/errors.ts";
import { parseAddress, parseCount, parseNumber } from "../../cli/parse.ts";

describe("parseNumber", () => {
  it.each([
    ["4096", 4096n],
    ["0x4800_0000", 0x4800_0000n],
    [" 0X10 ", 0x10n],
    ["64k", 64n << 10n],
    ["256M", 256n << 20n],
    ["0x2g", 2n << 30n],
  ])("reads %s", (text, value) => {
    expect(parseNumber(text, "--memory")).toBe(value);
  });

  it.each(["", "12x", "0x", "-1", "1.5", "4T"])("refuses '%s' with a usage error naming the option", (text) => {
    expect(() => parseNumber(text, "--memory")).toThrow(UsageError);
    expect(() => parseNumber(text, "--memory")).toThrow(/^--memory: '.*' is not a number/);
  });
});

describe("parseCount", () => {
  it("takes positive counts up to Number.MAX_SAFE_INTEGER", () => {
    expect(parseCount("1k", "--trace-limit")).toBe(1024);
    expect(parseCount(String(Number.MAX_SAFE_INTEGER), "--trace-limit")).toBe(Number.MAX_SAFE_INTEGER);
  });

  it.each(["0", String(Number.MAX_SAFE_INTEGER + 2)])("refuses %s as out of range", (text) => {
    expect(() => parseCount(text, "--trace-limit")).toThrow(`--trace-limit: ${text} is out of range`);
  });
});

describe("parseAddress", () => {
  it("takes addresses up to 0xffffffffffffffff at their alignment", () => {
    expect(parseAddress("0xffff_ffff_ffff_fffc", "--base", 4n, "insns")).toBe(0xffff_ffff_ffff_fffcn);
    expect(parseAddress("1G", "--base", 4n, "insns")).toBe(1n << 30n);
  });

  it.each(["0x10000000040100000", "0x10000000000000000", "18446744073709551616", "0x4000000000000000G"])(
    "refuses %s: it would wrap, so it does not fit in 64 bits",
    (text) => {
      expect(() => parseAddress(text, "--l1 load address", 4n, "insns")).toThrow(UsageError);
      expect(() => parseAddress(text, "--l1 load address", 4n, "insns")).toThrow(`--l1 load address: ${text} does not fit in 64 bits`);
    },
  );

  it("refuses an unaligned address, naming it in hex and the reason", () => {
    expect(() => parseAddress("1207959553", "--l2 load address", 4n, "instructions are 4-byte aligned")).toThrow(
      "--l2 load address: 0x48000001 is not a multiple of 0x4 (instructions are 4-byte aligned)",
    );
  });
});
