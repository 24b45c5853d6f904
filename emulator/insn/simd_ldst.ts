// Advanced SIMD element and structure loads and stores (Arm ARM C3.2.x, "AdvSIMD load/store
// multiple structures" and "single structure"): LD1-LD4/ST1-ST4 of whole registers (LD1/ST1 with
// one to four registers), of one lane, and LD1R-LD4R (one structure replicated to every lane), each
// without offset or post-indexed by the transfer size (Rm = 31) or by X[m].
//
// Every element is its own access of the element size, so alignment (SCTLR_EL1.A, Device memory) is
// checked per element, as the architecture does for these instructions. A fault part-way leaves the
// V registers and memory already written as they are (the Arm ARM makes them UNKNOWN), but the
// base register is written back only after the last access succeeded. Data aborts have no valid
// ISV, like every SIMD&FP access.

import type { CpuState } from "../cpu_state.ts";
import { type Encoding, type Op, encoding } from "../decode.ts";
import { checkFPAdvSIMDEnabled } from "../fp/fp_access.ts";
import { SP } from "../reg_slots.ts";
import { addSmall, checkSpAlignment } from "./ldst_common.ts";
import { TWO32, regSP } from "./operands.ts";

interface StructFields {
  q: number;
  rn: number;
  rt: number;
  rm: number;
  size: number;
  s: number;
  /** Base register slot. */
  n: number;
  /** Post-index: 0 none, 1 by the transfer size, 2 by X[m]. */
  post: number;
  load: number;
  /** log2 of the element size in bytes. */
  es: number;
  /** Registers in one structure (the n of LDn). */
  selem: number;
  /** Times the structure pattern repeats over consecutive registers (LD1 with 2-4 registers). */
  rpt: number;
  /** Elements per register (multiple structures). */
  elements: number;
  /** Lane (single structure). */
  index: number;
  /** Bytes the instruction transfers: the post-index immediate. */
  bytes: number;
}

type StructOp = StructFields & Op;

// ------------------------------------------------------------------ lanes of the register file

/** Load one element of 2^es bytes at lo/hi into lane e of Vt (the other bits kept). */
function loadLane(cpu: CpuState, t: number, es: number, e: number, lo: number, hi: number): void {
  const v = cpu.vregs;
  if (es === 3) {
    cpu.load64(lo, hi, 0, 0);
    v[4 * t + 2 * e] = cpu.tLo;
    v[4 * t + 2 * e + 1] = cpu.tHi;
    return;
  }
  const val = cpu.load(lo, hi, es === 0 ? 1 : es === 1 ? 2 : 4, 0, 0);
  if (es === 2) {
    v[4 * t + e] = val;
    return;
  }
  const bit = (e << es) * 8;
  const w = 4 * t + (bit >>> 5);
  const sh = bit & 31;
  const mask = (es === 0 ? 0xff : 0xffff) << sh;
  v[w] = ((v[w]! & ~mask) | (val << sh)) >>> 0;
}

/** Store lane e (2^es bytes) of Vt at lo/hi. */
function storeLane(cpu: CpuState, t: number, es: number, e: number, lo: number, hi: number): void {
  const v = cpu.vregs;
  if (es === 3) {
    cpu.store64(lo, hi, v[4 * t + 2 * e]!, v[4 * t + 2 * e + 1]!, 0, 0);
    return;
  }
  const bit = (e << es) * 8;
  const word = v[4 * t + (bit >>> 5)]! >>> (bit & 31);
  cpu.store(lo, hi, es === 0 ? 1 : es === 1 ? 2 : 4, word, 0, 0);
}

/** Copy lane 0 of Vt to every lane of its low `words` words (2 or 4), clearing the rest. */
function replicateLane0(cpu: CpuState, t: number, es: number, words: number): void {
  const v = cpu.vregs;
  const b = 4 * t;
  let lo = v[b]!;
  let hi = v[b + 1]!;
  if (es === 0) lo = (lo & 0xff) * 0x01010101;
  else if (es === 1) lo = (lo & 0xffff) * 0x00010001;
  if (es < 3) hi = lo;
  v[b] = lo >>> 0;
  v[b + 1] = hi >>> 0;
  v[b + 2] = words === 4 ? lo >>> 0 : 0;
  v[b + 3] = words === 4 ? hi >>> 0 : 0;
}

// ------------------------------------------------------------------ handlers

/** The SP alignment check every base-register form makes. */
function checkBase(cpu: CpuState, n: number): void {
  if (n === SP && (cpu.x[2 * SP]! & 15) !== 0) checkSpAlignment(cpu);
}

/** Base writeback after every access succeeded: + transfer size, or + X[m]. */
function writeback(cpu: CpuState, op: StructOp, lo: number, hi: number): void {
  const x = cpu.x;
  let addLo = op.bytes;
  let addHi = 0;
  if (op.post === 2) {
    addLo = x[2 * op.rm]!;
    addHi = x[2 * op.rm + 1]!;
  }
  const s = lo + addLo;
  x[2 * op.n] = s >>> 0;
  x[2 * op.n + 1] = (hi + addHi + (s >= TWO32 ? 1 : 0)) >>> 0;
}

function execMultiple(cpu: CpuState, op: StructOp): void {
  checkFPAdvSIMDEnabled(cpu);
  checkBase(cpu, op.n);
  const baseLo = cpu.x[2 * op.n]!;
  const baseHi = cpu.x[2 * op.n + 1]!;
  const { es, selem, elements, load } = op;
  const ebytes = 1 << es;
  let offs = 0;
  for (let r = 0; r < op.rpt; r++) {
    for (let e = 0; e < elements; e++) {
      let tt = (op.rt + r) & 31;
      for (let s = 0; s < selem; s++) {
        addSmall(cpu, baseLo, baseHi, offs);
        if (load) loadLane(cpu, tt, es, e, cpu.rLo, cpu.rHi);
        else storeLane(cpu, tt, es, e, cpu.rLo, cpu.rHi);
        offs += ebytes;
        tt = (tt + 1) & 31;
      }
    }
  }
  // A 64-bit load clears the upper half of each register it wrote, as the V[] write of 64 bits does.
  if (load && op.q === 0) {
    for (let i = 0; i < op.rpt * selem; i++) {
      const b = 4 * ((op.rt + i) & 31);
      cpu.vregs[b + 2] = 0;
      cpu.vregs[b + 3] = 0;
    }
  }
  if (op.post) writeback(cpu, op, baseLo, baseHi);
}

function execSingle(cpu: CpuState, op: StructOp): void {
  checkFPAdvSIMDEnabled(cpu);
  checkBase(cpu, op.n);
  const baseLo = cpu.x[2 * op.n]!;
  const baseHi = cpu.x[2 * op.n + 1]!;
  const es = op.es;
  let t = op.rt;
  for (let s = 0; s < op.selem; s++) {
    addSmall(cpu, baseLo, baseHi, s << es);
    if (op.load) loadLane(cpu, t, es, op.index, cpu.rLo, cpu.rHi);
    else storeLane(cpu, t, es, op.index, cpu.rLo, cpu.rHi);
    t = (t + 1) & 31;
  }
  if (op.post) writeback(cpu, op, baseLo, baseHi);
}

function execReplicate(cpu: CpuState, op: StructOp): void {
  checkFPAdvSIMDEnabled(cpu);
  checkBase(cpu, op.n);
  const baseLo = cpu.x[2 * op.n]!;
  const baseHi = cpu.x[2 * op.n + 1]!;
  const es = op.es;
  let t = op.rt;
  for (let s = 0; s < op.selem; s++) {
    addSmall(cpu, baseLo, baseHi, s << es);
    loadLane(cpu, t, es, 0, cpu.rLo, cpu.rHi);
    replicateLane0(cpu, t, es, op.q ? 4 : 2);
    t = (t + 1) & 31;
  }
  if (op.post) writeback(cpu, op, baseLo, baseHi);
}

// ------------------------------------------------------------------ rows

/** The addressing of a row: no offset (Rm field zero) or post-indexed (Rm = 31: immediate). */
const ADDRESSING = [
  { suffix: "", bit: "0", rm: "00000" },
  { suffix: "_post", bit: "1", rm: "rm:5" },
] as const;

function setBase(f: StructFields, post: boolean, load: number): void {
  f.n = regSP(f.rn);
  f.post = !post ? 0 : f.rm === 31 ? 1 : 2;
  f.load = load;
}

/** Multiple structures: opcode, registers per structure, repeats. */
const MULTIPLE: readonly { opcode: string; name: string; selem: number; rpt: number }[] = [
  { opcode: "0000", name: "4", selem: 4, rpt: 1 },
  { opcode: "0010", name: "1_4r", selem: 1, rpt: 4 },
  { opcode: "0100", name: "3", selem: 3, rpt: 1 },
  { opcode: "0110", name: "1_3r", selem: 1, rpt: 3 },
  { opcode: "0111", name: "1_1r", selem: 1, rpt: 1 },
  { opcode: "1000", name: "2", selem: 2, rpt: 1 },
  { opcode: "1010", name: "1_2r", selem: 1, rpt: 2 },
];

function multipleRows(): Encoding<never>[] {
  const rows: Encoding<never>[] = [];
  for (const load of [0, 1]) {
    for (const m of MULTIPLE) {
      const stem = `${load ? "LD" : "ST"}${m.name[0]}`;
      const regs = m.name.length > 1 ? `_${m.name.slice(2)}` : "";
      for (const a of ADDRESSING) {
        rows.push(
          encoding<StructFields>({
            name: `${stem}_mult${regs}${a.suffix}`,
            pattern: `0 q:1 001100 ${a.bit} ${load} 0 ${a.rm} ${m.opcode} size:2 rn:5 rt:5`,
            prepare(f) {
              // .1d is reserved for structures of more than one register.
              if (f.size === 3 && f.q === 0 && m.selem > 1) return false;
              setBase(f, a.bit === "1", load);
              f.es = f.size;
              f.selem = m.selem;
              f.rpt = m.rpt;
              f.elements = (f.q ? 16 : 8) >> f.size;
              f.bytes = m.selem * m.rpt * (f.q ? 16 : 8);
              return true;
            },
            exec: execMultiple,
          }),
        );
      }
    }
  }
  return rows;
}

/**
 * Single structure to or from one lane: the lane size is in opcode<2:1>, the lane index in
 * Q:S:size (B), Q:S:size<1> (H), Q:S (S) or Q (D).
 */
const LANES: readonly { kind: string; opc: string; tail: string; es: number; index: (f: StructFields) => number }[] = [
  { kind: "B", opc: "00", tail: "s:1 size:2", es: 0, index: (f) => (f.q << 3) | (f.s << 2) | f.size },
  { kind: "H", opc: "01", tail: "s:1 size:1 0", es: 1, index: (f) => (f.q << 2) | (f.s << 1) | f.size },
  { kind: "S", opc: "10", tail: "s:1 00", es: 2, index: (f) => (f.q << 1) | f.s },
  { kind: "D", opc: "10", tail: "0 01", es: 3, index: (f) => f.q },
];

function singleRows(): Encoding<never>[] {
  const rows: Encoding<never>[] = [];
  for (const load of [0, 1]) {
    for (let selem = 1; selem <= 4; selem++) {
      const hiBit = (selem - 1) >> 1; // opcode<0>
      const r = (selem - 1) & 1;
      for (const lane of LANES) {
        for (const a of ADDRESSING) {
          rows.push(
            encoding<StructFields>({
              name: `${load ? "LD" : "ST"}${selem}_single_${lane.kind}${a.suffix}`,
              pattern: `0 q:1 001101 ${a.bit} ${load} ${r} ${a.rm} ${lane.opc}${hiBit} ${lane.tail} rn:5 rt:5`,
              prepare(f) {
                setBase(f, a.bit === "1", load);
                f.es = lane.es;
                f.selem = selem;
                f.index = lane.index(f);
                f.bytes = selem << lane.es;
              },
              exec: execSingle,
            }),
          );
        }
      }
    }
  }
  return rows;
}

function replicateRows(): Encoding<never>[] {
  const rows: Encoding<never>[] = [];
  for (let selem = 1; selem <= 4; selem++) {
    const hiBit = (selem - 1) >> 1;
    const r = (selem - 1) & 1;
    for (const a of ADDRESSING) {
      rows.push(
        encoding<StructFields>({
          name: `LD${selem}R${a.suffix}`,
          pattern: `0 q:1 001101 ${a.bit} 1 ${r} ${a.rm} 11${hiBit} 0 size:2 rn:5 rt:5`,
          prepare(f) {
            setBase(f, a.bit === "1", 1);
            f.es = f.size;
            f.selem = selem;
            f.bytes = selem << f.size;
          },
          exec: execReplicate,
        }),
      );
    }
  }
  return rows;
}

export const SIMD_LDST_TABLE: Encoding<never>[] = [...multipleRows(), ...singleRows(), ...replicateRows()];
