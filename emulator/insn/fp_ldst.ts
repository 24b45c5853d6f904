// SIMD&FP register loads and stores (Arm ARM C4.1.x "Loads and Stores" with V = 1): LDR/STR of
// B, H, S, D and Q registers with unsigned offset, unscaled (LDUR/STUR), pre/post-index, register
// offset and literal (S, D, Q) addressing; LDP/STP/LDNP/STNP of S, D and Q. The addressing and
// writeback are the integer forms' (ldst_common.ts); data aborts from SIMD&FP accesses have no
// valid ISV, so the ISS template is always 0. A Q access is one 16-byte access: its alignment is
// checked on 16 bytes even though it is carried out as two 8-byte halves.

import type { CpuState } from "../cpu_state.ts";
import { type Encoding, type Op, encoding } from "../decode.ts";
import { AccessKind } from "../fault.ts";
import { checkFPAdvSIMDEnabled } from "../fp/fp_access.ts";
import { readV, writeV } from "../fp/vreg.ts";
import { SP } from "../reg_slots.ts";
import { join64 } from "../types.ts";
import { addRegisterOffset, addSmall, alignmentFault, checkSpAlignment, signExtend, writebackMode } from "./ldst_common.ts";
import { TWO32, addOffset, regSP } from "./operands.ts";

interface FpSingleFields {
  imm: number;
  rn: number;
  rt: number;
  n: number;
  off: number;
  sizeLog2: number;
  load: number;
}

interface FpRegOffsetFields extends FpSingleFields {
  rm: number;
  option: number;
  S: number;
  shift: number;
}

interface FpPairFields extends FpSingleFields {
  imm7: number;
  rt2: number;
}

type SingleOp = FpSingleFields & Op;
type RegOp = FpRegOffsetFields & Op;
type PairOp = FpPairFields & Op;

/**
 * A 16-byte access that is not 16-byte aligned: an alignment fault when SCTLR_EL1.A is set or the
 * memory is Device (the two 8-byte halves would each pass those checks on their own).
 */
function checkQAlignment(cpu: CpuState, lo: number, hi: number, kind: AccessKind): void {
  if ((cpu.sr.SCTLR_EL1 & 2n) !== 0n) alignmentFault(cpu, lo, hi, kind, 0);
  if (cpu.translateData(join64(lo, hi), kind, 0, 0).device) alignmentFault(cpu, lo, hi, kind, 0);
}

/** Load 2^sizeLog2 bytes at lo/hi (no register written). */
function loadValue(cpu: CpuState, sizeLog2: number, lo: number, hi: number): bigint {
  switch (sizeLog2) {
    case 0: return BigInt(cpu.load(lo, hi, 1, 0, 0));
    case 1: return BigInt(cpu.load(lo, hi, 2, 0, 0));
    case 2: return BigInt(cpu.load(lo, hi, 4, 0, 0));
    case 3:
      cpu.load64(lo, hi, 0, 0);
      return join64(cpu.tLo, cpu.tHi);
    default: {
      if (lo & 15) checkQAlignment(cpu, lo, hi, AccessKind.Read);
      cpu.load64(lo, hi, 0, 0);
      const low = join64(cpu.tLo, cpu.tHi);
      addSmall(cpu, lo, hi, 8);
      cpu.load64(cpu.rLo, cpu.rHi, 0, 0);
      return (join64(cpu.tLo, cpu.tHi) << 64n) | low;
    }
  }
}

function storeValue(cpu: CpuState, sizeLog2: number, lo: number, hi: number, value: bigint): void {
  switch (sizeLog2) {
    case 0: return cpu.store(lo, hi, 1, Number(value & 0xffn), 0, 0);
    case 1: return cpu.store(lo, hi, 2, Number(value & 0xffffn), 0, 0);
    case 2: return cpu.store(lo, hi, 4, Number(value & 0xffffffffn), 0, 0);
    case 3: return cpu.store64(lo, hi, Number(value & 0xffffffffn), Number((value >> 32n) & 0xffffffffn), 0, 0);
    default: {
      if (lo & 15) checkQAlignment(cpu, lo, hi, AccessKind.Write);
      addSmall(cpu, lo, hi, 8);
      const lo2 = cpu.rLo;
      const hi2 = cpu.rHi;
      // The upper half on another page must be writable before the lower half is written.
      if ((lo & 0xfff) > 0xff0) cpu.translateData(join64(lo2, hi2), AccessKind.Write, 0, 0);
      cpu.store64(lo, hi, Number(value & 0xffffffffn), Number((value >> 32n) & 0xffffffffn), 0, 0);
      cpu.store64(lo2, hi2, Number((value >> 64n) & 0xffffffffn), Number((value >> 96n) & 0xffffffffn), 0, 0);
    }
  }
}

function singleAt(cpu: CpuState, op: SingleOp, lo: number, hi: number): void {
  if (op.load) writeV(cpu, op.rt, op.sizeLog2, loadValue(cpu, op.sizeLog2, lo, hi));
  else storeValue(cpu, op.sizeLog2, lo, hi, readV(cpu, op.rt, op.sizeLog2));
}

function pairAt(cpu: CpuState, op: PairOp, lo: number, hi: number): void {
  const s = op.sizeLog2;
  const esize = 1 << s;
  addSmall(cpu, lo, hi, esize);
  const lo2 = cpu.rLo;
  const hi2 = cpu.rHi;
  if (op.load) {
    const a = loadValue(cpu, s, lo, hi);
    const b = loadValue(cpu, s, lo2, hi2);
    writeV(cpu, op.rt, s, a);
    writeV(cpu, op.rt2, s, b);
    return;
  }
  // Both halves' pages must be writable before anything is written.
  if ((lo & 0xfff) > 0x1000 - 2 * esize) cpu.translateData(BigInt.asUintN(64, join64(lo2, hi2) + BigInt(esize - 1)), AccessKind.Write, 0, 0);
  storeValue(cpu, s, lo, hi, readV(cpu, op.rt, s));
  storeValue(cpu, s, lo2, hi2, readV(cpu, op.rt2, s));
}

function withFpCheck<O>(f: (cpu: CpuState, op: O) => void): (cpu: CpuState, op: O) => void {
  return (cpu, op) => {
    checkFPAdvSIMDEnabled(cpu);
    f(cpu, op);
  };
}

function atOffset<O extends FpSingleFields>(access: (cpu: CpuState, op: O, lo: number, hi: number) => void) {
  return (cpu: CpuState, op: O): void => {
    const n = op.n;
    if (n === SP && (cpu.x[2 * SP]! & 15) !== 0) checkSpAlignment(cpu);
    addOffset(cpu, n, op.off);
    access(cpu, op, cpu.rLo, cpu.rHi);
  };
}

const execOffset = withFpCheck(atOffset(singleAt));
const execPost = withFpCheck(writebackMode(singleAt, true));
const execPre = withFpCheck(writebackMode(singleAt, false));
const execPairOffset = withFpCheck(atOffset(pairAt));
const execPairPost = withFpCheck(writebackMode(pairAt, true));
const execPairPre = withFpCheck(writebackMode(pairAt, false));

const execRegOffset = withFpCheck((cpu: CpuState, op: RegOp): void => {
  addRegisterOffset(cpu, op.n, op.rm, op.option, op.shift);
  singleAt(cpu, op, cpu.rLo, cpu.rHi);
});

const execLiteral = withFpCheck((cpu: CpuState, op: SingleOp): void => {
  const s = cpu.pcLo + op.off;
  let hi = cpu.pcHi;
  if (s >= TWO32) hi = (hi + 1) >>> 0;
  else if (s < 0) hi = (hi - 1) >>> 0;
  singleAt(cpu, op, s >>> 0, hi);
});

// ------------------------------------------------------------------ rows

const SIZE_NAMES = ["B", "H", "S", "D", "Q"] as const;

/** (size, opc-high) of each register width in the single-register encodings. */
const SINGLE_SIZES: readonly { sizeLog2: number; size: string; opc1: string }[] = [
  { sizeLog2: 0, size: "00", opc1: "0" },
  { sizeLog2: 1, size: "01", opc1: "0" },
  { sizeLog2: 2, size: "10", opc1: "0" },
  { sizeLog2: 3, size: "11", opc1: "0" },
  { sizeLog2: 4, size: "00", opc1: "1" },
];

function singleRows(): Encoding<never>[] {
  const rows: Encoding<never>[] = [];
  for (const { sizeLog2, size, opc1 } of SINGLE_SIZES) {
    for (const load of [0, 1]) {
      const base = `${load ? "LDR" : "STR"}_${SIZE_NAMES[sizeLog2]}`;
      const set = (f: FpSingleFields, off: number): void => {
        f.n = regSP(f.rn);
        f.off = off;
        f.sizeLog2 = sizeLog2;
        f.load = load;
      };
      rows.push(
        encoding<FpSingleFields>({
          name: `${base}_uoff`,
          pattern: `${size} 111 1 01 ${opc1}${load} imm:12 rn:5 rt:5`,
          prepare: (f) => set(f, f.imm << sizeLog2),
          exec: execOffset,
        }),
      );
      for (const [mode, idx, exec] of [["unscaled", "00", execOffset], ["post", "01", execPost], ["pre", "11", execPre]] as const) {
        rows.push(
          encoding<FpSingleFields>({
            name: mode === "unscaled" ? `${load ? "LDUR" : "STUR"}_${SIZE_NAMES[sizeLog2]}` : `${base}_${mode}`,
            pattern: `${size} 111 1 00 ${opc1}${load} 0 imm:9 ${idx} rn:5 rt:5`,
            prepare: (f) => set(f, signExtend(f.imm, 9)),
            exec,
          }),
        );
      }
      rows.push(
        encoding<FpRegOffsetFields>({
          name: `${base}_reg`,
          pattern: `${size} 111 1 00 ${opc1}${load} 1 rm:5 option:3 S:1 10 rn:5 rt:5`,
          prepare(f) {
            if ((f.option & 2) === 0) return false;
            set(f, 0);
            f.shift = f.S ? sizeLog2 : 0;
            return true;
          },
          exec: execRegOffset,
        }),
      );
    }
  }
  return rows;
}

const LITERAL_ROWS: Encoding<never>[] = [2, 3, 4].map((sizeLog2) =>
  encoding<FpSingleFields>({
    name: `LDR_${SIZE_NAMES[sizeLog2]}_literal`,
    pattern: `${(sizeLog2 - 2).toString(2).padStart(2, "0")} 011 1 00 imm:19 rt:5`,
    prepare(f) {
      f.rn = 0;
      f.n = 0;
      f.off = signExtend(f.imm, 19) * 4;
      f.sizeLog2 = sizeLog2;
      f.load = 1;
    },
    exec: execLiteral,
  }),
);

function pairRows(): Encoding<never>[] {
  const rows: Encoding<never>[] = [];
  for (const sizeLog2 of [2, 3, 4]) {
    const opc = (sizeLog2 - 2).toString(2).padStart(2, "0");
    for (const load of [0, 1]) {
      for (const [mode, idx, exec] of [["np", "00", execPairOffset], ["post", "01", execPairPost], ["off", "10", execPairOffset], ["pre", "11", execPairPre]] as const) {
        const stem = mode === "np" ? (load ? "LDNP" : "STNP") : load ? "LDP" : "STP";
        const name = `${stem}_${SIZE_NAMES[sizeLog2]}${mode === "np" || mode === "off" ? "" : `_${mode}`}`;
        rows.push(
          encoding<FpPairFields>({
            name,
            pattern: `${opc} 101 1 0 ${idx} ${load} imm7:7 rt2:5 rn:5 rt:5`,
            prepare(f) {
              // A load pair into one register is CONSTRAINED UNPREDICTABLE: UNDEFINED, as for X registers.
              if (load && f.rt === f.rt2) return false;
              f.n = regSP(f.rn);
              f.off = signExtend(f.imm7, 7) * (1 << sizeLog2);
              f.sizeLog2 = sizeLog2;
              f.load = load;
              return true;
            },
            exec,
          }),
        );
      }
    }
  }
  return rows;
}

export const FP_LDST_TABLE: Encoding<never>[] = [...singleRows(), ...LITERAL_ROWS, ...pairRows()];
