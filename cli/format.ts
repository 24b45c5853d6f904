// Register dumps for humans and for --json.

import type { Cpu } from "../emulator/cpu.ts";
import { hex } from "../emulator/types.ts";

export interface RegsJson {
  [name: string]: string;
}

/** X0–X30, SP, PC, NZCV as hex strings (the `regs` object of --json output). */
export function regsJson(cpu: Cpu): RegsJson {
  const out: RegsJson = {};
  for (let i = 0; i < 31; i++) out[`x${i}`] = hex(cpu.getX(i));
  out.sp = hex(cpu.getSP());
  out.pc = hex(cpu.getPC());
  out.nzcv = nzcvHex(cpu.nzcv());
  return out;
}

/**
 * The NZCV register (flags in bits 31:28) as hex. It is 32 bits wide; the unsigned shift keeps a set N
 * flag from sign-extending through JavaScript's signed 32-bit `<<` into a 64-bit-looking value.
 */
export function nzcvHex(flags: number): string {
  return hex(((flags & 0xf) << 28) >>> 0);
}

export function flagsText(nzcv: number): string {
  return ["N", "Z", "C", "V"].map((f, i) => ((nzcv >> (3 - i)) & 1 ? f : f.toLowerCase())).join("");
}

/** A register dump, four registers per line. */
export function regsText(cpu: Cpu): string {
  const lines: string[] = [];
  for (let i = 0; i < 31; i += 4) {
    const row: string[] = [];
    for (let j = i; j < Math.min(i + 4, 31); j++) row.push(`x${j}`.padStart(3) + " " + hex(cpu.getX(j), 16));
    lines.push(row.join("  "));
  }
  lines.push(
    ` sp ${hex(cpu.getSP(), 16)}   pc ${hex(cpu.getPC(), 16)}   nzcv ${flagsText(cpu.nzcv())}   EL${cpu.el}${cpu.el > 0 ? (cpu.spsel ? "h" : "t") : "t"}`,
  );
  return lines.join("\n");
}
