// Single-register loads and stores (Arm ARM C4.1.x "Loads and Stores"): unsigned offset, unscaled,
// pre/post-index, unprivileged, register offset and literal, plus the PRFM/PRFUM hints.
// Rows are generated per (size, opc) combination so each row is named after its instruction
// (LDRSB_X_uoff, STURH, LDTRSW, ...) and unallocated combinations simply have no row.

import { ACC_UNPRIV } from "../access_flags.ts";
import type { CpuState } from "../cpu_state.ts";
import { SP } from "../reg_slots.ts";
import { type Encoding, type Op, encoding } from "../decode.ts";
import { dataAbortTemplate } from "../exception.ts";
import {
  K_LD16, K_LD32, K_LD64, K_LD8, K_LDS16W, K_LDS16X, K_LDS32X, K_LDS8W, K_LDS8X, K_ST16, K_ST32, K_ST64, K_ST8,
  KIND_INFO, addRegisterOffset, checkSpAlignment, signExtend, singleAccess, writebackMode,
} from "./ldst_common.ts";
import { TWO32, addOffset, dstZR, regSP } from "./operands.ts";
import { itemAt } from "../item_at.ts";

/** Fields of every single-register row (the immediate is named `imm` in all of them on purpose:
 * the decoded ops of the immediate forms then share one object shape). */
interface SingleFields {
  imm: number;
  rn: number;
  rt: number;
  kind: number;
  /** Rt slot: data source (stores) or destination (loads; XZR maps to the sink). */
  t: number;
  /** Base slot (31 = SP). */
  n: number;
  /** Signed byte offset from the base. */
  off: number;
  /** ISV syndrome template for stage-2 aborts (0 for writeback forms). */
  iss: number;
}

interface RegOffsetFields extends SingleFields {
  rm: number;
  option: number;
  S: number;
  shift: number;
}

type SingleOp = SingleFields & Op;
type RegOffsetOp = RegOffsetFields & Op;

interface SingleForm {
  /** Name of the row in the unsigned-offset/register/index forms, e.g. LDRSB_X. */
  name: string;
  size: number;
  opc: number;
  kind: number;
}

/** Every allocated (size, opc) pair of the integer single-register class except PRFM. */
const FORMS: readonly SingleForm[] = [
  { name: "STRB", size: 0, opc: 0, kind: K_ST8 },
  { name: "LDRB", size: 0, opc: 1, kind: K_LD8 },
  { name: "LDRSB_X", size: 0, opc: 2, kind: K_LDS8X },
  { name: "LDRSB_W", size: 0, opc: 3, kind: K_LDS8W },
  { name: "STRH", size: 1, opc: 0, kind: K_ST16 },
  { name: "LDRH", size: 1, opc: 1, kind: K_LD16 },
  { name: "LDRSH_X", size: 1, opc: 2, kind: K_LDS16X },
  { name: "LDRSH_W", size: 1, opc: 3, kind: K_LDS16W },
  { name: "STR_W", size: 2, opc: 0, kind: K_ST32 },
  { name: "LDR_W", size: 2, opc: 1, kind: K_LD32 },
  { name: "LDRSW", size: 2, opc: 2, kind: K_LDS32X },
  { name: "STR_X", size: 3, opc: 0, kind: K_ST64 },
  { name: "LDR_X", size: 3, opc: 1, kind: K_LD64 },
];

const bits2 = (v: number): string => (v >> 1).toString() + (v & 1).toString();

/** The ISS template of a single-register form without writeback. */
function issTemplate(kind: number, rt: number, acqRel = false): number {
  const k = itemAt(KIND_INFO, kind, "access kind");
  return dataAbortTemplate(k.sizeLog2, k.signExtend, rt, k.sf, acqRel);
}

/** Register slots, offset and ISS of a single-register op, always set in the same order. */
function deriveSingle(f: SingleFields, kind: number, off: number, withIss: boolean): void {
  f.kind = kind;
  f.t = itemAt(KIND_INFO, kind, "access kind").load ? dstZR(f.rt) : f.rt;
  f.n = regSP(f.rn);
  f.off = off;
  f.iss = withIss ? issTemplate(kind, f.rt) : 0;
}

/**
 * Writeback with Rn == Rt (Rn != SP) is CONSTRAINED UNPREDICTABLE. Loads: UNDEFINED. Stores: the
 * value stored is Rt before the writeback (handlers read Rt before they update the base).
 */
function writebackAllowed(kind: number, rn: number, rt: number): boolean {
  return !(KIND_INFO[kind]!.load && rn === rt && rn !== 31);
}

// ------------------------------------------------------------------ handlers

function execOffset(cpu: CpuState, op: SingleOp): void {
  const n = op.n;
  if (n === SP && (cpu.x[2 * SP]! & 15) !== 0) checkSpAlignment(cpu);
  addOffset(cpu, n, op.off);
  singleAccess(cpu, op.kind, op.t, cpu.rLo, cpu.rHi, op.iss, 0);
}

/** A single-register access of a writeback form (no ISV: the ISS template is 0). */
function singleAt(cpu: CpuState, op: SingleOp, lo: number, hi: number): void {
  singleAccess(cpu, op.kind, op.t, lo, hi, 0, 0);
}

const execPostIndex = writebackMode(singleAt, true);
const execPreIndex = writebackMode(singleAt, false);

/**
 * LDTR/STTR family: at EL1 the access is checked as if at EL0, except when HCR_EL2.{NV,NV1} is
 * {1,1} (a guest hypervisor's EL1 then behaves as EL2, where these are ordinary accesses).
 */
function execUnprivileged(cpu: CpuState, op: SingleOp): void {
  const n = op.n;
  if (n === SP && (cpu.x[2 * SP]! & 15) !== 0) checkSpAlignment(cpu);
  addOffset(cpu, n, op.off);
  const lo = cpu.rLo;
  const hi = cpu.rHi;
  const flags = cpu.el === 1 && ((cpu.sr.HCR_EL2 >> 42n) & 3n) !== 3n ? ACC_UNPRIV : 0;
  singleAccess(cpu, op.kind, op.t, lo, hi, op.iss, flags);
}

function execRegOffset(cpu: CpuState, op: RegOffsetOp): void {
  addRegisterOffset(cpu, op.n, op.rm, op.option, op.shift);
  singleAccess(cpu, op.kind, op.t, cpu.rLo, cpu.rHi, op.iss, 0);
}

function execLiteral(cpu: CpuState, op: SingleOp): void {
  const s = cpu.pcLo + op.off;
  let hi = cpu.pcHi;
  if (s >= TWO32) hi = (hi + 1) >>> 0;
  else if (s < 0) hi = (hi - 1) >>> 0;
  singleAccess(cpu, op.kind, op.t, s >>> 0, hi, op.iss, 0);
}

/** PRFM/PRFUM: prefetch hints have no architectural effect and never fault. */
function execPrefetch(): void {}

// ------------------------------------------------------------------ rows

type Mode = "uoff" | "unscaled" | "post" | "pre" | "unpriv" | "reg";

/** Row name per addressing mode: LDUR.. / STUR.. for unscaled, LDTR.. / STTR.. for unprivileged. */
function rowName(form: SingleForm, mode: Mode): string {
  switch (mode) {
    case "unscaled":
      return form.name.replace(/^(LD|ST)R/, "$1UR");
    case "unpriv":
      return form.name.replace(/^(LD|ST)R/, "$1TR");
    default:
      return `${form.name}_${mode}`;
  }
}

function immRow(form: SingleForm, mode: Exclude<Mode, "uoff" | "reg">): Encoding<never> {
  const idx = { unscaled: "00", post: "01", unpriv: "10", pre: "11" }[mode];
  const writeback = mode === "post" || mode === "pre";
  const exec = { unscaled: execOffset, post: execPostIndex, pre: execPreIndex, unpriv: execUnprivileged }[mode];
  return encoding<SingleFields>({
    name: rowName(form, mode),
    pattern: `${bits2(form.size)} 111 0 00 ${bits2(form.opc)} 0 imm:9 ${idx} rn:5 rt:5`,
    prepare(f) {
      if (writeback && !writebackAllowed(form.kind, f.rn, f.rt)) return false;
      deriveSingle(f, form.kind, signExtend(f.imm, 9), !writeback);
      return true;
    },
    exec,
  });
}

function unsignedOffsetRow(form: SingleForm): Encoding<never> {
  return encoding<SingleFields>({
    name: rowName(form, "uoff"),
    pattern: `${bits2(form.size)} 111 0 01 ${bits2(form.opc)} imm:12 rn:5 rt:5`,
    prepare(f) {
      deriveSingle(f, form.kind, f.imm << form.size, true);
    },
    exec: execOffset,
  });
}

/** Register offset: option<1> == 0 (sub-word index registers) is unallocated. */
function prepareRegOffset(f: RegOffsetFields, sizeLog2: number): boolean {
  if ((f.option & 2) === 0) return false;
  f.shift = f.S ? sizeLog2 : 0;
  return true;
}

function regOffsetRow(form: SingleForm): Encoding<never> {
  return encoding<RegOffsetFields>({
    name: rowName(form, "reg"),
    pattern: `${bits2(form.size)} 111 0 00 ${bits2(form.opc)} 1 rm:5 option:3 S:1 10 rn:5 rt:5`,
    prepare(f) {
      deriveSingle(f, form.kind, 0, true);
      return prepareRegOffset(f, form.size);
    },
    exec: execRegOffset,
  });
}

const LITERAL_FORMS: readonly { name: string; opc: number; kind: number }[] = [
  { name: "LDR_W_literal", opc: 0, kind: K_LD32 },
  { name: "LDR_X_literal", opc: 1, kind: K_LD64 },
  { name: "LDRSW_literal", opc: 2, kind: K_LDS32X },
];

function literalRow(form: { name: string; opc: number; kind: number }): Encoding<never> {
  return encoding<SingleFields>({
    name: form.name,
    pattern: `${bits2(form.opc)} 011 0 00 imm:19 rt:5`,
    prepare(f) {
      f.rn = 0;
      deriveSingle(f, form.kind, signExtend(f.imm, 19) * 4, true);
    },
    exec: execLiteral,
  });
}

const PREFETCH_ROWS: Encoding<never>[] = [
  encoding({ name: "PRFM_imm", pattern: "11 111 0 01 10 imm12:12 rn:5 rt:5", exec: execPrefetch }),
  encoding({ name: "PRFUM", pattern: "11 111 0 00 10 0 imm9:9 00 rn:5 rt:5", exec: execPrefetch }),
  encoding<{ option: number }>({
    name: "PRFM_reg",
    pattern: "11 111 0 00 10 1 rm:5 option:3 S:1 10 rn:5 rt:5",
    prepare: (f) => (f.option & 2) !== 0,
    exec: execPrefetch,
  }),
  encoding({ name: "PRFM_literal", pattern: "11 011 0 00 imm19:19 rt:5", exec: execPrefetch }),
];

export const LDST_SINGLE_TABLE: Encoding<never>[] = [
  ...FORMS.map(unsignedOffsetRow),
  ...FORMS.map((form) => immRow(form, "post")),
  ...FORMS.map((form) => immRow(form, "pre")),
  ...FORMS.map(regOffsetRow),
  ...FORMS.map((form) => immRow(form, "unscaled")),
  ...FORMS.map((form) => immRow(form, "unpriv")),
  ...LITERAL_FORMS.map(literalRow),
  ...PREFETCH_ROWS,
];
