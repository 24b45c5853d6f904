// Advanced SIMD floating point, two-register miscellaneous (Arm ARM C4.1.x "Advanced SIMD
// two-register miscellaneous" and its scalar group, the FP half): FABS, FNEG, FSQRT, FRINT*,
// the compares against zero, the estimates (FRECPE, FRSQRTE, URECPE, URSQRTE, FRECPX), and the
// narrowing and lengthening precision changes (FCVTN, FCVTL, FCVTXN with round-to-odd). The
// conversions to and from integers of these groups are in fp_int.ts.

import type { CpuState } from "../cpu_state.ts";
import { type Encoding, type Op, encoding } from "../decode.ts";
import { checkFPAdvSIMDEnabled } from "../fp/fp_access.ts";
import { fpSqrt } from "../fp/fp_arith.ts";
import { CmpOp, fpCompareOp } from "../fp/fp_compare.ts";
import { fpConvert, fpRoundInt } from "../fp/fp_convert.ts";
import { fpRSqrtEstimate, fpRecipEstimate, fpRecpX, unsignedRSqrtEstimate, unsignedRecipEstimate } from "../fp/fp_estimate.ts";
import { type FPEnv, type FPFormat, RM, type Rounding, fpAbs, fpNeg, fpcrRounding, mask } from "../fp/fp_format.ts";
import { readV, writeV } from "../fp/vreg.ts";
import { fmtOf } from "./fp_dp.ts";
import { type FpShape, lane, shapeScalar, shapeVector, writeLanes } from "./simd_fp.ts";

/** The lane operations of this group; FRINT* carry their rounding in `mode`. */
const M = {
  ABS: 0, NEG: 1, SQRT: 2, RINT: 3, RINTX: 4, RINTI: 5, CMGT0: 6, CMEQ0: 7, CMLT0: 8, CMGE0: 9, CMLE0: 10,
  RECPE: 11, RSQRTE: 12, URECPE: 13, URSQRTE: 14, RECPX: 15,
} as const;

function misc(fn: number, fmt: FPFormat, a: bigint, mode: Rounding, env: FPEnv): bigint {
  const t = (c: boolean): bigint => (c ? mask(fmt.N) : 0n);
  switch (fn) {
    case M.ABS: return fpAbs(fmt, a);
    case M.NEG: return fpNeg(fmt, a);
    case M.SQRT: return fpSqrt(fmt, a, env);
    case M.RINT: return fpRoundInt(fmt, a, mode, false, env);
    case M.RINTX: return fpRoundInt(fmt, a, fpcrRounding(env), true, env);
    case M.RINTI: return fpRoundInt(fmt, a, fpcrRounding(env), false, env);
    case M.CMGT0: return t(fpCompareOp(fmt, a, 0n, CmpOp.GT, env));
    case M.CMEQ0: return t(fpCompareOp(fmt, a, 0n, CmpOp.EQ, env));
    case M.CMGE0: return t(fpCompareOp(fmt, a, 0n, CmpOp.GE, env));
    // a < 0 and a <= 0 are asked as 0 > a and 0 >= a, as the pseudocode does.
    case M.CMLT0: return t(fpCompareOp(fmt, 0n, a, CmpOp.GT, env));
    case M.CMLE0: return t(fpCompareOp(fmt, 0n, a, CmpOp.GE, env));
    case M.RECPE: return fpRecipEstimate(fmt, a, env);
    case M.RSQRTE: return fpRSqrtEstimate(fmt, a, env);
    case M.URECPE: return BigInt(unsignedRecipEstimate(Number(a)));
    case M.URSQRTE: return BigInt(unsignedRSqrtEstimate(Number(a)));
    default: return fpRecpX(fmt, a, env);
  }
}

interface MiscFields extends FpShape {
  rn: number;
  rd: number;
  fn: number;
  mode: number;
}

type MiscOp = MiscFields & Op;

function execMisc(cpu: CpuState, op: MiscOp): void {
  checkFPAdvSIMDEnabled(cpu);
  const s = op.esize;
  const fmt = fmtOf(s);
  const n = readV(cpu, op.rn, 4);
  const bits = BigInt(8 << s);
  let out = 0n;
  for (let i = 0; i < op.elements; i++) out |= misc(op.fn, fmt, lane(n, s, i), op.mode as Rounding, cpu) << (BigInt(i) * bits);
  writeLanes(cpu, op.rd, op.scalar === 1, s, op.q, out);
}

/** (name, U, a, opcode, operation, rounding, forms): `v` vector, `s` scalar, `1` single only. */
const MISC: readonly [string, number, number, string, number, Rounding, string][] = [
  ["FRINTN", 0, 0, "11000", M.RINT, RM.TIEEVEN, "v"],
  ["FRINTM", 0, 0, "11001", M.RINT, RM.NEGINF, "v"],
  ["FCMGT_zero", 0, 1, "01100", M.CMGT0, 0, "vs"],
  ["FCMEQ_zero", 0, 1, "01101", M.CMEQ0, 0, "vs"],
  ["FCMLT_zero", 0, 1, "01110", M.CMLT0, 0, "vs"],
  ["FABS", 0, 1, "01111", M.ABS, 0, "v"],
  ["FRINTP", 0, 1, "11000", M.RINT, RM.POSINF, "v"],
  ["FRINTZ", 0, 1, "11001", M.RINT, RM.ZERO, "v"],
  ["URECPE", 0, 1, "11100", M.URECPE, 0, "v1"],
  ["FRECPE", 0, 1, "11101", M.RECPE, 0, "vs"],
  ["FRECPX", 0, 1, "11111", M.RECPX, 0, "s"],
  ["FRINTA", 1, 0, "11000", M.RINT, RM.TIEAWAY, "v"],
  ["FRINTX", 1, 0, "11001", M.RINTX, 0, "v"],
  ["FCMGE_zero", 1, 1, "01100", M.CMGE0, 0, "vs"],
  ["FCMLE_zero", 1, 1, "01101", M.CMLE0, 0, "vs"],
  ["FNEG", 1, 1, "01111", M.NEG, 0, "v"],
  ["FRINTI", 1, 1, "11001", M.RINTI, 0, "v"],
  ["URSQRTE", 1, 1, "11100", M.URSQRTE, 0, "v1"],
  ["FRSQRTE", 1, 1, "11101", M.RSQRTE, 0, "vs"],
  ["FSQRT", 1, 1, "11111", M.SQRT, 0, "v"],
];

function miscRows(): Encoding<never>[] {
  const rows: Encoding<never>[] = [];
  for (const [name, u, a, opcode, fn, mode, forms] of MISC) {
    const singleOnly = forms.includes("1");
    for (const scalar of [false, true]) {
      if (!forms.includes(scalar ? "s" : "v")) continue;
      rows.push(
        encoding<MiscFields>({
          name: `${name}_${scalar ? "scalar" : "vec"}`,
          pattern: scalar ? `01 ${u} 11110 ${a} sz:1 10000 ${opcode} 10 rn:5 rd:5` : `0 q:1 ${u} 01110 ${a} sz:1 10000 ${opcode} 10 rn:5 rd:5`,
          prepare(f) {
            if (singleOnly && f.sz === 1) return false;
            f.fn = fn;
            f.mode = mode;
            return scalar ? shapeScalar(f) : shapeVector(f);
          },
          exec: execMisc,
        }),
      );
    }
  }
  return rows;
}

// ------------------------------------------------------------------ precision changes

interface CvtFields {
  q: number;
  sz: number;
  rn: number;
  rd: number;
  /** Narrow element size (log2 bytes): H (1) or S (2). */
  narrow: number;
  odd: number;
  scalar: number;
}

type CvtOp = CvtFields & Op;

/**
 * FCVTN/FCVTN2, FCVTXN/FCVTXN2: Vn's wide lanes to 64 bits of narrow ones, into the low half of
 * Vd (upper cleared) or, for the "2" forms (Q = 1), its upper half (lower kept).
 */
function execNarrow(cpu: CpuState, op: CvtOp): void {
  checkFPAdvSIMDEnabled(cpu);
  const ns = op.narrow;
  const from = fmtOf(ns + 1);
  const to = fmtOf(ns);
  const n = readV(cpu, op.rn, 4);
  const count = op.scalar ? 1 : 8 >> ns;
  const mode = op.odd ? RM.ODD : fpcrRounding(cpu);
  let out = 0n;
  for (let i = 0; i < count; i++) out |= fpConvert(from, to, lane(n, ns + 1, i), cpu, mode) << BigInt(i * (8 << ns));
  if (op.scalar) writeV(cpu, op.rd, ns, out);
  else if (op.q) writeV(cpu, op.rd, 4, (out << 64n) | readV(cpu, op.rd, 3));
  else writeV(cpu, op.rd, 3, out);
}

/** FCVTL/FCVTL2: the low (Q = 0) or high 64 bits of Vn, lengthened lane by lane. */
function execLengthen(cpu: CpuState, op: CvtOp): void {
  checkFPAdvSIMDEnabled(cpu);
  const ns = op.narrow;
  const from = fmtOf(ns);
  const to = fmtOf(ns + 1);
  const src = (readV(cpu, op.rn, 4) >> (op.q ? 64n : 0n)) & mask(64);
  const count = 8 >> ns;
  let out = 0n;
  for (let i = 0; i < count; i++) out |= fpConvert(from, to, lane(src, ns, i), cpu) << BigInt(i * (16 << ns));
  writeV(cpu, op.rd, 4, out);
}

const CVT_ROWS: Encoding<never>[] = [
  encoding<CvtFields>({
    name: "FCVTN_vec",
    pattern: "0 q:1 0 01110 0 sz:1 10000 10110 10 rn:5 rd:5",
    prepare(f) {
      f.narrow = f.sz ? 2 : 1;
      f.odd = 0;
      f.scalar = 0;
    },
    exec: execNarrow,
  }),
  encoding<CvtFields>({
    name: "FCVTL_vec",
    pattern: "0 q:1 0 01110 0 sz:1 10000 10111 10 rn:5 rd:5",
    prepare(f) {
      f.narrow = f.sz ? 2 : 1;
    },
    exec: execLengthen,
  }),
  // FCVTXN: double to single only (sz 0 is reserved).
  encoding<CvtFields>({
    name: "FCVTXN_vec",
    pattern: "0 q:1 1 01110 0 1 10000 10110 10 rn:5 rd:5",
    prepare(f) {
      f.narrow = 2;
      f.odd = 1;
      f.scalar = 0;
    },
    exec: execNarrow,
  }),
  encoding<CvtFields>({
    name: "FCVTXN_scalar",
    pattern: "01 1 11110 0 1 10000 10110 10 rn:5 rd:5",
    prepare(f) {
      f.narrow = 2;
      f.odd = 1;
      f.scalar = 1;
    },
    exec: execNarrow,
  }),
];

export const SIMD_FP_MISC_TABLE: Encoding<never>[] = [...miscRows(), ...CVT_ROWS];
