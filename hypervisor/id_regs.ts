// The ID registers a guest hypervisor (L1) and its guests (L2) read (KVM: the ID register part of
// sys_regs.c, read_sanitised_id_reg / kvm_read_vm_id_reg, and nested.c limit_nv_id_reg).
//
// L0 traps the whole feature-ID space (HCR_EL2.TID3) in both worlds and answers from this table, so
// a guest is never told about a feature nvlab does not give it. The hardware values
// (emulator/sysreg_table.ts `ID`) describe the CPU L0 runs on, which has FEAT_NV for L0's own use;
// L1 must not see that, because HCR_EL2.NV set by L1 has no effect on L2 (no recursive nesting).
//
// Every field is 4 bits. A field not listed reads 0; for most fields that means "not implemented",
// for the few signed ones it is spelled out (TGran4/TGran64 = 0 means "supported", FP = 0xF "not").

import { sysRegKey } from "../emulator/sysreg_table.ts";

export interface IdField {
  /** The Arm ARM's field name. */
  readonly name: string;
  /** Lowest bit of the 4-bit field. */
  readonly lsb: number;
  /** What L1 and L2 read. */
  readonly value: number;
  /** One line: why this value. */
  readonly why: string;
}

export interface IdRegView {
  readonly name: string;
  /** op0, op1, CRn, CRm, op2. */
  readonly enc: readonly [number, number, number, number, number];
  readonly fields: readonly IdField[];
}

const f = (name: string, lsb: number, value: number, why: string): IdField => ({ name, lsb, value, why });

const NOT_DECODED = "the emulator does not decode these instructions";
const KVM_HIDES = "KVM hides it from a guest hypervisor (limit_nv_id_reg)";

/** What L1 and L2 read in every ID register that has something to say. */
export const NV_ID_REGS: readonly IdRegView[] = [
  {
    name: "ID_AA64PFR0_EL1",
    enc: [3, 0, 0, 4, 0],
    fields: [
      f("EL0", 0, 1, "AArch64 only (KVM: 64-bit only at every EL for a guest hypervisor)"),
      f("EL1", 4, 1, "AArch64 only: L2's kernel"),
      f("EL2", 8, 1, "L1 runs at virtual EL2 (L0 emulates FEAT_NV for it)"),
      f("EL3", 12, 0, "no EL3: L1's SMC is PSCI in L0, L2's is UNDEFINED (KVM says IMP; QEMU's virt says 0)"),
      f("FP", 16, 0, "floating point without half-precision arithmetic (no FEAT_FP16)"),
      f("AdvSIMD", 20, 0, "Advanced SIMD without half-precision arithmetic (no FEAT_FP16)"),
      f("GIC", 24, 0, "no GIC system-register interface is modelled"),
      f("RAS", 28, 0, "no RAS extension"),
      f("SVE", 32, 0, "no SVE"),
      f("SEL2", 36, 0, `no Secure EL2; ${KVM_HIDES}`),
      f("MPAM", 40, 0, `no MPAM; ${KVM_HIDES}`),
      f("AMU", 44, 0, `no activity monitors; ${KVM_HIDES}`),
      f("RME", 52, 0, `no Realm Management Extension; ${KVM_HIDES}`),
    ],
  },
  {
    name: "ID_AA64PFR1_EL1",
    enc: [3, 0, 0, 4, 1],
    fields: [
      f("BT", 0, 0, "no BTI: BTI is a NOP hint here"),
      f("SSBS", 4, 0, "no PSTATE.SSBS"),
      f("MTE", 8, 0, `no MTE; ${KVM_HIDES}`),
      f("SME", 24, 0, `no SME; ${KVM_HIDES}`),
      f("NMI", 36, 0, `no FEAT_NMI; ${KVM_HIDES}`),
      f("GCS", 44, 0, `no guarded control stack; ${KVM_HIDES}`),
    ],
  },
  { name: "ID_AA64ZFR0_EL1", enc: [3, 0, 0, 4, 4], fields: [f("SVEver", 0, 0, "no SVE")] },
  { name: "ID_AA64SMFR0_EL1", enc: [3, 0, 0, 4, 5], fields: [f("FA64", 60, 0, "no SME")] },
  {
    name: "ID_AA64DFR0_EL1",
    enc: [3, 0, 0, 5, 0],
    fields: [
      f("DebugVer", 0, 6, "Armv8.0 debug, the least AArch64 allows: the registers exist, debug exceptions are not raised"),
      f("TraceVer", 4, 0, `no trace unit; ${KVM_HIDES}`),
      f("PMUVer", 8, 0, "no PMU"),
      f("BRPs", 12, 1, "two breakpoint register pairs (storage only)"),
      f("WRPs", 20, 1, "two watchpoint register pairs (storage only)"),
      f("CTX_CMPs", 28, 0, "one context-aware breakpoint, the least allowed"),
      f("PMSVer", 32, 0, `no statistical profiling; ${KVM_HIDES}`),
      f("TraceBuffer", 44, 0, `no trace buffer; ${KVM_HIDES}`),
      f("BRBE", 52, 0, `no branch record buffer; ${KVM_HIDES}`),
    ],
  },
  {
    name: "ID_AA64ISAR0_EL1",
    enc: [3, 0, 0, 6, 0],
    fields: [
      f("AES", 4, 0, NOT_DECODED),
      f("SHA1", 8, 0, NOT_DECODED),
      f("SHA2", 12, 0, NOT_DECODED),
      f("CRC32", 16, 0, NOT_DECODED),
      f("Atomic", 20, 0, "no LSE atomics (CAS, LDADD…): exclusives only"),
      f("TME", 24, 0, `no transactional memory; ${KVM_HIDES}`),
      f("RNDR", 60, 0, "no RNDR"),
      f("TLB", 56, 2, "L0 emulates L1's outer-shareable and range TLBIs (RIPAS2E1IS…)"),
    ],
  },
  {
    name: "ID_AA64ISAR1_EL1",
    enc: [3, 0, 0, 6, 1],
    fields: [
      f("APA", 4, 0, "no pointer authentication"),
      f("API", 8, 0, "no pointer authentication"),
      f("LRCPC", 20, 0, "no LDAPR"),
      f("GPA", 24, 0, "no pointer authentication"),
      f("GPI", 28, 0, "no pointer authentication"),
      f("SB", 36, 1, "SB executes (as a barrier, it needs nothing from L0)"),
      f("SPECRES", 40, 0, `no prediction restriction instructions; ${KVM_HIDES}`),
      f("XS", 56, 1, "L0 emulates L1's nXS TLBIs as the plain ones (nXS only relaxes completion)"),
      f("LS64", 60, 0, `no 64-byte loads/stores; ${KVM_HIDES}`),
    ],
  },
  {
    name: "ID_AA64ISAR2_EL1",
    enc: [3, 0, 0, 6, 2],
    fields: [
      f("WFxT", 0, 0, "no WFET/WFIT"),
      f("APA3", 12, 0, "no pointer authentication"),
      f("MOPS", 16, 0, "no memory copy/set instructions"),
    ],
  },
  {
    name: "ID_AA64MMFR0_EL1",
    enc: [3, 0, 0, 7, 0],
    fields: [
      f("PARange", 0, 5, "48 bits: L0's IPA space and the walker's output size (KVM also caps at 48)"),
      f("ASIDBits", 4, 2, "16-bit ASIDs: the TLB tags them"),
      f("BigEnd", 8, 0, "little-endian only"),
      f("SNSMem", 12, 0, `no Secure memory; ${KVM_HIDES}`),
      f("TGran16", 20, 1, "16K stage-1 granule supported"),
      f("TGran64", 24, 0, "64K stage-1 granule supported (0 = supported)"),
      f("TGran4", 28, 0, "4K stage-1 granule supported (0 = supported)"),
      f("TGran16_2", 32, 2, "L1's stage-2 may use 16K: L0 shadows it with its own 4K leaves (KVM on 4K pages offers every granule)"),
      f("TGran64_2", 36, 2, "L1's stage-2 may use 64K: shadowed with 4K leaves"),
      f("TGran4_2", 40, 2, "L1's stage-2 may use 4K, L0's own granule"),
      f("ExS", 44, 0, `exception entry/exit always context-synchronizing; ${KVM_HIDES}`),
      f("FGT", 56, 0, "no fine-grained traps (HFGRTR_EL2…)"),
      f("ECV", 60, 0, "no enhanced counter virtualization"),
    ],
  },
  {
    name: "ID_AA64MMFR1_EL1",
    enc: [3, 0, 0, 7, 1],
    fields: [
      f("HAFDBS", 0, 0, `no hardware access flag or dirty state; ${KVM_HIDES}`),
      f("VMIDBits", 4, 2, "16-bit VMIDs: L0 reads VTTBR_EL2[63:48] whole"),
      f("VH", 8, 0, "vEL2 is nVHE only: HCR_EL2.E2H is RES0 (KVM's E2H0 configuration hides VH too)"),
      f("HPDS", 12, 0, "no hierarchical permission disables"),
      f("LO", 16, 0, "no LORegions"),
      f("PAN", 20, 0, "no PAN"),
      f("XNX", 28, 0, `no EL0/EL1 split of stage-2 XN; ${KVM_HIDES}`),
      f("ETS", 36, 0, KVM_HIDES),
      f("HCX", 40, 0, "no HCRX_EL2"),
      f("nTLBPA", 48, 0, KVM_HIDES),
      f("CMOW", 56, 0, KVM_HIDES),
    ],
  },
  {
    name: "ID_AA64MMFR2_EL1",
    enc: [3, 0, 0, 7, 2],
    fields: [
      f("CnP", 0, 0, "no common-not-private translations"),
      f("UAO", 4, 0, "no PSTATE.UAO"),
      f("VARange", 16, 0, `48-bit VAs; ${KVM_HIDES}`),
      f("CCIDX", 20, 0, `32-bit CCSIDR; ${KVM_HIDES}`),
      f("NV", 24, 0, "no recursive nesting: HCR_EL2.NV/NV1 set by L1 have no effect on L2"),
      f("ST", 28, 0, `no small translation tables; ${KVM_HIDES}`),
      f("IDS", 36, 0, "EL0 ID-space reads are UNDEFINED (no FEAT_IDST)"),
      f("FWB", 40, 0, "no stage-2 forced write-back"),
      f("TTL", 48, 1, "L0 reads the level hint of L1's TLBIs (KVM forces TTL = IMP for a guest hypervisor)"),
      f("BBM", 52, 0, `level 0 break-before-make; ${KVM_HIDES}`),
      f("E0PD", 60, 0, "no E0PD"),
    ],
  },
  {
    name: "ID_AA64MMFR3_EL1",
    enc: [3, 0, 0, 7, 3],
    fields: [
      f("TCRX", 0, 0, "no TCR2_ELx"),
      f("SCTLRX", 4, 0, "no SCTLR2_ELx"),
      f("S1PIE", 8, 0, "no permission indirection"),
      f("S1POE", 16, 0, "no permission overlays"),
    ],
  },
  {
    name: "ID_AA64MMFR4_EL1",
    enc: [3, 0, 0, 7, 4],
    fields: [
      f("NV_frac", 20, 0, "no NV2-only restriction (and no NV at all, see MMFR2.NV)"),
      f("E2H0", 24, 0, "FEAT_E2H0: HCR_EL2.E2H = 0 is the only mode (KVM's E2H0 configuration: MMFR4 = 0)"),
    ],
  },
];

/** A register's value from its fields. */
export function idRegValue(view: IdRegView): bigint {
  let v = 0n;
  for (const x of view.fields) v |= BigInt(x.value & 0xf) << BigInt(x.lsb);
  return v;
}

/** The 4-bit field of `value` at `lsb`. */
export function idField(value: bigint, lsb: number): number {
  return Number((value >> BigInt(lsb)) & 0xfn);
}

const BY_KEY = new Map<number, bigint>(NV_ID_REGS.map((r) => [sysRegKey(...r.enc), idRegValue(r)]));

/** Whether an MRS/MSR encoding is in the feature-ID space HCR_EL2.TID3 traps (op0=3, op1=0, CRn=0, CRm=1..7). */
export function isIdRegSpace(op0: number, op1: number, crn: number, crm: number): boolean {
  return op0 === 3 && op1 === 0 && crn === 0 && crm >= 1 && crm <= 7;
}

/**
 * kvm_read_vm_id_reg: what a guest reads at an encoding of the ID space. Registers not in the table
 * (AArch32 ID registers of an AArch64-only VM, reserved encodings) read as zero, as KVM's do.
 */
export function kvmReadVmIdReg(op0: number, op1: number, crn: number, crm: number, op2: number): bigint {
  return BY_KEY.get(sysRegKey(op0, op1, crn, crm, op2)) ?? 0n;
}
