// TLB maintenance instructions (TLBI, Arm ARM C5.5) as data: every encoding with its operation
// kind, shareability and regime, the decoding of its Xt operand (VA, ASID, TTL and range forms), and
// the mapping of each kind onto the architectural TLB. The CPU uses it to execute EL1 TLBIs; the
// host uses the same table to decode a trapped TLBI from its ESR ISS.

import type { CpuState } from "./cpu_state.ts";
import { currentVmid } from "./mmu/stage2.ts";
import type { Tlb } from "./mmu/tlb.ts";
import { itemAt } from "./item_at.ts";

export type TlbiKind =
  | "VMALLE1" // all stage-1 entries of the current VMID
  | "VAE1" // by VA and ASID (+ global entries)
  | "ASIDE1" // non-global entries of an ASID
  | "VAAE1" // by VA, any ASID
  | "RVAE1" // VA range and ASID
  | "RVAAE1" // VA range, any ASID
  | "ALLE1" // all EL1&0 entries, both stages, all VMIDs
  | "VMALLS12E1" // stage 1 and 2 entries of the current VMID
  | "IPAS2E1" // stage-2 entries by IPA
  | "RIPAS2E1" // stage-2 entries by IPA range
  | "ALLE2" // EL2 regime: everything
  | "VAE2" // EL2 regime by VA
  | "RVAE2"; // EL2 regime by VA range

export type TlbiScope = "local" | "IS" | "OS";

export interface TlbiOp {
  /** Mnemonic operand, e.g. `VALE1IS`, `VMALLS12E1OSNXS`. */
  readonly name: string;
  readonly op1: number;
  /** 8, or 9 for the nXS variant (FEAT_XS). */
  readonly crn: number;
  readonly crm: number;
  readonly op2: number;
  readonly kind: TlbiKind;
  /** The L forms: only last-level (leaf) entries need to go. */
  readonly lastLevel: boolean;
  readonly scope: TlbiScope;
  readonly nxs: boolean;
  /** Executable only at EL2 (at EL1: trapped by HCR_EL2.NV, else UNDEFINED). */
  readonly el2Only: boolean;
  /** Xt carries an address (VA/IPA, single or range). */
  readonly hasAddress: boolean;
  readonly range: boolean;
}

// Base operations: (op1, op2, kind, name stem, last level) per CRm group.
type Base = readonly [op2: number, kind: TlbiKind, stem: string, last: boolean];

const EL1_OPS: readonly Base[] = [
  [0, "VMALLE1", "VMALLE1", false],
  [1, "VAE1", "VAE1", false],
  [2, "ASIDE1", "ASIDE1", false],
  [3, "VAAE1", "VAAE1", false],
  [5, "VAE1", "VALE1", true],
  [7, "VAAE1", "VAALE1", true],
];
const EL1_RANGE_OPS: readonly Base[] = [
  [1, "RVAE1", "RVAE1", false],
  [3, "RVAAE1", "RVAAE1", false],
  [5, "RVAE1", "RVALE1", true],
  [7, "RVAAE1", "RVAALE1", true],
];
const EL2_OPS: readonly Base[] = [
  [0, "ALLE2", "ALLE2", false],
  [1, "VAE2", "VAE2", false],
  [4, "ALLE1", "ALLE1", false],
  [5, "VAE2", "VALE2", true],
  [6, "VMALLS12E1", "VMALLS12E1", false],
];
const EL2_RANGE_OPS: readonly Base[] = [
  [1, "RVAE2", "RVAE2", false],
  [5, "RVAE2", "RVALE2", true],
];
const IPA_OPS: readonly Base[] = [
  [1, "IPAS2E1", "IPAS2E1", false],
  [2, "RIPAS2E1", "RIPAS2E1", false],
  [5, "IPAS2E1", "IPAS2LE1", true],
  [6, "RIPAS2E1", "RIPAS2LE1", true],
];
// The outer-shareable IPA forms share CRm=4 with the local ones, at other op2 values.
const IPA_OS_OPS: readonly Base[] = [
  [0, "IPAS2E1", "IPAS2E1", false],
  [3, "RIPAS2E1", "RIPAS2E1", false],
  [4, "IPAS2E1", "IPAS2LE1", true],
  [7, "RIPAS2E1", "RIPAS2LE1", true],
];

const ADDRESS_KINDS = new Set<TlbiKind>(["VAE1", "VAAE1", "RVAE1", "RVAAE1", "IPAS2E1", "RIPAS2E1", "VAE2", "RVAE2"]);
const RANGE_KINDS = new Set<TlbiKind>(["RVAE1", "RVAAE1", "RIPAS2E1", "RVAE2"]);

function buildTable(): TlbiOp[] {
  const out: TlbiOp[] = [];
  const add = (op1: number, crm: number, scope: TlbiScope, ops: readonly Base[]): void => {
    const suffix = scope === "local" ? "" : scope;
    for (const nxs of [false, true]) {
      for (const [op2, kind, stem, last] of ops) {
        out.push({
          name: `${stem}${suffix}${nxs ? "NXS" : ""}`,
          op1,
          crn: nxs ? 9 : 8,
          crm,
          op2,
          kind,
          lastLevel: last,
          scope,
          nxs,
          el2Only: op1 === 4,
          hasAddress: ADDRESS_KINDS.has(kind),
          range: RANGE_KINDS.has(kind),
        });
      }
    }
  };
  const scopes: [TlbiScope, number, number][] = [
    ["local", 7, 6],
    ["IS", 3, 2],
    ["OS", 1, 5],
  ];
  for (const [scope, crm, rangeCrm] of scopes) {
    add(0, crm, scope, EL1_OPS);
    add(0, rangeCrm, scope, EL1_RANGE_OPS);
    add(4, crm, scope, EL2_OPS);
    add(4, rangeCrm, scope, EL2_RANGE_OPS);
  }
  add(4, 4, "local", IPA_OPS);
  add(4, 0, "IS", IPA_OPS);
  add(4, 4, "OS", IPA_OS_OPS);
  return out;
}

export const TLBI_TABLE: readonly TlbiOp[] = buildTable();

const tlbiKey = (op1: number, crn: number, crm: number, op2: number): number => (op1 << 11) | (crn << 7) | (crm << 3) | op2;
const BY_KEY = new Map<number, TlbiOp>(TLBI_TABLE.map((t) => [tlbiKey(t.op1, t.crn, t.crm, t.op2), t]));
const BY_NAME = new Map<string, TlbiOp>(TLBI_TABLE.map((t) => [t.name, t]));

/** The TLBI at SYS encoding (op0 = 1), or undefined. */
export function tlbiByEncoding(op1: number, crn: number, crm: number, op2: number): TlbiOp | undefined {
  return BY_KEY.get(tlbiKey(op1, crn, crm, op2));
}

/** The TLBI named `name` (e.g. `vae1is`, case-insensitive). */
export function tlbiByName(name: string): TlbiOp | undefined {
  return BY_NAME.get(name.toUpperCase());
}

/** The TLBI a trapped SYS instruction (EC 0x18 ISS) names, or undefined if it is not a TLBI. */
export function tlbiFromIss(iss: number): TlbiOp | undefined {
  const op0 = (iss >>> 20) & 3;
  if (op0 !== 1 || iss & 1) return undefined;
  return tlbiByEncoding((iss >>> 14) & 7, (iss >>> 10) & 15, (iss >>> 1) & 15, (iss >>> 17) & 7);
}

// ---------------------------------------------------------------- operand

export interface TlbiOperand {
  /** Xt[63:48] for the ASID-carrying forms (full 16 bits; 8-bit ASIDs use the low byte). */
  asid: number | null;
  /**
   * First address: a page-aligned VA (EL1&0 forms are sign-extended from bit 55, so TTBR1
   * addresses come out as upper-half VAs) or IPA. Null for forms without an address.
   */
  address: bigint | null;
  /** Range forms: end of the range, exclusive (may be 2^64 at the top of the VA space). */
  end: bigint | null;
  /**
   * Translation granule in bytes from the TTL hint (single forms) or TG (range forms); null when
   * no hint is given or the field holds a reserved value (then the hint must be ignored).
   */
  granule: number | null;
  /** Leaf level hint (TTL), or range TTL level; null = any level. */
  level: number | null;
}

const GRANULE_SHIFT = [0, 12, 14, 16]; // TTL[3:2] / TG encodings: 01 4K, 10 16K, 11 64K

function sext(v: bigint, bits: number): bigint {
  return BigInt.asUintN(64, BigInt.asIntN(bits, v));
}

/** The TTL hint (FEAT_TTL, Xt[47:44]): granule and leaf level, reserved values ignored. */
function ttlHint(ttl: number): { granule: number | null; level: number | null } {
  const tg = ttl >> 2;
  const level = ttl & 3;
  if (tg === 0) return { granule: null, level: null };
  // Level 0 (any granule) and level 1 with 16K/64K need LPA/LPA2, which are not implemented.
  if (level === 0 || (tg >= 2 && level === 1)) return { granule: null, level: null };
  return { granule: 1 << itemAt(GRANULE_SHIFT, tg, "granule"), level };
}

/**
 * Decode the Xt operand of `op` (Arm ARM C5.5 operand formats). For the EL2 regime (nVHE: one
 * VA range) VAs are not sign-extended; for EL1&0 they are (bit 55 selects the TTBR).
 */
export function decodeTlbiOperand(op: TlbiOp, xt: bigint): TlbiOperand {
  const x = BigInt.asUintN(64, xt);
  const asidOf = (): number => Number(x >> 48n);
  const twoRanges = op.op1 === 0;
  switch (op.kind) {
    case "VMALLE1":
    case "ALLE1":
    case "VMALLS12E1":
    case "ALLE2":
      return { asid: null, address: null, end: null, granule: null, level: null };
    case "ASIDE1":
      return { asid: asidOf(), address: null, end: null, granule: null, level: null };
    case "VAE1":
    case "VAAE1":
    case "VAE2": {
      const page = (x & ((1n << 44n) - 1n)) << 12n;
      const hint = ttlHint(Number((x >> 44n) & 0xfn));
      return {
        asid: op.kind === "VAE1" ? asidOf() : null,
        address: twoRanges ? sext(page, 56) : page,
        end: null,
        ...hint,
      };
    }
    case "IPAS2E1": {
      const hint = ttlHint(Number((x >> 44n) & 0xfn));
      return { asid: null, address: (x & ((1n << 40n) - 1n)) << 12n, end: null, ...hint };
    }
    case "RVAE1":
    case "RVAAE1":
    case "RVAE2":
    case "RIPAS2E1":
      return decodeRange(op, x);
  }
}

/** Range operand: [63:48] ASID (or [63] NS), TG, SCALE, NUM, TTL, BaseADDR. */
function decodeRange(op: TlbiOp, x: bigint): TlbiOperand {
  const tg = Number((x >> 46n) & 3n);
  const scale = Number((x >> 44n) & 3n);
  const num = Number((x >> 39n) & 0x1fn);
  const ttl = Number((x >> 37n) & 3n);
  const asid = op.kind === "RVAE1" || op.kind === "RVAE2" ? Number(x >> 48n) : null;
  if (tg === 0) return { asid, address: null, end: null, granule: null, level: null };
  const shift = BigInt(itemAt(GRANULE_SHIFT, tg, "granule"));
  let base = x & ((1n << 37n) - 1n);
  // EL1&0 VA ranges: BaseADDR's top bit selects the half of the VA space (as VA bit 55 does).
  if (op.op1 === 0) base = BigInt.asIntN(37, base);
  const start = BigInt.asUintN(64, base << shift);
  const length = BigInt(num + 1) << (BigInt(5 * scale + 1) + shift);
  return { asid, address: start, end: start + length, granule: 1 << Number(shift), level: ttl === 0 ? null : ttl };
}

// ---------------------------------------------------------------- execution on the TLB

/** Width mask of ASIDs now (TCR_EL1.AS: 16 bits, else 8). */
export function asidMask(cpu: CpuState): number {
  return (cpu.sr.TCR_EL1 >> 36n) & 1n ? 0xffff : 0xff;
}

/**
 * Apply `op` with operand `xt` to `tlb` for the EL1&0 regime of `vmid`. Forms whose operand has a
 * reserved granule are widened (over-invalidating is always allowed). EL2-regime forms are no-ops:
 * the architectural TLB holds only EL1&0 entries (EL2 is the host).
 */
export function invalidateTlb(tlb: Tlb, op: TlbiOp, xt: bigint, vmid: number, asidBits: 0xff | 0xffff): void {
  const o = decodeTlbiOperand(op, xt);
  const asid = o.asid === null ? null : o.asid & asidBits;
  const last = op.lastLevel;
  switch (op.kind) {
    case "VMALLE1":
      return tlb.flushVmidStage1(vmid);
    case "ASIDE1":
      return tlb.flushAsid(vmid, asid!);
    case "VAE1":
    case "VAAE1":
      return tlb.flushVa(vmid, asid, o.address!, last);
    case "RVAE1":
    case "RVAAE1":
      if (o.address === null) return tlb.flushVmidStage1(vmid);
      return tlb.flushVaRange(vmid, asid, o.address, o.end!, last);
    case "ALLE1":
      return tlb.flushAll();
    case "VMALLS12E1":
      return tlb.flushVmid(vmid);
    case "IPAS2E1":
      return tlb.flushIpa(vmid, o.address!, last);
    case "RIPAS2E1":
      if (o.address === null) return tlb.flushVmid(vmid);
      return tlb.flushIpaRange(vmid, o.address, o.end!, last);
    case "ALLE2":
    case "VAE2":
    case "RVAE2":
      return;
  }
}

// ---------------------------------------------------------------- broadcast

/** CPUs that share the Inner/Outer Shareable domain with a CPU (for IS/OS broadcast). */
const DOMAIN = new WeakMap<CpuState, readonly CpuState[]>();

/** Declare `cpus` one shareability domain: their IS/OS TLBIs reach every member's TLB. */
export function setShareabilityDomain(cpus: readonly CpuState[]): void {
  const members = [...cpus];
  for (const c of members) DOMAIN.set(c, members);
}

/**
 * Execute a TLBI from EL1 on `cpu` (after the trap checks): the current VMID and ASID width,
 * broadcast to the shareability domain for IS/OS forms (and for local forms when HCR_EL2.FB), and
 * drop the fast translation caches of every CPU touched.
 */
export function executeTlbi(cpu: CpuState, op: TlbiOp, xt: bigint): void {
  const vmid = currentVmid(cpu.sr);
  const bits = asidMask(cpu) as 0xff | 0xffff;
  const broadcast = op.scope !== "local" || ((cpu.sr.HCR_EL2 >> 9n) & 1n) !== 0n;
  const targets = broadcast ? (DOMAIN.get(cpu) ?? [cpu]) : [cpu];
  for (const c of targets) {
    invalidateTlb(c.tlb, op, xt, vmid, bits);
    c.flushFastTlb();
  }
}
