// Scalar floating-point data processing (Arm ARM C4.1.x "Data Processing -- Scalar Floating-Point
// and Advanced SIMD", the FP groups): 1-, 2- and 3-source arithmetic, compare, conditional
// compare and select, immediate moves and FCVT between precisions. Single and double precision;
// half precision only where FEAT_FP16 is not needed (FCVT to and from H, FMOV of H registers).
// Every handler checks SIMD&FP access first (fp_access.ts).

import type { CpuState } from "../cpu_state.ts";
import { type Encoding, type Op, encoding } from "../decode.ts";
import { checkFPAdvSIMDEnabled } from "../fp/fp_access.ts";
import { fpAdd, fpDiv, fpMaxMin, fpMaxMinNum, fpMul, fpMulAdd, fpSqrt, fpSub } from "../fp/fp_arith.ts";
import { fpCompare } from "../fp/fp_compare.ts";
import { fpConvert, fpRoundInt } from "../fp/fp_convert.ts";
import { FP16, FP32, FP64, type FPFormat, RM, type Rounding, fpAbs, fpNeg, fpcrRounding } from "../fp/fp_format.ts";
import { readV, writeV } from "../fp/vreg.ts";

/** Format by register size: sizeLog2 1 (H), 2 (S), 3 (D). */
export const FORMAT_OF_SIZE: readonly (FPFormat | undefined)[] = [undefined, FP16, FP32, FP64];

export function fmtOf(sizeLog2: number): FPFormat {
  return FORMAT_OF_SIZE[sizeLog2]!;
}

/** ftype -> sizeLog2 (00 S, 01 D, 11 H; 10 is unallocated here). */
export function sizeOfFtype(ftype: number): number {
  return ftype === 0 ? 2 : ftype === 1 ? 3 : ftype === 3 ? 1 : -1;
}

interface FpFields {
  ftype: number;
  rn: number;
  rd: number;
  rm: number;
  ra: number;
  /** log2 of the operand size in bytes (2 = S, 3 = D). */
  sz: number;
  /** Row parameter: which operation of a shared handler. */
  fn: number;
}

type FpOp = FpFields & Op;

/** Single and double only: half-precision arithmetic is FEAT_FP16, not implemented. */
function prepareSD(f: FpFields): boolean {
  if (f.ftype !== 0 && f.ftype !== 1) return false;
  f.sz = sizeOfFtype(f.ftype);
  return true;
}

// ------------------------------------------------------------------ 1 source

const F1_MOV = 0;
const F1_ABS = 1;
const F1_NEG = 2;
const F1_SQRT = 3;

function execOneSource(cpu: CpuState, op: FpOp): void {
  checkFPAdvSIMDEnabled(cpu);
  const s = op.sz;
  const fmt = fmtOf(s);
  const a = readV(cpu, op.rn, s);
  let r: bigint;
  switch (op.fn) {
    case F1_MOV: r = a; break;
    case F1_ABS: r = fpAbs(fmt, a); break;
    case F1_NEG: r = fpNeg(fmt, a); break;
    default: r = fpSqrt(fmt, a, cpu);
  }
  writeV(cpu, op.rd, s, r);
}

/** FRINT{N,P,M,Z,A,X,I}: `fn` is the rounding (X and I: FPCR's), 8 marks FRINTX (exact). */
const FRINT_X = 8;
const FRINT_I = 9;

function execRoundInt(cpu: CpuState, op: FpOp): void {
  checkFPAdvSIMDEnabled(cpu);
  const s = op.sz;
  const mode: Rounding = op.fn >= FRINT_X ? fpcrRounding(cpu) : (op.fn as Rounding);
  writeV(cpu, op.rd, s, fpRoundInt(fmtOf(s), readV(cpu, op.rn, s), mode, op.fn === FRINT_X, cpu));
}

/** FCVT: `fn` is the destination sizeLog2. */
function execConvertPrecision(cpu: CpuState, op: FpOp): void {
  checkFPAdvSIMDEnabled(cpu);
  const from = op.sz;
  writeV(cpu, op.rd, op.fn, fpConvert(fmtOf(from), fmtOf(op.fn), readV(cpu, op.rn, from), cpu));
}

// ------------------------------------------------------------------ 2 and 3 sources

const F2 = { MUL: 0, DIV: 1, ADD: 2, SUB: 3, MAX: 4, MIN: 5, MAXNM: 6, MINNM: 7, NMUL: 8, ABD: 9 } as const;

function execTwoSource(cpu: CpuState, op: FpOp): void {
  checkFPAdvSIMDEnabled(cpu);
  const s = op.sz;
  const fmt = fmtOf(s);
  const a = readV(cpu, op.rn, s);
  const b = readV(cpu, op.rm, s);
  let r: bigint;
  switch (op.fn) {
    case F2.MUL: r = fpMul(fmt, a, b, cpu); break;
    case F2.DIV: r = fpDiv(fmt, a, b, cpu); break;
    case F2.ADD: r = fpAdd(fmt, a, b, cpu); break;
    case F2.SUB: r = fpSub(fmt, a, b, cpu); break;
    case F2.MAX: r = fpMaxMin(fmt, a, b, cpu, true); break;
    case F2.MIN: r = fpMaxMin(fmt, a, b, cpu, false); break;
    case F2.MAXNM: r = fpMaxMinNum(fmt, a, b, cpu, true); break;
    case F2.MINNM: r = fpMaxMinNum(fmt, a, b, cpu, false); break;
    // FPAbs after FPSub: the sign of a NaN result is cleared too.
    case F2.ABD: r = fpAbs(fmt, fpSub(fmt, a, b, cpu)); break;
    default: r = fpNeg(fmt, fpMul(fmt, a, b, cpu));
  }
  writeV(cpu, op.rd, s, r);
}

/** FMADD/FMSUB/FNMADD/FNMSUB: `fn` bit 0 negates the product operand Rn, bit 1 the addend Ra. */
function execThreeSource(cpu: CpuState, op: FpOp): void {
  checkFPAdvSIMDEnabled(cpu);
  const s = op.sz;
  const fmt = fmtOf(s);
  let a = readV(cpu, op.ra, s);
  let n = readV(cpu, op.rn, s);
  if (op.fn & 1) n = fpNeg(fmt, n);
  if (op.fn & 2) a = fpNeg(fmt, a);
  writeV(cpu, op.rd, s, fpMulAdd(fmt, a, n, readV(cpu, op.rm, s), cpu));
}

// ------------------------------------------------------------------ compare, select, immediate

interface CondFields extends FpFields {
  cond: number;
  nzcv: number;
  /** FCMPE/FCCMPE: every NaN raises IOC. */
  signal: number;
  /** FCMP #0.0 */
  zero: number;
}

type CondOp = CondFields & Op;

function execCompare(cpu: CpuState, op: CondOp): void {
  checkFPAdvSIMDEnabled(cpu);
  const s = op.sz;
  const b = op.zero ? 0n : readV(cpu, op.rm, s);
  cpu.setNzcv(fpCompare(fmtOf(s), readV(cpu, op.rn, s), b, op.signal === 1, cpu));
}

function execCondCompare(cpu: CpuState, op: CondOp): void {
  checkFPAdvSIMDEnabled(cpu);
  const s = op.sz;
  if (cpu.condHolds(op.cond)) cpu.setNzcv(fpCompare(fmtOf(s), readV(cpu, op.rn, s), readV(cpu, op.rm, s), op.signal === 1, cpu));
  else cpu.setNzcv(op.nzcv);
}

function execSelect(cpu: CpuState, op: CondOp): void {
  checkFPAdvSIMDEnabled(cpu);
  const s = op.sz;
  writeV(cpu, op.rd, s, readV(cpu, cpu.condHolds(op.cond) ? op.rn : op.rm, s));
}

/** VFPExpandImm: imm8 = a:b:cdefgh -> sign a, exponent NOT(b):b..b:cd, fraction efgh:0... */
export function vfpExpandImm(fmt: FPFormat, imm8: number): bigint {
  const E = fmt.E;
  const b = (imm8 >> 6) & 1;
  let exp = (b ^ 1) << (E - 1);
  if (b) exp |= ((1 << (E - 3)) - 1) << 2;
  exp |= (imm8 >> 4) & 3;
  const frac = BigInt(imm8 & 0xf) << BigInt(fmt.F - 4);
  return (BigInt((imm8 >> 7) & 1) << BigInt(fmt.N - 1)) | (BigInt(exp) << BigInt(fmt.F)) | frac;
}

interface ImmFields extends FpFields {
  imm8: number;
  value: number;
}

function execMovImm(cpu: CpuState, op: ImmFields & Op): void {
  checkFPAdvSIMDEnabled(cpu);
  writeV(cpu, op.rd, op.sz, vfpExpandImm(fmtOf(op.sz), op.imm8));
}

// ------------------------------------------------------------------ rows

const ROW_1SRC = (name: string, opcode: string, fn: number, exec = execOneSource): Encoding<never> =>
  encoding<FpFields>({
    name,
    pattern: `000 11110 ftype:2 1 ${opcode} 10000 rn:5 rd:5`,
    prepare(f) {
      f.fn = fn;
      return prepareSD(f);
    },
    exec,
  });

const ONE_SOURCE: Encoding<never>[] = [
  ROW_1SRC("FMOV_reg", "000000", F1_MOV),
  ROW_1SRC("FABS", "000001", F1_ABS),
  ROW_1SRC("FNEG", "000010", F1_NEG),
  ROW_1SRC("FSQRT", "000011", F1_SQRT),
  ROW_1SRC("FRINTN", "001000", RM.TIEEVEN, execRoundInt),
  ROW_1SRC("FRINTP", "001001", RM.POSINF, execRoundInt),
  ROW_1SRC("FRINTM", "001010", RM.NEGINF, execRoundInt),
  ROW_1SRC("FRINTZ", "001011", RM.ZERO, execRoundInt),
  ROW_1SRC("FRINTA", "001100", RM.TIEAWAY, execRoundInt),
  ROW_1SRC("FRINTX", "001110", FRINT_X, execRoundInt),
  ROW_1SRC("FRINTI", "001111", FRINT_I, execRoundInt),
  encoding<FpFields & { opc: number }>({
    name: "FCVT",
    pattern: "000 11110 ftype:2 1 0001 opc:2 10000 rn:5 rd:5",
    prepare(f) {
      f.sz = sizeOfFtype(f.ftype);
      const to = sizeOfFtype(f.opc);
      if (f.sz < 0 || to < 0 || f.ftype === f.opc) return false;
      f.fn = to;
      return true;
    },
    exec: execConvertPrecision,
  }),
];

const TWO_SOURCE: Encoding<never>[] = (
  [["FMUL", F2.MUL], ["FDIV", F2.DIV], ["FADD", F2.ADD], ["FSUB", F2.SUB], ["FMAX", F2.MAX], ["FMIN", F2.MIN],
    ["FMAXNM", F2.MAXNM], ["FMINNM", F2.MINNM], ["FNMUL", F2.NMUL]] as const
).map(([name, fn]) =>
  encoding<FpFields>({
    name,
    pattern: `000 11110 ftype:2 1 rm:5 ${fn.toString(2).padStart(4, "0")} 10 rn:5 rd:5`,
    prepare(f) {
      f.fn = fn;
      return prepareSD(f);
    },
    exec: execTwoSource,
  }),
);

/**
 * FABD (scalar), an Advanced SIMD scalar three-same instruction that compilers emit for
 * `fabs(a - b)`; its vector form belongs with the vector FP group.
 */
const FABD_SCALAR = encoding<FpFields & { szbit: number }>({
  name: "FABD_scalar",
  pattern: "01 1 11110 1 szbit:1 1 rm:5 110101 rn:5 rd:5",
  prepare(f) {
    f.sz = f.szbit ? 3 : 2;
    f.fn = F2.ABD;
    return true;
  },
  exec: execTwoSource,
});

const THREE_SOURCE: Encoding<never>[] = (
  [["FMADD", "0", "0", 0], ["FMSUB", "0", "1", 1], ["FNMADD", "1", "0", 3], ["FNMSUB", "1", "1", 2]] as const
).map(([name, o1, o0, fn]) =>
  encoding<FpFields>({
    name,
    pattern: `000 11111 ftype:2 ${o1} rm:5 ${o0} ra:5 rn:5 rd:5`,
    prepare(f) {
      f.fn = fn;
      return prepareSD(f);
    },
    exec: execThreeSource,
  }),
);

const COMPARE: Encoding<never>[] = [
  encoding<CondFields & { e: number; z: number }>({
    name: "FCMP",
    pattern: "000 11110 ftype:2 1 rm:5 00 1000 rn:5 e:1 z:1 000",
    prepare(f) {
      f.signal = f.e;
      f.zero = f.z;
      return prepareSD(f);
    },
    exec: execCompare,
  }),
  encoding<CondFields & { op: number }>({
    name: "FCCMP",
    pattern: "000 11110 ftype:2 1 rm:5 cond:4 01 rn:5 op:1 nzcv:4",
    prepare(f) {
      f.signal = f.op;
      return prepareSD(f);
    },
    exec: execCondCompare,
  }),
  encoding<CondFields>({
    name: "FCSEL",
    pattern: "000 11110 ftype:2 1 rm:5 cond:4 11 rn:5 rd:5",
    prepare: prepareSD,
    exec: execSelect,
  }),
  encoding<ImmFields>({
    name: "FMOV_imm",
    pattern: "000 11110 ftype:2 1 imm8:8 100 00000 rd:5",
    prepare: prepareSD,
    exec: execMovImm,
  }),
];

export const FP_DP_TABLE: Encoding<never>[] = [...ONE_SOURCE, ...TWO_SOURCE, FABD_SCALAR, ...THREE_SOURCE, ...COMPARE];
