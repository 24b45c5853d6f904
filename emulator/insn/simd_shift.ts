// Advanced SIMD shifts by immediate beyond SHL/SSHR/USHR (simd.ts), vector and scalar (Arm ARM
// C4.1.x "Advanced SIMD shift by immediate" / "... scalar shift by immediate"): accumulating and
// rounding right shifts, the inserts SRI/SLI, saturating left shifts (SQSHL, UQSHL, SQSHLU), the
// narrowing right shifts (SHRN, RSHRN and the saturating ones) and the widening SSHLL/USHLL
// (SXTL/UXTL). The fixed-point conversions of the same group (SCVTF, FCVTZS, ...) are FP.

import type { CpuState } from "../cpu_state.ts";
import { type Encoding, type Op, encoding } from "../decode.ts";
import { checkFPAdvSIMDEnabled } from "../fp/fp_access.ts";
import { writeV } from "../fp/vreg.ts";
import { ext, lanes, ones, pack, satQ, shiftRound, writePart } from "./simd_lanes.ts";

/** One lane: `a` the source lane and `d` the destination's old lane, raw bits; `sh` the amount. */
type ShiftFn = (cpu: CpuState, a: bigint, d: bigint, sh: number, bits: number) => bigint;

interface ShiftFields {
  q: number;
  immh: number;
  immb: number;
  rn: number;
  rd: number;
  esize: number;
  shift: number;
  elements: number;
}

type ShiftOp = ShiftFields & Op;

/** Same-width forms: `elements` lanes of esize in, the same out. */
function execSame(cpu: CpuState, op: ShiftOp, fn: ShiftFn): void {
  checkFPAdvSIMDEnabled(cpu);
  const bits = 8 << op.esize;
  const n = lanes(cpu, op.rn, op.esize, op.elements);
  const d = lanes(cpu, op.rd, op.esize, op.elements);
  const out = n.map((a, i) => fn(cpu, a, d[i]!, op.shift, bits));
  writeV(cpu, op.rd, op.elements === 1 ? op.esize : op.q ? 4 : 3, pack(out, op.esize));
}

/** Narrowing forms: wide lanes of Vn to lanes of esize (the lower or, for "2", upper half). */
function execNarrow(cpu: CpuState, op: ShiftOp, fn: ShiftFn): void {
  checkFPAdvSIMDEnabled(cpu);
  const bits = 8 << op.esize;
  const n = lanes(cpu, op.rn, op.esize + 1, op.elements);
  const out = pack(n.map((a) => fn(cpu, a, 0n, op.shift, bits)), op.esize);
  if (op.elements === 1) writeV(cpu, op.rd, op.esize, out);
  else writePart(cpu, op.rd, op.q, out);
}

/** SSHLL/USHLL{2}: one half of Vn widened and shifted left. */
function execLong(cpu: CpuState, op: ShiftOp, unsigned: boolean): void {
  checkFPAdvSIMDEnabled(cpu);
  const bits = 8 << op.esize;
  const n = lanes(cpu, op.rn, op.esize, op.elements, op.q ? op.elements : 0);
  writeV(cpu, op.rd, 4, pack(n.map((a) => ext(a, bits, unsigned) << BigInt(op.shift)), op.esize + 1));
}

const right = (unsigned: boolean, rounding: boolean, accumulate: boolean): ShiftFn => (cpu, a, d, sh, bits) =>
  (accumulate ? d : 0n) + shiftRound(cpu, ext(a, bits, unsigned), -sh, bits, unsigned, rounding, false);

/** Saturating left shift: `srcUnsigned` reads the lane, `dstUnsigned` saturates the result. */
const satLeft = (srcUnsigned: boolean, dstUnsigned: boolean): ShiftFn => (cpu, a, _d, sh, bits) =>
  satQ(cpu, ext(a, bits, srcUnsigned) << BigInt(sh), bits, dstUnsigned);

/** Narrowing right shift of a 2*bits lane, optionally rounding and saturating. */
const narrow = (srcUnsigned: boolean, dstUnsigned: boolean, rounding: boolean, saturating: boolean): ShiftFn =>
  (cpu, a, _d, sh, bits) => {
    const r = shiftRound(cpu, ext(a, 2 * bits, srcUnsigned), -sh, bits, srcUnsigned, rounding, false);
    return saturating ? satQ(cpu, r, bits, dstUnsigned) : r;
  };

const sri: ShiftFn = (_c, a, d, sh, bits) => {
  const mask = ones(bits) >> BigInt(sh);
  return (d & ~mask) | (a >> BigInt(sh));
};

const sli: ShiftFn = (_c, a, d, sh, bits) => {
  const mask = (ones(bits) << BigInt(sh)) & ones(bits);
  return (d & ~mask) | ((a << BigInt(sh)) & mask);
};

/** Shape of a form: how the shift is decoded and which lanes it reads and writes. */
const RIGHT = 0;
const LEFT = 1;
const NARROW = 2;

/** [name, U, opcode, shape, fn, scalar: 0 none, 1 D only, 2 every size]. */
const SPECS: readonly [string, number, string, number, ShiftFn, number][] = [
  ["SSRA", 0, "00010", RIGHT, right(false, false, true), 1],
  ["USRA", 1, "00010", RIGHT, right(true, false, true), 1],
  ["SRSHR", 0, "00100", RIGHT, right(false, true, false), 1],
  ["URSHR", 1, "00100", RIGHT, right(true, true, false), 1],
  ["SRSRA", 0, "00110", RIGHT, right(false, true, true), 1],
  ["URSRA", 1, "00110", RIGHT, right(true, true, true), 1],
  ["SRI", 1, "01000", RIGHT, sri, 1],
  ["SLI", 1, "01010", LEFT, sli, 1],
  ["SQSHLU", 1, "01100", LEFT, satLeft(false, true), 2],
  ["SQSHL_imm", 0, "01110", LEFT, satLeft(false, false), 2],
  ["UQSHL_imm", 1, "01110", LEFT, satLeft(true, true), 2],
  ["SHRN", 0, "10000", NARROW, narrow(true, true, false, false), 0],
  ["RSHRN", 0, "10001", NARROW, narrow(true, true, true, false), 0],
  ["SQSHRUN", 1, "10000", NARROW, narrow(false, true, false, true), 2],
  ["SQRSHRUN", 1, "10001", NARROW, narrow(false, true, true, true), 2],
  ["SQSHRN", 0, "10010", NARROW, narrow(false, false, false, true), 2],
  ["UQSHRN", 1, "10010", NARROW, narrow(true, true, false, true), 2],
  ["SQRSHRN", 0, "10011", NARROW, narrow(false, false, true, true), 2],
  ["UQRSHRN", 1, "10011", NARROW, narrow(true, true, true, true), 2],
];

/** Decode immh:immb for a shape; false when the encoding is unallocated. */
function decodeShift(f: ShiftFields, shape: number, scalar: boolean, scalarSizes: number): boolean {
  if (f.immh === 0) return false; // modified immediate space
  const esize = 31 - Math.clz32(f.immh);
  if (shape === NARROW && esize === 3) return false;
  if (scalar && scalarSizes === 1 && esize !== 3) return false;
  if (!scalar && shape !== NARROW && esize === 3 && f.q === 0) return false;
  const bits = 8 << esize;
  const immhb = (f.immh << 3) | f.immb;
  f.esize = esize;
  f.shift = shape === LEFT ? immhb - bits : 2 * bits - immhb;
  if (scalar) f.elements = 1;
  else f.elements = shape === NARROW ? 8 >> esize : (f.q ? 16 : 8) >> esize;
  return true;
}

function shiftRows(): Encoding<never>[] {
  const rows: Encoding<never>[] = [];
  for (const [name, u, opcode, shape, fn, scalarSizes] of SPECS) {
    const exec = shape === NARROW ? execNarrow : execSame;
    for (const scalar of scalarSizes ? [false, true] : [false]) {
      rows.push(
        encoding<ShiftFields>({
          name: `${name}_${scalar ? "scalar" : "vec"}`,
          pattern: scalar ? `01 ${u} 111110 immh:4 immb:3 ${opcode} 1 rn:5 rd:5` : `0 q:1 ${u} 011110 immh:4 immb:3 ${opcode} 1 rn:5 rd:5`,
          prepare: (f) => decodeShift(f, shape, scalar, scalarSizes),
          exec: (cpu, op) => exec(cpu, op, fn),
        }),
      );
    }
  }
  return rows;
}

export const SHIFT_IMM_TABLE: Encoding<never>[] = [
  ...shiftRows(),
  ...(["SSHLL", "USHLL"] as const).map((name, u) =>
    encoding<ShiftFields>({
      name: `${name}_vec`,
      pattern: `0 q:1 ${u} 011110 immh:4 immb:3 10100 1 rn:5 rd:5`,
      prepare(f) {
        if (f.immh === 0 || f.immh >= 8) return false;
        const esize = 31 - Math.clz32(f.immh);
        f.esize = esize;
        f.shift = ((f.immh << 3) | f.immb) - (8 << esize);
        f.elements = 8 >> esize;
        return true;
      },
      exec: (cpu, op) => execLong(cpu, op, u === 1),
    }),
  ),
];
