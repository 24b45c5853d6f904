import { describe, expect, it } from "vitest";
import { targetXml } from "../../../debug/gdb/target_xml.ts";
import { GDB_REGISTERS } from "../../../debug/gdb/registers.ts";

describe("target.xml", () => {
  const xml = targetXml();

  it("declares aarch64 with the core feature gdb requires and nvlab's EL2 feature", () => {
    expect(xml).toMatch(/^<\?xml version="1.0"\?>/);
    expect(xml).toContain("<architecture>aarch64</architecture>");
    expect(xml).toContain('<feature name="org.gnu.gdb.aarch64.core">');
    expect(xml).toContain('<feature name="org.nvlab.el2">');
  });

  it("lists every register of the table with its gdb number, in order", () => {
    const regs = [...xml.matchAll(/<reg name="([a-z0-9_]+)" bitsize="(\d+)" type="([a-z0-9_]+)" regnum="(\d+)"/g)];
    expect(regs.map((m) => [m[1], Number(m[2]), Number(m[4])])).toEqual(GDB_REGISTERS.map((r) => [r.name, r.bits, r.regnum]));
    expect(xml).toMatch(/<reg name="cpsr" bitsize="32" type="cpsr_flags"/);
    expect(xml).toMatch(/<reg name="hcr_el2" bitsize="64" type="uint64" regnum="\d+" group="system"\/>/);
  });

  it("has gdb's standard aarch64 FP feature: v0-v31 of the aarch64v union, fpsr and fpcr", () => {
    expect(xml).toContain('<feature name="org.gnu.gdb.aarch64.fpu">');
    expect(xml).toContain('<reg name="v0" bitsize="128" type="aarch64v" regnum="34"/>');
    expect(xml).toContain('<reg name="fpcr" bitsize="32" type="int" regnum="67"/>');
    expect(xml).toMatch(/<union id="aarch64v">\n {6}<field name="d" type="vnd"\/>\n {6}<field name="s" type="vns"\/>\n {6}<field name="h" type="vnh"\/>/);
    expect(xml).toContain('<vector id="v2d" type="ieee_double" count="2"/>');
    // Types before the registers that use them.
    expect(xml.indexOf('<union id="aarch64v">')).toBeLessThan(xml.indexOf('<reg name="v0"'));
  });

  it("describes PSTATE's flags so gdb decodes cpsr", () => {
    expect(xml).toContain('<flags id="cpsr_flags" size="4">');
    for (const [n, lo, hi] of [["N", 31, 31], ["Z", 30, 30], ["EL", 2, 3], ["SP", 0, 0], ["D", 9, 9]] as const) {
      expect(xml).toContain(`<field name="${n}" start="${lo}" end="${hi}"/>`);
    }
  });

  it("is balanced: every opened element is closed", () => {
    const open = (xml.match(/<(target|feature|flags|union)[ >]/g) ?? []).length;
    const close = (xml.match(/<\/(target|feature|flags|union)>/g) ?? []).length;
    expect(open).toBe(close);
    expect(xml).not.toMatch(/[$#}*]/); // nothing to escape: the qXfer reply is the text itself
  });
});
