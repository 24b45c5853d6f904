// Advanced SIMD floating point, three registers of the same type (Arm ARM C4.1.x "Advanced SIMD
// three same" and "Advanced SIMD scalar three same", the FP half with size<1> = a): lane-wise
// FADD ... FRSQRTS on .2S/.4S/.2D and on S/D scalars, the pairwise forms (FADDP ... FMINNMP,
// vector and scalar) and the across-lanes reductions (FMAXV ... FMINNMV). Each lane is one
// call of the exact scalar arithmetic (emulator/fp/), in lane order, so NaN choice, FZ, DN,
// rounding and the cumulative FPSR flags are those of the pseudocode's loop. Single and double
// only: the half-precision forms are FEAT_FP16.

import type { CpuState } from "../cpu_state.ts";
import { type Encoding, type Op, encoding } from "../decode.ts";
import { checkFPAdvSIMDEnabled } from "../fp/fp_access.ts";
import { fpAdd, fpDiv, fpMaxMin, fpMaxMinNum, fpMul, fpMulAdd, fpSub } from "../fp/fp_arith.ts";
import { CmpOp, fpCompareOp } from "../fp/fp_compare.ts";
import { type FPEnv, type FPFormat, fpAbs, fpNeg, mask } from "../fp/fp_format.ts";
import { fpMulX, fpRSqrtStepFused, fpRecipStepFused } from "../fp/fp_step.ts";
import { readV, writeV } from "../fp/vreg.ts";
import { fmtOf } from "./fp_dp.ts";

/** Lane `i` of `esizeLog2` bytes of a register value. */
export function lane(v: bigint, esizeLog2: number, i: number): bigint {
  const bits = 8 << esizeLog2;
  return (v >> BigInt(i * bits)) & mask(bits);
}

/** Write a vector result (Q = 0: the upper half is cleared) or a scalar one (`elements` 1, scalar). */
export function writeLanes(cpu: CpuState, rd: number, scalar: boolean, esizeLog2: number, q: number, value: bigint): void {
  writeV(cpu, rd, scalar ? esizeLog2 : q ? 4 : 3, value);
}

/** The lane shape of an FP vector form: sz 0 S, 1 D (.1D is reserved). */
export interface FpShape {
  q: number;
  sz: number;
  esize: number;
  elements: number;
  scalar: number;
}

export function shapeVector(f: FpShape): boolean {
  if (f.sz === 1 && f.q === 0) return false;
  f.esize = f.sz ? 3 : 2;
  f.elements = (f.q ? 16 : 8) >> f.esize;
  f.scalar = 0;
  return true;
}

export function shapeScalar(f: FpShape): boolean {
  f.esize = f.sz ? 3 : 2;
  f.elements = 1;
  f.scalar = 1;
  return true;
}

/** The lane operations of the three-same FP group. */
export const F3 = {
  ADD: 0, SUB: 1, MUL: 2, DIV: 3, MAX: 4, MIN: 5, MAXNM: 6, MINNM: 7, MLA: 8, MLS: 9, MULX: 10, ABD: 11,
  CMEQ: 12, CMGE: 13, CMGT: 14, ACGE: 15, ACGT: 16, RECPS: 17, RSQRTS: 18,
} as const;

const ones = (fmt: FPFormat): bigint => mask(fmt.N);

/** One lane of a three-same FP operation; `acc` is the destination lane (FMLA, FMLS). */
export function fpLane(fn: number, fmt: FPFormat, a: bigint, b: bigint, acc: bigint, env: FPEnv): bigint {
  switch (fn) {
    case F3.ADD: return fpAdd(fmt, a, b, env);
    case F3.SUB: return fpSub(fmt, a, b, env);
    case F3.MUL: return fpMul(fmt, a, b, env);
    case F3.DIV: return fpDiv(fmt, a, b, env);
    case F3.MAX: return fpMaxMin(fmt, a, b, env, true);
    case F3.MIN: return fpMaxMin(fmt, a, b, env, false);
    case F3.MAXNM: return fpMaxMinNum(fmt, a, b, env, true);
    case F3.MINNM: return fpMaxMinNum(fmt, a, b, env, false);
    case F3.MLA: return fpMulAdd(fmt, acc, a, b, env);
    case F3.MLS: return fpMulAdd(fmt, acc, fpNeg(fmt, a), b, env);
    case F3.MULX: return fpMulX(fmt, a, b, env);
    case F3.ABD: return fpAbs(fmt, fpSub(fmt, a, b, env));
    case F3.CMEQ: return fpCompareOp(fmt, a, b, CmpOp.EQ, env) ? ones(fmt) : 0n;
    case F3.CMGE: return fpCompareOp(fmt, a, b, CmpOp.GE, env) ? ones(fmt) : 0n;
    case F3.CMGT: return fpCompareOp(fmt, a, b, CmpOp.GT, env) ? ones(fmt) : 0n;
    case F3.ACGE: return fpCompareOp(fmt, fpAbs(fmt, a), fpAbs(fmt, b), CmpOp.GE, env) ? ones(fmt) : 0n;
    case F3.ACGT: return fpCompareOp(fmt, fpAbs(fmt, a), fpAbs(fmt, b), CmpOp.GT, env) ? ones(fmt) : 0n;
    case F3.RECPS: return fpRecipStepFused(fmt, a, b, env);
    default: return fpRSqrtStepFused(fmt, a, b, env);
  }
}

interface SameFields extends FpShape {
  rm: number;
  rn: number;
  rd: number;
  fn: number;
}

type SameOp = SameFields & Op;

function execSame(cpu: CpuState, op: SameOp): void {
  checkFPAdvSIMDEnabled(cpu);
  const s = op.esize;
  const fmt = fmtOf(s);
  const n = readV(cpu, op.rn, 4);
  const m = readV(cpu, op.rm, 4);
  const d = readV(cpu, op.rd, 4);
  const bits = BigInt(8 << s);
  let out = 0n;
  for (let i = 0; i < op.elements; i++) {
    out |= fpLane(op.fn, fmt, lane(n, s, i), lane(m, s, i), lane(d, s, i), cpu) << (BigInt(i) * bits);
  }
  writeLanes(cpu, op.rd, op.scalar === 1, s, op.q, out);
}

/** Pairwise (FADDP ... vector): lane e of Vm:Vn's pairs, Vn's pairs first. */
function execPairwise(cpu: CpuState, op: SameOp): void {
  checkFPAdvSIMDEnabled(cpu);
  const s = op.esize;
  const fmt = fmtOf(s);
  const half = op.elements * (8 << s);
  const concat = (readV(cpu, op.rm, 4) & mask(half)) << BigInt(half) | (readV(cpu, op.rn, 4) & mask(half));
  const bits = BigInt(8 << s);
  let out = 0n;
  for (let i = 0; i < op.elements; i++) {
    out |= fpLane(op.fn, fmt, lane(concat, s, 2 * i), lane(concat, s, 2 * i + 1), 0n, cpu) << (BigInt(i) * bits);
  }
  writeLanes(cpu, op.rd, false, s, op.q, out);
}

/** (name, U, a, opcode, operation) of the FP three-same rows; `scalar` marks forms with a scalar encoding. */
const SAME: readonly [string, number, number, string, number, boolean][] = [
  ["FMAXNM", 0, 0, "11000", F3.MAXNM, false],
  ["FMLA", 0, 0, "11001", F3.MLA, false],
  ["FADD", 0, 0, "11010", F3.ADD, false],
  ["FMULX", 0, 0, "11011", F3.MULX, true],
  ["FCMEQ", 0, 0, "11100", F3.CMEQ, true],
  ["FMAX", 0, 0, "11110", F3.MAX, false],
  ["FRECPS", 0, 0, "11111", F3.RECPS, true],
  ["FMINNM", 0, 1, "11000", F3.MINNM, false],
  ["FMLS", 0, 1, "11001", F3.MLS, false],
  ["FSUB", 0, 1, "11010", F3.SUB, false],
  ["FMIN", 0, 1, "11110", F3.MIN, false],
  ["FRSQRTS", 0, 1, "11111", F3.RSQRTS, true],
  ["FMUL", 1, 0, "11011", F3.MUL, false],
  ["FCMGE", 1, 0, "11100", F3.CMGE, true],
  ["FACGE", 1, 0, "11101", F3.ACGE, true],
  ["FDIV", 1, 0, "11111", F3.DIV, false],
  ["FABD", 1, 1, "11010", F3.ABD, false], // the scalar FABD row is in fp_dp.ts
  ["FCMGT", 1, 1, "11100", F3.CMGT, true],
  ["FACGT", 1, 1, "11101", F3.ACGT, true],
];

const PAIRWISE: readonly [string, number, string, number][] = [
  ["FMAXNMP", 0, "11000", F3.MAXNM],
  ["FADDP", 0, "11010", F3.ADD],
  ["FMAXP", 0, "11110", F3.MAX],
  ["FMINNMP", 1, "11000", F3.MINNM],
  ["FMINP", 1, "11110", F3.MIN],
];

function sameRows(): Encoding<never>[] {
  const rows: Encoding<never>[] = [];
  for (const [name, u, a, opcode, fn, hasScalar] of SAME) {
    rows.push(
      encoding<SameFields>({
        name: `${name}_vec`,
        pattern: `0 q:1 ${u} 01110 ${a} sz:1 1 rm:5 ${opcode} 1 rn:5 rd:5`,
        prepare(f) {
          f.fn = fn;
          return shapeVector(f);
        },
        exec: execSame,
      }),
    );
    if (hasScalar) {
      rows.push(
        encoding<SameFields>({
          name: `${name}_scalar`,
          pattern: `01 ${u} 11110 ${a} sz:1 1 rm:5 ${opcode} 1 rn:5 rd:5`,
          prepare(f) {
            f.fn = fn;
            return shapeScalar(f);
          },
          exec: execSame,
        }),
      );
    }
  }
  for (const [name, a, opcode, fn] of PAIRWISE) {
    rows.push(
      encoding<SameFields>({
        name: `${name}_vec`,
        pattern: `0 q:1 1 01110 ${a} sz:1 1 rm:5 ${opcode} 1 rn:5 rd:5`,
        prepare(f) {
          f.fn = fn;
          return shapeVector(f);
        },
        exec: execPairwise,
      }),
    );
  }
  return rows;
}

// ------------------------------------------------------------------ pairwise scalar, across lanes

interface ReduceFields extends FpShape {
  rn: number;
  rd: number;
  fn: number;
}

type ReduceOp = ReduceFields & Op;

/** FADDP ... (scalar): the two lanes of Vn's low 2 x esize bits. */
function execPairScalar(cpu: CpuState, op: ReduceOp): void {
  checkFPAdvSIMDEnabled(cpu);
  const s = op.esize;
  const n = readV(cpu, op.rn, 4);
  writeV(cpu, op.rd, s, fpLane(op.fn, fmtOf(s), lane(n, s, 0), lane(n, s, 1), 0n, cpu));
}

/** Reduce: each half reduced on its own, then op(low half, high half). */
function reduce(fn: number, fmt: FPFormat, v: bigint, s: number, first: number, count: number, env: FPEnv): bigint {
  if (count === 1) return lane(v, s, first);
  const h = count >> 1;
  const hi = reduce(fn, fmt, v, s, first + h, h, env);
  const lo = reduce(fn, fmt, v, s, first, h, env);
  return fpLane(fn, fmt, lo, hi, 0n, env);
}

function execAcross(cpu: CpuState, op: ReduceOp): void {
  checkFPAdvSIMDEnabled(cpu);
  const s = op.esize;
  writeV(cpu, op.rd, s, reduce(op.fn, fmtOf(s), readV(cpu, op.rn, 4), s, 0, op.elements, cpu));
}

function reduceRows(): Encoding<never>[] {
  const rows: Encoding<never>[] = [];
  for (const [name, a, opcode, fn] of [
    ["FMAXNMP", 0, "01100", F3.MAXNM], ["FADDP", 0, "01101", F3.ADD], ["FMAXP", 0, "01111", F3.MAX],
    ["FMINNMP", 1, "01100", F3.MINNM], ["FMINP", 1, "01111", F3.MIN],
  ] as const) {
    rows.push(
      encoding<ReduceFields>({
        name: `${name}_scalar`,
        pattern: `01 1 11110 ${a} sz:1 11000 ${opcode} 10 rn:5 rd:5`,
        prepare(f) {
          f.fn = fn;
          return shapeScalar(f);
        },
        exec: execPairScalar,
      }),
    );
  }
  // FMAXNMV ... : .4S only (the .4H/.8H forms are FEAT_FP16; sz 1 and Q 0 are reserved).
  for (const [name, a, opcode, fn] of [
    ["FMAXNMV", 0, "01100", F3.MAXNM], ["FMAXV", 0, "01111", F3.MAX], ["FMINNMV", 1, "01100", F3.MINNM], ["FMINV", 1, "01111", F3.MIN],
  ] as const) {
    rows.push(
      encoding<ReduceFields>({
        name,
        pattern: `0 1 1 01110 ${a} 0 11000 ${opcode} 10 rn:5 rd:5`,
        prepare(f) {
          f.fn = fn;
          f.esize = 2;
          f.elements = 4;
          return true;
        },
        exec: execAcross,
      }),
    );
  }
  return rows;
}

export const SIMD_FP_TABLE: Encoding<never>[] = [...sameRows(), ...reduceRows()];
