// Advanced SIMD permutes (Arm ARM C4.1.x "Advanced SIMD permute", "extract", "table lookup") and
// the element reversals of the two-register miscellaneous group: ZIP1/2, UZP1/2, TRN1/2, EXT,
// TBL/TBX with one to four table registers, REV16/REV32/REV64.

import type { CpuState } from "../cpu_state.ts";
import { type Encoding, type Op, encoding } from "../decode.ts";
import { checkFPAdvSIMDEnabled } from "../fp/fp_access.ts";
import { readV } from "../fp/vreg.ts";
import { lanes, pack, writeVec } from "./simd_lanes.ts";

interface PermFields {
  q: number;
  size: number;
  rm: number;
  rn: number;
  rd: number;
  imm4: number;
  len: number;
  elements: number;
}

type PermOp = PermFields & Op;

/** Result lane i from the lanes of Vn (`n`) and Vm (`m`), `e` lanes per register. */
type PermuteFn = (n: readonly bigint[], m: readonly bigint[], i: number, e: number) => bigint;

const PERMUTES: readonly [string, string, PermuteFn][] = [
  ["UZP1", "001", (n, m, i) => [...n, ...m][2 * i]!],
  ["TRN1", "010", (n, m, i) => (i % 2 === 0 ? n[i]! : m[i - 1]!)],
  ["ZIP1", "011", (n, m, i) => (i % 2 === 0 ? n[i >> 1]! : m[i >> 1]!)],
  ["UZP2", "101", (n, m, i) => [...n, ...m][2 * i + 1]!],
  ["TRN2", "110", (n, m, i) => (i % 2 === 0 ? n[i + 1]! : m[i]!)],
  ["ZIP2", "111", (n, m, i, e) => (i % 2 === 0 ? n[(e >> 1) + (i >> 1)]! : m[(e >> 1) + (i >> 1)]!)],
];

function execPermute(cpu: CpuState, op: PermOp, fn: PermuteFn): void {
  checkFPAdvSIMDEnabled(cpu);
  const e = op.elements;
  const n = lanes(cpu, op.rn, op.size, e);
  const m = lanes(cpu, op.rm, op.size, e);
  const out: bigint[] = [];
  for (let i = 0; i < e; i++) out.push(fn(n, m, i, e));
  writeVec(cpu, op.rd, op.q, pack(out, op.size));
}

/** EXT: bytes imm4.. of the concatenation Vm:Vn. */
function execExt(cpu: CpuState, op: PermOp): void {
  checkFPAdvSIMDEnabled(cpu);
  const s = op.q ? 4 : 3;
  const width = BigInt(8 << s);
  const cat = (readV(cpu, op.rm, s) << width) | readV(cpu, op.rn, s);
  writeVec(cpu, op.rd, op.q, cat >> BigInt(8 * op.imm4));
}

/** TBL/TBX: index bytes into a table of len+1 consecutive registers (wrapping at V31). */
function execTable(cpu: CpuState, op: PermOp, extension: boolean): void {
  checkFPAdvSIMDEnabled(cpu);
  const table: bigint[] = [];
  for (let r = 0; r <= op.len; r++) table.push(...lanes(cpu, (op.rn + r) % 32, 0, 16));
  const e = op.elements;
  const idx = lanes(cpu, op.rm, 0, e);
  const old = lanes(cpu, op.rd, 0, e);
  const out = idx.map((x, i) => table[Number(x)] ?? (extension ? old[i]! : 0n));
  writeVec(cpu, op.rd, op.q, pack(out, 0));
}

/** REV16/32/64: reverse the lanes within each container of 2^container bytes. */
function execRev(cpu: CpuState, op: PermOp, container: number): void {
  checkFPAdvSIMDEnabled(cpu);
  const n = lanes(cpu, op.rn, op.size, op.elements);
  const per = (1 << container) >> op.size;
  const out = n.map((_v, i) => n[i - (i % per) + (per - 1 - (i % per))]!);
  writeVec(cpu, op.rd, op.q, pack(out, op.size));
}

const REVS: readonly [string, number, string, number][] = [
  ["REV64", 0, "00000", 3],
  ["REV32", 1, "00000", 2],
  ["REV16", 0, "00001", 1],
];

export const PERMUTE_TABLE: Encoding<never>[] = [
  ...PERMUTES.map(([name, opc, fn]) =>
    encoding<PermFields>({
      name,
      pattern: `0 q:1 001110 size:2 0 rm:5 0 ${opc} 10 rn:5 rd:5`,
      prepare(f) {
        if (f.size === 3 && f.q === 0) return false;
        f.elements = (f.q ? 16 : 8) >> f.size;
        return true;
      },
      exec: (cpu, op) => execPermute(cpu, op, fn),
    }),
  ),
  encoding<PermFields>({
    name: "EXT_vec",
    pattern: "0 q:1 101110 00 0 rm:5 0 imm4:4 0 rn:5 rd:5",
    prepare: (f) => f.q === 1 || f.imm4 < 8,
    exec: execExt,
  }),
  ...(["TBL", "TBX"] as const).map((name, op) =>
    encoding<PermFields>({
      name,
      pattern: `0 q:1 001110 000 rm:5 0 len:2 ${op} 00 rn:5 rd:5`,
      prepare(f) {
        f.elements = f.q ? 16 : 8;
      },
      exec: (cpu, o) => execTable(cpu, o, op === 1),
    }),
  ),
  ...REVS.map(([name, u, opcode, container]) =>
    encoding<PermFields>({
      name: `${name}_vec`,
      pattern: `0 q:1 ${u} 01110 size:2 10000 ${opcode} 10 rn:5 rd:5`,
      prepare(f) {
        if (f.size >= container) return false;
        f.elements = (f.q ? 16 : 8) >> f.size;
        return true;
      },
      exec: (cpu, op) => execRev(cpu, op, container),
    }),
  ),
];
