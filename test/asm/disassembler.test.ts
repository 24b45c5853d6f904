import { beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { assemble } from "../../asm/assembler.ts";
import { disassemble, loadDisassembler, symbolize } from "../../asm/disassembler.ts";
import { AsmError } from "../../asm/errors.ts";
import { itemAt } from "../../emulator/item_at.ts";
import { firstSection, wordAt, words } from "./image_words.ts";

beforeAll(async () => {
  await loadDisassembler();
});


describe("disassemble", () => {
  it("decodes known EL2 / NV words", () => {
    expect(disassemble(0xd51c1100, 0x1000n)).toEqual({ mnemonic: "msr", operands: "hcr_el2, x0", text: "msr hcr_el2, x0" });
    expect(disassemble(0xd50c8020, 0x1004n).text).toBe("tlbi ipas2e1is, x0");
    expect(disassemble(0xd69f03e0, 0x1008n)).toEqual({ mnemonic: "eret", operands: "", text: "eret" });
    expect(disassemble(0xd4000002, 0x100cn).text).toBe("hvc #0");
    expect(disassemble(0xd51c2101, 0n).text).toBe("msr vttbr_el2, x1");
    expect(disassemble(0xd50c83df, 0n).text).toBe("tlbi vmalls12e1is");
  });

  it("prints branch targets as absolute addresses, including above 2^63", () => {
    expect(disassemble(0x17ffffff, 0x80010n).text).toBe("b #0x8000c");
    expect(disassemble(0xb4ffffc0, 0x80014n).text).toBe("cbz x0, #0x8000c");
    expect(disassemble(0x14000004, 0xffff800000001000n).text).toBe("b #0xffff800000001010");
  });

  it("renders undecodable words as .word", () => {
    expect(disassemble(0, 0x80000n)).toEqual({ mnemonic: ".word", operands: "0x00000000", text: ".word 0x00000000" });
    expect(disassemble(0xffffffff, 0n).text).toBe(".word 0xffffffff");
    // Still works after a failure.
    expect(disassemble(0xd503201f, 0n).text).toBe("nop");
  });
});

describe("symbolize", () => {
  const syms = new Map<string, bigint>([
    ["start", 0x80000n],
    ["loop", 0x80010n],
    ["alias", 0x80010n],
    ["high", 0xffff000000000000n],
  ]);
  it("names the nearest symbol at or below the address", () => {
    expect(symbolize(0x80000n, syms)).toBe("start");
    expect(symbolize(0x8000cn, syms)).toBe("start+0xc");
    expect(symbolize(0x80014n, syms)).toBe("alias+0x4");
    expect(symbolize(0xffff000000000020n, syms)).toBe("high+0x20");
    expect(symbolize(0x7fffcn, syms)).toBeNull();
    expect(symbolize(0x90000n, syms, 0x100n)).toBeNull();
  });
  it("sees symbols added to the map later", () => {
    const m = new Map([["a", 0x10n]]);
    expect(symbolize(0x24n, m)).toBe("a+0x14");
    m.set("b", 0x20n);
    expect(symbolize(0x24n, m)).toBe("b+0x4");
  });
});

// ---- round trip: assemble with nvlab, disassemble with capstone

const reg = fc.integer({ min: 0, max: 28 });
type Case = { src: string; mnemonic: string };
const insn: fc.Arbitrary<Case> = fc.oneof(
  fc.tuple(reg, reg, fc.integer({ min: 0, max: 4095 })).map(([d, n, i]) => ({ src: `add x${d}, x${n}, #${i}`, mnemonic: "add" })),
  fc.tuple(reg, reg, fc.integer({ min: 1, max: 4095 })).map(([d, n, i]) => ({ src: `subs w${d}, w${n}, #${i}`, mnemonic: "subs" })),
  fc.tuple(reg, reg, fc.integer({ min: 0, max: 4095 })).map(([t, n, i]) => ({ src: `ldr x${t}, [x${n}, #${i * 8}]`, mnemonic: "ldr" })),
  fc.tuple(reg, reg, fc.integer({ min: -64, max: 63 })).map(([t, n, i]) => ({ src: `stp x${t}, x${n}, [sp, #${i * 8}]!`, mnemonic: "stp" })),
  fc.tuple(reg, reg, reg).map(([d, n, m]) => ({ src: `eor x${d}, x${n}, x${m}, lsl #3`, mnemonic: "eor" })),
  fc.tuple(reg, reg, reg).map(([d, n, m]) => ({ src: `madd x${d}, x${n}, x${m}, x${d}`, mnemonic: "madd" })),
  fc.tuple(reg, fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 3 })).map(([d, i, h]) => ({ src: `movk x${d}, #${i}, lsl #${h * 16}`, mnemonic: "movk" })),
  fc.tuple(reg, fc.constantFrom("vttbr_el2", "hcr_el2", "vtcr_el2", "esr_el2", "far_el2", "hpfar_el2", "elr_el2", "spsr_el2", "vncr_el2", "sctlr_el12", "id_aa64mmfr2_el1", "ttbr1_el2")).map(([t, r]) => ({ src: `mrs x${t}, ${r}`, mnemonic: "mrs" })),
  fc.tuple(reg, fc.constantFrom("vae1is", "ipas2e1is", "ripas2e1is", "rvae1", "vale2os", "ipas2le1", "rvaale1os")).map(([t, op]) => ({ src: `tlbi ${op}, x${t}`, mnemonic: "tlbi" })),
  fc.constantFrom<Case>(
    { src: "eret", mnemonic: "eret" },
    { src: "isb", mnemonic: "isb" },
    { src: "dsb ish", mnemonic: "dsb" },
    { src: "tlbi vmalls12e1is", mnemonic: "tlbi" },
    { src: "hvc #0x10", mnemonic: "hvc" },
    { src: "smc #0", mnemonic: "smc" },
    { src: "at s12e1w, x3", mnemonic: "at" },
    { src: "wfi", mnemonic: "wfi" },
    { src: "ret", mnemonic: "ret" },
  ),
);

describe("round trip", () => {
  it("every assembled instruction disassembles to the same mnemonic", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(insn, { minLength: 1, maxLength: 12 }), async (cases) => {
        const img = await assemble(cases.map((c) => c.src).join("\n"), { base: 0x40100000n });
        const w = words(firstSection(img).bytes);
        expect(w.length).toBe(cases.length);
        cases.forEach((c, i) => expect(disassemble(itemAt(w, i, "word"), 0x40100000n + BigInt(4 * i)).mnemonic).toBe(c.mnemonic));
      }),
      { numRuns: 60, seed: 42 },
    );
  });

  const forms: Array<{ src: (t: string) => string; limit: number; mnemonic: string }> = [
    { src: (t) => `b ${t}`, limit: 1 << 27, mnemonic: "b" },
    { src: (t) => `bl ${t}`, limit: 1 << 27, mnemonic: "bl" },
    { src: (t) => `b.ge ${t}`, limit: 1 << 20, mnemonic: "b.ge" },
    { src: (t) => `cbnz x3, ${t}`, limit: 1 << 20, mnemonic: "cbnz" },
    { src: (t) => `tbz x3, #50, ${t}`, limit: 1 << 15, mnemonic: "tbz" },
    { src: (t) => `ldr x1, ${t}`, limit: 1 << 20, mnemonic: "ldr" },
    { src: (t) => `adr x1, ${t}`, limit: 1 << 20, mnemonic: "adr" },
  ];

  it("PC-relative targets land on the label or fail with a range error", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...forms), fc.integer({ min: 0, max: (1 << 21) / 4 }), fc.boolean(), async (form, gapWords, backwards) => {
        const gap = gapWords * 4;
        const base = 0x40000000n;
        const src = backwards ? `target: nop\n.space ${gap}\n${form.src("target")}` : `${form.src("target")}\n.space ${gap}\ntarget: nop`;
        const offset = backwards ? -(gap + 4) : gap + 4;
        const inRange = offset >= -form.limit && offset < form.limit;
        try {
          const img = await assemble(src, { base });
          expect(inRange).toBe(true);
          const at = backwards ? base + BigInt(gap + 4) : base;
          const word = wordAt(firstSection(img).bytes, Number(at - base) / 4);
          const d = disassemble(word, at);
          expect(d.mnemonic).toBe(form.mnemonic);
          expect(d.operands.endsWith(`#0x${img.symbols.get("target")!.toString(16)}`)).toBe(true);
        } catch (e) {
          if (!(e instanceof AsmError)) throw e;
          expect(inRange).toBe(false);
          expect(e.reason).toMatch(/out of range/);
        }
      }),
      { numRuns: 80, seed: 7 },
    );
  });
});
