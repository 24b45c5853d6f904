// The target description gdb reads with qXfer:features:read:target.xml: the standard AArch64 core
// feature (so gdb's aarch64 support applies: unwinding, `x/i`, cpsr decoding) and an nvlab
// feature with the EL1 / virtual-EL2 registers, generated from the register table.

import { GDB_REGISTERS, type GdbRegister } from "./registers.ts";

/** PSTATE fields as the Arm ARM names them (SPSR_ELx layout, AArch64). */
const CPSR_FIELDS: readonly [name: string, lo: number, hi: number][] = [
  ["SP", 0, 0], ["EL", 2, 3], ["nRW", 4, 4], ["F", 6, 6], ["I", 7, 7], ["A", 8, 8], ["D", 9, 9],
  ["BTYPE", 10, 11], ["SSBS", 12, 12], ["IL", 20, 20], ["SS", 21, 21], ["PAN", 22, 22], ["UAO", 23, 23],
  ["DIT", 24, 24], ["TCO", 25, 25], ["V", 28, 28], ["C", 29, 29], ["Z", 30, 30], ["N", 31, 31],
];

function regXml(r: GdbRegister): string {
  const group = r.feature === "nvlab" ? ' group="system"' : "";
  return `    <reg name="${r.name}" bitsize="${r.bits}" type="${r.type}" regnum="${r.regnum}"${group}/>`;
}

function feature(name: string, body: string[]): string[] {
  return [`  <feature name="${name}">`, ...body, "  </feature>"];
}

export function targetXml(): string {
  const flags = [
    '    <flags id="cpsr_flags" size="4">',
    ...CPSR_FIELDS.map(([n, lo, hi]) => `      <field name="${n}" start="${lo}" end="${hi}"/>`),
    "    </flags>",
  ];
  const core = GDB_REGISTERS.filter((r) => r.feature === "core").map(regXml);
  const nvlab = GDB_REGISTERS.filter((r) => r.feature === "nvlab").map(regXml);
  return [
    '<?xml version="1.0"?>',
    '<!DOCTYPE target SYSTEM "gdb-target.dtd">',
    "<target>",
    "  <architecture>aarch64</architecture>",
    ...feature("org.gnu.gdb.aarch64.core", [...flags, ...core]),
    ...feature("org.nvlab.el2", nvlab),
    "</target>",
    "",
  ].join("\n");
}
