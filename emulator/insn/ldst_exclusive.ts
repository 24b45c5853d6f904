// Load/store exclusive and load-acquire/store-release (bits[29:24] = 001000): LDXR/LDAXR,
// STXR/STLXR, LDXP/LDAXP, STXP/STLXP, LDAR/STLR and the LORegion forms LDLAR/STLLR (treated as
// LDAR/STLR). CAS/CASP are not implemented (ID_AA64ISAR0_EL1.Atomic = 0) and stay UNDEFINED.
//
// One CPU executes one instruction at a time, so acquire/release ordering needs nothing beyond
// program order. All of these need natural alignment (pairs: of the whole pair). Exclusives have
// no valid ISV; LDAR/STLR do (with ISS.AR set).

import { ACC_ALIGN } from "../access_flags.ts";
import type { CpuState } from "../cpu_state.ts";
import { SP } from "../reg_slots.ts";
import { type Encoding, type Op, encoding } from "../decode.ts";
import { AccessKind } from "../fault.ts";
import { join64 } from "../types.ts";
import { KIND_INFO, addSmall, alignmentFault, checkSpAlignment, loadKind, singleAccess, storeKind } from "./ldst_common.ts";
import { dataAbortTemplate } from "../exception.ts";
import { dstZR, regSP, setW32 } from "./operands.ts";
import { itemAt } from "../item_at.ts";

interface ExclusiveFields {
  size: number;
  rs: number;
  rt2: number;
  rn: number;
  rt: number;
  kind: number;
  /** Status register slot (store-exclusive). */
  s: number;
  t: number;
  t2: number;
  n: number;
  /** Bytes accessed in total (a pair: both registers). */
  bytes: number;
  iss: number;
}

type ExclusiveOp = ExclusiveFields & Op;

/** The base address (no offset in this class) after the SP alignment check, into cpu.rLo/rHi. */
function baseAddress(cpu: CpuState, n: number): void {
  const x = cpu.x;
  if (n === SP && (x[2 * SP]! & 15) !== 0) checkSpAlignment(cpu);
  cpu.rLo = x[2 * n]!;
  cpu.rHi = x[2 * n + 1]!;
}

/**
 * The base address as `baseAddress`, which must be aligned to the whole access: checked before
 * the monitor, so a misaligned store-exclusive faults whether or not it would store.
 */
function alignedBase(cpu: CpuState, op: ExclusiveOp, kind: AccessKind): void {
  baseAddress(cpu, op.n);
  if ((cpu.rLo & (op.bytes - 1)) !== 0) alignmentFault(cpu, cpu.rLo, cpu.rHi, kind, ACC_ALIGN);
}

function execLoadExclusive(cpu: CpuState, op: ExclusiveOp): void {
  baseAddress(cpu, op.n);
  const lo = cpu.rLo;
  const hi = cpu.rHi;
  singleAccess(cpu, op.kind, op.t, lo, hi, 0, ACC_ALIGN);
  cpu.markExclusive(join64(lo, hi), op.bytes);
}

/** Store-exclusive: Rs = 0 when the monitor covered the address and the store was done, else 1. */
function execStoreExclusive(cpu: CpuState, op: ExclusiveOp): void {
  alignedBase(cpu, op, AccessKind.Write);
  const lo = cpu.rLo;
  const hi = cpu.rHi;
  let status = 1;
  if (cpu.checkExclusive(join64(lo, hi), op.bytes)) {
    singleAccess(cpu, op.kind, op.t, lo, hi, 0, ACC_ALIGN);
    status = 0;
  }
  setW32(cpu, op.s, status);
}

function execLoadExclusivePair(cpu: CpuState, op: ExclusiveOp): void {
  alignedBase(cpu, op, AccessKind.Read);
  const lo = cpu.rLo;
  const hi = cpu.rHi;
  const bytes = op.bytes;
  const x = cpu.x;
  let aLo: number, aHi: number, bLo: number, bHi: number;
  if (bytes === 16) {
    cpu.load64(lo, hi, 0, ACC_ALIGN);
    aLo = cpu.tLo;
    aHi = cpu.tHi;
    addSmall(cpu, lo, hi, 8);
    cpu.load64(cpu.rLo, cpu.rHi, 0, ACC_ALIGN);
    bLo = cpu.tLo;
    bHi = cpu.tHi;
  } else {
    aLo = cpu.load(lo, hi, 4, 0, ACC_ALIGN);
    addSmall(cpu, lo, hi, 4);
    bLo = cpu.load(cpu.rLo, cpu.rHi, 4, 0, ACC_ALIGN);
    aHi = bHi = 0;
  }
  cpu.markExclusive(join64(lo, hi), bytes);
  const t = op.t;
  const t2 = op.t2;
  x[2 * t] = aLo;
  x[2 * t + 1] = aHi;
  x[2 * t2] = bLo;
  x[2 * t2 + 1] = bHi;
}

function execStoreExclusivePair(cpu: CpuState, op: ExclusiveOp): void {
  alignedBase(cpu, op, AccessKind.Write);
  const lo = cpu.rLo;
  const hi = cpu.rHi;
  const bytes = op.bytes;
  let status = 1;
  if (cpu.checkExclusive(join64(lo, hi), bytes)) {
    // Naturally aligned to the pair size: one page, already translated for write by the check.
    const x = cpu.x;
    const t = op.t;
    const t2 = op.t2;
    if (bytes === 16) {
      cpu.store64(lo, hi, x[2 * t]!, x[2 * t + 1]!, 0, ACC_ALIGN);
      addSmall(cpu, lo, hi, 8);
      cpu.store64(cpu.rLo, cpu.rHi, x[2 * t2]!, x[2 * t2 + 1]!, 0, ACC_ALIGN);
    } else {
      cpu.store(lo, hi, 4, x[2 * t]!, 0, ACC_ALIGN);
      addSmall(cpu, lo, hi, 4);
      cpu.store(cpu.rLo, cpu.rHi, 4, x[2 * t2]!, 0, ACC_ALIGN);
    }
    status = 0;
  }
  setW32(cpu, op.s, status);
}

function execLoadAcquire(cpu: CpuState, op: ExclusiveOp): void {
  baseAddress(cpu, op.n);
  singleAccess(cpu, op.kind, op.t, cpu.rLo, cpu.rHi, op.iss, ACC_ALIGN);
}

function execStoreRelease(cpu: CpuState, op: ExclusiveOp): void {
  baseAddress(cpu, op.n);
  singleAccess(cpu, op.kind, op.t, cpu.rLo, cpu.rHi, op.iss, ACC_ALIGN);
}

type Shape = "single" | "pair";

interface ExclusiveForm {
  name: string;
  /** o2 L o1 (bits [23:21]). */
  bits: string;
  o0: number;
  load: boolean;
  shape: Shape;
  exclusive: boolean;
  exec: (cpu: CpuState, op: ExclusiveOp) => void;
}

const FORMS: readonly ExclusiveForm[] = [
  { name: "STXR", bits: "000", o0: 0, load: false, shape: "single", exclusive: true, exec: execStoreExclusive },
  { name: "STLXR", bits: "000", o0: 1, load: false, shape: "single", exclusive: true, exec: execStoreExclusive },
  { name: "LDXR", bits: "010", o0: 0, load: true, shape: "single", exclusive: true, exec: execLoadExclusive },
  { name: "LDAXR", bits: "010", o0: 1, load: true, shape: "single", exclusive: true, exec: execLoadExclusive },
  { name: "STXP", bits: "001", o0: 0, load: false, shape: "pair", exclusive: true, exec: execStoreExclusivePair },
  { name: "STLXP", bits: "001", o0: 1, load: false, shape: "pair", exclusive: true, exec: execStoreExclusivePair },
  { name: "LDXP", bits: "011", o0: 0, load: true, shape: "pair", exclusive: true, exec: execLoadExclusivePair },
  { name: "LDAXP", bits: "011", o0: 1, load: true, shape: "pair", exclusive: true, exec: execLoadExclusivePair },
  { name: "STLLR", bits: "100", o0: 0, load: false, shape: "single", exclusive: false, exec: execStoreRelease },
  { name: "STLR", bits: "100", o0: 1, load: false, shape: "single", exclusive: false, exec: execStoreRelease },
  { name: "LDLAR", bits: "110", o0: 0, load: true, shape: "single", exclusive: false, exec: execLoadAcquire },
  { name: "LDAR", bits: "110", o0: 1, load: true, shape: "single", exclusive: false, exec: execLoadAcquire },
];

/**
 * CONSTRAINED UNPREDICTABLE register overlaps, resolved as UNDEFINED: a store-exclusive whose status
 * register is also a data register or the base (Rn != SP), and a load pair into one register.
 */
function overlapsAllowed(form: ExclusiveForm, f: ExclusiveFields): boolean {
  const pair = form.shape === "pair";
  if (form.load) return !(pair && f.rt === f.rt2);
  if (!form.exclusive) return true;
  if (f.rs === f.rt || (pair && f.rs === f.rt2)) return false;
  return !(f.rs === f.rn && f.rn !== 31);
}

function exclusiveRow(form: ExclusiveForm): Encoding<never> {
  const pair = form.shape === "pair";
  // Pairs: bit31 = 1, bit30 = sz (size 0x with o1 = 1 would be CASP, left unallocated).
  const sizeBits = pair ? "1 size:1" : "size:2";
  return encoding<ExclusiveFields>({
    name: form.name,
    pattern: `${sizeBits} 001000 ${form.bits} rs:5 ${form.o0} rt2:5 rn:5 rt:5`,
    prepare(f) {
      if (!overlapsAllowed(form, f)) return false;
      const sizeLog2 = pair ? 2 + f.size : f.size;
      f.kind = form.load ? loadKind(sizeLog2) : storeKind(sizeLog2);
      f.s = dstZR(f.rs);
      f.t = form.load ? dstZR(f.rt) : f.rt;
      f.t2 = form.load ? dstZR(f.rt2) : f.rt2;
      f.n = regSP(f.rn);
      f.bytes = (pair ? 2 : 1) << sizeLog2;
      const k = itemAt(KIND_INFO, f.kind, "access kind");
      f.iss = form.exclusive ? 0 : dataAbortTemplate(sizeLog2, false, f.rt, k.sf, true);
      return true;
    },
    exec: form.exec,
  });
}

export const LDST_EXCLUSIVE_TABLE: Encoding<never>[] = FORMS.map(exclusiveRow);
