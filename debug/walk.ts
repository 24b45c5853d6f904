// Table walks for the debugger, one stage at a time, keeping every descriptor read so `pt` can show
// them and memory commands can say where a translation stopped. These walks read memory without
// touching any TLB or access flag: looking at the guest must not change what it later sees.

import { SysRegFile } from "../emulator/sysregs.ts";
import { blockAllowed, type Granule, levelShift } from "../emulator/mmu/granule.ts";
import { stage1Regime } from "../emulator/mmu/stage1.ts";
import { stage2Regime } from "../emulator/mmu/stage2.ts";
import type { WalkSetup } from "../emulator/mmu/walk.ts";
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

const MASK48 = (1n << 48n) - 1n;

function field(desc: bigint, shift: number): bigint {
  return desc & MASK48 & ~((1n << BigInt(shift)) - 1n);
}

/** Stage-1 leaf permissions (AP[2:1], PXN, UXN) as text. */
export function stage1Perms(desc: bigint): string {
  const ap = Number((desc >> 6n) & 3n);
  const el1 = ap & 2 ? "ro" : "rw";
  const el0 = ap & 1 ? (ap & 2 ? "ro" : "rw") : "none";
  const pxn = (desc >> 53n) & 1n ? " PXN" : "";
  const uxn = (desc >> 54n) & 1n ? " UXN" : "";
  return `EL1 ${el1}, EL0 ${el0}${pxn}${uxn}`;
}

/** Stage-2 leaf permissions (S2AP, XN) as text. */
export function stage2Perms(desc: bigint): string {
  const s2ap = Number((desc >> 6n) & 3n);
  const r = s2ap & 1 ? "R" : "-";
  const w = s2ap & 2 ? "W" : "-";
  const x = (desc >> 54n) & 1n ? "-" : "X";
  return `${r}${w}${x}`;
}

/**
 * Walk `setup`'s tables for input address `ia` (below 2^48), reading descriptors with `read`.
 * Fills `w.steps`, `w.output`, `w.size`, `w.perms` or `w.stopped`.
 */
export function tracedWalk(w: StageWalk, setup: WalkSetup, ia: bigint, read: DescriptorReader, perms: PermDecoder): StageWalk {
  const g: Granule = setup.granule;
  let level = setup.startLevel;
  let bits = setup.startBits;
  let table = BigInt(setup.base);
  for (;;) {
    const shift = levelShift(g, level);
    const index = Number((ia >> BigInt(shift)) & ((1n << BigInt(bits)) - 1n));
    const address = table + BigInt(index) * 8n;
    const got = read(address);
    const desc = typeof got === "bigint" ? got : null;
    const step: WalkStep = { level, table, index, address, desc, meaning: "" };
    w.steps.push(step);
    if (desc === null) {
      step.meaning = typeof got === "string" ? got : "not memory";
      w.stopped = `level ${level}: the descriptor at ${w.tablesIn} ${hex(address)} cannot be read (${step.meaning})`;
      return w;
    }
    if ((desc & 1n) === 0n) {
      step.meaning = "invalid";
      w.stopped = `level ${level}: invalid descriptor (translation fault)`;
      return w;
    }
    const tableBit = (desc & 2n) !== 0n;
    if (level < 3 && tableBit) {
      table = field(desc, g.shift);
      step.meaning = `table → ${hex(table)}`;
      level++;
      bits = g.stride;
      continue;
    }
    if (level === 3 ? !tableBit : !blockAllowed(g, level)) {
      step.meaning = "reserved encoding";
      w.stopped = `level ${level}: ${level === 3 ? "block encoding at level 3" : "block not allowed at this level"} (translation fault)`;
      return w;
    }
    const size = 1n << BigInt(shift);
    const oa = field(desc, shift);
    const kind = level === 3 ? "page" : "block";
    w.perms = perms(desc);
    step.meaning = `${kind} → ${hex(oa)} (${w.perms}${(desc >> 10n) & 1n ? "" : ", AF=0"})`;
    if (((desc >> 10n) & 1n) === 0n) {
      w.stopped = `level ${level}: access flag clear (access flag fault)`;
      return w;
    }
    w.output = oa | (ia & (size - 1n));
    w.size = size;
    return w;
  }
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
  return tracedWalk(w, r.setup, va & MASK48, read, stage1Perms);
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
