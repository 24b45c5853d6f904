import { describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { assemble, assembleFile } from "../../asm/assembler.ts";
import { AsmError, InputFileError } from "../../asm/errors.ts";

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

async function failure(src: string): Promise<AsmError> {
  try {
    await assemble(src, { file: "guest.S", base: 0x80000n });
  } catch (e) {
    if (e instanceof AsmError) return e;
    throw e;
  }
  throw new Error("assembled without error");
}

/** Expect an error at `line:col` whose reason contains `reason`. */
async function expectError(src: string, line: number, col: number, reason: string | RegExp): Promise<AsmError> {
  const e = await failure(src);
  expect(`${e.file}:${e.line}:${e.col}`).toBe(`guest.S:${line}:${col}`);
  expect(e.reason).toMatch(reason);
  expect(e.sourceLine).toBe(src.split("\n")[line - 1]);
  return e;
}

describe("AsmError", () => {
  it("formats file:line:col, the source line and a caret", async () => {
    const e = await expectError("nop\n  add x0, x0, #5000 // too big\nnop", 2, 15, "immediate #5000 is out of range");
    expect(e.format()).toBe(
      "guest.S:2:15: error: immediate #5000 is out of range or not encodable for 'add'\n" +
        "      add x0, x0, #5000 // too big\n" +
        "                  ^",
    );
    expect(e.message).toBe("guest.S:2:15: immediate #5000 is out of range or not encodable for 'add'");
  });

  it("keeps tabs in the caret line so it lines up", async () => {
    const e = await failure("\tfoo\tx1");
    expect(e.col).toBe(2);
    expect(e.format().split("\n")[2]).toBe("    \t^");
  });
});

describe("control characters in the input", () => {
  it.each<[string, string, string]>([
    ["a stray carriage return", "nop\n\r", "expected a mnemonic or directive, found '\\r'"],
    ["a NUL byte", "\0", "expected a mnemonic or directive, found '\\x00'"],
    ["an escape character", "\x1b[2J", "expected a mnemonic or directive, found '\\x1b'"],
  ])("%s is quoted as an escape, not raw (it would garble the terminal)", async (_name, src, reason) => {
    const e = await failure(src);
    expect(e.reason).toBe(reason);
    expect(e.message).not.toMatch(/[\x00-\x08\x0a-\x1f\x7f]/);
  });
});

describe("instruction errors", () => {
  it.each(["$ )", "$)", "$(", "$,", "  $  ]"])("%s: a mnemonic that is no A64 name is refused before it reaches keystone (which never returned)", async (src) => {
    await expectError(src, 1, src.indexOf("$") + 1, "unknown instruction '$'");
  });

  it.each<[string, string, number, number, string | RegExp]>([
    ["unknown mnemonic → mnemonic column", "  nop\n    frob x1, x2", 2, 5, "unknown instruction 'frob'"],
    ["out-of-range add immediate", "add x0, x0, #5000", 1, 13, /#5000 .*'add'/],
    ["non-encodable logical immediate", "and x0, x1, #5", 1, 13, /#5 .*'and'/],
    ["out-of-range load offset inside brackets", "ldr x0, [x1, #40000]", 1, 14, /#40000/],
    ["bad shift amount", "movk x0, #1, lsl #8", 1, 18, /#8/],
    ["16-bit immediate too big", "svc #0x10000", 1, 5, /#0x10000/],
    ["invalid register", "mov x0, x32", 1, 9, "invalid register 'x32'"],
    ["invalid operands without a single culprit → mnemonic column", "  add x0, w1, x2, x3, x4", 1, 3, "invalid operands for 'add'"],
    ["unknown system register", "msr vttbr_el3, x0", 1, 5, "unknown system register 'vttbr_el3'"],
    ["unknown TLBI operation", "tlbi vmalle9, x0", 1, 6, "unknown TLBI operation"],
  ])("%s", async (_name, src, line, col, reason) => {
    await expectError(src, line, col, reason);
  });
  it("an unaligned load address is blamed, not the source", async () => {
    const at = async (base: bigint, src: string): Promise<AsmError> => {
      const e = await assemble(src, { file: "guest.S", base }).then(() => null, (x: unknown) => x);
      if (!(e instanceof AsmError)) throw new Error(`expected an AsmError, got ${String(e)}`);
      return e;
    };
    const e = await at(0x4800_0001n, "nop\nnop");
    expect(e.reason).toBe("the load address 0x48000001 is not 4-byte aligned, so this instruction would sit at 0x48000001: load the image at a multiple of 4");
    expect(e.reason).not.toMatch(/balign/);
    // Data before the instruction is still the source's fault, whatever the load address.
    expect((await at(0x4800_0002n, ".byte 1\nnop")).reason).toBe("instruction at unaligned address 0x48000003 (use .balign 4 before it)");
  });
  it("TLBI register mismatch", async () => {
    await expectError("tlbi vmalle1is, x0", 1, 17, "takes no register");
    await expectError("tlbi vae1is", 1, 12, "needs an X register");
  });
  it.each<[string, string, number, number, string | RegExp]>([
    ["literal pools are rejected", "ldr x0, =0x1234", 1, 9, "literal pools"],
    ["unsupported relocation modifiers", "add x0, x0, :abs_g1:x", 1, 13, ":abs_g1:"],
    ["instruction at an unaligned address", ".byte 1\nnop", 2, 1, "unaligned address 0x80001"],
    ["PSTATE immediate out of range", "msr pan, #3", 1, 10, "must be 0 or 1"],
  ])("%s", async (_name, src, line, col, reason) => {
    await expectError(src, line, col, reason);
  });
});

describe("symbol errors", () => {
  it.each<[string, string, number, number, string | RegExp]>([
    ["undefined label in a branch → operand column", "b nowhere", 1, 3, "undefined symbol 'nowhere'"],
    ["undefined symbol inside an immediate expression", "mov x0, #(1 + MISSING)", 1, 15, "undefined symbol 'MISSING'"],
    ["undefined bare symbol operand", "mov x0, missing", 1, 9, "undefined symbol 'missing'"],
    ["undefined symbol in data", ".quad 1, 2, nope", 1, 13, "undefined symbol 'nope'"],
    ["undefined local label", "1: nop\nb 1f", 2, 3, "'1f'"],
  ])("%s", async (_name, src, line, col, reason) => {
    await expectError(src, line, col, reason);
  });
  it("duplicate label", async () => {
    const e = await expectError("a: nop\n  a: nop", 2, 3, "duplicate symbol 'a'");
    expect(e.reason).toContain("first defined at guest.S:1:1");
  });
  it.each<[string, string, number, number, string | RegExp]>([
    ["duplicate constant", ".equ X, 1\nX = 2", 2, 1, "duplicate symbol 'X'"],
    ["register names cannot be symbols", "sp: nop", 1, 1, "register name"],
    ["circular or undefined .equ", ".equ A, B + 1\n.equ B, A", 1, 9, "undefined symbol 'B'"],
  ])("%s", async (_name, src, line, col, reason) => {
    await expectError(src, line, col, reason);
  });
});

describe("range errors for PC-relative targets", () => {
  it.each<[string, string, number, number, string | RegExp]>([
    ["CBZ beyond ±1 MiB", "cbz x0, far\n.org 0x180000\nfar: nop", 1, 9, /out of range for CBZ.*±1 MiB/],
    ["TBZ beyond ±32 KiB", "tbz x0, #1, far\n.org 0x88004\nfar: nop", 1, 13, /±32 KiB/],
    ["B beyond ±128 MiB", "b 0x8080000", 1, 3, /±128 MiB/],
    ["ADR beyond ±1 MiB", "adr x0, 0x180004", 1, 9, /ADR/],
    ["misaligned branch target", "b 0x80002", 1, 3, "not 4-byte aligned"],
  ])("%s", async (_name, src, line, col, reason) => {
    await expectError(src, line, col, reason);
  });
});

describe("directive errors", () => {
  it.each<[string, string, number, number, string | RegExp]>([
    ["unknown directive", "  .frobnicate 3", 1, 3, "unknown directive '.frobnicate'"],
    [".org backwards", "nop\nnop\n.org 0x80004", 3, 6, /\.org 0x80004 moves backwards .* 0x80008/],
    [".align exponent too large", ".align 4096", 1, 8, "exponent"],
    [".balign not a power of two", ".balign 12", 1, 9, "power of two"],
  ])("%s", async (_name, src, line, col, reason) => {
    await expectError(src, line, col, reason);
  });
  it("value too big for .byte / .hword", async () => {
    await expectError(".byte 1, 0x100", 1, 10, "does not fit in 1 byte");
    await expectError(".hword -0x8001", 1, 8, "does not fit in 2 bytes");
  });
  it("missing operands", async () => {
    await expectError(".quad", 1, 6, "needs at least one value");
    await expectError(".equ X", 1, 6, ".equ NAME, EXPR");
    await expectError(".space", 1, 7, "needs a size");
  });
  it.each<[string, string, number, number, string | RegExp]>([
    ["bad expression syntax", ".quad 1 +* 2", 1, 10, "unexpected '*'"],
    ["layout needs values known in pass 1", ".space N\n.equ N, 4", 1, 8, "must be defined before this point"],
    ["bad string", '.ascii "abc', 1, 8, "unterminated string"],
  ])("%s", async (_name, src, line, col, reason) => {
    await expectError(src, line, col, reason);
  });
  it("overlapping sections point at the later section", async () => {
    const e = await expectError(".section a, 0x1000\n.quad 1, 2\n  .section b, 0x1008\nnop", 3, 3, "overlaps section 'a'");
    expect(e.reason).toBe("section 'b' [0x1008, 0x100c) overlaps section 'a' [0x1000, 0x1010)");
  });
  it.each<[string, string, number, number, string | RegExp]>([
    ["re-entering a section at a different address", ".section a, 0x1000\n.section b, 0x2000\n.section a, 0x3000", 3, 13, "already starts at 0x1000"],
    ["unterminated block comment", "nop\n  /* open\nnop", 2, 3, "unterminated /* comment"],
  ])("%s", async (_name, src, line, col, reason) => {
    await expectError(src, line, col, reason);
  });
});

describe(".include errors", () => {
  it("point into the included file", async () => {
    try {
      await assembleFile(fixture("bad_include.S"));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(AsmError);
      const a = e as AsmError;
      expect(a.file).toBe(fixture("inc/broken.S"));
      expect([a.line, a.col]).toEqual([3, 21]);
      expect(a.sourceLine).toBe("        add x0, x0, #5000");
    }
  });
  it("missing file points at the .include operand", async () => {
    await expect(assembleFile(fixture("missing_include.S"))).rejects.toMatchObject({ line: 1, col: 18, reason: expect.stringMatching(/^\.include: cannot open .*does_not_exist\.S: no such file$/) });
  });
  it("an empty file name is said to be empty (not 'cannot open : no such file')", async () => {
    await expect(assembleFile("")).rejects.toThrow(new InputFileError("", "ENOENT"));
    await expect(assembleFile("")).rejects.toThrow(/^cannot open "": the file name is empty$/);
  });
  it("recursive include", async () => {
    await expect(assembleFile(fixture("self_include.S"))).rejects.toMatchObject({ line: 1, reason: expect.stringContaining("recursive") });
  });
});
