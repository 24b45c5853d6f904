// Fuzzing of guest-built translation state at the walker: random stage-1 and stage-2 descriptors
// in table pages, random TCR_EL1/VTCR_EL2/SCTLR_EL1/HCR_EL2/TTBRs, random VAs. Every translation
// must be a PA inside the PA size or a well-formed fault; where only one stage is on, the result
// must equal an independent walk written from the Arm ARM's rules (D8.2, D8.3, D8.4); a TLB hit
// must say what a fresh walk says, and never across VMIDs; L0's own walk of L1's stage-2
// (kvmWalkNestedS2) must agree with the CPU's except where KVM differs on purpose.

import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { Cpu } from "../../emulator/cpu.ts";
import { AccessKind, FaultType, faultStatusCode } from "../../emulator/fault.ts";
import { PhysMemory } from "../../emulator/memory.ts";
import { stage2Regime, stage2Walk } from "../../emulator/mmu/stage2.ts";
import { translate, type Translation } from "../../emulator/mmu/translate.ts";
import { isFault } from "../../emulator/mmu/walk.ts";
import { kvmWalkNestedS2 } from "../../hypervisor/nested_walk.ts";
import { FUZZ_SEED, fuzzRuns, Tally } from "./tally.ts";

const POOL = 0x4000_0000;
const POOL_PAGES = 16;
const PAGE64K = 0x1_0000;
const ENTRIES = PAGE64K / 8;
const MASK48 = (1n << 48n) - 1n;

const HCR_VM = 1n;
const HCR_PTW = 1n << 2n;
const HCR_DC = 1n << 12n;
const HCR_TGE = 1n << 27n;
const SCTLR_M = 1n;
const SCTLR_WXN = 1n << 19n;

/** A pool page, sometimes with RES0 garbage below a 64K alignment, sometimes nowhere near the pool. */
const tableAddr: fc.Arbitrary<bigint> = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0, max: POOL_PAGES - 1 }).map((p) => BigInt(POOL + p * PAGE64K)) },
  { weight: 2, arbitrary: fc.tuple(fc.integer({ min: 0, max: POOL_PAGES - 1 }), fc.integer({ min: 0, max: 15 })).map(([p, k]) => BigInt(POOL + p * PAGE64K + k * 0x1000)) },
  { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: MASK48 }).map((a) => a & ~0xfffn) },
);

/** Attribute bits above and below the address field, anything goes. */
const attrBits: fc.Arbitrary<bigint> = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map((v) => v & ~(MASK48 & ~0xfffn));

/** One descriptor: a Table pointing into the pool, a Block/Page, invalid, or random bits. */
const descriptor: fc.Arbitrary<bigint> = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(tableAddr, attrBits).map(([a, t]) => a | (t & ~0xfffn) | 3n) },
  { weight: 6, arbitrary: fc.tuple(tableAddr, attrBits, fc.boolean()).map(([a, t, page]) => a | (t & ~3n) | (page ? 3n : 1n) | (1n << 10n)) },
  { weight: 1, arbitrary: fc.tuple(tableAddr, attrBits).map(([a, t]) => a | (t & ~3n) | 1n) },
  { weight: 1, arbitrary: fc.constant(0n) },
  { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) },
);

/** Each pool page repeats a short cycle of descriptors, so every index of every table holds one. */
const poolContents = fc.array(fc.array(descriptor, { minLength: 1, maxLength: 6 }), { minLength: POOL_PAGES, maxLength: POOL_PAGES });

const anyBits = (bits: number) => fc.bigInt({ min: 0n, max: (1n << BigInt(bits)) - 1n });

/** TCR_EL1: sensible T0SZ/T1SZ/TGn/IPS most of the time, random bits otherwise. */
const tcrArb: fc.Arbitrary<bigint> = fc.oneof(
  { weight: 5, arbitrary: fc.record({
    t0sz: fc.integer({ min: 14, max: 41 }), t1sz: fc.integer({ min: 14, max: 41 }),
    tg0: fc.integer({ min: 0, max: 3 }), tg1: fc.integer({ min: 0, max: 3 }), ips: fc.integer({ min: 0, max: 7 }),
    flags: anyBits(64),
  }).map((t) =>
    BigInt(t.t0sz) | (BigInt(t.tg0) << 14n) | (BigInt(t.t1sz) << 16n) | (BigInt(t.tg1) << 30n) | (BigInt(t.ips) << 32n) |
    // EPD0/EPD1 only when both of two random bits are set: a walk-disabled range is one outcome.
    (t.flags & (t.flags >> 1n) & ((1n << 7n) | (1n << 23n))) |
    (t.flags & ((1n << 22n) | (1n << 36n) | (0xffn << 37n) | (3n << 51n)))) },
  { weight: 1, arbitrary: anyBits(64) },
);

/** VTCR_EL2: valid geometry most of the time, random bits otherwise. */
const vtcrArb: fc.Arbitrary<bigint> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ tg0: fc.constantFrom(0, 1, 2), level: fc.integer({ min: 0, max: 3 }), startBits: fc.integer({ min: 1, max: 17 }), ps: fc.integer({ min: 0, max: 7 }) })
    .map(({ tg0, level, startBits, ps }) => {
      // A geometry the Arm ARM allows: SL0 for the start level, T0SZ for 1..16 concatenated tables there.
      const g = [12, 16, 14][tg0]!;
      const l = g === 12 ? Math.min(level, 2) : Math.max(level, 1);
      const t0sz = Math.min(Math.max(64 - (g + (3 - l) * (g - 3) + startBits), 16), 39);
      return BigInt(t0sz) | (BigInt(g === 12 ? 2 - l : 3 - l) << 6n) | (BigInt(tg0) << 14n) | (BigInt(ps) << 16n) | (1n << 31n);
    }) },
  { weight: 3, arbitrary: fc.record({
    t0sz: fc.integer({ min: 14, max: 42 }), sl0: fc.integer({ min: 0, max: 3 }), tg0: fc.integer({ min: 0, max: 3 }),
    ps: fc.integer({ min: 0, max: 7 }), vs: fc.boolean(),
  }).map((v) => BigInt(v.t0sz) | (BigInt(v.sl0) << 6n) | (BigInt(v.tg0) << 14n) | (BigInt(v.ps) << 16n) | (v.vs ? 1n << 19n : 0n) | (1n << 31n)) },
  { weight: 1, arbitrary: anyBits(64) },
);

/** TTBRn_EL1/VTTBR_EL2: a pool page (maybe with garbage below it) and an ASID/VMID. */
const ttbrArb: fc.Arbitrary<bigint> = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(tableAddr, anyBits(16), anyBits(12)).map(([a, id, low]) => (id << 48n) | a | (low & 0xffen)) },
  { weight: 1, arbitrary: anyBits(64) },
);

/** A VA: in the TTBR0 range, the TTBR1 range, with a random top byte, or anything. */
const vaArb: fc.Arbitrary<bigint> = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(fc.integer({ min: 12, max: 48 }), anyBits(48)).map(([n, v]) => v & ((1n << BigInt(n)) - 1n)) },
  { weight: 3, arbitrary: fc.tuple(fc.integer({ min: 12, max: 48 }), anyBits(48)).map(([n, v]) => (MASK48 << 16n) | (v & ((1n << BigInt(n)) - 1n)) | (((1n << 64n) - 1n) & ~((1n << BigInt(n)) - 1n))) },
  { weight: 1, arbitrary: fc.tuple(anyBits(8), anyBits(40)).map(([top, v]) => (top << 56n) | v) },
  { weight: 1, arbitrary: anyBits(64) },
);

const access = fc.record({ va: vaArb, kind: fc.constantFrom(AccessKind.Read, AccessKind.Write, AccessKind.Fetch), el0: fc.boolean() });

interface Regs {
  tcr: bigint;
  ttbr0: bigint;
  ttbr1: bigint;
  vtcr: bigint;
  vttbr: bigint;
  sctlr: bigint;
  hcr: bigint;
  mair: bigint;
}

const regsArb: fc.Arbitrary<Regs> = fc.record({
  tcr: tcrArb, ttbr0: ttbrArb, ttbr1: ttbrArb, vtcr: vtcrArb, vttbr: ttbrArb,
  sctlr: fc.oneof(fc.constantFrom(SCTLR_M, SCTLR_M | SCTLR_WXN, 0n), anyBits(64)),
  hcr: fc.oneof(fc.constantFrom(HCR_VM, HCR_VM | HCR_PTW, 0n, HCR_DC, HCR_TGE), anyBits(64)),
  mair: anyBits(64),
});

const mem = new PhysMemory({ autoAllocate: false });
mem.addRam(POOL, POOL_PAGES * PAGE64K);

function fillPool(cycles: bigint[][]): void {
  for (let p = 0; p < POOL_PAGES; p++) {
    const cycle = cycles[p]!;
    const base = POOL + p * PAGE64K;
    for (let i = 0; i < ENTRIES; i++) mem.write(base + i * 8, 8, cycle[i % cycle.length]!);
  }
}

function machine(r: Regs): Cpu {
  const cpu = new Cpu(mem);
  setRegs(cpu, r);
  return cpu;
}

/** Write the translation registers (no TLB maintenance: what a guest may do too). */
function setRegs(cpu: Cpu, r: Regs): void {
  cpu.sr.TCR_EL1 = r.tcr;
  cpu.sr.TTBR0_EL1 = r.ttbr0;
  cpu.sr.TTBR1_EL1 = r.ttbr1;
  cpu.sr.VTCR_EL2 = r.vtcr;
  cpu.sr.VTTBR_EL2 = r.vttbr;
  cpu.sr.SCTLR_EL1 = r.sctlr;
  cpu.sr.HCR_EL2 = r.hcr;
  cpu.sr.MAIR_EL1 = r.mair;
}

/** Structural checks every translation must pass; returns the tally outcome. */
function wellFormed(t: Translation, ctx: string): string {
  if (t.ok) {
    expect(Number.isSafeInteger(t.pa) && t.pa >= 0 && t.pa < 2 ** 48, `${ctx}: PA 0x${t.pa.toString(16)} outside the PA size`).toBe(true);
    return "translated";
  }
  const f = t.fault;
  expect([1, 2], ctx).toContain(f.stage);
  expect(f.level, `${ctx}: fault level`).toBeGreaterThanOrEqual(0);
  expect(f.level, `${ctx}: fault level`).toBeLessThanOrEqual(3);
  expect(f.type >= FaultType.AddressSize && f.type <= FaultType.ExternalAbort, `${ctx}: fault type ${f.type}`).toBe(true);
  if (f.s1ptw) expect(f.stage, `${ctx}: S1PTW on a stage-1 fault`).toBe(2);
  if (f.stage === 2) expect(f.ipa >= 0n && f.ipa < 1n << 48n, `${ctx}: fault IPA 0x${f.ipa.toString(16)}`).toBe(true);
  const fsc = faultStatusCode(f);
  expect(fsc >= 0 && fsc <= 0x3f, `${ctx}: FSC`).toBe(true);
  return `s${f.stage}-${FAULT_NAMES[f.type]}${f.s1ptw ? "-s1ptw" : ""}`;
}

const FAULT_NAMES = ["address-size", "translation", "access-flag", "permission", "external-abort", "alignment"];

// ---------------------------------------------------------------- the reference walk

type RefResult = { pa: bigint; perm: number } | { fault: FaultType; level: number };

const isRam = (pa: bigint) => pa >= BigInt(POOL) && pa < BigInt(POOL + POOL_PAGES * PAGE64K);
const bit = (v: bigint, n: number) => ((v >> BigInt(n)) & 1n) === 1n;

interface RefGeometry {
  granule: number;
  startLevel: number;
  startBits: number;
  base: bigint;
  oaBits: number;
}

/** Permissions as bits: 1 EL1 read, 2 EL1 write, 4 EL1 exec, 8 EL0 read, 16 EL0 write, 32 EL0 exec. */
function refWalk(g: RefGeometry, ia: bigint, leafPerm: (d: bigint, table: bigint) => number, hierarchical: boolean): RefResult {
  let table = g.base;
  let tableLimits = 0n;
  for (let level = g.startLevel; ; level++) {
    const shift = g.granule + (3 - level) * (g.granule - 3);
    const bits = level === g.startLevel ? g.startBits : g.granule - 3;
    const addr = table + ((ia >> BigInt(shift)) & ((1n << BigInt(bits)) - 1n)) * 8n;
    if (!isRam(addr)) return { fault: FaultType.ExternalAbort, level };
    const d = mem.read(Number(addr), 8);
    if (!bit(d, 0)) return { fault: FaultType.Translation, level };
    if (level < 3 && bit(d, 1)) {
      table = d & MASK48 & ~((1n << BigInt(g.granule)) - 1n);
      if (table >> BigInt(g.oaBits) !== 0n) return { fault: FaultType.AddressSize, level };
      if (hierarchical) tableLimits |= (d >> 59n) & 0xfn;
      continue;
    }
    // A Page at level 3; a Block at level 2, or level 1 with the 4K granule (no FEAT_LPA/LPA2).
    if (level === 3 ? !bit(d, 1) : !(level === 2 || (level === 1 && g.granule === 12))) return { fault: FaultType.Translation, level };
    const out = d & MASK48 & ~((1n << BigInt(shift)) - 1n);
    if (out >> BigInt(g.oaBits) !== 0n) return { fault: FaultType.AddressSize, level };
    if (!bit(d, 10)) return { fault: FaultType.AccessFlag, level };
    return { pa: out | (ia & ((1n << BigInt(shift)) - 1n)), perm: leafPerm(d, tableLimits) };
  }
}

const OA_BITS = [32, 36, 40, 42, 44, 48, 48, 48];

/** Stage 1 (D8.4): AP[2:1], APTable, PXN/UXN and their Table bits, EL0-writable implies PXN, WXN. */
function s1Perm(wxn: boolean) {
  return (d: bigint, table: bigint): number => {
    // Table limits, bits[62:59] shifted down: 1 PXNTable, 2 UXNTable, 4 APTable[0], 8 APTable[1].
    const ap = Number((d >> 6n) & 3n);
    let el1w = (ap & 2) === 0;
    let el0r = (ap & 1) === 1;
    let el0w = ap === 1;
    if (table & 4n) el0r = el0w = false;
    if (table & 8n) el1w = el0w = false;
    let el1x = !bit(d, 53) && (table & 1n) === 0n && !el0w;
    let el0x = !bit(d, 54) && (table & 2n) === 0n;
    if (wxn && el1w) el1x = false;
    if (wxn && el0w) el0x = false;
    return 1 | (el1w ? 2 : 0) | (el1x ? 4 : 0) | (el0r ? 8 : 0) | (el0w ? 16 : 0) | (el0x ? 32 : 0);
  };
}

/** Stage 2: S2AP[1:0] read/write, XN[1] (bit 54) no execution; the same for both ELs. */
function s2Perm(d: bigint): number {
  const r = bit(d, 6);
  const w = bit(d, 7);
  const x = !bit(d, 54);
  const one = (r ? 1 : 0) | (w ? 2 : 0) | (x ? 4 : 0);
  return one | (one << 3);
}

const permBit = (kind: AccessKind, el0: boolean) => 1 << (kind + (el0 ? 3 : 0));

/** AddrTop: with TCR_EL1.TBIn (and not TBIDn for a fetch) bits [63:56] are copies of bit 55, MMU on or off. */
function topByteIgnored(tcr: bigint, va: bigint, kind: AccessKind): bigint {
  const upper = bit(va, 55);
  const fetch = kind === AccessKind.Fetch;
  const tbi = upper ? bit(tcr, 38) && !(fetch && bit(tcr, 52)) : bit(tcr, 37) && !(fetch && bit(tcr, 51));
  if (!tbi) return va;
  return upper ? va | (0xffn << 56n) : va & ~(0xffn << 56n);
}

/** Stage 1 alone (HCR_EL2.VM, DC, TGE clear; SCTLR_EL1.M set), by the Arm ARM's rules. */
function refStage1(r: Regs, vaIn: bigint, kind: AccessKind, el0: boolean): { pa: bigint } | { fault: FaultType; level: number } {
  const tcr = r.tcr;
  const va = topByteIgnored(tcr, vaIn, kind);
  const upper = bit(va, 55);
  const txsz = Math.min(Math.max(Number(upper ? (tcr >> 16n) & 0x3fn : tcr & 0x3fn), 16), 39);
  const ia = 64 - txsz;
  const tg = Number(upper ? (tcr >> 30n) & 3n : (tcr >> 14n) & 3n);
  const granule = upper ? [12, 14, 12, 16][tg]! : [12, 16, 14, 12][tg]!;
  const high = va >> BigInt(ia);
  if (upper ? high !== (1n << BigInt(64 - ia)) - 1n : high !== 0n) return { fault: FaultType.Translation, level: 0 };
  if (bit(tcr, upper ? 23 : 7)) return { fault: FaultType.Translation, level: 0 };
  const stride = granule - 3;
  const startLevel = 3 - Math.floor((ia - 1 - granule) / stride);
  const startBits = ia - (granule + (3 - startLevel) * stride);
  const oaBits = OA_BITS[Number((tcr >> 32n) & 7n)]!;
  const base = (upper ? r.ttbr1 : r.ttbr0) & MASK48 & ~((1n << BigInt(startBits + 3)) - 1n);
  if (base >> BigInt(oaBits) !== 0n) return { fault: FaultType.AddressSize, level: 0 };
  const hpd = bit(tcr, upper ? 42 : 41);
  const res = refWalk({ granule, startLevel, startBits, base, oaBits }, va & ((1n << BigInt(ia)) - 1n), s1Perm(bit(r.sctlr, 19)), !hpd);
  if ("fault" in res) return res;
  if ((res.perm & permBit(kind, el0)) === 0) return { fault: FaultType.Permission, level: -1 };
  return { pa: res.pa };
}

/** Stage 2 alone (SCTLR_EL1.M clear, HCR_EL2.VM set, DC and TGE clear), by the Arm ARM's rules. */
function refStage2(r: Regs, vaIn: bigint, kind: AccessKind): { pa: bigint } | { fault: FaultType; level: number; stage: 1 | 2 } {
  // Stage 1 off: the IPA is the VA, which (after top-byte-ignore) must fit the PA size.
  const va = topByteIgnored(r.tcr, vaIn, kind);
  if (va >> 48n !== 0n) return { fault: FaultType.AddressSize, level: 0, stage: 1 };
  const vtcr = r.vtcr;
  const t0sz = Number(vtcr & 0x3fn);
  const sl0 = Number((vtcr >> 6n) & 3n);
  const granule = [12, 16, 14, 12][Number((vtcr >> 14n) & 3n)]!;
  const oaBits = OA_BITS[Number((vtcr >> 16n) & 7n)]!;
  const ia = 64 - t0sz;
  const stride = granule - 3;
  const startLevel = granule === 12 ? 2 - sl0 : 3 - sl0;
  const startBits = ia - (granule + (3 - startLevel) * stride);
  // Reserved SL0, T0SZ beyond the implemented sizes, or a start level that cannot resolve the IPA
  // size with at most 16 concatenated tables: every walk faults at level 0.
  if (sl0 === 3 || t0sz > 39 || ia > 48 || startBits < 1 || startBits > stride + 4) return { fault: FaultType.Translation, level: 0, stage: 2 };
  // AArch64.S2Translate checks the IPA's range before AArch64.S2Walk checks the base.
  if (va >> BigInt(ia) !== 0n) return { fault: FaultType.Translation, level: 0, stage: 2 };
  const base = r.vttbr & MASK48 & ~((1n << BigInt(startBits + 3)) - 1n);
  if (base >> BigInt(oaBits) !== 0n) return { fault: FaultType.AddressSize, level: 0, stage: 2 };
  const res = refWalk({ granule, startLevel, startBits, base, oaBits }, va, s2Perm, false);
  if ("fault" in res) return { ...res, stage: 2 };
  if ((res.perm & permBit(kind, false)) === 0) return { fault: FaultType.Permission, level: -1, stage: 2 };
  return { pa: res.pa };
}

function expectSame(t: Translation, ref: { pa: bigint } | { fault: FaultType; level: number }, stage: 1 | 2, ctx: string): void {
  if ("pa" in ref) {
    expect(t.ok ? t.pa : `fault ${JSON.stringify(t.fault, big)}`, ctx).toBe(Number(ref.pa));
    return;
  }
  expect(t.ok ? `PA 0x${t.pa.toString(16)}` : { type: t.fault.type, stage: t.fault.stage }, ctx).toEqual({ type: ref.fault, stage });
  // A Permission fault is reported at the leaf's level, which the reference does not track.
  if (ref.level >= 0 && !t.ok) expect(t.fault.level, ctx).toBe(ref.level);
}

const big = (_k: string, v: unknown) => (typeof v === "bigint" ? `0x${v.toString(16)}` : v);

function describeCase(r: Regs, a: { va: bigint; kind: AccessKind; el0: boolean }): string {
  return `${JSON.stringify(r, big)} va=0x${a.va.toString(16)} kind=${a.kind} el0=${a.el0}`;
}

// ---------------------------------------------------------------- the properties

describe("guest-built translation state", () => {
  const s1 = new Tally();
  const s2 = new Tally();
  const regs = new Tally();
  const nestedWalk = new Tally();
  afterAll(() => {
    nestedWalk.report("guest-state:l1-stage2-walk");
    s1.report("guest-state:s1-descriptors");
    s2.report("guest-state:s2-descriptors");
    regs.report("guest-state:translation-regs");
  });

  it("stage 1 alone: random descriptors and TCR_EL1 translate as the Arm ARM's walk does", () => {
    fc.assert(
      fc.property(poolContents, regsArb, fc.array(access, { minLength: 1, maxLength: 24 }), (pool, r0, accesses) => {
        fillPool(pool);
        const r = { ...r0, sctlr: r0.sctlr | SCTLR_M, hcr: r0.hcr & ~(HCR_VM | HCR_DC | HCR_TGE) };
        const cpu = machine(r);
        for (const a of accesses) {
          const ctx = describeCase(r, a);
          const t = translate(cpu, a.va, a.kind, a.el0);
          s1.count(wellFormed(t, ctx));
          expectSame(t, refStage1(r, a.va, a.kind, a.el0), 1, ctx);
        }
      }),
      { seed: FUZZ_SEED, numRuns: fuzzRuns(150) },
    );
  });

  it("stage 2 alone: random descriptors and VTCR_EL2 translate as the Arm ARM's walk does", () => {
    fc.assert(
      fc.property(poolContents, regsArb, fc.array(access, { minLength: 1, maxLength: 24 }), (pool, r0, accesses) => {
        fillPool(pool);
        const r = { ...r0, sctlr: r0.sctlr & ~SCTLR_M, hcr: (r0.hcr | HCR_VM) & ~(HCR_DC | HCR_TGE) };
        const cpu = machine(r);
        for (const a of accesses) {
          const ctx = describeCase(r, a);
          const t = translate(cpu, a.va, a.kind, a.el0);
          s2.count(wellFormed(t, ctx));
          const ref = refStage2(r, a.va, a.kind);
          expectSame(t, ref, "stage" in ref ? ref.stage : 2, ctx);
        }
      }),
      { seed: FUZZ_SEED + 1, numRuns: fuzzRuns(150) },
    );
  });

  it("both stages, any HCR_EL2/SCTLR_EL1: well-formed results, and a TLB hit agrees with a fresh walk", () => {
    fc.assert(
      fc.property(poolContents, regsArb, fc.array(access, { minLength: 1, maxLength: 24 }), fc.integer({ min: 0, max: 0xfff }), (pool, r, accesses, near) => {
        fillPool(pool);
        const cpu = machine(r);
        const fresh = machine(r);
        for (const a of accesses) {
          const ctx = describeCase(r, a);
          const t = translate(cpu, a.va, a.kind, a.el0);
          regs.count(wellFormed(t, ctx));
          if (t.ok && t.pa < POOL) expect(t.pa, ctx).toBeGreaterThanOrEqual(0);
          // Another address in the same 4K page: the first translation's TLB entry may answer it.
          const b = (a.va & ~0xfffn) | BigInt(near);
          const hit = translate(cpu, b, a.kind, a.el0);
          fresh.tlb.flushAll();
          const walked = translate(fresh, b, a.kind, a.el0);
          expect(JSON.stringify(hit, big), `${ctx}, then 0x${b.toString(16)}`).toBe(JSON.stringify(walked, big));
        }
      }),
      { seed: FUZZ_SEED + 2, numRuns: fuzzRuns(150) },
    );
  });

  it("L0's walk of L1's stage-2 (kvmWalkNestedS2) agrees with the CPU's stage-2 walk, except where KVM differs on purpose", () => {
    const read64 = (ipa: bigint): bigint | null => (isRam(ipa) && isRam(ipa + 7n) ? mem.read(Number(ipa), 8) : null);
    fc.assert(
      fc.property(poolContents, vtcrArb, ttbrArb, fc.array(vaArb, { minLength: 1, maxLength: 24 }), (pool, vtcr, vttbr, ipas) => {
        fillPool(pool);
        const cpu = machine({ tcr: 0n, ttbr0: 0n, ttbr1: 0n, vtcr, vttbr, sctlr: 0n, hcr: HCR_VM, mair: 0n });
        const regime = stage2Regime(cpu.sr);
        for (const va of ipas) {
          const ipa = va & MASK48;
          const ctx = `VTCR_EL2=0x${vtcr.toString(16)} VTTBR_EL2=0x${vttbr.toString(16)} IPA=0x${ipa.toString(16)}`;
          const kvm = kvmWalkNestedS2(read64, vtcr, vttbr, ipa);
          const hw = stage2Walk(mem, regime, ipa);
          if (((vtcr >> 14n) & 3n) === 3n) {
            // TG0 = 0b11 is reserved: the CPU takes it as 4K, KVM's walker as 64K (both allowed).
            nestedWalk.count("reserved-tg0");
            continue;
          }
          if (!kvm.ok && "walkerError" in kvm) {
            // KVM refuses some geometries the architecture allows, and reads outside L1 memory: L1
            // then sees an Address size fault at level 0 (kvm-nv-brief 2.4).
            nestedWalk.count("kvm-walker-error");
            continue;
          }
          if (kvm.ok) {
            nestedWalk.count("translated");
            const leaf = hw;
            expect(isFault(leaf) ? `fault ${JSON.stringify(leaf, big)}` : "translated", ctx).toBe("translated");
            if (isFault(leaf)) continue;
            expect(kvm.trans.level, ctx).toBe(leaf.level);
            // The Contiguous bit may make KVM align the output further (contiguous_bit_shift).
            if ((kvm.trans.desc & (1n << 52n)) === 0n) expect(Number(kvm.trans.output), ctx).toBe(leaf.pa);
            expect([kvm.trans.readable, kvm.trans.writable, kvm.trans.executable], ctx).toEqual([(leaf.perm & 1) !== 0, (leaf.perm & 2) !== 0, (leaf.perm & 4) !== 0]);
            continue;
          }
          nestedWalk.count(`fsc-${kvm.fsc.toString(16)}`);
          expect(isFault(hw) ? "fault" : `PA 0x${(hw as { pa: number }).pa.toString(16)}`, ctx).toBe("fault");
          if (!isFault(hw)) continue;
          const hwFsc = faultStatusCode(hw);
          // A start table above the output size: KVM reports the start level, the CPU level 0.
          if (hw.type === FaultType.AddressSize && hw.level === 0 && (kvm.fsc & 0x3c) === 0) continue;
          expect(`0x${kvm.fsc.toString(16)}`, ctx).toBe(`0x${hwFsc.toString(16)}`);
        }
      }),
      { seed: FUZZ_SEED + 3, numRuns: fuzzRuns(150) },
    );
  });

  it("a TLB filled under one VMID never answers for another", () => {
    const vmidOf = (r: Regs) => Number((r.vttbr >> 48n) & ((r.vtcr >> 19n) & 1n ? 0xffffn : 0xffn));
    fc.assert(
      fc.property(poolContents, regsArb, regsArb, fc.array(access, { minLength: 1, maxLength: 16 }), (pool, a, b0, accesses) => {
        fillPool(pool);
        // b's VMID differs from a's in the bits b's VTCR_EL2.VS says are the VMID.
        const vmid = (vmidOf(a) + 1) & 0xff;
        const b = { ...b0, vttbr: (b0.vttbr & MASK48) | (BigInt(vmid) << 48n) };
        if (vmidOf(b) === vmidOf(a)) return;
        const cpu = machine(a);
        for (const x of accesses) translate(cpu, x.va, x.kind, x.el0);
        setRegs(cpu, b);
        const fresh = machine(b);
        for (const x of accesses) {
          const ctx = `${describeCase(a, x)} then ${JSON.stringify(b, big)}`;
          const t = translate(cpu, x.va, x.kind, x.el0);
          regs.count(wellFormed(t, ctx));
          fresh.tlb.flushAll();
          expect(JSON.stringify(t, big), ctx).toBe(JSON.stringify(translate(fresh, x.va, x.kind, x.el0), big));
        }
      }),
      { seed: FUZZ_SEED + 4, numRuns: fuzzRuns(100) },
    );
  });
});
