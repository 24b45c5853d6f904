// Seeded random whole-machine programs for the interpreter-vs-JIT differential: integer code with
// loops and calls, loads and stores of every size (unaligned, page-crossing, faulting), code that
// rewrites itself, page-table edits with and without TLBI, SVC and aborts taken to an EL1 vector
// and returned from, EL0 code entered by ERET and left by SVC, MSRs to translation registers (trapped to EL2 when HCR_EL2.TVM is set), HVC
// exits, exclusives and SIMD&FP. A program is data (page images and a register state), so the two
// engines each get a fresh copy of the same machine.
//
// Layout (identity-mapped when the MMU is on; 4 KiB granule, 39-bit VA, levels 1-3):
//   VEC    0x010000  EL1 vectors: from EL1, SVC returns after itself, an instruction abort returns
//                    to X30, any other exception skips the instruction that took it; from EL0, the
//                    same but back to EL1
//   CODE   0x080000  the program, possibly spilling into the next pages, ending with `brk #0`
//   ALT_A  0x084000  `movz x0, #1; ret` (what ALIAS maps at first)
//   ALT_B  0x085000  `movz x0, #2; ret` (what a remap makes ALIAS point to)
//   TABLES 0x100000  stage-1 tables
//   DATA   0x200000  two data pages; 0x202000 is neither mapped nor backed
//   ALIAS  0x300000  a code page remapped by the program (unbacked with the MMU off)

import { ksAssemble, loadKeystoneEngine } from "../../../asm/keystone.ts";
import { PhysMemory } from "../../../emulator/memory.ts";
import { BASE_REG, BASE_VALUE, DATA_BASE, IDX_NEG, IDX_POS, Rng, generateCase, interestingU64 } from "../../oracle/gen.ts";
import { AF, AP_RW_EL1, Allocator, MAIR, SH_INNER, Tables, attrIndx, tcr } from "../mmu/pagetable.ts";

export const VEC = 0x10000n;
export const CODE = 0x80000n;
export const ALT_A = 0x84000n;
export const ALT_B = 0x85000n;
export const TABLES = 0x100000n;
export const DATA2 = DATA_BASE + 0x1000n;
export const UNBACKED = DATA_BASE + 0x2000n;
export const ALIAS = 0x300000n;
/** Pages of RAM every program has (CODE gets four, the tables four). */
export const RAM_PAGES: readonly bigint[] = [
  VEC, CODE, CODE + 0x1000n, CODE + 0x2000n, CODE + 0x3000n, ALT_A, ALT_B,
  TABLES, TABLES + 0x1000n, TABLES + 0x2000n, TABLES + 0x3000n, DATA_BASE, DATA2,
];
const MAX_CODE_BYTES = 0x4000;
const BRK0 = 0xd4200000;
const PAGE_ATTRS = AF | SH_INNER | attrIndx(0) | AP_RW_EL1 | 3n;
const TCR = tcr({ t0sz: 25, tg0: "4K", epd1: true, ips: 2 });
const SCTLR_M = 1n;
const HCR_TVM = 1n << 26n;
const CPACR_FPEN = 3n << 20n;

export const SEGMENT_KINDS = [
  "int", "loop", "call", "mem", "fault", "smc-ahead", "smc-loop", "remap", "svc", "msr", "exclusive", "simd", "hvc", "el0",
] as const;
export type SegmentKind = (typeof SEGMENT_KINDS)[number];

/** A whole machine: RAM pages (PA → 4 KiB image) and the state the host gives the CPU. */
export interface DiffProgram {
  seed: number;
  index: number;
  mmu: boolean;
  hcr: bigint;
  kinds: SegmentKind[];
  /** The program's words at CODE (for printing). */
  code: number[];
  pages: Map<bigint, Uint8Array>;
  x: bigint[];
  sp: bigint;
  nzcv: number;
  v: bigint[];
  fpcr: number;
  sysregs: { name: SysRegInit; value: bigint }[];
  /** Debugger breakpoints (addresses in the code): a run stops before each, then goes on. */
  breakpoints: bigint[];
}

type SysRegInit = "SCTLR_EL1" | "TCR_EL1" | "TTBR0_EL1" | "MAIR_EL1" | "VBAR_EL1" | "HCR_EL2" | "CPACR_EL1";

// ------------------------------------------------------------------ a tiny assembler

type Item =
  | { word: number }
  | { label: string }
  | { branch: "b" | "bl"; to: string }
  | { branch: "b.cond"; cond: number; to: string }
  | { branch: "cbz" | "cbnz"; rt: number; to: string }
  | { branch: "tbz" | "tbnz"; rt: number; bit: number; to: string }
  | { branch: "adr"; rd: number; to: string };

const asmCache = new Map<string, number>();

/** Keystone must be loaded before any program is generated. */
export function loadDiffAssembler(): Promise<void> {
  return loadKeystoneEngine();
}

/** One position-independent instruction, assembled once per distinct text. */
function ins(text: string): Item {
  let w = asmCache.get(text);
  if (w === undefined) {
    const r = ksAssemble(text, 0n);
    if (!r.ok || r.bytes.length !== 4) throw new Error(`diff_gen: cannot assemble '${text}'`);
    w = new DataView(r.bytes.buffer, r.bytes.byteOffset).getUint32(0, true);
    asmCache.set(text, w);
  }
  return { word: w };
}

const field = (v: number, bits: number): number => v & ((1 << bits) - 1);

/** Lay items out at `base` and resolve the labels (each segment's labels are its own). */
function link(items: readonly Item[]): number[] {
  const at = new Map<string, number>();
  let n = 0;
  for (const it of items) {
    if ("label" in it) at.set(it.label, n);
    else n++;
  }
  const out: number[] = [];
  for (const it of items) {
    if ("label" in it) continue;
    if ("word" in it) {
      out.push(it.word >>> 0);
      continue;
    }
    const target = at.get(it.to);
    if (target === undefined) throw new Error(`diff_gen: no label ${it.to}`);
    const off = target - out.length;
    let w: number;
    switch (it.branch) {
      case "b": w = 0x14000000 | field(off, 26); break;
      case "bl": w = 0x94000000 | field(off, 26); break;
      case "b.cond": w = 0x54000000 | (field(off, 19) << 5) | it.cond; break;
      case "cbz": case "cbnz": w = 0xb4000000 | ((it.branch === "cbnz" ? 1 : 0) << 24) | (field(off, 19) << 5) | it.rt; break;
      case "tbz": case "tbnz":
        w = ((it.bit >> 5) << 31) | 0x36000000 | ((it.branch === "tbnz" ? 1 : 0) << 24) | ((it.bit & 31) << 19) | (field(off, 14) << 5) | it.rt;
        break;
      case "adr": {
        const bytes = off * 4;
        w = 0x10000000 | ((bytes & 3) << 29) | (field(bytes >> 2, 19) << 5) | it.rd;
        break;
      }
    }
    out.push(w >>> 0);
  }
  return out;
}

/** MOVZ/MOVK sequence setting X`rd` to `v`. */
function movImm(rd: number, v: bigint): Item[] {
  const u = BigInt.asUintN(64, v);
  const out: Item[] = [{ word: (0xd2800000 | (Number(u & 0xffffn) << 5) | rd) >>> 0 }];
  for (let hw = 1; hw < 4; hw++) {
    const part = Number((u >> BigInt(16 * hw)) & 0xffffn);
    if (part !== 0) out.push({ word: (0xf2800000 | (hw << 21) | (part << 5) | rd) >>> 0 });
  }
  return out;
}

// ------------------------------------------------------------------ segments

interface Ctx {
  rng: Rng;
  seed: number;
  index: number;
  mmu: boolean;
  /** Labels are unique per program. */
  next: number;
  /** Descriptor address of ALIAS's level-3 entry. */
  aliasDesc: bigint;
}

const label = (c: Ctx, name: string): string => `${name}${c.next}`;
/** Registers segments may scribble on freely (X9..X14 are the segments' own scratch). */
const lowReg = (rng: Rng): number => rng.int(8);

/** Integer data processing on X0..X7 (no flags-free guarantee: the loops count in X9). */
function aluOp(rng: Rng): Item {
  const d = lowReg(rng), n = lowReg(rng), m = lowReg(rng);
  const imm = rng.int(4096);
  switch (rng.int(12)) {
    case 0: return ins(`add x${d}, x${n}, #${imm}`);
    case 1: return ins(`subs x${d}, x${n}, x${m}`);
    case 2: return ins(`eor x${d}, x${n}, x${m}, ror #${rng.int(64)}`);
    case 3: return ins(`madd x${d}, x${n}, x${m}, x${lowReg(rng)}`);
    case 4: return ins(`adds w${d}, w${n}, w${m}, lsl #${rng.int(32)}`);
    case 5: return ins(`csel x${d}, x${n}, x${m}, ${rng.pick(["eq", "ne", "lt", "hi", "vs", "cc"])}`);
    case 6: return ins(`udiv x${d}, x${n}, x${m}`);
    case 7: return ins(`ubfx x${d}, x${n}, #${rng.int(32)}, #${rng.range(1, 32)}`);
    case 8: return ins(`ldr x${d}, [x${BASE_REG}, #${rng.int(64) * 8}]`);
    case 9: return ins(`str w${d}, [x${BASE_REG}, #-${rng.int(64) * 4}]`);
    case 10: return ins(`clz x${d}, x${n}`);
    default: return ins(`ccmp x${n}, #${rng.int(32)}, #${rng.int(16)}, ${rng.pick(["ge", "le", "mi", "pl"])}`);
  }
}

/** Re-establish what generateCase's code takes for granted: X28 in the data page, X27/X26 small offsets. */
function intSegment(c: Ctx): Item[] {
  const tc = generateCase(c.seed ^ 0x1d1f, c.index * 64 + c.next, 3, 14);
  return [...movImm(BASE_REG, BASE_VALUE), ...movImm(IDX_POS, tc.x[IDX_POS]!), ...movImm(IDX_NEG, tc.x[IDX_NEG]!), ...tc.words.map((word) => ({ word }))];
}

function loopSegment(c: Ctx): Item[] {
  const { rng } = c;
  const top = label(c, "loop");
  const skip = label(c, "skip");
  const body: Item[] = [];
  for (let i = rng.range(1, 5); i > 0; i--) body.push(aluOp(rng));
  const r = lowReg(rng);
  const cond: Item = rng.chance(0.5) ? { branch: rng.pick(["cbz", "cbnz"] as const), rt: r, to: skip } : { branch: rng.pick(["tbz", "tbnz"] as const), rt: r, bit: rng.int(64), to: skip };
  return [
    ...movImm(BASE_REG, BASE_VALUE), ...movImm(9, BigInt(rng.range(1, 40))),
    { label: top }, ...body, cond, aluOp(rng), { label: skip },
    ins("subs x9, x9, #1"), { branch: "b.cond", cond: 1, to: top }, // b.ne
  ];
}

function callSegment(c: Ctx): Item[] {
  const { rng } = c;
  const fn = label(c, "fn");
  const over = label(c, "over");
  const body: Item[] = [];
  for (let i = rng.range(1, 4); i > 0; i--) body.push(aluOp(rng));
  const call: Item[] = rng.chance(0.5) ? [{ branch: "bl", to: fn }] : [{ branch: "adr", rd: 10, to: fn }, ins("blr x10")];
  const back = rng.chance(0.7) ? ins("ret") : ins("br x30");
  return [...movImm(BASE_REG, BASE_VALUE), ...call, aluOp(rng), { branch: "b", to: over }, { label: fn }, ...body, back, { label: over }];
}

const LOADS = ["ldrb w12", "ldrsb x12", "ldrh w12", "ldrsh w12", "ldr w12", "ldrsw x12", "ldr x12", "ldr s1", "ldr d1", "ldr q1"];
const STORES = ["strb w12", "strh w12", "str w12", "str x12", "str d1", "str q1"];
const PAIRS = ["ldp x12, x13", "stp x12, x13", "ldp w12, w13", "stp w12, w13", "ldpsw x12, x13", "ldp q1, q2", "stp d1, d2"];

/** One access through X11, as offset, pre-index or post-index (writeback moves X11). */
function access(rng: Rng): Item {
  const kind = rng.int(3);
  const op = kind === 0 ? rng.pick(LOADS) : kind === 1 ? rng.pick(STORES) : rng.pick(PAIRS);
  if (kind === 2) {
    const sz = op.includes(" q") ? 16 : op.includes(" x") || op.includes(" d") ? 8 : 4;
    const off = rng.range(-4, 4) * sz;
    return ins(rng.pick([`${op}, [x11, #${off}]`, `${op}, [x11, #${off}]!`, `${op}, [x11], #${off}`]));
  }
  const off = rng.range(-16, 16);
  if (rng.chance(0.5)) return ins(`${op.replace(/^(ld|st)r/, "$1ur")}, [x11, #${off}]`);
  return ins(rng.pick([`${op}, [x11, #${off}]!`, `${op}, [x11], #${off}`]));
}

/** Accesses around the data pages' boundary (page-crossing, unaligned) and next to the unbacked page. */
function memSegment(c: Ctx): Item[] {
  const { rng } = c;
  const out: Item[] = [];
  for (let i = rng.range(1, 4); i > 0; i--) {
    const edge = rng.chance(0.8) ? DATA2 : UNBACKED;
    out.push(...movImm(11, edge + BigInt(rng.range(-24, 24))), access(rng));
    if (rng.chance(0.5)) out.push(aluOp(rng));
  }
  return out;
}

/** A fault in the middle of straight-line code: a data abort, or a call into unmapped code. */
function faultSegment(c: Ctx): Item[] {
  const { rng } = c;
  const pre: Item[] = [aluOp(rng), aluOp(rng)];
  const post: Item[] = [aluOp(rng), aluOp(rng)];
  if (rng.chance(0.7)) return [...pre, ...movImm(11, UNBACKED + BigInt(rng.int(0x1000))), access(rng), ...post];
  return [...pre, ...movImm(10, rng.pick([UNBACKED, 0x7000_0000n, ALIAS + 0x1000n])), ins("blr x10"), ...post];
}

/** A store that rewrites an instruction ahead, which then runs (with or without the cache maintenance). */
function smcAheadSegment(c: Ctx): Item[] {
  const { rng } = c;
  const target = label(c, "patch");
  const newWord = ins(`add x${lowReg(rng)}, x${lowReg(rng)}, #${rng.int(4096)}`) as { word: number };
  const sync = rng.chance(0.5) ? [ins("dc cvau, x12"), ins("dsb ish"), ins("ic ivau, x12"), ins("dsb ish"), ins("isb")] : [];
  const filler: Item[] = [];
  for (let i = rng.int(3); i > 0; i--) filler.push(aluOp(rng));
  return [
    { branch: "adr", rd: 12, to: target }, ...movImm(13, BigInt(newWord.word)), ins("str w13, [x12]"), ...sync, ...filler,
    { label: target }, ins(`movz x${lowReg(rng)}, #${rng.int(65536)}`), aluOp(rng),
  ];
}

/** A loop that rewrites one of its own, already executed, instructions on every iteration. */
function smcLoopSegment(c: Ctx): Item[] {
  const { rng } = c;
  const top = label(c, "sloop");
  const patched = label(c, "spatch");
  const d = lowReg(rng);
  const base = (ins(`add x${d}, x${d}, #0`) as { word: number }).word;
  return [
    ...movImm(9, BigInt(rng.range(2, 12))), { branch: "adr", rd: 12, to: patched }, ...movImm(13, BigInt(base)),
    { label: top }, { label: patched }, ins(`add x${d}, x${d}, #0`), aluOp(rng),
    ins("add w13, w13, #0x400"), // the next iteration adds 1 more (imm12 sits at bit 10)
    ins("str w13, [x12]"), ...(rng.chance(0.5) ? [ins("isb")] : []),
    ins("subs x9, x9, #1"), { branch: "b.cond", cond: 1, to: top },
  ];
}

/** Call ALIAS, point its page-table entry at the other page, maybe TLBI, call it again. */
function remapSegment(c: Ctx): Item[] {
  const { rng } = c;
  const to = rng.pick([ALT_A, ALT_B]);
  const desc = rng.chance(0.85) ? to | PAGE_ATTRS : 0n; // or unmap it
  const tlbi: Item[] = rng.pick([
    [ins("dsb ish"), ins("tlbi vmalle1"), ins("dsb ish"), ins("isb")],
    [ins("dsb ish"), ins("tlbi vae1is, x14"), ins("dsb ish"), ins("isb")],
    [ins("tlbi vale1, x14"), ins("isb")],
    [ins("tlbi vaae1, x14")],
    [], // no TLBI: a stale entry stays in use
  ]);
  return [
    ...movImm(10, ALIAS), ins("blr x10"),
    ...movImm(12, c.aliasDesc), ...movImm(13, desc), ...movImm(14, ALIAS >> 12n), ins("str x13, [x12]"), ...tlbi,
    ins("blr x10"), aluOp(rng),
  ];
}

function svcSegment(c: Ctx): Item[] {
  const { rng } = c;
  return [aluOp(rng), ins(`svc #${rng.int(65536)}`), aluOp(rng)];
}

function hvcSegment(c: Ctx): Item[] {
  const { rng } = c;
  return [aluOp(rng), ins(`hvc #${rng.int(65536)}`), aluOp(rng)];
}

/** MSRs to the registers that shape translation (an exit each under HCR_EL2.TVM). */
function msrSegment(c: Ctx): Item[] {
  const { rng } = c;
  switch (rng.int(5)) {
    case 0: // the MMU off and on again around some accesses
      return [ins("mrs x12, sctlr_el1"), ins("bic x13, x12, #1"), ins("msr sctlr_el1, x13"), ins("isb"), ...memSegment(c), ins("msr sctlr_el1, x12"), ins("isb")];
    case 1: // a new ASID in TTBR0
      return [ins("mrs x12, ttbr0_el1"), ...movImm(13, BigInt(rng.int(256)) << 48n), ins("bfxil x13, x12, #0, #48"), ins("msr ttbr0_el1, x13"), ins("isb"), ...memSegment(c)];
    case 2:
      return [ins("mrs x12, tcr_el1"), ins("msr tcr_el1, x12"), ins("isb"), ins("mrs x13, mair_el1"), ins("msr mair_el1, x13")];
    case 3:
      return [...movImm(12, BigInt(rng.int(65536))), ins("msr contextidr_el1, x12"), ins("msr tpidr_el1, x12"), ins("mrs x13, contextidr_el1")];
    default:
      return [ins("mrs x12, vbar_el1"), ins("msr vbar_el1, x12"), ins("isb"), ins(`svc #${rng.int(16)}`)];
  }
}

function exclusiveSegment(c: Ctx): Item[] {
  const { rng } = c;
  const addr = DATA_BASE + BigInt(rng.int(0x100) * 8);
  const between: Item[] = rng.pick([[], [aluOp(rng)], [ins("clrex")], [ins("str x13, [x11, #8]")], [ins("svc #0")], [ins("str x13, [x11]")]]);
  const size = rng.pick(["x", "w"]);
  const retry = label(c, "excl");
  return [
    ...movImm(11, addr), { label: retry }, ins(`ldxr ${size}12, [x11]`), ...between, ins(`add ${size}12, ${size}12, #1`),
    ins(`stxr w13, ${size}12, [x11]`), ...(rng.chance(0.3) ? [ins("ldaxr x12, [x11]"), ins("stlxr w13, x12, [x11]")] : []),
  ];
}

function simdSegment(c: Ctx): Item[] {
  const { rng } = c;
  const v = () => rng.int(8);
  const ops = [
    () => `fadd d${v()}, d${v()}, d${v()}`,
    () => `fmul s${v()}, s${v()}, s${v()}`,
    () => `fdiv d${v()}, d${v()}, d${v()}`,
    () => `fsqrt d${v()}, d${v()}`,
    () => `add v${v()}.4s, v${v()}.4s, v${v()}.4s`,
    () => `eor v${v()}.16b, v${v()}.16b, v${v()}.16b`,
    () => `fcvtzs x${lowReg(rng)}, d${v()}`,
    () => `scvtf d${v()}, x${lowReg(rng)}`,
    () => `fmov d${v()}, x${lowReg(rng)}`,
    () => `fcmp d${v()}, d${v()}`,
    () => `ldr q${v()}, [x${BASE_REG}, #${rng.int(32) * 16}]`,
    () => `str q${v()}, [x${BASE_REG}, #${rng.int(32) * 16}]`,
    () => `umov w${lowReg(rng)}, v${v()}.h[${rng.int(8)}]`,
  ];
  const out: Item[] = [...movImm(BASE_REG, BASE_VALUE)];
  for (let i = rng.range(2, 5); i > 0; i--) out.push(ins(rng.pick(ops)()));
  return out;
}

/** ERET to EL0, some code there (its data accesses fault: the pages are EL1-only), SVC back up. */
function el0Segment(c: Ctx): Item[] {
  const { rng } = c;
  const at = label(c, "el0");
  const body: Item[] = [];
  for (let i = rng.range(1, 4); i > 0; i--) body.push(aluOp(rng));
  return [
    { branch: "adr", rd: 13, to: at }, ins("msr elr_el1, x13"), ins("msr spsr_el1, xzr"), ins("eret"),
    { label: at }, ...body, ins(`svc #${rng.int(65536)}`),
  ];
}

const SEGMENTS: Record<SegmentKind, (c: Ctx) => Item[]> = {
  int: intSegment, loop: loopSegment, call: callSegment, mem: memSegment, fault: faultSegment,
  "smc-ahead": smcAheadSegment, "smc-loop": smcLoopSegment, remap: remapSegment, svc: svcSegment,
  msr: msrSegment, exclusive: exclusiveSegment, simd: simdSegment, hvc: hvcSegment, el0: el0Segment,
};

// ------------------------------------------------------------------ the fixed parts

/** The EL1 synchronous handler: SVC returns after itself, an instruction abort to X30, the rest skip. */
function vectorHandler(): number[] {
  return link([
    ins("mrs x16, esr_el1"), ins("lsr x16, x16, #26"), ins("cmp x16, #0x15"), { branch: "b.cond", cond: 0, to: "out" },
    ins("cmp x16, #0x21"), { branch: "b.cond", cond: 1, to: "skip" }, ins("msr elr_el1, x30"), { branch: "b", to: "out" },
    { label: "skip" }, ins("mrs x17, elr_el1"), ins("add x17, x17, #4"), ins("msr elr_el1, x17"),
    { label: "out" }, ins("mrs x17, far_el1"), ins("add x25, x25, #1"), ins("eret"),
  ]);
}

/**
 * The handler of exceptions from EL0: after an SVC, or skipping the instruction that faulted, it
 * returns to EL1h (DAIF masked) rather than to EL0, which ends the program's EL0 excursion.
 */
function lowerElHandler(): number[] {
  return link([
    ins("mrs x16, esr_el1"), ins("lsr x16, x16, #26"), ins("cmp x16, #0x15"), { branch: "b.cond", cond: 0, to: "up" },
    ins("mrs x17, elr_el1"), ins("add x17, x17, #4"), ins("msr elr_el1, x17"),
    { label: "up" }, ins("movz x16, #0x3c5"), ins("msr spsr_el1, x16"), ins("add x24, x24, #1"), ins("eret"),
  ]);
}

function wordsToBytes(words: readonly number[]): Uint8Array {
  const bytes = new Uint8Array(words.length * 4);
  const dv = new DataView(bytes.buffer);
  words.forEach((w, i) => dv.setUint32(i * 4, w, true));
  return bytes;
}

// ------------------------------------------------------------------ programs

/** Program `index` of `seed`: always the same machine. */
export function generateDiffProgram(seed: number, index: number): DiffProgram {
  const rng = new Rng(seed, index);
  const mmu = rng.chance(0.7);
  const hcr = rng.chance(0.25) ? HCR_TVM : 0n;

  const scratch = new PhysMemory({ autoAllocate: true });
  const tables = new Tables(scratch, { granule: "4K", startLevel: 1, iaBits: 39, alloc: new Allocator(TABLES) });
  for (const page of [VEC, CODE, CODE + 0x1000n, CODE + 0x2000n, CODE + 0x3000n, ALT_A, ALT_B, TABLES, TABLES + 0x1000n, TABLES + 0x2000n, TABLES + 0x3000n, DATA_BASE, DATA2]) {
    tables.map(page, page, 3, PAGE_ATTRS);
  }
  const aliasDesc = tables.map(ALIAS, rng.pick([ALT_A, ALT_B]), 3, PAGE_ATTRS);

  const c: Ctx = { rng, seed, index, mmu, next: 0, aliasDesc };
  const kinds: SegmentKind[] = [];
  const items: Item[] = [];
  for (let n = rng.range(3, 9); n > 0; n--) {
    const kind = rng.pick(SEGMENT_KINDS);
    kinds.push(kind);
    items.push(...SEGMENTS[kind](c));
    c.next++;
  }
  const code = [...link(items), BRK0];
  if (code.length * 4 > MAX_CODE_BYTES) throw new Error(`diff_gen: program ${index} is ${code.length} words`);

  scratch.writeBytes(Number(CODE), wordsToBytes(code));
  scratch.writeBytes(Number(VEC + 0x200n), wordsToBytes(vectorHandler()));
  scratch.writeBytes(Number(VEC + 0x400n), wordsToBytes(lowerElHandler()));
  scratch.writeBytes(Number(ALT_A), wordsToBytes(link([ins("movz x0, #1"), ins("add x1, x1, #1"), ins("ret")])));
  scratch.writeBytes(Number(ALT_B), wordsToBytes(link([ins("movz x0, #2"), ins("sub x1, x1, #1"), ins("ret")])));
  const data = new Uint8Array(0x2000);
  const dv = new DataView(data.buffer);
  for (let off = 0; off < data.length; off += 8) dv.setBigUint64(off, interestingU64(rng), true);
  scratch.writeBytes(Number(DATA_BASE), data);

  const pages = new Map<bigint, Uint8Array>();
  for (const p of RAM_PAGES) pages.set(p, scratch.readBytes(Number(p), 0x1000));

  const x: bigint[] = [];
  for (let i = 0; i <= 30; i++) x.push(interestingU64(rng));
  x[BASE_REG] = BASE_VALUE; // the ALU snippets load and store through X28 from the start
  const v: bigint[] = [];
  for (let i = 0; i < 32; i++) v.push((interestingU64(rng) << 64n) | interestingU64(rng));
  const breakpoints: bigint[] = [];
  for (let n = rng.pick([0, 0, 1, 2, 3]); n > 0; n--) breakpoints.push(CODE + BigInt(4 * rng.int(code.length)));
  return {
    seed, index, mmu, hcr, kinds, code, pages, x, breakpoints,
    sp: DATA_BASE + BigInt(rng.int(0x100) * 16),
    nzcv: rng.int(16),
    v,
    fpcr: rng.pick([0, 0x400000, 0x800000, 0xc00000, 0x1000000, 0x2000000, 0x3c00000]),
    sysregs: [
      { name: "VBAR_EL1", value: VEC },
      { name: "MAIR_EL1", value: MAIR },
      { name: "TCR_EL1", value: TCR },
      { name: "TTBR0_EL1", value: tables.root },
      { name: "CPACR_EL1", value: CPACR_FPEN },
      { name: "HCR_EL2", value: hcr },
      ...(mmu ? [{ name: "SCTLR_EL1" as const, value: 0x30d00800n | SCTLR_M }] : []),
    ],
  };
}
