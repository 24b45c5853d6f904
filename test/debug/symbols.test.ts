// The symbol table: names at canonical IPAs and run addresses, qualified names when ambiguous,
// resolution with offsets, nearest-symbol lookup, and useful errors.

import { describe, expect, it } from "vitest";
import { assemble } from "../../asm/assembler.ts";
import { DebugError } from "../../debug/errors.ts";
import { formatSymbolRef, L2_WINDOW_IPA, l2RunAddress, SymbolTable } from "../../debug/symbols.ts";
import { assemblePair } from "../e2e/harness.ts";
import { HYP, l2, MULTI } from "./session_fixture.ts";

async function table(l1: string, l2s: string[]): Promise<SymbolTable> {
  const p = await assemblePair(l1, l2s);
  return new SymbolTable([{ level: "L1", image: p.l1 }, ...p.l2.map((x) => ({ level: "L2" as const, image: x.image, ipa: x.ipa }))]);
}

describe("SymbolTable", () => {
  it("places L2 labels at their canonical IPA and at the nested IPA of the window", async () => {
    const t = await table(HYP, [l2("hello"), l2("touch")]);
    const touch = t.resolve("touch.S:l2_entry");
    expect(touch.symbol.level).toBe("L2");
    expect(touch.symbol.canonical).toBe(0x4900_0000n);
    expect(touch.symbol.address).toBe(L2_WINDOW_IPA);
    const hello = t.resolve("hello.S:l2_entry");
    expect(hello.symbol.canonical).toBe(0x4800_0000n);
    expect(hello.symbol.address).toBe(0x4000_0000n);
    expect(l2RunAddress(0x4900_0000n, 0x4900_0010n)).toBe(0x4000_0010n);
  });

  it("names a label bare when unique and file:label when several images define it", async () => {
    const t = await table(HYP, [l2("hello"), l2("touch")]);
    expect(t.resolve("l1_entry").symbol.name).toBe("l1_entry");
    expect(t.resolve("l1_entry").symbol.canonical).toBe(0x4010_0000n);
    expect(t.resolve("touch_start").symbol.name).toBe("touch_start");
    expect(t.resolve("hello.S:l2_entry").symbol.name).toBe("hello.S:l2_entry");
    expect(() => t.resolve("l2_entry")).toThrow(/ambiguous: hello.S:l2_entry, touch.S:l2_entry/);
  });

  it("tells images of the same file apart by load address", async () => {
    const t = await table(MULTI, [l2("hello"), l2("touch"), l2("checksum"), l2("hello")]);
    const names = t.images.map((i) => i.name);
    expect(names).toContain("hello.S@0x48000000");
    expect(names).toContain("hello.S@0x4b000000");
    expect(t.resolve("hello.S@0x4b000000:l2_entry").symbol.canonical).toBe(0x4b00_0000n);
    expect(() => t.resolve("hello.S:l2_entry")).toThrow(/ambiguous/);
  });

  it("resolves offsets in hex and decimal", async () => {
    const t = await table(HYP, [l2("hello")]);
    expect(t.resolve("l1_entry+0x8").offset).toBe(8n);
    expect(t.resolve("l1_entry+12").offset).toBe(12n);
    expect(() => t.resolve("l1_entry+zz")).toThrow(DebugError);
  });

  it("looks up the nearest symbol below a canonical IPA, only inside an image", async () => {
    const t = await table(HYP, [l2("hello"), l2("touch")]);
    const r = t.lookup(0x4900_0008n + 4n)!;
    expect(r.symbol.image.name).toBe("touch.S");
    expect(formatSymbolRef(r)).toBe("touch_start+0x4");
    expect(formatSymbolRef(t.lookup(0x4010_0000n)!)).toBe("l1_entry");
    expect(t.lookup(0x4a00_0000n)).toBeNull();
    expect(t.lookup(0x100n)).toBeNull();
    expect(t.imageAt(0x4800_0000n)?.level).toBe("L2");
  });

  it("suggests close names for an unknown symbol", async () => {
    const t = await table(HYP, [l2("hello")]);
    expect(() => t.resolve("l1_entyr")).toThrow(/no symbol 'l1_entyr' \(did you mean l1_entry/);
    expect(() => t.resolve("zzzzzzzzzzzz")).toThrow(/^no symbol 'zzzzzzzzzzzz'$/);
    expect(() => t.resolve("0x40")).toThrow(/not a symbol/);
    expect(() => t.resolve("nosuch.S:l1_entry")).toThrow(/no symbol/);
  });

  it("moves the symbols of an image loaded away from where it was assembled", async () => {
    const image = await assemble("start: nop\nnext: nop\n", { base: 0x1000n, file: "x.S" });
    const t = new SymbolTable([{ level: "L1", image, ipa: 0x4020_0000n }]);
    expect(t.resolve("next").symbol.canonical).toBe(0x4020_0004n);
    expect(t.resolve("next").symbol.address).toBe(0x4020_0004n);
    expect(formatSymbolRef(t.lookup(0x4020_0004n)!)).toBe("next");
  });
});
