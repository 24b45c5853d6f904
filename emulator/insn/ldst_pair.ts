// Load/store pair (Arm ARM C4.1.x): STP/LDP (W and X), LDPSW, STNP/LDNP, with signed-offset,
// pre-index and post-index addressing. Pairs have no valid ISV (ISS template 0).
//
// No side effects on a fault: both loads complete before any register is written. A store pair
// that crosses a page has its second page probed before the first half is written.

import type { CpuState } from "../cpu_state.ts";
import { SP } from "../reg_slots.ts";
import { type Encoding, type Op, encoding } from "../decode.ts";
import { AccessKind, type Fault, FaultType } from "../fault.ts";
import { PAGE_SIZE } from "../memory.ts";
import { join64 } from "../types.ts";
import { addSmall, checkSpAlignment, signExtend, writebackMode } from "./ldst_common.ts";
import { addOffset, dstZR, regSP } from "./operands.ts";

const P_STP_W = 0;
const P_STP_X = 1;
const P_LDP_W = 2;
const P_LDP_X = 3;
const P_LDPSW = 4;

interface PairFields {
  imm7: number;
  rt2: number;
  rn: number;
  rt: number;
  kind: number;
  t: number;
  t2: number;
  n: number;
  off: number;
}

type PairOp = PairFields & Op;

/** Load both halves first, then write Rt and Rt2. */
function loadPair(cpu: CpuState, kind: number, t: number, t2: number, lo: number, hi: number): void {
  const x = cpu.x;
  if (kind === P_LDP_X) {
    cpu.load64(lo, hi, 0, 0);
    const aLo = cpu.tLo;
    const aHi = cpu.tHi;
    addSmall(cpu, lo, hi, 8);
    cpu.load64(cpu.rLo, cpu.rHi, 0, 0);
    x[2 * t] = aLo;
    x[2 * t + 1] = aHi;
    x[2 * t2] = cpu.tLo;
    x[2 * t2 + 1] = cpu.tHi;
    return;
  }
  const a = cpu.load(lo, hi, 4, 0, 0);
  addSmall(cpu, lo, hi, 4);
  const b = cpu.load(cpu.rLo, cpu.rHi, 4, 0, 0);
  if (kind === P_LDPSW) {
    x[2 * t] = a;
    x[2 * t + 1] = (a | 0) >> 31;
    x[2 * t2] = b;
    x[2 * t2 + 1] = (b | 0) >> 31;
  } else {
    x[2 * t] = a;
    x[2 * t + 1] = 0;
    x[2 * t2] = b;
    x[2 * t2 + 1] = 0;
  }
}

function storePair(cpu: CpuState, kind: number, t: number, t2: number, lo: number, hi: number): void {
  const x = cpu.x;
  const esize = kind === P_STP_X ? 8 : 4;
  if ((lo & (PAGE_SIZE - 1)) > PAGE_SIZE - 2 * esize) probeSecondPage(cpu, lo, hi, esize);
  addSmall(cpu, lo, hi, esize);
  const lo2 = cpu.rLo;
  const hi2 = cpu.rHi;
  if (esize === 8) {
    cpu.store64(lo, hi, x[2 * t]!, x[2 * t + 1]!, 0, 0);
    cpu.store64(lo2, hi2, x[2 * t2]!, x[2 * t2 + 1]!, 0, 0);
  } else {
    cpu.store(lo, hi, 4, x[2 * t]!, 0, 0);
    cpu.store(lo2, hi2, 4, x[2 * t2]!, 0, 0);
  }
}

/**
 * A store pair crossing into the next page: make sure the part on that page can be written before
 * the first half is. Faults the first half raises itself (alignment, translation, nothing behind
 * its PA) come first, so they are left to its own store; this checks the next page's translation,
 * that something backs it, and for Device memory there the second half's alignment.
 */
function probeSecondPage(cpu: CpuState, lo: number, hi: number, esize: number): void {
  const misaligned = (lo & (esize - 1)) !== 0;
  if (misaligned && (cpu.sr.SCTLR_EL1 & 2n) !== 0n) return;
  const first = join64(lo, hi);
  const t1 = cpu.translateData(first, AccessKind.Write, 0, 0);
  if ((misaligned && t1.device) || !backed(cpu, t1.pa)) return;
  const nextPage = BigInt.asUintN(64, (first | BigInt(PAGE_SIZE - 1)) + 1n);
  const second = BigInt.asUintN(64, first + BigInt(esize));
  const t2 = cpu.translateData(second > nextPage ? second : nextPage, AccessKind.Write, 0, 0);
  if (misaligned && t2.device) cpu.abort(fault(FaultType.Alignment), second, AccessKind.Write, 0, 0);
  if (!backed(cpu, t2.pa)) cpu.abort(fault(FaultType.ExternalAbort), second, AccessKind.Write, 0, 0);
}

/** RAM or a device answers at this PA (otherwise an access is a synchronous external abort). */
function backed(cpu: CpuState, pa: number): boolean {
  return cpu.mem.page(pa) !== null || cpu.mem.mmioAt(pa) !== undefined;
}

function fault(type: FaultType): Fault {
  return { type, stage: 1, level: 0, s1ptw: false, ipa: 0n };
}

function pairAccess(cpu: CpuState, op: PairOp, lo: number, hi: number): void {
  const kind = op.kind;
  if (kind <= P_STP_X) storePair(cpu, kind, op.t, op.t2, lo, hi);
  else loadPair(cpu, kind, op.t, op.t2, lo, hi);
}

function execPairOffset(cpu: CpuState, op: PairOp): void {
  const n = op.n;
  if (n === SP && (cpu.x[2 * SP]! & 15) !== 0) checkSpAlignment(cpu);
  addOffset(cpu, n, op.off);
  pairAccess(cpu, op, cpu.rLo, cpu.rHi);
}

const execPairPostIndex = writebackMode(pairAccess, true);
const execPairPreIndex = writebackMode(pairAccess, false);

interface PairForm {
  name: string;
  opc: number;
  L: number;
  kind: number;
  /** log2 of the element size: the scale of imm7. */
  scale: number;
}

// opc=11 is reserved; opc=01 with L=0 is STGP (MTE, not implemented).
const PAIR_FORMS: readonly PairForm[] = [
  { name: "STP_W", opc: 0, L: 0, kind: P_STP_W, scale: 2 },
  { name: "LDP_W", opc: 0, L: 1, kind: P_LDP_W, scale: 2 },
  { name: "LDPSW", opc: 1, L: 1, kind: P_LDPSW, scale: 2 },
  { name: "STP_X", opc: 2, L: 0, kind: P_STP_X, scale: 3 },
  { name: "LDP_X", opc: 2, L: 1, kind: P_LDP_X, scale: 3 },
];

type PairMode = "np" | "post" | "off" | "pre";
const PAIR_INDEX: Record<PairMode, string> = { np: "00", post: "01", off: "10", pre: "11" };
const PAIR_EXEC = { np: execPairOffset, post: execPairPostIndex, off: execPairOffset, pre: execPairPreIndex };

function pairRowName(form: PairForm, mode: PairMode): string {
  if (mode === "np") return form.name.replace(/P/, "NP");
  return mode === "off" ? form.name : `${form.name}_${mode}`;
}

function pairRow(form: PairForm, mode: PairMode): Encoding<never> {
  const writeback = mode === "post" || mode === "pre";
  const load = form.L === 1;
  return encoding<PairFields>({
    name: pairRowName(form, mode),
    pattern: `${form.opc >> 1}${form.opc & 1} 101 0 0 ${PAIR_INDEX[mode]} ${form.L} imm7:7 rt2:5 rn:5 rt:5`,
    prepare(f) {
      // CONSTRAINED UNPREDICTABLE cases, resolved as UNDEFINED: a load pair into one register, and a
      // load whose writeback base is also a destination. A store pair with writeback whose base is
      // a data register stores the value from before the writeback.
      if (load && f.rt === f.rt2) return false;
      if (load && writeback && f.rn !== 31 && (f.rn === f.rt || f.rn === f.rt2)) return false;
      f.kind = form.kind;
      f.t = load ? dstZR(f.rt) : f.rt;
      f.t2 = load ? dstZR(f.rt2) : f.rt2;
      f.n = regSP(f.rn);
      f.off = signExtend(f.imm7, 7) * (1 << form.scale);
      return true;
    },
    exec: PAIR_EXEC[mode],
  });
}

const MODES: readonly PairMode[] = ["off", "pre", "post", "np"];

export const LDST_PAIR_TABLE: Encoding<never>[] = MODES.flatMap((mode) =>
  PAIR_FORMS.filter((form) => !(mode === "np" && form.kind === P_LDPSW)).map((form) => pairRow(form, mode)),
);
