// Table walks for the debugger, one stage at a time, keeping every descriptor read so `pt` can show
// them and memory commands can say where a translation stopped. They are the CPU's walks (the
// shared walk core and translation walker, with the same Translation and Address size checks) in
// debug mode: descriptors come through a reader of the table's own address space, and nothing
// touches a TLB or an access flag: looking at the guest must not change what it later sees.

import { SysRegFile } from "../emulator/sysregs.ts";
import { af, ap, descHi, descLo, pteAddress, pxn, s2ap, s2xn, uxn } from "../emulator/mmu/descriptor.ts";
import { levelShift } from "../emulator/mmu/granule.ts";
import { stage1InputAddress, stage1Regime } from "../emulator/mmu/stage1.ts";
import { stage2Regime } from "../emulator/mmu/stage2.ts";
import {
  kvmPgtableWalk, resetTranslation, type TableMemory, type TranslationState, translationVisit, WALK_ADDRESS_SIZE, WALK_STOP,
  WALK_TABLE_PRE, WALK_UNREADABLE, WalkCtx, walker, type WalkSetup,
} from "../emulator/mmu/walk.ts";
import { hex } from "../emulator/types.ts";

/** One descriptor read. */
export interface WalkStep {
  level: number;
  /** Base of the table, in the table's own address space. */
  table: bigint;
  index: number;
  /** Address of the descriptor (table + 8 × index). */
  address: bigint;
  /** The descriptor, or null when its address is not memory. */
  desc: bigint | null;
  /** "table → 0x…", "page → 0x… (R W X)", "invalid", … */
  meaning: string;
}

/** The walk of one stage for one input address. */
export interface StageWalk {
  /** "L2 stage-1", "L1 stage-2", "canonical stage-2", "shadow stage-2 (mmu0)". */
  name: string;
  /** Input and output address-space names ("L2 VA", "nested IPA", …). */
  from: string;
  to: string;
  /** Where the tables live ("nested IPA", "canonical IPA", "host PA"). */
  tablesIn: string;
  input: bigint;
  /** False: this stage is off and output = input. */
  enabled: boolean;
  steps: WalkStep[];
  /** The translated address, or null when the walk stopped (see `stopped`). */
  output: bigint | null;
  /** Size of the leaf's region. */
  size: bigint | null;
  /** Permissions of the leaf, as text. */
  perms: string | null;
  stopped: string | null;
}

/** Reads a 64-bit descriptor at an address of the table's space; null (or a reason) when that is not memory. */
export type DescriptorReader = (address: bigint) => bigint | string | null;

export type PermDecoder = (desc: bigint) => string;

/** Stage-1 leaf permissions (AP[2:1], PXN, UXN) as text. */
export function stage1Perms(desc: bigint): string {
  const a = ap(descLo(desc));
  const el1 = a & 2 ? "ro" : "rw";
  const el0 = a & 1 ? (a & 2 ? "ro" : "rw") : "none";
  const hi = descHi(desc);
  return `EL1 ${el1}, EL0 ${el0}${pxn(hi) ? " PXN" : ""}${uxn(hi) ? " UXN" : ""}`;
}

/** Stage-2 leaf permissions (S2AP, XN) as text. */
export function stage2Perms(desc: bigint): string {
  const a = s2ap(descLo(desc));
  return `${a & 1 ? "R" : "-"}${a & 2 ? "W" : "-"}${s2xn(descHi(desc)) ? "-" : "X"}`;
}

/** Descriptors through a DescriptorReader; why the last one could not be read. */
class ReaderTables implements TableMemory {
  private readonly scratch = new DataView(new ArrayBuffer(8));
  why = "";

  constructor(private readonly read: DescriptorReader) {}

  locate(ctx: WalkCtx): boolean {
    const got = this.read(BigInt(ctx.table + ctx.index * 8));
    if (typeof got !== "bigint") {
      this.why = typeof got === "string" ? got : "not memory";
      return false;
    }
    this.scratch.setBigUint64(0, got, true);
    ctx.view = this.scratch;
    ctx.off = 0;
    return true;
  }
}

/** A translation walk that keeps a step for every descriptor it visits. */
interface Tracing extends TranslationState {
  readonly w: StageWalk;
  readonly granuleShift: number;
}

function tracingVisit(ctx: WalkCtx, visit: number, t: Tracing): number {
  const step = stepOf(ctx);
  t.w.steps.push(step);
  if (visit === WALK_TABLE_PRE) step.meaning = `table → ${hex(pteAddress(step.desc!, t.granuleShift))}`;
  else if ((ctx.lo & 1) === 0) step.meaning = "invalid";
  return translationVisit(ctx, visit, t);
}

function stepOf(ctx: WalkCtx): WalkStep {
  const table = BigInt(ctx.table);
  return { level: ctx.level, table, index: ctx.index, address: table + BigInt(ctx.index) * 8n, desc: ctx.desc(), meaning: "" };
}

/**
 * Walk `setup`'s tables for input address `ia` (below 2^48), reading descriptors with `read`.
 * Fills `w.steps`, `w.output`, `w.size`, `w.perms` or `w.stopped`.
 */
export function tracedWalk(w: StageWalk, setup: WalkSetup, ia: bigint, read: DescriptorReader, perms: PermDecoder): StageWalk {
  const g = setup.granule;
  const at = Number(ia);
  const tables = new ReaderTables(read);
  const tracing = walker<Tracing>(tracingVisit, { table: 0, hierarchical: false, w, granuleShift: g.shift }, 0);
  resetTranslation(tracing, setup);
  tracing.flags |= WALK_TABLE_PRE;
  const ctx = new WalkCtx();
  const r = kvmPgtableWalk(tables, setup, at, at + 1, tracing, ctx);
  const level = ctx.level;
  if (r === WALK_UNREADABLE) {
    const table = BigInt(ctx.table);
    const address = table + BigInt(ctx.index) * 8n;
    w.steps.push({ level, table, index: ctx.index, address, desc: null, meaning: tables.why });
    w.stopped = `level ${level}: the descriptor at ${w.tablesIn} ${hex(address)} cannot be read (${tables.why})`;
    return w;
  }
  if (r !== WALK_STOP && r !== WALK_ADDRESS_SIZE && (ctx.lo & 1) === 0) {
    w.stopped = `level ${level}: invalid descriptor (translation fault)`;
    return w;
  }
  const desc = ctx.desc();
  const table = level < 3 && (ctx.lo & 2) !== 0;
  if (table) {
    // Only an Address size fault stops a walk at a Table descriptor.
    const next = pteAddress(desc, g.shift);
    w.steps.push({ ...stepOf(ctx), meaning: `table → ${hex(next)}` });
    w.stopped = `level ${level}: table address ${hex(next)} is above the ${setup.oaBits}-bit output size (address size fault)`;
    return w;
  }
  if (r !== WALK_STOP && r !== WALK_ADDRESS_SIZE) {
    w.steps.push({ ...stepOf(ctx), meaning: "reserved encoding" });
    w.stopped = `level ${level}: ${level === 3 ? "block encoding at level 3" : "block not allowed at this level"} (translation fault)`;
    return w;
  }
  const shift = levelShift(g, level);
  const size = 1n << BigInt(shift);
  const oa = pteAddress(desc, shift);
  const kind = level === 3 ? "page" : "block";
  w.perms = perms(desc);
  const meaning = `${kind} → ${hex(oa)} (${w.perms}${af(ctx.lo) ? "" : ", AF=0"})`;
  if (r === WALK_ADDRESS_SIZE) {
    w.steps.push({ ...stepOf(ctx), meaning });
    w.stopped = `level ${level}: output address ${hex(oa)} is above the ${setup.oaBits}-bit output size (address size fault)`;
    return w;
  }
  w.steps[w.steps.length - 1]!.meaning = meaning;
  if (!af(ctx.lo)) {
    w.stopped = `level ${level}: access flag clear (access flag fault)`;
    return w;
  }
  w.output = oa | (ia & (size - 1n));
  w.size = size;
  return w;
}

export function newWalk(name: string, from: string, to: string, tablesIn: string, input: bigint): StageWalk {
  return { name, from, to, tablesIn, input, enabled: true, steps: [], output: null, size: null, perms: null, stopped: null };
}

/** The stage is off: the output is the input. */
export function identityWalk(w: StageWalk): StageWalk {
  w.enabled = false;
  w.output = w.input;
  return w;
}

export interface Stage1Regs {
  SCTLR_EL1: bigint;
  TCR_EL1: bigint;
  TTBR0_EL1: bigint;
  TTBR1_EL1: bigint;
  MAIR_EL1: bigint;
}

/** Stage-1 walk of an EL1&0-format regime (`regs`), descriptors read by `read` (tables at IPAs). */
export function stage1TracedWalk(w: StageWalk, regs: Stage1Regs, va: bigint, read: DescriptorReader): StageWalk {
  const sr = new SysRegFile();
  Object.assign(sr, regs);
  const r = stage1Regime(sr, va);
  if (r.error !== null) {
    w.stopped = `level 0: ${hex(va)} is outside the ranges TCR_EL1 (${hex(regs.TCR_EL1)}) enables (translation or address size fault)`;
    return w;
  }
  return tracedWalk(w, r.setup, BigInt(stage1InputAddress(r, va)), read, stage1Perms);
}

/** Stage-2 walk with VTCR/VTTBR `vtcr`/`vttbr`, descriptors read by `read` (tables at PAs of the next level). */
export function stage2TracedWalk(w: StageWalk, vtcr: bigint, vttbr: bigint, ipa: bigint, read: DescriptorReader): StageWalk {
  const sr = new SysRegFile();
  sr.VTCR_EL2 = vtcr;
  sr.VTTBR_EL2 = vttbr;
  const r = stage2Regime(sr);
  if (r.error !== null) {
    w.stopped = `level 0: VTCR_EL2 ${hex(vtcr)} / VTTBR_EL2 ${hex(vttbr)} cannot be walked`;
    return w;
  }
  if (ipa >> BigInt(r.ipaBits) !== 0n) {
    w.stopped = `level 0: ${hex(ipa)} is above the ${r.ipaBits}-bit input size (translation fault)`;
    return w;
  }
  return tracedWalk(w, r.setup, ipa, read, stage2Perms);
}
