// Conversions between floating point and integers (Arm ARM C4.1.x "Conversion between
// floating-point and integer/fixed-point"): FCVT{N,P,M,Z,A}{S,U} to W/X, SCVTF/UCVTF from W/X
// (also fixed-point), FMOV between general and S/D registers (and the top half, V.D[1]),
// and the Advanced SIMD scalar and vector forms of the same conversions between integers and FP
// held in SIMD&FP registers.

import type { CpuState } from "../cpu_state.ts";
import { type Encoding, type Op, encoding } from "../decode.ts";
import { checkFPAdvSIMDEnabled } from "../fp/fp_access.ts";
import { fixedToFP, fpToFixed } from "../fp/fp_convert.ts";
import { RM, type Rounding } from "../fp/fp_format.ts";
import { readElem, readV, writeElem, writeV } from "../fp/vreg.ts";
import { dstZR } from "./operands.ts";
import { fmtOf, sizeOfFtype } from "./fp_dp.ts";

interface CvtFields {
  sf: number;
  ftype: number;
  rn: number;
  rd: number;
  scale: number;
  /** Destination general-register slot (XZR -> sink) for FP -> integer. */
  d: number;
  sz: number;
  mode: number;
  unsigned: number;
  fbits: number;
}

type CvtOp = CvtFields & Op;

function getGeneral(cpu: CpuState, n: number, sf: number): bigint {
  const lo = BigInt(cpu.x[2 * n]!);
  return sf ? (BigInt(cpu.x[2 * n + 1]!) << 32n) | lo : lo;
}

function setGeneral(cpu: CpuState, slot: number, sf: number, v: bigint): void {
  cpu.x[2 * slot] = Number(v & 0xffffffffn);
  cpu.x[2 * slot + 1] = sf ? Number((v >> 32n) & 0xffffffffn) : 0;
}

function execToInt(cpu: CpuState, op: CvtOp): void {
  checkFPAdvSIMDEnabled(cpu);
  const s = op.sz;
  const r = fpToFixed(fmtOf(s), readV(cpu, op.rn, s), op.fbits, op.unsigned === 1, op.mode as Rounding, op.sf ? 64 : 32, cpu);
  setGeneral(cpu, op.d, op.sf, r);
}

function execFromInt(cpu: CpuState, op: CvtOp): void {
  checkFPAdvSIMDEnabled(cpu);
  const s = op.sz;
  writeV(cpu, op.rd, s, fixedToFP(fmtOf(s), getGeneral(cpu, op.rn, op.sf), op.sf ? 64 : 32, op.fbits, op.unsigned === 1, cpu));
}

/** FMOV general <- SIMD&FP: `mode` 1 reads V.D[1]. */
function execMovToGeneral(cpu: CpuState, op: CvtOp): void {
  checkFPAdvSIMDEnabled(cpu);
  const v = op.mode === 1 ? readElem(cpu, op.rn, 3, 1) : readV(cpu, op.rn, op.sz);
  setGeneral(cpu, op.d, op.sf, v);
}

/** FMOV SIMD&FP <- general: `mode` 1 writes V.D[1] and keeps D[0]; otherwise the rest is zeroed. */
function execMovFromGeneral(cpu: CpuState, op: CvtOp): void {
  checkFPAdvSIMDEnabled(cpu);
  const v = getGeneral(cpu, op.rn, op.sf);
  if (op.mode === 1) writeElem(cpu, op.rd, 3, 1, v);
  else writeV(cpu, op.rd, op.sz, v);
}

const RMODE_ROUNDING: readonly Rounding[] = [RM.TIEEVEN, RM.POSINF, RM.NEGINF, RM.ZERO];
const RMODE_LETTER = ["N", "P", "M", "Z"];

function prepareCvt(f: CvtFields, halfOk: boolean): boolean {
  f.sz = sizeOfFtype(f.ftype);
  if (f.sz < 0 || (f.sz === 1 && !halfOk)) return false;
  f.d = dstZR(f.rd);
  return true;
}

function intRows(): Encoding<never>[] {
  const rows: Encoding<never>[] = [];
  for (let rmode = 0; rmode < 4; rmode++) {
    for (const u of [0, 1]) {
      rows.push(
        encoding<CvtFields>({
          name: `FCVT${RMODE_LETTER[rmode]}${u ? "U" : "S"}`,
          pattern: `sf:1 0 0 11110 ftype:2 1 ${rmode.toString(2).padStart(2, "0")} 00${u} 000000 rn:5 rd:5`,
          prepare(f) {
            f.mode = RMODE_ROUNDING[rmode]!;
            f.unsigned = u;
            f.fbits = 0;
            return prepareCvt(f, false);
          },
          exec: execToInt,
        }),
      );
    }
  }
  for (const u of [0, 1]) {
    rows.push(
      encoding<CvtFields>({
        name: `FCVTA${u ? "U" : "S"}`,
        pattern: `sf:1 0 0 11110 ftype:2 1 00 10${u} 000000 rn:5 rd:5`,
        prepare(f) {
          f.mode = RM.TIEAWAY;
          f.unsigned = u;
          f.fbits = 0;
          return prepareCvt(f, false);
        },
        exec: execToInt,
      }),
      encoding<CvtFields>({
        name: `${u ? "U" : "S"}CVTF_int`,
        pattern: `sf:1 0 0 11110 ftype:2 1 00 01${u} 000000 rn:5 rd:5`,
        prepare(f) {
          f.unsigned = u;
          f.fbits = 0;
          return prepareCvt(f, false);
        },
        exec: execFromInt,
      }),
      // Fixed point: fbits = 64 - scale; a W source or destination needs fbits <= 32.
      encoding<CvtFields>({
        name: `${u ? "U" : "S"}CVTF_fix`,
        pattern: `sf:1 0 0 11110 ftype:2 0 00 01${u} scale:6 rn:5 rd:5`,
        prepare(f) {
          if (f.sf === 0 && f.scale < 32) return false;
          f.unsigned = u;
          f.fbits = 64 - f.scale;
          return prepareCvt(f, false);
        },
        exec: execFromInt,
      }),
      encoding<CvtFields>({
        name: `FCVTZ${u ? "U" : "S"}_fix`,
        pattern: `sf:1 0 0 11110 ftype:2 0 11 00${u} scale:6 rn:5 rd:5`,
        prepare(f) {
          if (f.sf === 0 && f.scale < 32) return false;
          f.mode = RM.ZERO;
          f.unsigned = u;
          f.fbits = 64 - f.scale;
          return prepareCvt(f, false);
        },
        exec: execToInt,
      }),
    );
  }
  // FMOV: W<->S, X<->D and X<->V.D[1]; the W/X<->H forms are FEAT_FP16 (not implemented).
  const fmovOk = (f: CvtFields, rmode: number): boolean =>
    rmode === 1 ? f.sf === 1 && f.ftype === 2 : (f.sf === 0 && f.ftype === 0) || (f.sf === 1 && f.ftype === 1);
  for (const rmode of [0, 1]) {
    for (const [dir, exec] of [["to", execMovToGeneral], ["from", execMovFromGeneral]] as const) {
      rows.push(
        encoding<CvtFields>({
          name: `FMOV_${dir}_general${rmode ? "_top" : ""}`,
          pattern: `sf:1 0 0 11110 ftype:2 1 0${rmode} 11${dir === "to" ? 0 : 1} 000000 rn:5 rd:5`,
          prepare(f) {
            if (!fmovOk(f, rmode)) return false;
            f.mode = rmode;
            f.sz = rmode ? 3 : f.ftype + 2;
            f.d = dstZR(f.rd);
            return true;
          },
          exec,
        }),
      );
    }
  }
  return rows;
}

// ------------------------------------------------------------------ Advanced SIMD scalar and vector

interface SimdCvtFields {
  q: number;
  sz: number;
  rn: number;
  rd: number;
  /** Elements (1 for the scalar forms). */
  elements: number;
  esize: number;
  mode: number;
  unsigned: number;
}

type SimdCvtOp = SimdCvtFields & Op;

function execSimdToInt(cpu: CpuState, op: SimdCvtOp): void {
  checkFPAdvSIMDEnabled(cpu);
  const s = op.esize;
  const fmt = fmtOf(s);
  const bits = (8 << s) as 32 | 64;
  let out = 0n;
  for (let i = 0; i < op.elements; i++) {
    const r = fpToFixed(fmt, readElem(cpu, op.rn, s, i), 0, op.unsigned === 1, op.mode as Rounding, bits, cpu);
    out |= r << BigInt(i * bits);
  }
  writeV(cpu, op.rd, op.elements === 1 ? s : op.q ? 4 : 3, out);
}

function execSimdFromInt(cpu: CpuState, op: SimdCvtOp): void {
  checkFPAdvSIMDEnabled(cpu);
  const s = op.esize;
  const fmt = fmtOf(s);
  const bits = (8 << s) as 32 | 64;
  let out = 0n;
  for (let i = 0; i < op.elements; i++) {
    out |= fixedToFP(fmt, readElem(cpu, op.rn, s, i), bits, 0, op.unsigned === 1, cpu) << BigInt(i * bits);
  }
  writeV(cpu, op.rd, op.elements === 1 ? s : op.q ? 4 : 3, out);
}

/** (o2, opcode) of the FP -> integer conversions in the two-register-misc groups. */
const SIMD_TO_INT: readonly { name: string; o2: number; opcode: string; mode: Rounding }[] = [
  { name: "FCVTN", o2: 0, opcode: "11010", mode: RM.TIEEVEN },
  { name: "FCVTM", o2: 0, opcode: "11011", mode: RM.NEGINF },
  { name: "FCVTA", o2: 0, opcode: "11100", mode: RM.TIEAWAY },
  { name: "FCVTP", o2: 1, opcode: "11010", mode: RM.POSINF },
  { name: "FCVTZ", o2: 1, opcode: "11011", mode: RM.ZERO },
];

function simdRows(): Encoding<never>[] {
  const rows: Encoding<never>[] = [];
  for (const scalar of [true, false]) {
    const head = scalar ? "01 U:1 11110" : "0 q:1 U:1 01110";
    const suffix = scalar ? "_scalar" : "_vec";
    const shape = (f: SimdCvtFields): boolean => {
      f.esize = f.sz ? 3 : 2;
      if (scalar) {
        f.elements = 1;
        return true;
      }
      if (f.sz === 1 && f.q === 0) return false;
      f.elements = (f.q ? 16 : 8) >> f.esize;
      return true;
    };
    for (const c of SIMD_TO_INT) {
      rows.push(
        encoding<SimdCvtFields & { U: number }>({
          name: `${c.name}S_${c.name}U${suffix}`,
          pattern: `${head} ${c.o2} sz:1 10000 ${c.opcode} 10 rn:5 rd:5`,
          prepare(f) {
            f.mode = c.mode;
            f.unsigned = f.U;
            return shape(f);
          },
          exec: execSimdToInt,
        }),
      );
    }
    rows.push(
      encoding<SimdCvtFields & { U: number }>({
        name: `SCVTF_UCVTF${suffix}`,
        pattern: `${head} 0 sz:1 10000 11101 10 rn:5 rd:5`,
        prepare(f) {
          f.unsigned = f.U;
          return shape(f);
        },
        exec: execSimdFromInt,
      }),
    );
  }
  return rows;
}

export const FP_INT_TABLE: Encoding<never>[] = [...intRows(), ...simdRows()];
