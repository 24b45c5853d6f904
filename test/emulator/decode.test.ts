import { describe, expect, it } from "vitest";
import { Decoder, compilePattern, encoding, format, type Op, row } from "../../emulator/decode.ts";
import { A64_TABLE } from "../../emulator/insn/table.ts";

const nop = () => {};
const undef = (word: number): Op => ({ name: "UNDEFINED", word, exec: nop });

describe("decode table machinery", () => {
  it("compiles literal bits, don't-cares and fields into mask/value/fields", () => {
    const c = compilePattern(encoding({ name: "T", pattern: "sf:1 0 0 100010 sh:1 imm12:12 rn:5 rd:5", exec: nop }));
    expect(c.mask).toBe(0x7f800000);
    expect(c.value).toBe(0x11000000);
    expect(c.fields.map((f) => [f.name, f.shift, f.width])).toEqual([
      ["sf", 31, 1],
      ["sh", 22, 1],
      ["imm12", 10, 12],
      ["rn", 5, 5],
      ["rd", 0, 5],
    ]);
  });

  it("rejects patterns that are not 32 bits or have bad tokens", () => {
    expect(() => compilePattern(encoding({ name: "short", pattern: "0101", exec: nop }))).toThrow(/4 bits/);
    expect(() => compilePattern(encoding({ name: "bad", pattern: "0101 zz" + " x".repeat(26), exec: nop }))).toThrow(/bad pattern token/);
  });

  it("extracts fields and lets the first accepting row win", () => {
    const table = [
      encoding<{ imm: number }>({ name: "ONLY_ZERO", pattern: "1101 0101 0000 0011 imm:16", prepare: (f) => f.imm === 0, exec: nop }),
      encoding<{ imm: number }>({ name: "ANY", pattern: "1101 0101 0000 0011 imm:16", exec: nop }),
    ];
    const d = new Decoder(table, undef);
    expect(d.decode(0xd5030000).name).toBe("ONLY_ZERO");
    const op = d.decode(0xd5031234) as Op & { imm: number };
    expect(op.name).toBe("ANY");
    expect(op.imm).toBe(0x1234);
    expect(op.word).toBe(0xd5031234);
    expect(d.decode(0x12345678).name).toBe("UNDEFINED");
  });

  it("merges a row's fixed bits with its format's fields, sets row data, then runs the format's prepare", () => {
    const RR = format<{ rn: number; rd: number; k: number; sum: number }>({
      name: "rr",
      pattern: "........ ........ ...... rn:5 rd:5",
      prepare: (f) => void (f.sum = f.rn + f.rd + f.k),
    });
    const r = row("T", "11010101 00000011 000000 ..... .....", RR, nop, { k: 100 });
    const c = compilePattern(r);
    expect(c.mask).toBe(0xfffffc00);
    expect(c.value).toBe(0xd5030000);
    expect(c.fields.map((f) => f.name)).toEqual(["rn", "rd"]);
    const op = new Decoder([r], undef).decode(0xd5030000 | (3 << 5) | 4) as Op & { rn: number; rd: number; k: number; sum: number };
    expect([op.name, op.rn, op.rd, op.k, op.sum]).toEqual(["T", 3, 4, 100, 107]);
  });

  it("rejects a row whose bits overlap its format's fields", () => {
    const RD = format<{ rd: number }>({ name: "rd", pattern: "........ ........ ........ ... rd:5" });
    expect(() => compilePattern(row("T", "11010101 00000011 00000000 00000000", RD, nop))).toThrow(/overlap/);
  });

  it("refuses duplicate row names", () => {
    const row = encoding({ name: "X", pattern: "x".repeat(32), exec: nop });
    expect(() => new Decoder([row, row], undef)).toThrow(/duplicate/);
  });

  it("has unique names and valid 32-bit patterns for every A64 row", () => {
    const d = new Decoder(A64_TABLE, undef);
    for (const r of d.table) {
      expect(r.enc.name).toMatch(/^[A-Za-z][A-Za-z0-9_.]*$/);
      expect((r.value & ~r.mask) >>> 0).toBe(0);
    }
  });
});
