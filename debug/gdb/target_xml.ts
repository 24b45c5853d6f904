// The target description gdb reads with qXfer:features:read:target.xml: the standard AArch64 core
// and FP/SIMD features (so gdb's aarch64 support applies: unwinding, `x/i`, cpsr decoding, the
// q/d/s/h/b views of the V registers) and an nvlab feature with the EL1 / virtual-EL2 registers,
// generated from the register table.

import { GDB_REGISTERS, type GdbRegister } from "./registers.ts";

/** PSTATE fields as the Arm ARM names them (SPSR_ELx layout, AArch64). */
const CPSR_FIELDS: readonly [name: string, lo: number, hi: number][] = [
  ["SP", 0, 0], ["EL", 2, 3], ["nRW", 4, 4], ["F", 6, 6], ["I", 7, 7], ["A", 8, 8], ["D", 9, 9],
  ["BTYPE", 10, 11], ["SSBS", 12, 12], ["IL", 20, 20], ["SS", 21, 21], ["PAN", 22, 22], ["UAO", 23, 23],
  ["DIT", 24, 24], ["TCO", 25, 25], ["V", 28, 28], ["C", 29, 29], ["Z", 30, 30], ["N", 31, 31],
];

/**
 * The vector union of gdb's standard aarch64 FP feature: `p $v0.d.u`, `$v0.s.f`, `$v0.b.s`, ...
 * name the lanes the way gdb users know them.
 */
const FPU_TYPES: readonly string[] = [
  ...([
    ["v2d", "ieee_double", 2], ["v2u", "uint64", 2], ["v2i", "int64", 2],
    ["v4f", "ieee_single", 4], ["v4u", "uint32", 4], ["v4i", "int32", 4],
    ["v8f", "ieee_half", 8], ["v8u", "uint16", 8], ["v8i", "int16", 8], ["v8bf16", "bfloat16", 8],
    ["v16u", "uint8", 16], ["v16i", "int8", 16],
    ["v1u", "uint128", 1], ["v1i", "int128", 1],
  ] as const).map(([id, type, count]) => `    <vector id="${id}" type="${type}" count="${count}"/>`),
  ...([
    ["vnd", [["f", "v2d"], ["u", "v2u"], ["s", "v2i"]]],
    ["vns", [["f", "v4f"], ["u", "v4u"], ["s", "v4i"]]],
    ["vnh", [["bf", "v8bf16"], ["f", "v8f"], ["u", "v8u"], ["s", "v8i"]]],
    ["vnb", [["u", "v16u"], ["s", "v16i"]]],
    ["vnq", [["u", "v1u"], ["s", "v1i"]]],
    ["aarch64v", [["d", "vnd"], ["s", "vns"], ["h", "vnh"], ["b", "vnb"], ["q", "vnq"]]],
  ] as const).flatMap(([id, fields]) => [
    `    <union id="${id}">`,
    ...fields.map(([name, type]) => `      <field name="${name}" type="${type}"/>`),
    "    </union>",
  ]),
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
  const fpu = GDB_REGISTERS.filter((r) => r.feature === "fpu").map(regXml);
  const nvlab = GDB_REGISTERS.filter((r) => r.feature === "nvlab").map(regXml);
  return [
    '<?xml version="1.0"?>',
    '<!DOCTYPE target SYSTEM "gdb-target.dtd">',
    "<target>",
    "  <architecture>aarch64</architecture>",
    ...feature("org.gnu.gdb.aarch64.core", [...flags, ...core]),
    ...feature("org.gnu.gdb.aarch64.fpu", [...FPU_TYPES, ...fpu]),
    ...feature("org.nvlab.el2", nvlab),
    "</target>",
    "",
  ].join("\n");
}
