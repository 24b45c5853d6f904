// The Advanced SIMD integer instructions compiled C libraries use around FP code (Arm ARM C4.1.x
// "Advanced SIMD ..."): modified immediate (MOVI, MVNI, ORR, BIC, FMOV vector immediate), the
// three-same logical group (AND, BIC, ORR, ORN, EOR, BSL, BIT, BIF), ADD/SUB, CNT and the
// across-lanes reductions (ADDV, [SU]ADDLV, [SU]MAXV, [SU]MINV), shifts by immediate (SHL,
// SSHR, USHR; scalar D and vector), and copies (DUP element/general, INS element/general, UMOV,
// SMOV). Lanes are computed on the register as one 128-bit bigint.

import type { CpuState } from "../cpu_state.ts";
import { type Encoding, type Op, encoding } from "../decode.ts";
import { checkFPAdvSIMDEnabled } from "../fp/fp_access.ts";
import { FP32, FP64 } from "../fp/fp_format.ts";
import { readElem, readV, writeElem, writeV } from "../fp/vreg.ts";
import { vfpExpandImm } from "./fp_dp.ts";
import { dstZR } from "./operands.ts";

const M64 = (1n << 64n) - 1n;

/** Repeat an element of `bits` bits across 64 bits. */
function replicate(v: bigint, bits: number): bigint {
  let r = 0n;
  for (let i = 0; i < 64; i += bits) r |= v << BigInt(i);
  return r;
}

/** AdvSIMDExpandImm: the 64-bit pattern of a modified immediate (null: unallocated). */
export function advSimdExpandImm(op: number, cmode: number, imm8: number): bigint | null {
  const i = BigInt(imm8);
  switch (cmode >> 1) {
    case 0: case 1: case 2: case 3:
      return replicate(i << BigInt(8 * (cmode >> 1)), 32);
    case 4: case 5:
      return replicate(i << BigInt(8 * ((cmode >> 1) & 1)), 16);
    case 6:
      return replicate(cmode & 1 ? (i << 16n) | 0xffffn : (i << 8n) | 0xffn, 32);
    default:
      if ((cmode & 1) === 0) {
        if (op === 0) return replicate(i, 8);
        let r = 0n;
        for (let b = 0; b < 8; b++) if ((imm8 >> b) & 1) r |= 0xffn << BigInt(8 * b);
        return r;
      }
      return null; // FMOV forms, handled by their own rows
  }
}

interface ModImmFields {
  q: number;
  op: number;
  abc: number;
  cmode: number;
  defgh: number;
  rd: number;
  imm: bigint;
  /** 0 move, 1 move inverted, 2 ORR, 3 BIC. */
  kind: number;
}

type ModImmOp = ModImmFields & Op;

function execModImm(cpu: CpuState, op: ModImmOp): void {
  checkFPAdvSIMDEnabled(cpu);
  const full = op.q ? (op.imm << 64n) | op.imm : op.imm;
  const size = op.q ? 4 : 3;
  let r: bigint;
  switch (op.kind) {
    case 0: r = full; break;
    case 1: r = ~full; break;
    case 2: r = readV(cpu, op.rd, size) | full; break;
    default: r = readV(cpu, op.rd, size) & ~full;
  }
  writeV(cpu, op.rd, size, r);
}

const MOD_IMM: Encoding<never> = encoding<ModImmFields>({
  name: "SIMD_modified_imm",
  pattern: "0 q:1 op:1 0111100000 abc:3 cmode:4 0 1 defgh:5 rd:5",
  prepare(f) {
    const imm8 = (f.abc << 5) | f.defgh;
    const cm = f.cmode;
    if (cm === 0xf) {
      // FMOV (vector, immediate): single precision lanes (op 0), double (op 1, Q 1 only).
      if (f.op === 1 && f.q === 0) return false;
      const e = f.op ? vfpExpandImm(FP64, imm8) : vfpExpandImm(FP32, imm8);
      f.imm = f.op ? e : (e << 32n) | e;
      f.kind = 0;
      return true;
    }
    const imm = advSimdExpandImm(f.op, cm, imm8);
    if (imm === null) return false;
    f.imm = imm;
    const isOrrBic = (cm < 8 && (cm & 1) === 1) || (cm >= 8 && cm < 12 && (cm & 1) === 1);
    if (cm === 0xe) f.kind = 0;
    else if (isOrrBic) f.kind = f.op ? 3 : 2;
    else f.kind = f.op ? 1 : 0;
    return true;
  },
  exec: execModImm,
});

// ------------------------------------------------------------------ three-same logical

interface LogicFields {
  q: number;
  U: number;
  size: number;
  rm: number;
  rn: number;
  rd: number;
}

function execLogic(cpu: CpuState, op: LogicFields & Op): void {
  checkFPAdvSIMDEnabled(cpu);
  const s = op.q ? 4 : 3;
  const n = readV(cpu, op.rn, s);
  const m = readV(cpu, op.rm, s);
  const all = op.q ? (1n << 128n) - 1n : M64;
  let r: bigint;
  if (op.U === 0) {
    switch (op.size) {
      case 0: r = n & m; break;
      case 1: r = n & ~m; break;
      case 2: r = n | m; break;
      default: r = n | (~m & all);
    }
  } else {
    const d = readV(cpu, op.rd, s);
    switch (op.size) {
      case 0: r = n ^ m; break;
      case 1: r = (d & n) | (~d & m); break; // BSL
      case 2: r = (d & ~m) | (n & m); break; // BIT
      default: r = (d & m) | (n & ~m); // BIF
    }
  }
  writeV(cpu, op.rd, s, r & all);
}

const LOGIC: Encoding<never> = encoding<LogicFields>({
  name: "SIMD_logical",
  pattern: "0 q:1 U:1 01110 size:2 1 rm:5 00011 1 rn:5 rd:5",
  exec: execLogic,
});

// ------------------------------------------------------------------ integer arithmetic

interface LaneFields {
  q: number;
  U: number;
  size: number;
  rm: number;
  rn: number;
  rd: number;
  elements: number;
  /** Across-lanes operation: 0 ADDV, 1 [SU]ADDLV, 2 [SU]MAXV, 3 [SU]MINV. */
  kind: number;
}

type LaneOp = LaneFields & Op;

/** ADD/SUB (vector and scalar D): lane-wise modulo 2^esize. */
function execAddSub(cpu: CpuState, op: LaneOp): void {
  checkFPAdvSIMDEnabled(cpu);
  const bits = 8 << op.size;
  let out = 0n;
  for (let i = 0; i < op.elements; i++) {
    const a = readElem(cpu, op.rn, op.size, i);
    const b = readElem(cpu, op.rm, op.size, i);
    out |= BigInt.asUintN(bits, op.U ? a - b : a + b) << BigInt(i * bits);
  }
  writeV(cpu, op.rd, op.elements === 1 ? 3 : op.q ? 4 : 3, out);
}

/** CNT: population count of each byte. */
function execCnt(cpu: CpuState, op: LaneOp): void {
  checkFPAdvSIMDEnabled(cpu);
  let out = 0n;
  for (let i = 0; i < op.elements; i++) {
    let b = Number(readElem(cpu, op.rn, 0, i));
    let c = 0;
    for (; b; b &= b - 1) c++;
    out |= BigInt(c) << BigInt(8 * i);
  }
  writeV(cpu, op.rd, op.q ? 4 : 3, out);
}

/** ADDV, SADDLV/UADDLV, SMAXV/UMAXV, SMINV/UMINV: reduce the lanes to a scalar. */
function execAcross(cpu: CpuState, op: LaneOp): void {
  checkFPAdvSIMDEnabled(cpu);
  const bits = 8 << op.size;
  const lane = (i: number): bigint => {
    const e = readElem(cpu, op.rn, op.size, i);
    return op.U ? e : BigInt.asIntN(bits, e);
  };
  let acc = lane(0);
  for (let i = 1; i < op.elements; i++) {
    const e = lane(i);
    if (op.kind <= 1) acc += e;
    else if (op.kind === 2 ? e > acc : e < acc) acc = e;
  }
  const outSize = op.kind === 1 ? op.size + 1 : op.size;
  writeV(cpu, op.rd, outSize, BigInt.asUintN(8 << outSize, acc));
}

const ARITH: Encoding<never>[] = [
  encoding<LaneFields>({
    name: "ADD_SUB_vec",
    pattern: "0 q:1 U:1 01110 size:2 1 rm:5 10000 1 rn:5 rd:5",
    prepare(f) {
      if (f.size === 3 && f.q === 0) return false;
      f.elements = (f.q ? 16 : 8) >> f.size;
      return true;
    },
    exec: execAddSub,
  }),
  encoding<LaneFields>({
    name: "ADD_SUB_scalar",
    pattern: "01 U:1 11110 11 1 rm:5 10000 1 rn:5 rd:5",
    prepare(f) {
      f.size = 3;
      f.elements = 1;
    },
    exec: execAddSub,
  }),
  encoding<LaneFields>({
    name: "CNT",
    pattern: "0 q:1 0 01110 00 10000 00101 10 rn:5 rd:5",
    prepare(f) {
      f.elements = f.q ? 16 : 8;
    },
    exec: execCnt,
  }),
  ...([["ADDV", "11011", 0, false], ["xADDLV", "00011", 1, true], ["xMAXV", "01010", 2, true], ["xMINV", "11010", 3, true]] as const).map(
    ([name, opcode, kind, signed]) =>
      encoding<LaneFields>({
        name: name.replace("x", "SU_"),
        pattern: `0 q:1 ${signed ? "U:1" : "0"} 01110 size:2 11000 ${opcode} 10 rn:5 rd:5`,
        prepare(f) {
          if (f.size === 3 || (f.size === 2 && f.q === 0)) return false;
          if (!signed) f.U = 0;
          f.elements = (f.q ? 16 : 8) >> f.size;
          f.kind = kind;
          return true;
        },
        exec: execAcross,
      }),
  ),
];

// ------------------------------------------------------------------ shift by immediate

interface ShiftFields {
  q: number;
  U: number;
  immh: number;
  immb: number;
  rn: number;
  rd: number;
  esize: number;
  shift: number;
  elements: number;
  /** 0 SHL, 1 SSHR, 2 USHR. */
  kind: number;
}

function execShift(cpu: CpuState, op: ShiftFields & Op): void {
  checkFPAdvSIMDEnabled(cpu);
  const bits = 8 << op.esize;
  const sh = BigInt(op.shift);
  const m = (1n << BigInt(bits)) - 1n;
  let out = 0n;
  for (let i = 0; i < op.elements; i++) {
    const e = readElem(cpu, op.rn, op.esize, i);
    let r: bigint;
    if (op.kind === 0) r = (e << sh) & m;
    else if (op.kind === 2) r = e >> sh;
    else r = BigInt.asUintN(bits, BigInt.asIntN(bits, e) >> sh);
    out |= r << BigInt(i * bits);
  }
  writeV(cpu, op.rd, op.elements === 1 ? op.esize : op.q ? 4 : 3, out);
}

function shiftRow(scalar: boolean, name: string, u: number, opcode: string, kind: number): Encoding<never> {
  return encoding<ShiftFields>({
    name: `${name}${scalar ? "_scalar" : "_vec"}`,
    pattern: scalar ? `01 ${u} 111110 immh:4 immb:3 ${opcode} 1 rn:5 rd:5` : `0 q:1 ${u} 011110 immh:4 immb:3 ${opcode} 1 rn:5 rd:5`,
    prepare(f) {
      if (f.immh === 0) return false; // modified immediate space
      const esize = 31 - Math.clz32(f.immh); // 0..3
      if (scalar ? esize !== 3 : esize === 3 && f.q === 0) return false;
      const bits = 8 << esize;
      const immhb = (f.immh << 3) | f.immb;
      f.esize = esize;
      f.shift = kind === 0 ? immhb - bits : 2 * bits - immhb;
      f.elements = scalar ? 1 : (f.q ? 16 : 8) >> esize;
      f.kind = kind;
      return true;
    },
    exec: execShift,
  });
}

const SHIFTS: Encoding<never>[] = [true, false].flatMap((scalar) => [
  shiftRow(scalar, "SSHR", 0, "00000", 1),
  shiftRow(scalar, "USHR", 1, "00000", 2),
  shiftRow(scalar, "SHL", 0, "01010", 0),
]);

// ------------------------------------------------------------------ copies

interface CopyFields {
  q: number;
  imm5: number;
  imm4: number;
  rn: number;
  rd: number;
  esize: number;
  index: number;
  index2: number;
  d: number;
  elements: number;
}

type CopyOp = CopyFields & Op;

/** imm5's lowest set bit gives the element size; the bits above it the index. */
function decodeImm5(f: CopyFields): boolean {
  const esize = f.imm5 & 1 ? 0 : f.imm5 & 2 ? 1 : f.imm5 & 4 ? 2 : f.imm5 & 8 ? 3 : -1;
  if (esize < 0) return false;
  f.esize = esize;
  f.index = f.imm5 >> (esize + 1);
  return true;
}

function dupOf(e: bigint, esize: number, q: number): bigint {
  const r = replicate(e, 8 << esize);
  return q ? (r << 64n) | r : r;
}

function execDupElement(cpu: CpuState, op: CopyOp): void {
  checkFPAdvSIMDEnabled(cpu);
  const e = readElem(cpu, op.rn, op.esize, op.index);
  if (op.elements === 1) writeV(cpu, op.rd, op.esize, e);
  else writeV(cpu, op.rd, op.q ? 4 : 3, dupOf(e, op.esize, op.q));
}

function execDupGeneral(cpu: CpuState, op: CopyOp): void {
  checkFPAdvSIMDEnabled(cpu);
  const x = (BigInt(cpu.x[2 * op.rn + 1]!) << 32n) | BigInt(cpu.x[2 * op.rn]!);
  const e = BigInt.asUintN(8 << op.esize, x);
  writeV(cpu, op.rd, op.q ? 4 : 3, dupOf(e, op.esize, op.q));
}

function execInsGeneral(cpu: CpuState, op: CopyOp): void {
  checkFPAdvSIMDEnabled(cpu);
  const x = (BigInt(cpu.x[2 * op.rn + 1]!) << 32n) | BigInt(cpu.x[2 * op.rn]!);
  writeElem(cpu, op.rd, op.esize, op.index, x);
}

function execInsElement(cpu: CpuState, op: CopyOp): void {
  checkFPAdvSIMDEnabled(cpu);
  writeElem(cpu, op.rd, op.esize, op.index, readElem(cpu, op.rn, op.esize, op.index2));
}

/** UMOV (`elements` 0) and SMOV (1): element to a W (q 0) or X (q 1) register. */
function execMovToGeneral(cpu: CpuState, op: CopyOp): void {
  checkFPAdvSIMDEnabled(cpu);
  let e = readElem(cpu, op.rn, op.esize, op.index);
  if (op.elements === 1) e = BigInt.asUintN(op.q ? 64 : 32, BigInt.asIntN(8 << op.esize, e));
  cpu.x[2 * op.d] = Number(e & 0xffffffffn);
  cpu.x[2 * op.d + 1] = op.q ? Number(e >> 32n) : 0;
}

const COPIES: Encoding<never>[] = [
  encoding<CopyFields>({
    name: "DUP_element_scalar",
    pattern: "01 0 11110000 imm5:5 0 0000 1 rn:5 rd:5",
    prepare(f) {
      f.elements = 1;
      return decodeImm5(f);
    },
    exec: execDupElement,
  }),
  encoding<CopyFields>({
    name: "DUP_element",
    pattern: "0 q:1 0 01110000 imm5:5 0 0000 1 rn:5 rd:5",
    prepare(f) {
      f.elements = 2;
      return decodeImm5(f) && !(f.esize === 3 && f.q === 0);
    },
    exec: execDupElement,
  }),
  encoding<CopyFields>({
    name: "DUP_general",
    pattern: "0 q:1 0 01110000 imm5:5 0 0001 1 rn:5 rd:5",
    prepare: (f) => decodeImm5(f) && !(f.esize === 3 && f.q === 0),
    exec: execDupGeneral,
  }),
  encoding<CopyFields>({
    name: "INS_general",
    pattern: "0 1 0 01110000 imm5:5 0 0011 1 rn:5 rd:5",
    prepare: decodeImm5,
    exec: execInsGeneral,
  }),
  encoding<CopyFields>({
    name: "SMOV",
    pattern: "0 q:1 0 01110000 imm5:5 0 0101 1 rn:5 rd:5",
    prepare(f) {
      if (!decodeImm5(f) || f.esize === 3 || (f.esize === 2 && f.q === 0)) return false;
      f.d = dstZR(f.rd);
      f.elements = 1;
      return true;
    },
    exec: execMovToGeneral,
  }),
  encoding<CopyFields>({
    name: "UMOV",
    pattern: "0 q:1 0 01110000 imm5:5 0 0111 1 rn:5 rd:5",
    prepare(f) {
      if (!decodeImm5(f) || (f.esize === 3) !== (f.q === 1)) return false;
      f.d = dstZR(f.rd);
      f.elements = 0;
      return true;
    },
    exec: execMovToGeneral,
  }),
  encoding<CopyFields>({
    name: "INS_element",
    pattern: "0 1 1 01110000 imm5:5 0 imm4:4 1 rn:5 rd:5",
    prepare(f) {
      if (!decodeImm5(f)) return false;
      f.index2 = f.imm4 >> f.esize;
      return true;
    },
    exec: execInsElement,
  }),
];

export const SIMD_TABLE: Encoding<never>[] = [MOD_IMM, LOGIC, ...ARITH, ...SHIFTS, ...COPIES];
