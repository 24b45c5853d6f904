import { describe, expect, it } from "vitest";
import { UsageError } from "../../cli/errors.ts";
import { parseCount, parseNumber } from "../../cli/parse.ts";

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
