// Translation of one 4 KiB page of guest code, as mapped at one VA page, into one WebAssembly
// function. The unit covers the code reachable inside the page from the entries seen so far; its
// basic blocks are laid out in address order inside a `loop` + `br_table` dispatcher, so branches
// between blocks of the page never leave WebAssembly. Registers stay in host memory (cpu_layout.ts)
// and are read and written there by every instruction, so the state is exact at every instruction
// boundary; NZCV lives in locals and goes back to memory at the exit.
//
// Each instruction is one of three kinds:
//   native     — generated inline (integer arithmetic, branches, loads/stores through the fast TLB);
//   helper     — run by the interpreter's own handler through an import, for everything else that
//                only touches registers and memory (FP/SIMD, rare integer forms, slow memory paths);
//   terminator — a helper that ends its block and the unit (system instructions: they may change
//                the EL, the translation regime or the PC in ways the unit cannot follow). Running
//                it from the unit rather than returning to the dispatcher first matters for the
//                exits L0 sees most (HVC, trapped MSR/MRS, ERET), where the dispatcher pass was a
//                large part of the exit.

import type { Op } from "../decode.ts";
import { OFF_NZCV, OFF_PC, OFF_ROFF, OFF_RTAG, OFF_WOFF, OFF_WTAG, OFF_X } from "../cpu_layout.ts";
import { CODE_LINE_SHIFT } from "../memory.ts";
import { SP } from "../reg_slots.ts";
import { K_LD16, K_LD32, K_LD64, K_LD8, K_LDS16W, K_LDS16X, K_LDS32X, K_LDS8W, K_LDS8X, K_ST64 } from "../insn/ldst_common.ts";
import { Code, I32, I64, OP, moduleBytes } from "./wasm.ts";

export const PAGE_SLOTS = 1024;
/** Set in a unit's result when the PC is already in the CPU (a helper instruction left it there). */
export const PC_IN_CPU = 0x40000000;
export const COUNT_MASK = 0x3fffffff;
/** Bit 4 of a helper's result: the unit must exit after this instruction. */
const HELPER_EXIT = 16;

export type Kind = "native" | "helper" | "terminator";

/** How a decoded instruction is translated (by its decode-table row name). */
export function kindOf(op: Op): Kind {
  if (NATIVE.has(op.name)) return "native";
  if (TERMINATORS.has(op.name) || op.name === "UNDEFINED") return "terminator";
  return "helper";
}

/** System instructions that may change the EL, PSTATE, the translation regime or the PC. */
const TERMINATORS = new Set(["SVC", "HVC", "SMC", "BRK", "HLT", "ERET", "WFE", "WFI", "MSR_SPSel", "MSR_DAIFSet", "MSR_DAIFClr", "SYS", "MSR_reg"]);

const BRANCHES = new Set(["B", "BL", "B_cond", "CBZ_64", "CBNZ_64", "CBZ_32", "CBNZ_32", "TBZ", "TBNZ", "BR", "BLR", "RET"]);
const SIZED = (names: string[]): string[] => names.flatMap((n) => [`${n}_64`, `${n}_32`]);
const SINGLE_FORMS = ["STRB", "LDRB", "LDRSB_X", "LDRSB_W", "STRH", "LDRH", "LDRSH_X", "LDRSH_W", "STR_W", "LDR_W", "LDRSW", "STR_X", "LDR_X"];
/** Integer load/store pair rows, by their `kind` (ldst_pair.ts): STP_W, STP_X, LDP_W, LDP_X, LDPSW. */
const PAIR_FORMS = ["STP_W", "STP_X", "LDP_W", "LDP_X", "LDPSW"];
const unscaled = (n: string): string => n.replace(/^(LD|ST)R/, "$1UR");
const NATIVE = new Set([
  ...BRANCHES,
  "ADR", "ADRP",
  ...SIZED(["ADD_imm", "ADDS_imm", "SUB_imm", "SUBS_imm", "AND_imm", "ORR_imm", "EOR_imm", "ANDS_imm", "MOVN", "MOVZ", "MOVK", "SBFM", "BFM", "UBFM"]),
  ...SIZED(["AND_reg", "BIC_reg", "ORR_reg", "ORN_reg", "EOR_reg", "EON_reg", "ANDS_reg", "BICS_reg", "ADD_reg", "ADDS_reg", "SUB_reg", "SUBS_reg"]),
  ...SIZED(["ADD_ext", "ADDS_ext", "SUB_ext", "SUBS_ext"]),
  ...SIZED(["CSEL", "CSINC", "CSINV", "CSNEG", "MADD", "MSUB", "UDIV", "SDIV", "LSLV", "LSRV", "ASRV", "RORV"]),
  ...SIZED(["CLZ", "CLS", "EXTR", "ADC", "ADCS", "SBC", "SBCS", "CCMN_reg", "CCMN_imm", "CCMP_reg", "CCMP_imm"]),
  "REV_64", "REV_32", "SMADDL", "SMSUBL", "UMADDL", "UMSUBL", "SMULH", "UMULH",
  // No architectural effect on this model (one in-order PE, no PAC/BTI).
  "HINT", "DSB", "DSB_nXS", "DMB", "ISB", "SB",
  ...SINGLE_FORMS.flatMap((n) => [`${n}_uoff`, `${n}_pre`, `${n}_post`, `${n}_reg`, unscaled(n)]),
  "LDR_W_literal", "LDR_X_literal", "LDRSW_literal",
  ...PAIR_FORMS.flatMap((n) => [n, `${n}_pre`, `${n}_post`]),
]);

/** Decoded fields the generators read (each row has its own subset). */
interface Fields {
  off: number; xn: number; xm: number; xd: number; xa: number; xt: number; mask: number; cond: number;
  imm: number; mLo: number; mHi: number; ntLo: number; ntHi: number; immr: number; imms: number;
  vLo: number; vHi: number; kLo: number; kHi: number; offLo: number; offHi: number;
  shift: number; imm6: number; nzcv: number; imm5: number; signed: number; sub: number; inv: number; option: number; imm3: number; kind: number; t: number; t2: number; n: number; rm: number;
}
type F = Op & Fields;

/** What the translator needs from the page: decoded ops and the VA the page is mapped at. */
export interface UnitSource {
  op(slot: number): Op;
  /** The VA of the page's first byte. */
  readonly va: bigint;
  /** Entry slots (instructions the dispatcher has arrived at). */
  readonly entries: Iterable<number>;
}

export interface Block {
  start: number;
  /** Instructions (slots start..start+len-1); only the last may be a branch or a terminator. */
  len: number;
}

export interface UnitPlan {
  blocks: Block[];
  /** Slot → block index for block starts, else -1. */
  blockAt: Int16Array;
  instructions: number;
}

/** Find the reachable code of the page and cut it into basic blocks. */
export function plan(src: UnitSource): UnitPlan {
  const reach = new Uint8Array(PAGE_SLOTS);
  const leader = new Uint8Array(PAGE_SLOTS);
  const ends = new Uint8Array(PAGE_SLOTS);
  const work: number[] = [];
  const push = (s: number): void => {
    if (s < 0 || s >= PAGE_SLOTS) return;
    leader[s] = 1;
    if (!reach[s]) work.push(s);
  };
  for (const e of src.entries) push(e);
  while (work.length > 0) {
    let s = work.pop()!;
    while (s < PAGE_SLOTS && !reach[s]) {
      const op = src.op(s) as F;
      reach[s] = 1;
      if (kindOf(op) === "terminator") {
        // The unit exits after it; the code behind it (where an exception returns) is a block of its
        // own. Not behind an UNDEFINED word, though: zero-filled memory after a program decodes as
        // one, and walking it would translate the rest of the page a word at a time.
        ends[s] = 1;
        if (op.name !== "UNDEFINED") push(s + 1);
        break;
      }
      if (BRANCHES.has(op.name)) {
        ends[s] = 1;
        const t = directTarget(op);
        if (t !== null) push(s + t / 4);
        if (op.name !== "B" && op.name !== "BR" && op.name !== "RET") push(s + 1);
        break;
      }
      s++;
    }
  }
  const blocks: Block[] = [];
  const blockAt = new Int16Array(PAGE_SLOTS).fill(-1);
  let cur: Block | null = null;
  let instructions = 0;
  for (let s = 0; s < PAGE_SLOTS; s++) {
    if (!reach[s]) {
      cur = null;
      continue;
    }
    instructions++;
    if (cur === null || leader[s]) {
      cur = { start: s, len: 0 };
      blockAt[s] = blocks.length;
      blocks.push(cur);
    }
    cur.len++;
    if (ends[s]) cur = null;
  }
  return { blocks, blockAt, instructions };
}

/** Byte offset of a direct branch's target from the branch, or null (indirect). */
function directTarget(op: F): number | null {
  switch (op.name) {
    case "BR": case "BLR": case "RET": return null;
    default: return op.off;
  }
}

// ------------------------------------------------------------------ code generation

/** Parameters and locals of a unit function. */
const BASE = 0;
const BUDGET = 1;
const ENTRY = 2;
const CNT = 3;
const N = 4;
const Z = 5;
const C = 6;
const V = 7;
const BB = 8;
const PCCPU = 9;
const A = 10;
const H = 11;
/** 32-bit arithmetic result. */
const R32 = 12;
const T0 = 13;
const T1 = 14;
const T2 = 15;
const VA = 16;
const LOCALS = [I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I64, I64, I64, I64];

const xOff = (slot: number): number => OFF_X + 8 * slot;
const PAGE_BYTES = 4096;

export interface Generated {
  bytes: Uint8Array;
  /** Helper index → op and its instruction's slot. */
  helperOps: Op[];
  helperSlots: number[];
  /** Helper index → 1 when the unit always exits after it (a terminator). */
  helperEnds: Uint8Array;
}

class Gen {
  readonly c = new Code();
  /** Labels opened inside the current block's code (if/block), for branch depths. */
  depth = 0;
  /** Depth of $L and $done from the current block's code, before `depth`. */
  private loopDepth = 0;
  readonly helperOps: Op[] = [];
  readonly helperSlots: number[] = [];
  readonly helperEnds: number[] = [];

  constructor(
    private readonly p: UnitPlan,
    private readonly ops: readonly Op[],
    private readonly pageVa: bigint,
  ) {}

  private vaOf(slot: number): bigint {
    return BigInt.asUintN(64, this.pageVa + BigInt(slot * 4));
  }

  generate(): Uint8Array {
    const c = this.c;
    const nb = this.p.blocks.length;
    // Flags in.
    c.get(BASE).mem(OP.i32_load, OFF_NZCV).set(A);
    c.get(A).i32(3).op(OP.i32_shr_u).i32(1).op(OP.i32_and).set(N);
    c.get(A).i32(2).op(OP.i32_shr_u).i32(1).op(OP.i32_and).set(Z);
    c.get(A).i32(1).op(OP.i32_shr_u).i32(1).op(OP.i32_and).set(C);
    c.get(A).i32(1).op(OP.i32_and).set(V);
    c.get(ENTRY).set(BB);
    c.block(); // $done
    c.loop(); // $L
    for (let i = 0; i < nb; i++) c.block();
    c.get(BB).brTable(Array.from({ length: nb }, (_, i) => i), nb + 1);
    for (let k = 0; k < nb; k++) {
      c.op(OP.end);
      this.loopDepth = nb - 1 - k;
      this.depth = 0;
      this.block(k);
    }
    c.op(OP.end); // $L (never falls out: every block's code ends in a branch)
    c.op(OP.end); // $done
    // Flags out, then the count (with PC_IN_CPU when a helper left the PC in the CPU).
    c.get(BASE);
    c.get(N).i32(3).op(OP.i32_shl).get(Z).i32(2).op(OP.i32_shl).op(OP.i32_or);
    c.get(C).i32(1).op(OP.i32_shl).op(OP.i32_or).get(V).op(OP.i32_or);
    c.mem(OP.i32_store, OFF_NZCV);
    c.get(CNT).get(PCCPU).i32(30).op(OP.i32_shl).op(OP.i32_or);
    return moduleBytes(
      { params: [I32, I32, I32], results: [I32], locals: LOCALS, body: c },
      [{ module: "h", name: "c", params: [I32, I32, I32], results: [I32] }],
    );
  }

  private get loopLabel(): number {
    return this.loopDepth + this.depth;
  }

  private get doneLabel(): number {
    return this.loopDepth + 1 + this.depth;
  }

  /** Leave the unit with PC = va, `done` instructions of this block retired. */
  private exitTo(pc: bigint, done: number): void {
    this.c.get(BASE).i64(pc).mem(OP.i64_store, OFF_PC);
    this.exitCount(done);
  }

  /** Leave with the PC already stored at OFF_PC. */
  private exitCount(done: number): void {
    const c = this.c;
    if (done !== 0) c.get(CNT).i32(done).op(OP.i32_add).set(CNT);
    c.br(this.doneLabel);
  }

  private block(k: number): void {
    const b = this.p.blocks[k]!;
    const c = this.c;
    // Budget: the whole block must fit, so counts stay instruction-exact.
    c.get(CNT).i32(b.len).op(OP.i32_add).get(BUDGET).op(OP.i32_gt_u).if();
    this.depth++;
    this.exitTo(this.vaOf(b.start), 0);
    this.depth--;
    c.op(OP.end);
    for (let i = 0; i < b.len; i++) {
      const slot = b.start + i;
      const op = this.opAt(slot);
      if (BRANCHES.has(op.name)) {
        this.branch(op, slot, b.len);
        return;
      }
      const kind = kindOf(op);
      if (kind === "terminator") {
        this.terminator(op, slot, i);
        return;
      }
      if (kind === "native") this.native(op, slot, i);
      else this.helper(op, slot, i);
    }
    // Fell off the block without a branch: into the next block, or out of the unit.
    const next = b.start + b.len;
    if (next < PAGE_SLOTS && this.p.blockAt[next]! >= 0) {
      c.get(CNT).i32(b.len).op(OP.i32_add).set(CNT);
      if (this.p.blockAt[next] !== k + 1) this.goBlock(this.p.blockAt[next]!, 0);
      return;
    }
    this.exitTo(this.vaOf(next), b.len);
  }

  private opAt(slot: number): F {
    return this.ops[slot] as F;
  }

  /** Continue at block t (count already updated by `add`). */
  private goBlock(t: number, add: number): void {
    const c = this.c;
    if (add !== 0) c.get(CNT).i32(add).op(OP.i32_add).set(CNT);
    c.i32(t).set(BB).br(this.loopLabel);
  }

  /** To `slot` in this page if a block starts there, else out of the unit. */
  private jump(slot: number, len: number): void {
    if (slot >= 0 && slot < PAGE_SLOTS && this.p.blockAt[slot]! >= 0) this.goBlock(this.p.blockAt[slot]!, len);
    else this.exitTo(this.vaOf(slot), len);
  }

  // ---------------------------------------------------------------- branches

  private branch(op: F, slot: number, len: number): void {
    const c = this.c;
    const target = (): number => slot + op.off / 4;
    switch (op.name) {
      case "B":
        return this.jump(target(), len);
      case "BL":
        c.get(BASE).i64(this.vaOf(slot + 1)).mem(OP.i64_store, xOff(30));
        return this.jump(target(), len);
      case "BR": case "RET": case "BLR": {
        c.get(BASE).get(BASE).mem(OP.i64_load, OFF_X + 4 * op.xn).mem(OP.i64_store, OFF_PC);
        if (op.name === "BLR") c.get(BASE).i64(this.vaOf(slot + 1)).mem(OP.i64_store, xOff(30));
        return this.exitCount(len);
      }
      case "B_cond": this.cond(op.cond); break;
      case "CBZ_64": case "CBNZ_64":
        c.get(BASE).mem(OP.i64_load, OFF_X + 4 * op.xt).op(OP.i64_eqz);
        if (op.name === "CBNZ_64") c.op(OP.i32_eqz);
        break;
      case "CBZ_32": case "CBNZ_32":
        c.get(BASE).mem(OP.i32_load, OFF_X + 4 * op.xt).op(OP.i32_eqz);
        if (op.name === "CBNZ_32") c.op(OP.i32_eqz);
        break;
      case "TBZ": case "TBNZ":
        c.get(BASE).mem(OP.i32_load, OFF_X + 4 * op.xt).i32(op.mask).op(OP.i32_and);
        if (op.name === "TBZ") c.op(OP.i32_eqz);
        break;
      default: throw new Error(`jit: no branch generator for ${op.name}`);
    }
    c.if();
    this.depth++;
    this.jump(target(), len);
    this.depth--;
    c.op(OP.end);
    this.jump(slot + 1, len);
  }

  /** Push ConditionHolds(cond) as an i32 0/1 (C1.2.4). */
  private cond(cond: number): void {
    const c = this.c;
    switch (cond >> 1) {
      case 0: c.get(Z); break;
      case 1: c.get(C); break;
      case 2: c.get(N); break;
      case 3: c.get(V); break;
      case 4: c.get(C).get(Z).op(OP.i32_eqz).op(OP.i32_and); break;
      case 5: c.get(N).get(V).op(OP.i32_eq); break;
      case 6: c.get(N).get(V).op(OP.i32_eq).get(Z).op(OP.i32_eqz).op(OP.i32_and); break;
      default: c.i32(1);
    }
    if ((cond & 1) === 1 && cond !== 0xf) c.op(OP.i32_eqz);
  }

  // ---------------------------------------------------------------- helpers (interpreter handlers)

  /** Call the interpreter's handler for this instruction (helper `h`), flags in and out. */
  private call(op: Op, slot: number, i: number, ends: boolean): void {
    const c = this.c;
    const h = this.helperOps.length;
    this.helperOps.push(op);
    this.helperSlots.push(slot);
    this.helperEnds.push(ends ? 1 : 0);
    c.i32(h).get(CNT).i32(i).op(OP.i32_add);
    this.packFlags();
    c.op(OP.call).u32(0).set(A);
    this.unpackFlags(A);
  }

  /** A terminator: its handler runs, then the unit exits with the PC it left in the CPU. */
  private terminator(op: Op, slot: number, i: number): void {
    this.call(op, slot, i, true);
    this.c.i32(1).set(PCCPU);
    this.exitCount(i + 1);
  }

  /** Run the interpreter's handler for this instruction; exit when it asks to. */
  private helper(op: Op, slot: number, i: number): void {
    const c = this.c;
    this.call(op, slot, i, false);
    c.get(A).i32(HELPER_EXIT).op(OP.i32_and).if();
    this.depth++;
    c.i32(1).set(PCCPU);
    this.exitCount(i + 1);
    this.depth--;
    c.op(OP.end);
  }

  private packFlags(): void {
    const c = this.c;
    c.get(N).i32(3).op(OP.i32_shl).get(Z).i32(2).op(OP.i32_shl).op(OP.i32_or);
    c.get(C).i32(1).op(OP.i32_shl).op(OP.i32_or).get(V).op(OP.i32_or);
  }

  private unpackFlags(l: number): void {
    const c = this.c;
    c.get(l).i32(3).op(OP.i32_shr_u).i32(1).op(OP.i32_and).set(N);
    c.get(l).i32(2).op(OP.i32_shr_u).i32(1).op(OP.i32_and).set(Z);
    c.get(l).i32(1).op(OP.i32_shr_u).i32(1).op(OP.i32_and).set(C);
    c.get(l).i32(1).op(OP.i32_and).set(V);
  }

  // ---------------------------------------------------------------- native data processing

  /** Push X[half/2] (a cpu.x half index of a register's low word) as i64. */
  private rx(half: number): void {
    this.c.get(BASE).mem(OP.i64_load, OFF_X + 4 * half);
  }

  private rw(half: number): void {
    this.c.get(BASE).mem(OP.i32_load, OFF_X + 4 * half);
  }

  /** Store the i64 in local `l` to the register at half index `half`. */
  private wx(half: number, l: number): void {
    this.c.get(BASE).get(l).mem(OP.i64_store, OFF_X + 4 * half);
  }

  /** Store the i32 in local `l`, zero-extended. */
  private ww(half: number, l: number): void {
    this.c.get(BASE).get(l).op(OP.i64_extend_i32_u).mem(OP.i64_store, OFF_X + 4 * half);
  }

  private native(op: F, slot: number, i: number): void {
    const name = op.name;
    const sf = name.endsWith("_64");
    const base = name.replace(/_(64|32)$/, "");
    switch (base) {
      case "ADR": case "ADRP": {
        const pc = this.vaOf(slot);
        const off = BigInt(op.offLo) | (BigInt(op.offHi) << 32n);
        const v = BigInt.asUintN(64, (name === "ADRP" ? pc & ~0xfffn : pc) + off);
        this.c.get(BASE).i64(v).mem(OP.i64_store, OFF_X + 4 * op.xd);
        return;
      }
      case "ADD_imm": case "ADDS_imm": case "SUB_imm": case "SUBS_imm":
        return this.addSub(sf, base.startsWith("SUB"), base.includes("S_"), op.xd, () => this.operand(sf, op.xn), () => this.constOp(sf, op.imm));
      case "AND_imm": case "ORR_imm": case "EOR_imm": case "ANDS_imm":
        return this.logic(sf, base, op.xd, () => this.operand(sf, op.xn), () => this.constOp(sf, sf ? (BigInt(op.mHi) << 32n) | BigInt(op.mLo) : op.mLo));
      case "MOVN": case "MOVZ":
        this.c.get(BASE).i64(sf ? (BigInt(op.vHi) << 32n) | BigInt(op.vLo) : BigInt(op.vLo)).mem(OP.i64_store, OFF_X + 4 * op.xd);
        return;
      case "MOVK": {
        const c = this.c;
        if (sf) {
          this.rx(op.xd);
          c.i64((BigInt(op.kHi) << 32n) | BigInt(op.kLo)).op(OP.i64_and).i64((BigInt(op.vHi) << 32n) | BigInt(op.vLo)).op(OP.i64_or).set(T0);
          return this.wx(op.xd, T0);
        }
        this.rw(op.xd);
        c.i32(op.kLo).op(OP.i32_and).i32(op.vLo).op(OP.i32_or).set(A);
        return this.ww(op.xd, A);
      }
      case "UBFM": case "SBFM": case "BFM": return this.bitfield(op, sf, base);
      case "AND_reg": case "BIC_reg": case "ORR_reg": case "ORN_reg": case "EOR_reg": case "EON_reg": case "ANDS_reg": case "BICS_reg":
        return this.logic(sf, base, op.xd, () => this.operand(sf, op.xn), () => this.shifted(sf, op.xm, op.shift, op.imm6, op.inv !== 0));
      case "ADD_reg": case "ADDS_reg": case "SUB_reg": case "SUBS_reg":
        return this.addSub(sf, base.startsWith("SUB"), base.includes("S_"), op.xd, () => this.operand(sf, op.xn), () => this.shifted(sf, op.xm, op.shift, op.imm6, false));
      case "ADD_ext": case "ADDS_ext": case "SUB_ext": case "SUBS_ext":
        return this.addSub(sf, base.startsWith("SUB"), base.includes("S_"), op.xd, () => this.operand(sf, op.xn), () => this.extended(sf, op.xm, op.option, op.imm3));
      case "CSEL": case "CSINC": case "CSINV": case "CSNEG": return this.condSelect(op, sf, base);
      case "MADD": case "MSUB": {
        const c = this.c;
        this.operand(sf, op.xa);
        this.operand(sf, op.xn);
        this.operand(sf, op.xm);
        c.op(sf ? OP.i64_mul : OP.i32_mul).op(base === "MADD" ? (sf ? OP.i64_add : OP.i32_add) : sf ? OP.i64_sub : OP.i32_sub);
        return this.result(sf, op.xd);
      }
      case "UDIV": case "SDIV": return this.divide(op, sf, base === "SDIV");
      case "LSLV": case "LSRV": case "ASRV": case "RORV": {
        const c = this.c;
        const o = { LSLV: [OP.i64_shl, OP.i32_shl], LSRV: [OP.i64_shr_u, OP.i32_shr_u], ASRV: [OP.i64_shr_s, OP.i32_shr_s], RORV: [OP.i64_rotr, OP.i32_rotr] }[base];
        // WebAssembly shifts take the count modulo the width, as the A64 forms do.
        this.operand(sf, op.xn);
        this.operand(sf, op.xm);
        c.op(sf ? o[0]! : o[1]!);
        return this.result(sf, op.xd);
      }
      case "HINT": case "DSB": case "DSB_nXS": case "DMB": case "ISB": case "SB":
        return;
      case "CLZ": case "CLS": {
        const c = this.c;
        this.operand(sf, op.xn);
        if (base === "CLS") {
          // Leading bits equal to the sign bit, the sign bit not counted: CLZ(x ^ (x >>s 1)) - 1.
          if (sf) c.set(T1).get(T1).get(T1).i64(1n).op(OP.i64_shr_s).op(OP.i64_xor);
          else c.set(H).get(H).get(H).i32(1).op(OP.i32_shr_s).op(OP.i32_xor);
        }
        c.op(sf ? OP.i64_clz : OP.i32_clz);
        if (base === "CLS") {
          if (sf) c.i64(1n).op(OP.i64_sub);
          else c.i32(1).op(OP.i32_sub);
        }
        return this.result(sf, op.xd);
      }
      case "REV": return this.reverseBytes(op, name === "REV_64");
      case "EXTR": {
        const c = this.c;
        const lsb = op.imms;
        if (lsb === 0) {
          this.operand(sf, op.xm);
          return this.result(sf, op.xd);
        }
        const w = sf ? 64 : 32;
        this.operand(sf, op.xn);
        if (sf) c.i64(BigInt(w - lsb)).op(OP.i64_shl);
        else c.i32(w - lsb).op(OP.i32_shl);
        this.operand(sf, op.xm);
        if (sf) c.i64(BigInt(lsb)).op(OP.i64_shr_u, OP.i64_or);
        else c.i32(lsb).op(OP.i32_shr_u, OP.i32_or);
        return this.result(sf, op.xd);
      }
      case "ADC": case "ADCS": case "SBC": case "SBCS": return this.addCarry(op, sf, base.startsWith("SBC"), base.endsWith("S"));
      case "CCMN_reg": case "CCMN_imm": case "CCMP_reg": case "CCMP_imm": return this.condCompare(op, sf, base.startsWith("CCMP"), base.endsWith("_reg"));
      case "SMADDL": case "SMSUBL": case "UMADDL": case "UMSUBL": {
        const c = this.c;
        this.rx(op.xa);
        const ext = op.signed ? OP.i64_extend_i32_s : OP.i64_extend_i32_u;
        this.rw(op.xn);
        c.op(ext);
        this.rw(op.xm);
        c.op(ext, OP.i64_mul, op.sub ? OP.i64_sub : OP.i64_add);
        return this.result(true, op.xd);
      }
      case "UMULH": case "SMULH": return this.mulHigh(op, name === "SMULH");
      default:
        if (PAIR_FORMS.includes(base.replace(/_(pre|post)$/, ""))) return this.pair(op, slot, i);
        return this.memory(op, slot, i);
    }
  }

  /** Push a source register as i64 (sf) or i32. */
  private operand(sf: boolean, half: number): void {
    if (sf) this.rx(half);
    else this.rw(half);
  }

  private constOp(sf: boolean, v: number | bigint): void {
    if (sf) this.c.i64(BigInt(v));
    else this.c.i32(Number(BigInt.asIntN(32, BigInt(v))));
  }

  /** Pop the value on the stack into Rd (W results zero-extended). */
  private result(sf: boolean, xd: number): void {
    if (sf) {
      this.c.set(T0);
      this.wx(xd, T0);
    } else {
      this.c.set(A);
      this.ww(xd, A);
    }
  }

  /** Shifted register operand (LSL/LSR/ASR/ROR by an immediate), optionally inverted. */
  private shifted(sf: boolean, xm: number, type: number, amount: number, invert: boolean): void {
    const c = this.c;
    this.operand(sf, xm);
    if (amount !== 0) {
      const ops = sf ? [OP.i64_shl, OP.i64_shr_u, OP.i64_shr_s, OP.i64_rotr] : [OP.i32_shl, OP.i32_shr_u, OP.i32_shr_s, OP.i32_rotr];
      if (sf) c.i64(BigInt(amount));
      else c.i32(amount);
      c.op(ops[type]!);
    }
    if (invert) {
      if (sf) c.i64(-1n).op(OP.i64_xor);
      else c.i32(-1).op(OP.i32_xor);
    }
  }

  /** REV (64-bit, or the W form): byte reversal by shifts and masks (WebAssembly has no byte swap). */
  private reverseBytes(op: F, wide: boolean): void {
    const c = this.c;
    if (wide) {
      this.rx(op.xn);
      c.set(T1);
      const steps: [bigint, bigint][] = [[8n, 0x00ff00ff00ff00ffn], [16n, 0x0000ffff0000ffffn]];
      for (const [sh, m] of steps) {
        c.get(T1).i64(sh).op(OP.i64_shr_u).i64(m).op(OP.i64_and);
        c.get(T1).i64(m).op(OP.i64_and).i64(sh).op(OP.i64_shl).op(OP.i64_or).set(T1);
      }
      c.get(T1).i64(32n).op(OP.i64_rotr);
      return this.result(true, op.xd);
    }
    this.rw(op.xn);
    c.set(H);
    c.get(H).i32(8).op(OP.i32_shr_u).i32(0x00ff00ff).op(OP.i32_and);
    c.get(H).i32(0x00ff00ff).op(OP.i32_and).i32(8).op(OP.i32_shl).op(OP.i32_or).i32(16).op(OP.i32_rotr);
    this.result(false, op.xd);
  }

  /** ADC/ADCS/SBC/SBCS: Rn + (Rm or NOT Rm) + C. */
  private addCarry(op: F, sf: boolean, sub: boolean, flags: boolean): void {
    const c = this.c;
    if (sf) {
      this.rx(op.xn);
      c.set(T1);
      this.rx(op.xm);
      if (sub) c.i64(-1n).op(OP.i64_xor);
      c.set(T2);
      c.get(T1).get(T2).op(OP.i64_add).tee(T0).get(C).op(OP.i64_extend_i32_u).op(OP.i64_add).set(VA);
      if (flags) {
        // Carry out of either addition.
        c.get(T0).get(T1).op(OP.i64_lt_u).get(VA).get(T0).op(OP.i64_lt_u).op(OP.i32_or).set(C);
        c.get(VA).i64(63n).op(OP.i64_shr_u, OP.i32_wrap_i64).set(N);
        c.get(VA).op(OP.i64_eqz).set(Z);
        c.get(T1).get(VA).op(OP.i64_xor).get(T2).get(VA).op(OP.i64_xor).op(OP.i64_and).i64(63n).op(OP.i64_shr_u, OP.i32_wrap_i64).set(V);
      }
      return this.wx(op.xd, VA);
    }
    this.rw(op.xn);
    c.set(A);
    this.rw(op.xm);
    if (sub) c.i32(-1).op(OP.i32_xor);
    c.set(H);
    c.get(A).op(OP.i64_extend_i32_u).get(H).op(OP.i64_extend_i32_u).op(OP.i64_add).get(C).op(OP.i64_extend_i32_u).op(OP.i64_add).set(T0);
    c.get(T0).op(OP.i32_wrap_i64).set(R32);
    if (flags) {
      c.get(T0).i64(32n).op(OP.i64_shr_u, OP.i32_wrap_i64).set(C);
      c.get(R32).i32(31).op(OP.i32_shr_u).set(N);
      c.get(R32).op(OP.i32_eqz).set(Z);
      c.get(A).get(R32).op(OP.i32_xor).get(H).get(R32).op(OP.i32_xor).op(OP.i32_and).i32(31).op(OP.i32_shr_u).set(V);
    }
    this.ww(op.xd, R32);
  }

  /** CCMP/CCMN: the flags of Rn - op2 (Rn + op2) if cond holds, else the immediate nzcv. */
  private condCompare(op: F, sf: boolean, sub: boolean, reg: boolean): void {
    const c = this.c;
    this.cond(op.cond);
    c.if();
    this.depth++;
    this.addSub(sf, sub, true, 33 * 2, () => this.operand(sf, op.xn), () => (reg ? this.operand(sf, op.xm) : this.constOp(sf, op.imm)));
    c.op(OP.else);
    c.i32((op.nzcv >> 3) & 1).set(N).i32((op.nzcv >> 2) & 1).set(Z).i32((op.nzcv >> 1) & 1).set(C).i32(op.nzcv & 1).set(V);
    this.depth--;
    c.op(OP.end);
  }

  /** UMULH/SMULH: the high 64 bits of the 128-bit product, from 32-bit partial products. */
  private mulHigh(op: F, signed: boolean): void {
    const c = this.c;
    const lo32 = (): void => void c.i64(0xffffffffn).op(OP.i64_and);
    const hi32 = (): void => void c.i64(32n).op(OP.i64_shr_u);
    this.rx(op.xn);
    c.set(T1);
    this.rx(op.xm);
    c.set(T2);
    // mid = (aL·bL >> 32) + lo(aL·bH) + lo(aH·bL); hi = aH·bH + hi(aL·bH) + hi(aH·bL) + (mid >> 32).
    c.get(T1); lo32(); c.get(T2); hi32(); c.op(OP.i64_mul).set(T0); // aL·bH
    c.get(T1); hi32(); c.get(T2); lo32(); c.op(OP.i64_mul).set(VA); // aH·bL
    c.get(T1); lo32(); c.get(T2); lo32(); c.op(OP.i64_mul); hi32();
    c.get(T0); lo32(); c.op(OP.i64_add).get(VA); lo32(); c.op(OP.i64_add); hi32(); // carry from mid
    c.get(T1); hi32(); c.get(T2); hi32(); c.op(OP.i64_mul, OP.i64_add);
    c.get(T0); hi32(); c.op(OP.i64_add).get(VA); hi32(); c.op(OP.i64_add);
    if (signed) {
      // Signed high half = unsigned high half - (a < 0 ? b : 0) - (b < 0 ? a : 0).
      c.get(T2).i64(0n).get(T1).i64(0n).op(OP.i64_lt_s).op(OP.select).op(OP.i64_sub);
      c.get(T1).i64(0n).get(T2).i64(0n).op(OP.i64_lt_s).op(OP.select).op(OP.i64_sub);
    }
    this.result(true, op.xd);
  }

  /** ExtendReg(m, option, shift). */
  private extended(sf: boolean, xm: number, option: number, sh: number): void {
    const c = this.c;
    if (sf) {
      switch (option) {
        case 0: this.rw(xm); c.i32(0xff).op(OP.i32_and, OP.i64_extend_i32_u); break;
        case 1: this.rw(xm); c.i32(0xffff).op(OP.i32_and, OP.i64_extend_i32_u); break;
        case 2: this.rw(xm); c.op(OP.i64_extend_i32_u); break;
        case 4: this.rw(xm); c.i32(24).op(OP.i32_shl).i32(24).op(OP.i32_shr_s, OP.i64_extend_i32_s); break;
        case 5: this.rw(xm); c.i32(16).op(OP.i32_shl).i32(16).op(OP.i32_shr_s, OP.i64_extend_i32_s); break;
        case 6: this.rw(xm); c.op(OP.i64_extend_i32_s); break;
        default: this.rx(xm);
      }
      if (sh !== 0) c.i64(BigInt(sh)).op(OP.i64_shl);
      return;
    }
    this.rw(xm);
    switch (option) {
      case 0: c.i32(0xff).op(OP.i32_and); break;
      case 1: c.i32(0xffff).op(OP.i32_and); break;
      case 4: c.i32(24).op(OP.i32_shl).i32(24).op(OP.i32_shr_s); break;
      case 5: c.i32(16).op(OP.i32_shl).i32(16).op(OP.i32_shr_s); break;
      default: break;
    }
    if (sh !== 0) c.i32(sh).op(OP.i32_shl);
  }

  /** ADD/SUB with optional flags: a in T1/A, b in T2/H. */
  private addSub(sf: boolean, sub: boolean, flags: boolean, xd: number, a: () => void, b: () => void): void {
    const c = this.c;
    if (sf) {
      a();
      c.set(T1);
      b();
      c.set(T2);
      c.get(T1).get(T2).op(sub ? OP.i64_sub : OP.i64_add).set(T0);
      if (flags) {
        c.get(T0).i64(63n).op(OP.i64_shr_u, OP.i32_wrap_i64).set(N);
        c.get(T0).op(OP.i64_eqz).set(Z);
        if (sub) {
          c.get(T1).get(T2).op(OP.i64_ge_u).set(C);
          c.get(T1).get(T2).op(OP.i64_xor).get(T1).get(T0).op(OP.i64_xor).op(OP.i64_and);
        } else {
          c.get(T0).get(T1).op(OP.i64_lt_u).set(C);
          c.get(T1).get(T0).op(OP.i64_xor).get(T2).get(T0).op(OP.i64_xor).op(OP.i64_and);
        }
        c.i64(63n).op(OP.i64_shr_u, OP.i32_wrap_i64).set(V);
      }
      return this.wx(xd, T0);
    }
    a();
    c.set(A);
    b();
    c.set(H);
    c.get(A).get(H).op(sub ? OP.i32_sub : OP.i32_add).set(R32);
    if (flags) {
      c.get(R32).i32(31).op(OP.i32_shr_u).set(N);
      c.get(R32).op(OP.i32_eqz).set(Z);
      if (sub) {
        c.get(A).get(H).op(OP.i32_ge_u).set(C);
        c.get(A).get(H).op(OP.i32_xor).get(A).get(R32).op(OP.i32_xor).op(OP.i32_and);
      } else {
        c.get(R32).get(A).op(OP.i32_lt_u).set(C);
        c.get(A).get(R32).op(OP.i32_xor).get(H).get(R32).op(OP.i32_xor).op(OP.i32_and);
      }
      c.i32(31).op(OP.i32_shr_u).set(V);
    }
    this.ww(xd, R32);
  }

  private logic(sf: boolean, base: string, xd: number, a: () => void, b: () => void): void {
    const c = this.c;
    a();
    b();
    const kind = base.slice(0, 3);
    const o = kind === "ORR" || kind === "ORN" ? [OP.i64_or, OP.i32_or] : kind === "EOR" || kind === "EON" ? [OP.i64_xor, OP.i32_xor] : [OP.i64_and, OP.i32_and];
    c.op(sf ? o[0]! : o[1]!);
    const flags = base.startsWith("ANDS") || base.startsWith("BICS");
    if (sf) {
      c.set(T0);
      if (flags) {
        c.get(T0).i64(63n).op(OP.i64_shr_u, OP.i32_wrap_i64).set(N);
        c.get(T0).op(OP.i64_eqz).set(Z);
        c.i32(0).set(C).i32(0).set(V);
      }
      return this.wx(xd, T0);
    }
    c.set(A);
    if (flags) {
      c.get(A).i32(31).op(OP.i32_shr_u).set(N);
      c.get(A).op(OP.i32_eqz).set(Z);
      c.i32(0).set(C).i32(0).set(V);
    }
    this.ww(xd, A);
  }

  private bitfield(op: F, sf: boolean, base: string): void {
    const c = this.c;
    const m = sf ? (BigInt(op.mHi) << 32n) | BigInt(op.mLo) : BigInt(op.mLo);
    const nt = sf ? (BigInt(op.ntHi) << 32n) | BigInt(op.ntLo) : BigInt(op.ntLo);
    if (sf) {
      this.rx(op.xn);
      c.i64(BigInt(op.immr)).op(OP.i64_rotr).i64(m).op(OP.i64_and);
      if (base === "SBFM") {
        // Sign bit Rn<imms> replicated where NOT(tmask) has ones.
        this.rx(op.xn);
        c.i64(BigInt(op.imms)).op(OP.i64_shr_u).i64(1n).op(OP.i64_and).set(T1);
        c.i64(0n).get(T1).op(OP.i64_sub).i64(nt).op(OP.i64_and).op(OP.i64_or);
      } else if (base === "BFM") {
        this.rx(op.xd);
        c.i64(~m).op(OP.i64_and).op(OP.i64_or);
      }
      return this.result(true, op.xd);
    }
    this.rw(op.xn);
    c.i32(op.immr).op(OP.i32_rotr).i32(Number(BigInt.asIntN(32, m))).op(OP.i32_and);
    if (base === "SBFM") {
      this.rw(op.xn);
      c.i32(op.imms).op(OP.i32_shr_u).i32(1).op(OP.i32_and).set(H);
      c.i32(0).get(H).op(OP.i32_sub).i32(Number(BigInt.asIntN(32, nt))).op(OP.i32_and).op(OP.i32_or);
    } else if (base === "BFM") {
      this.rw(op.xd);
      c.i32(Number(BigInt.asIntN(32, ~m))).op(OP.i32_and).op(OP.i32_or);
    }
    this.result(false, op.xd);
  }

  private condSelect(op: F, sf: boolean, base: string): void {
    const c = this.c;
    this.operand(sf, op.xn);
    this.operand(sf, op.xm);
    switch (base) {
      case "CSINC": if (sf) c.i64(1n).op(OP.i64_add); else c.i32(1).op(OP.i32_add); break;
      case "CSINV": if (sf) c.i64(-1n).op(OP.i64_xor); else c.i32(-1).op(OP.i32_xor); break;
      case "CSNEG":
        if (sf) c.set(T1).i64(0n).get(T1).op(OP.i64_sub);
        else c.set(H).i32(0).get(H).op(OP.i32_sub);
        break;
      default: break;
    }
    this.cond(op.cond);
    c.op(OP.select);
    this.result(sf, op.xd);
  }

  /** UDIV/SDIV: x/0 is 0; SDIV's INT_MIN/-1 is INT_MIN (WebAssembly would trap on both). */
  private divide(op: F, sf: boolean, signed: boolean): void {
    const c = this.c;
    if (sf) {
      this.rx(op.xn);
      c.set(T1);
      this.rx(op.xm);
      c.set(T2);
      c.get(T2).op(OP.i64_eqz).ifValue(I64).i64(0n).op(OP.else);
      if (signed) {
        c.get(T2).i64(-1n).op(OP.i64_eq).ifValue(I64).i64(0n).get(T1).op(OP.i64_sub).op(OP.else).get(T1).get(T2).op(OP.i64_div_s).op(OP.end);
      } else c.get(T1).get(T2).op(OP.i64_div_u);
      c.op(OP.end);
      return this.result(true, op.xd);
    }
    this.rw(op.xn);
    c.set(A);
    this.rw(op.xm);
    c.set(H);
    c.get(H).op(OP.i32_eqz).ifValue(I32).i32(0).op(OP.else);
    if (signed) {
      c.get(H).i32(-1).op(OP.i32_eq).ifValue(I32).i32(0).get(A).op(OP.i32_sub).op(OP.else).get(A).get(H).op(OP.i32_div_s).op(OP.end);
    } else c.get(A).get(H).op(OP.i32_div_u);
    c.op(OP.end);
    this.result(false, op.xd);
  }

  // ---------------------------------------------------------------- loads and stores

  /**
   * A single-register load or store: the fast TLB hit path inline (aligned, tag hit, and for
   * stores a frame without decoded code); anything else runs the interpreter's handler.
   */
  private memory(op: F, slot: number, i: number): void {
    const c = this.c;
    const name = op.name;
    const kind = op.kind;
    const store = kind <= K_ST64;
    const size = [1, 2, 4, 8, 1, 2, 4, 8, 1, 2, 4, 1, 2][kind]!;
    const mode = name.endsWith("_literal") ? "lit" : name.endsWith("_pre") ? "pre" : name.endsWith("_post") ? "post" : name.endsWith("_reg") ? "reg" : "off";
    c.block(); // $ok
    c.block(); // $slow
    this.depth += 2;
    if (mode !== "lit" && op.n === SP) {
      // SP alignment checking (SCTLR_EL1.SA/SA0) is the interpreter's.
      c.get(BASE).mem(OP.i32_load, xOff(SP)).i32(15).op(OP.i32_and).brIf(0);
    }
    // VA → local VA; the written-back base (pre/post) → T2.
    switch (mode) {
      case "lit": c.i64(BigInt.asUintN(64, this.vaOf(slot) + BigInt(op.off))).set(VA); break;
      case "off": this.rx(2 * op.n); c.i64(BigInt(op.off)).op(OP.i64_add).set(VA); break;
      case "pre": this.rx(2 * op.n); c.i64(BigInt(op.off)).op(OP.i64_add).tee(T2).set(VA); break;
      case "post": this.rx(2 * op.n); c.tee(VA).i64(BigInt(op.off)).op(OP.i64_add).set(T2); break;
      case "reg": {
        this.rx(2 * op.n);
        const opt = op.option;
        if (opt & 1) this.rx(2 * op.rm);
        else {
          this.rw(2 * op.rm);
          c.op(opt & 4 ? OP.i64_extend_i32_s : OP.i64_extend_i32_u);
        }
        if (op.shift !== 0) c.i64(BigInt(op.shift)).op(OP.i64_shl);
        c.op(OP.i64_add).set(VA);
        break;
      }
    }
    this.tlbCheck(store, size);
    this.hostAddress(store);
    if (store) {
      // A frame with decoded instructions: the interpreter's store invalidates them.
      c.get(H).i32(CODE_LINE_SHIFT).op(OP.i32_shr_u).mem(OP.i32_load8_u, 0).brIf(0);
      c.get(H);
      this.rx(2 * op.t);
      c.mem([OP.i64_store8, OP.i64_store16, OP.i64_store32, OP.i64_store][kind]!, 0);
    } else {
      c.get(BASE).get(H);
      switch (kind) {
        case K_LD8: c.mem(OP.i64_load8_u, 0); break;
        case K_LD16: c.mem(OP.i64_load16_u, 0); break;
        case K_LD32: c.mem(OP.i64_load32_u, 0); break;
        case K_LD64: c.mem(OP.i64_load, 0); break;
        case K_LDS8X: c.mem(OP.i64_load8_s, 0); break;
        case K_LDS16X: c.mem(OP.i64_load16_s, 0); break;
        case K_LDS32X: c.mem(OP.i64_load32_s, 0); break;
        case K_LDS8W: c.mem(OP.i32_load8_s, 0).op(OP.i64_extend_i32_u); break;
        case K_LDS16W: c.mem(OP.i32_load16_s, 0).op(OP.i64_extend_i32_u); break;
        default: throw new Error(`jit: load kind ${kind}`);
      }
      c.mem(OP.i64_store, xOff(op.t));
    }
    if (mode === "pre" || mode === "post") c.get(BASE).get(T2).mem(OP.i64_store, xOff(op.n));
    c.br(1); // $ok
    c.op(OP.end); // $slow
    this.depth--;
    this.helper(op, slot, i);
    this.depth--;
    c.op(OP.end); // $ok
  }

  /** LDP/STP/LDPSW: the fast path takes both halves from one page with one TLB lookup. */
  private pair(op: F, slot: number, i: number): void {
    const c = this.c;
    const name = op.name;
    const kind = op.kind;
    const store = kind <= 1;
    const esize = kind === 1 || kind === 3 ? 8 : 4;
    const mode = name.endsWith("_pre") ? "pre" : name.endsWith("_post") ? "post" : "off";
    c.block(); // $ok
    c.block(); // $slow
    this.depth += 2;
    if (op.n === SP) c.get(BASE).mem(OP.i32_load, xOff(SP)).i32(15).op(OP.i32_and).brIf(0);
    this.rx(2 * op.n);
    if (mode === "post") c.tee(VA).i64(BigInt(op.off)).op(OP.i64_add).set(T2);
    else {
      c.i64(BigInt(op.off)).op(OP.i64_add);
      if (mode === "pre") c.tee(T2);
      c.set(VA);
    }
    // Both halves in one page.
    c.get(VA).op(OP.i32_wrap_i64).i32(0xfff).op(OP.i32_and).i32(PAGE_BYTES - 2 * esize).op(OP.i32_gt_u).brIf(0);
    this.tlbCheck(store, esize);
    this.hostAddress(store);
    if (store) {
      // Both halves' lines (a pair spans at most two).
      c.get(H).i32(CODE_LINE_SHIFT).op(OP.i32_shr_u).mem(OP.i32_load8_u, 0).brIf(0);
      c.get(H).i32(2 * esize - 1).op(OP.i32_add).i32(CODE_LINE_SHIFT).op(OP.i32_shr_u).mem(OP.i32_load8_u, 0).brIf(0);
      const st = esize === 8 ? OP.i64_store : OP.i64_store32;
      c.get(H);
      this.rx(2 * op.t);
      c.mem(st, 0);
      c.get(H);
      this.rx(2 * op.t2);
      c.mem(st, esize);
    } else {
      const ld = kind === 3 ? OP.i64_load : kind === 4 ? OP.i64_load32_s : OP.i64_load32_u;
      c.get(H).mem(ld, 0).set(T0);
      c.get(H).mem(ld, esize).set(T1);
      c.get(BASE).get(T0).mem(OP.i64_store, xOff(op.t));
      c.get(BASE).get(T1).mem(OP.i64_store, xOff(op.t2));
    }
    if (mode !== "off") c.get(BASE).get(T2).mem(OP.i64_store, xOff(op.n));
    c.br(1);
    c.op(OP.end);
    this.depth--;
    this.helper(op, slot, i);
    this.depth--;
    c.op(OP.end);
  }

  /** H = the host address of VA: the page's host offset from the TLB entry at index A, plus VA's page offset. */
  private hostAddress(store: boolean): void {
    const c = this.c;
    c.get(BASE).get(A).i32(2).op(OP.i32_shl).op(OP.i32_add).mem(OP.i32_load, store ? OFF_WOFF : OFF_ROFF);
    c.get(VA).op(OP.i32_wrap_i64).i32(0xfff).op(OP.i32_and).op(OP.i32_add).set(H);
  }

  /** Branch to $slow (depth 0) unless VA is size-aligned and its page hits the fast TLB; leaves the index in A. */
  private tlbCheck(store: boolean, size: number): void {
    const c = this.c;
    if (size > 1) c.get(VA).op(OP.i32_wrap_i64).i32(size - 1).op(OP.i32_and).brIf(0);
    c.get(VA).i64(12n).op(OP.i64_shr_u).tee(T1).op(OP.i32_wrap_i64).i32(0xff).op(OP.i32_and).set(A);
    c.get(BASE).get(A).i32(3).op(OP.i32_shl).op(OP.i32_add).mem(OP.f64_load, store ? OFF_WTAG : OFF_RTAG);
    c.get(T1).op(OP.f64_convert_i64_u).op(OP.f64_eq).op(OP.i32_eqz).brIf(0);
  }
}

export function generate(p: UnitPlan, ops: readonly Op[], pageVa: bigint): Generated {
  const g = new Gen(p, ops, pageVa);
  const bytes = g.generate();
  return { bytes, helperOps: g.helperOps, helperSlots: g.helperSlots, helperEnds: Uint8Array.from(g.helperEnds) };
}
