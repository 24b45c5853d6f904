// The register file gdb sees, in gdb register-number order: the AArch64 core registers
// (x0-x30, sp, pc, cpsr), the FP/SIMD registers (v0-v31, fpsr, fpcr: gdb's aarch64 numbering
// puts them at 34-67), then nvlab's EL1 / virtual-EL2 registers and the running level. The same
// table drives target.xml, the `g`/`G` packets and `p`/`P`.

import { fromHex, toHex } from "./packet.ts";

/** What the target reports when stopped: whichever level (L1 or L2) the vCPU is running. */
export interface TargetRegisters {
  x: readonly bigint[];
  sp: bigint;
  pc: bigint;
  /** PSTATE as the running guest sees it (for L1: its virtual EL2 view). */
  cpsr: bigint;
  level: "L1" | "L2";
  /** EL1 and virtual-EL2 system registers by upper-case name; missing ones read as unavailable. */
  sys: Readonly<Record<string, bigint | undefined>>;
  /** V0-V31 (128 bits each), FPSR and FPCR; absent ones read as unavailable. */
  v?: readonly bigint[];
  fpsr?: bigint;
  fpcr?: bigint;
}

export interface GdbRegister {
  /** gdb's name (lower case, as `info registers` prints it). */
  name: string;
  regnum: number;
  bits: 32 | 64 | 128;
  feature: "core" | "fpu" | "nvlab";
  /** target.xml type. */
  type: string;
  /** Only these can be written (`P`, `G`): the system registers are L0/L1 state, shown read-only. */
  writable: boolean;
}

/** The EL1 context and the virtual EL2 registers L1 programs: what matters for nested translation. */
export const SYS_REGISTERS = [
  "SCTLR_EL1", "TCR_EL1", "TTBR0_EL1", "ESR_EL1", "FAR_EL1", "ELR_EL1", "SPSR_EL1", "VBAR_EL1",
  "HCR_EL2", "VTTBR_EL2", "VTCR_EL2", "ESR_EL2", "FAR_EL2", "HPFAR_EL2", "ELR_EL2", "SPSR_EL2", "VBAR_EL2",
] as const;

function buildTable(): GdbRegister[] {
  const regs: GdbRegister[] = [];
  const add = (name: string, bits: GdbRegister["bits"], feature: GdbRegister["feature"], type: string, writable: boolean) =>
    regs.push({ name, regnum: regs.length, bits, feature, type, writable });
  for (let i = 0; i < 31; i++) add(`x${i}`, 64, "core", "uint64", true);
  add("sp", 64, "core", "data_ptr", true);
  add("pc", 64, "core", "code_ptr", true);
  add("cpsr", 32, "core", "cpsr_flags", true);
  for (let i = 0; i < 32; i++) add(`v${i}`, 128, "fpu", "aarch64v", true);
  add("fpsr", 32, "fpu", "int", true);
  add("fpcr", 32, "fpu", "int", true);
  for (const name of SYS_REGISTERS) add(name.toLowerCase(), 64, "nvlab", "uint64", false);
  // 1 or 2: which guest the stop is in (gdb: `p $level`).
  add("level", 32, "nvlab", "uint32", false);
  return regs;
}

export const GDB_REGISTERS: readonly GdbRegister[] = buildTable();

/** A register's value, or null when the target cannot provide it (sent as `xx…`). */
export function registerValue(regs: TargetRegisters, r: GdbRegister): bigint | null {
  if (r.regnum < 31) return regs.x[r.regnum] ?? null;
  if (r.feature === "fpu" && r.name.startsWith("v")) return regs.v?.[Number(r.name.slice(1))] ?? null;
  switch (r.name) {
    case "sp": return regs.sp;
    case "pc": return regs.pc;
    case "cpsr": return regs.cpsr;
    case "level": return regs.level === "L1" ? 1n : 2n;
    case "fpsr": return regs.fpsr ?? null;
    case "fpcr": return regs.fpcr ?? null;
    default: return regs.sys[r.name.toUpperCase()] ?? null;
  }
}

/** One register as target-order (little-endian) hex. */
export function encodeRegister(r: GdbRegister, value: bigint | null): string {
  const bytes = r.bits / 8;
  if (value === null) return "xx".repeat(bytes);
  const out = new Uint8Array(bytes);
  let v = BigInt.asUintN(r.bits, value);
  for (let i = 0; i < bytes; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return toHex(out);
}

/** Little-endian hex of exactly the register's size back to a value; null if malformed. */
export function decodeRegister(r: GdbRegister, hex: string): bigint | null {
  if (hex.length !== r.bits / 4) return null;
  const bytes = fromHex(hex);
  if (bytes === null) return null;
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]!);
  return v;
}

/** The `g` reply: every register in order. */
export function encodeAllRegisters(regs: TargetRegisters): string {
  return GDB_REGISTERS.map((r) => encodeRegister(r, registerValue(regs, r))).join("");
}

/**
 * A `G` payload split into the writable registers' new values. gdb sends back what `g` gave it
 * (with `xx` for unavailable registers), so the read-only tail may be present or cut short.
 */
export function decodeAllRegisters(hex: string): Map<string, bigint> | null {
  const total = GDB_REGISTERS.reduce((n, r) => n + r.bits / 4, 0);
  const core = GDB_REGISTERS.filter((r) => r.feature === "core").reduce((n, r) => n + r.bits / 4, 0);
  // The core registers are required; anything past the whole file is malformed.
  if (hex.length < core || hex.length > total) return null;
  const out = new Map<string, bigint>();
  let at = 0;
  for (const r of GDB_REGISTERS) {
    const width = r.bits / 4;
    if (at + width > hex.length) break;
    const field = hex.slice(at, at + width);
    at += width;
    if (/^x+$/i.test(field)) continue;
    const v = decodeRegister(r, field);
    if (v === null) return null;
    if (r.writable) out.set(r.name, v);
  }
  return out;
}
