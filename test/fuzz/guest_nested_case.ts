// The machine of the nested guest-state fuzz suite (guest_nested.test.ts). One L1 program builds
// the state for its L2 from a parameter block each case fills: random stage-2 descriptors in L1's
// tables, random VTCR_EL2/HCR_EL2 (NV bits included) and SCTLR_EL1/TCR_EL1 for L2, random
// SPSR_EL2/ELR_EL2 for the ERET, and random system-register writes and SYS instructions from L1
// (and two from L2). L2 then touches random addresses. Each run must end as the architecture and
// KVM allow: L1 powers off (from its code, or from its vector after an injected exception), the
// step budget runs out, or a GuestError with a report; never another exception, never an
// invariant violation (the checker is on).

import fc from "fast-check";
import { expect } from "vitest";
import { assemble } from "../../asm/assembler.ts";
import type { Image } from "../../asm/image.ts";
import { SYSREG_TABLE } from "../../emulator/sysreg_table.ts";
import { kvmArchVcpuRun } from "../../hypervisor/scheduler.ts";
import { prepareVm, type RunOutcome, runOutcome, withHostReport } from "../../lab/run.ts";

const L1_BASE = 0x4010_0000n;
const MEMORY = 32n << 20n;
/** L1's stage-2 tables for L2: 16 pages of 64K (a start table of 16 concatenated 64K tables fits). */
const POOL = 0x4100_0000n;
const POOL_PAGES = 16;
const PAGE64K = 0x1_0000;
const MAX_STEPS = 20_000;
const MASK48 = (1n << 48n) - 1n;

/** Random MSR/SYS slots L1 executes before it sets up L2. */
const SYS_SLOTS = 8;

// Parameter block (one 64-bit word each): the L2 state L1 programs, the values of the random MSRs,
// and L2's x0..x6 (the addresses it touches).
const P_HCR = 0, P_VTCR = 1, P_VTTBR = 2, P_SCTLR = 3, P_TCR = 4, P_TTBR0 = 5, P_MAIR = 6, P_SPSR = 7, P_ELR = 8;
const P_SYSVAL = 9;
const P_L2X = P_SYSVAL + SYS_SLOTS;
/** L2's x0..x8: x0..x6 the addresses it touches, x7/x8 the values of its two random MSRs. */
const L2_REGS = 9;
const P_WORDS = P_L2X + L2_REGS;
/** Random MSR/SYS slots L2 executes (at EL1, or EL0) after its accesses. */
const L2_SYS_SLOTS = 2;

const ldrParam = (reg: string, word: number) => `ldr ${reg}, [x28, #${word * 8}]`;

/**
 * L1: random MSRs first (values in x9..x16), then VBAR_EL2 and the L2 state from the parameters,
 * then ERET. Its vector stores the vector offset in x27; a data abort from L2 is skipped (up to
 * five times) so that L2's later accesses run too; anything else powers off with code
 * vector offset + EC.
 */
const L1_SRC = `
    adr x0, vec
    msr vbar_el2, x0
    mov x19, #0
    adr x28, params
    ${Array.from({ length: SYS_SLOTS }, (_, i) => ldrParam(`x${9 + i}`, P_SYSVAL + i)).join("\n    ")}
  sys_slots:
    ${Array.from({ length: SYS_SLOTS }, () => "nop").join("\n    ")}
    adr x28, params
    adr x0, vec
    msr vbar_el2, x0
    mov64 x0, 0x40f00000
    mov sp, x0
    mov x19, #0
    ${ldrParam("x0", P_HCR)}
    msr hcr_el2, x0
    ${ldrParam("x0", P_VTCR)}
    msr vtcr_el2, x0
    ${ldrParam("x0", P_VTTBR)}
    msr vttbr_el2, x0
    ${ldrParam("x0", P_SCTLR)}
    msr sctlr_el1, x0
    ${ldrParam("x0", P_TCR)}
    msr tcr_el1, x0
    ${ldrParam("x0", P_TTBR0)}
    msr ttbr0_el1, x0
    ${ldrParam("x0", P_MAIR)}
    msr mair_el1, x0
    ${ldrParam("x0", P_SPSR)}
    msr spsr_el2, x0
    ${ldrParam("x0", P_ELR)}
    msr elr_el2, x0
    ${Array.from({ length: L2_REGS }, (_, i) => ldrParam(`x${i}`, P_L2X + i)).join("\n    ")}
    eret

  handler:
    mrs x20, esr_el2
    mrs x21, far_el2
    mrs x22, elr_el2
    add x19, x19, #1
    lsr x23, x20, #26
    cmp x19, #12
    b.hs off
    cmp x27, #0x200
    b.ne 1f
    cbz x23, skip
  1:
    cmp x27, #0x400
    b.ne off
    cmp x23, #0x24
    b.ne off
  skip:
    add x22, x22, #4
    msr elr_el2, x22
    eret
  off:
    mov64 x0, 0x84000008
    add x1, x23, x27
    smc #0

  l2_entry:
    ldr x9, [x0]
    str x9, [x1]
    ldr x9, [x2]
    str x9, [x3]
    at s1e1r, x4
    ldr x9, [x5]
  l2_sys:
    nop
    nop
    hvc #1
    br x6

  .balign 2048
  vec:
  ${Array.from({ length: 16 }, (_, i) => `.balign 0x80\n    mov x27, #${i * 0x80}\n    b handler`).join("\n  ")}

  .balign 8
  params:
    .space ${P_WORDS * 8}
`;

let image: Image;
let paramsAt = 0n;
let slotsAt = 0n;
let l2Entry = 0n;
let l2SysAt = 0n;

/** Assemble the fuzzing L1 once (every case patches a copy). */
export async function loadFuzzL1(): Promise<void> {
  image = await assemble(L1_SRC, { base: L1_BASE, file: "fuzz_l1.S" });
  paramsAt = image.symbols.get("params")!;
  slotsAt = image.symbols.get("sys_slots")!;
  l2Entry = image.symbols.get("l2_entry")!;
  l2SysAt = image.symbols.get("l2_sys")!;
}

/** The image with `words` at `at` (code slots or parameters), as little-endian bytes. */
function patched(base: Image, patches: { at: bigint; bytes: Uint8Array }[]): Image {
  const sections = base.sections.map((s) => {
    const bytes = s.bytes.slice();
    for (const p of patches) {
      const off = p.at - s.base;
      if (off >= 0n && off + BigInt(p.bytes.length) <= BigInt(bytes.length)) bytes.set(p.bytes, Number(off));
    }
    return { ...s, bytes };
  });
  return { ...base, sections };
}

function words64(vs: readonly bigint[]): Uint8Array {
  const b = new Uint8Array(vs.length * 8);
  const dv = new DataView(b.buffer);
  vs.forEach((v, i) => dv.setBigUint64(i * 8, BigInt.asUintN(64, v), true));
  return b;
}

function words32(vs: readonly number[]): Uint8Array {
  const b = new Uint8Array(vs.length * 4);
  const dv = new DataView(b.buffer);
  vs.forEach((v, i) => dv.setUint32(i * 4, v >>> 0, true));
  return b;
}

// ---------------------------------------------------------------- generators

const anyBits = (bits: number) => fc.bigInt({ min: 0n, max: (1n << BigInt(bits)) - 1n });

const poolPage = fc.integer({ min: 0, max: POOL_PAGES - 1 }).map((p) => POOL + BigInt(p * PAGE64K));

const S2_LEAF_OK = (1n << 10n) | (3n << 6n) | (0xfn << 2n); // AF, S2AP RW, Normal WB

/** A stage-2 descriptor: Table into the pool, a Block/Page of L1 RAM (mostly RW with AF), or junk. */
const s2Descriptor: fc.Arbitrary<bigint> = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(poolPage, anyBits(64)).map(([a, t]) => a | (t & ~(MASK48 | 0xfffn)) | 3n) },
  {
    weight: 4,
    arbitrary: fc.tuple(anyBits(25), anyBits(64), fc.boolean(), fc.boolean()).map(([off, t, page, sane]) => {
      const oa = (0x4000_0000n + off) & ~0xfffn;
      const attrs = sane ? S2_LEAF_OK | (t & (1n << 54n)) : t & ~(MASK48 & ~0xfffn) & ~3n;
      return oa | attrs | (page ? 3n : 1n);
    }),
  },
  { weight: 1, arbitrary: fc.constant(0n) },
  { weight: 1, arbitrary: anyBits(64) },
);

const poolContents = fc.array(fc.array(s2Descriptor, { minLength: 1, maxLength: 5 }), { minLength: POOL_PAGES, maxLength: POOL_PAGES });

/** 4K granule, 32-bit IPA, start level 1 (SL0 = 1): four root entries, entry 1 maps 0x4000_0000. */
const VTCR_DEFAULT = 32n | (1n << 6n) | (1n << 31n);

const vtcrArb: fc.Arbitrary<bigint> = fc.oneof(
  { weight: 6, arbitrary: fc.constant(VTCR_DEFAULT) },
  {
    weight: 3,
    arbitrary: fc.record({ t0sz: fc.integer({ min: 14, max: 42 }), sl0: fc.integer({ min: 0, max: 3 }), tg0: fc.integer({ min: 0, max: 3 }), ps: fc.integer({ min: 0, max: 7 }), vs: fc.boolean() })
      .map((v) => BigInt(v.t0sz) | (BigInt(v.sl0) << 6n) | (BigInt(v.tg0) << 14n) | (BigInt(v.ps) << 16n) | (v.vs ? 1n << 19n : 0n) | (1n << 31n)),
  },
  { weight: 1, arbitrary: anyBits(64) },
);

const HCR_VM = 1n, HCR_RW = 1n << 31n;
/** HCR_EL2 bits worth setting on purpose: PTW, DC, TSC, TGE, TVM, TRVM, E2H, NV, NV1, AT, NV2, TID3, TACR. */
const HCR_INTERESTING = [2n, 12n, 19n, 27n, 26n, 30n, 34n, 42n, 43n, 44n, 45n, 18n, 21n].map((b) => 1n << b);

const hcrArb: fc.Arbitrary<bigint> = fc.oneof(
  { weight: 6, arbitrary: fc.subarray(HCR_INTERESTING, { maxLength: 3 }).map((bits) => bits.reduce((a, b) => a | b, HCR_VM | HCR_RW)) },
  { weight: 1, arbitrary: fc.constant(HCR_RW) },
  { weight: 1, arbitrary: anyBits(64) },
);

/** L2's stage 1: mostly off; on, with tables in the pool. */
const sctlrArb = fc.oneof({ weight: 3, arbitrary: fc.constant(0x30d0_0800n) }, { weight: 1, arbitrary: fc.constant(0x30d0_0801n) }, { weight: 1, arbitrary: anyBits(64) });
const tcrArb = fc.oneof(fc.constant(16n | (5n << 32n) | (16n << 16n) | (2n << 30n)), anyBits(64));

/** SPSR_EL2: L2 at EL1h/EL1t/EL0t, L1 itself (EL2h), EL3, AArch32, or anything. */
const spsrArb = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(0x3c5n, 0x3c4n, 0x3c0n, 0x5n) },
  { weight: 2, arbitrary: fc.constantFrom(0x3c9n, 0x3c8n, 0x3cdn, 0x3d0n, 0x3c1n, 0x3c6n, 0x3cbn) },
  { weight: 2, arbitrary: anyBits(64) },
);

/** An address L2 touches: in L1's RAM (mapped by the default stage-2), near it, in the UART, or anywhere. */
const l2Addr = fc.oneof(
  { weight: 4, arbitrary: anyBits(25).map((o) => 0x4000_0000n + (o & ~7n)) },
  { weight: 1, arbitrary: fc.constant(0x0900_0000n) },
  { weight: 2, arbitrary: anyBits(48).map((a) => a & ~7n) },
  { weight: 1, arbitrary: anyBits(64) },
);

/** A register L1 may name with MSR (op0 2 or 3), any encoding, or a SYS instruction (op0 1: TLBI, AT, DC…). */
const sysEncoding: fc.Arbitrary<{ op0: number; op1: number; crn: number; crm: number; op2: number }> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...SYSREG_TABLE.map(({ op0, op1, crn, crm, op2 }) => ({ op0, op1, crn, crm, op2 }))) },
  { weight: 2, arbitrary: fc.record({ op0: fc.constantFrom(2, 3), op1: fc.integer({ min: 0, max: 7 }), crn: fc.integer({ min: 0, max: 15 }), crm: fc.integer({ min: 0, max: 15 }), op2: fc.integer({ min: 0, max: 7 }) }) },
  { weight: 2, arbitrary: fc.record({ op0: fc.constant(1), op1: fc.constantFrom(0, 4, 3), crn: fc.constantFrom(7, 8, 9), crm: fc.integer({ min: 0, max: 15 }), op2: fc.integer({ min: 0, max: 7 }) }) },
);

/** MSR <reg>, Xt (L=0) or SYS with op0 = 1: 1101 0101 00 L op0 op1 CRn CRm op2 Rt. */
function msrWord(e: { op0: number; op1: number; crn: number; crm: number; op2: number }, rt: number): number {
  return (0xd500_0000 | (e.op0 << 19) | (e.op1 << 16) | (e.crn << 12) | (e.crm << 8) | (e.op2 << 5) | rt) >>> 0;
}

const NOP = 0xd503_201f;

const sysValue = fc.oneof(anyBits(64), fc.constantFrom(0n, 1n, (1n << 64n) - 1n, L1_BASE, POOL), anyBits(48));

export interface NestedCase {
  pool: bigint[][];
  /** Root entry 1 (nested IPA 0x4000_0000..0x8000_0000 under VTCR_DEFAULT): a 1G block of L1's RAM. */
  identity: boolean;
  vtcr: bigint;
  vttbr: bigint;
  hcr: bigint;
  sctlr: bigint;
  tcr: bigint;
  ttbr0: bigint;
  spsr: bigint;
  elr: bigint | null;
  l2x: bigint[];
  sys: SysSlot[];
  /** L2's two MSR/SYS slots (values in its x7, x8). */
  l2sys: SysSlot[];
}

type SysSlot = { enc: { op0: number; op1: number; crn: number; crm: number; op2: number } | null; value: bigint };

const sysSlots = (n: number): fc.Arbitrary<SysSlot[]> =>
  fc.array(fc.record({ enc: fc.oneof({ weight: 3, arbitrary: sysEncoding }, { weight: 1, arbitrary: fc.constant(null) }), value: sysValue }), { minLength: n, maxLength: n });

export const nestedCase = (withSys: boolean): fc.Arbitrary<NestedCase> =>
  fc.record({
    pool: poolContents,
    identity: fc.boolean(),
    vtcr: vtcrArb,
    vttbr: fc.tuple(poolPage, anyBits(16), fc.boolean()).map(([a, vmid, junk]) => (vmid << 48n) | a | (junk ? vmid & 0xff0n : 0n)),
    hcr: hcrArb,
    sctlr: sctlrArb,
    tcr: tcrArb,
    ttbr0: poolPage,
    spsr: spsrArb,
    elr: fc.oneof({ weight: 4, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: l2Addr }),
    l2x: fc.array(l2Addr, { minLength: 7, maxLength: 7 }),
    sys: withSys ? sysSlots(SYS_SLOTS) : fc.constant([]),
    l2sys: withSys ? sysSlots(L2_SYS_SLOTS) : fc.constant([]),
  });

// ---------------------------------------------------------------- one run

function poolBytes(c: NestedCase): Uint8Array {
  const b = new Uint8Array(POOL_PAGES * PAGE64K);
  const dv = new DataView(b.buffer);
  for (let p = 0; p < POOL_PAGES; p++) {
    const cycle = c.pool[p]!;
    for (let i = 0; i < PAGE64K / 8; i++) dv.setBigUint64(p * PAGE64K + i * 8, cycle[i % cycle.length]!, true);
  }
  if (c.identity) {
    const root = Number((c.vttbr & MASK48 & ~0xfffn) - POOL);
    dv.setBigUint64(root + 8, 0x4000_0000n | S2_LEAF_OK | 1n, true);
  }
  return b;
}

export interface Ended {
  outcome: RunOutcome;
  /** ESR_EL2 as L1's vector saw it last (x20). */
  esr: bigint;
  /** Instructions the run took (exceptions on fetches included). */
  steps: number;
  /** The exception thrown instead of an outcome, if any. */
  thrown?: unknown;
}

export function runCase(c: NestedCase): Ended {
  const params = new Array<bigint>(P_WORDS).fill(0n);
  params[P_HCR] = c.hcr;
  params[P_VTCR] = c.vtcr;
  params[P_VTTBR] = c.vttbr;
  params[P_SCTLR] = c.sctlr;
  params[P_TCR] = c.tcr;
  params[P_TTBR0] = c.ttbr0;
  params[P_MAIR] = 0x4404ffn;
  params[P_SPSR] = c.spsr;
  params[P_ELR] = c.elr ?? l2Entry;
  c.l2x.forEach((v, i) => (params[P_L2X + i] = v));
  const slots = Array.from({ length: SYS_SLOTS }, (_, i) => {
    const s = c.sys[i];
    if (!s?.enc) return NOP;
    params[P_SYSVAL + i] = s.value;
    return msrWord(s.enc, 9 + i);
  });
  const l2Slots = Array.from({ length: L2_SYS_SLOTS }, (_, i) => {
    const s = c.l2sys[i];
    if (!s?.enc) return NOP;
    params[P_L2X + 7 + i] = s.value;
    return msrWord(s.enc, 7 + i);
  });
  const l1 = patched(image, [
    { at: paramsAt, bytes: words64(params) },
    { at: slotsAt, bytes: words32(slots) },
    { at: l2SysAt, bytes: words32(l2Slots) },
  ]);
  const { kvm, vcpu, loadError } = prepareVm({ l1, config: { memory: MEMORY }, check: true });
  if (loadError) return { outcome: loadError, esr: 0n, steps: 0 };
  kvm.memslots[0]!.writeBytes(POOL, poolBytes(c));
  try {
    const outcome = runOutcome(vcpu, withHostReport(vcpu, () => kvmArchVcpuRun(vcpu, MAX_STEPS)));
    return { outcome, esr: vcpu.cpu.getX(20), steps: kvm.steps };
  } catch (e) {
    return { outcome: { kind: "budget", level: "L1", pc: 0n, report: { reason: "" } }, esr: 0n, steps: kvm.steps, thrown: e };
  }
}

const big = (_k: string, v: unknown) => (typeof v === "bigint" ? `0x${v.toString(16)}` : v);

const VALID_FSC = [...Array.from({ length: 16 }, (_, i) => i), 0x10, 0x14, 0x15, 0x16, 0x17, 0x21];

/** The property every run must keep; returns the tally outcome. */
export function judge(c: NestedCase, r: Ended): string {
  const ctx = JSON.stringify(c, (k, v) => (k === "pool" ? "…" : big(k, v)));
  if (r.thrown !== undefined) {
    const e = r.thrown as Error;
    expect.fail(`${ctx}\nthrew ${e?.name}: ${e?.message}\n${e?.stack ?? ""}`);
  }
  expect(r.steps, `${ctx}: steps past the budget`).toBeLessThanOrEqual(MAX_STEPS);
  const o = r.outcome;
  switch (o.kind) {
    case "system-off": {
      const vector = o.code & ~0x3f;
      const ec = o.code & 0x3f;
      // An abort L0 injected from L2 (or L1 took itself) carries a fault status code the
      // architecture defines: address size, translation, access flag, permission (levels 0-3),
      // or a synchronous external abort (on a walk, levels 0-3).
      if (ec === 0x20 || ec === 0x21 || ec === 0x24 || ec === 0x25) {
        expect(Number(r.esr >> 26n), ctx).toBe(ec);
        expect(VALID_FSC, `${ctx}: ESR 0x${r.esr.toString(16)}`).toContain(Number(r.esr & 0x3fn));
      }
      return `injected:v${vector.toString(16)}:ec${(o.code & 0x3f).toString(16)}`;
    }
    case "budget":
      return `budget:${o.level}`;
    case "guest-error":
      expect(o.report.reason, ctx).toBeTruthy();
      expect(o.report.level, `${ctx}: guest error without a level: ${o.message}`).toBeDefined();
      expect(o.report.regs, `${ctx}: guest error without registers: ${o.message}`).toBeDefined();
      expect(o.message, ctx).not.toMatch(/internal error/i);
      if (o.stage === "run") expect(o.report.events?.length, `${ctx}: guest error without events: ${o.message}`).toBeGreaterThan(0);
      return `guest-error:${o.report.level}`;
    case "monitor-stop":
      return expect.fail(`${ctx}\ninvariant violation: ${o.message}`);
  }
}

