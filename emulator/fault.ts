// Translation faults as the MMU reports them, before they become an exception syndrome.

export const enum FaultType {
  AddressSize = 0,
  Translation = 1,
  AccessFlag = 2,
  Permission = 3,
  /** Synchronous external abort: the access (or a walk) reached a PA with nothing behind it. */
  ExternalAbort = 4,
  Alignment = 5,
}

export interface Fault {
  type: FaultType;
  /** 1 = stage-1 fault (reported to EL1), 2 = stage-2 fault (reported to EL2). */
  stage: 1 | 2;
  /** Lookup level the fault occurred at (stage-2 level for S1PTW faults); -1..3. */
  level: number;
  /** Stage-2 fault on a stage-1 translation-table walk access. */
  s1ptw: boolean;
  /** External abort during a table walk (selects the "on walk" FSC). */
  onWalk?: boolean;
  /** For stage-2 faults: the faulting IPA (goes to HPFAR_EL2). */
  ipa: bigint;
}

export const enum AccessKind {
  Read = 0,
  Write = 1,
  Fetch = 2,
}

/** Fault status code (DFSC/IFSC, PAR_EL1.FST) for a fault. */
export function faultStatusCode(f: Fault): number {
  const lvl = f.level & 3;
  switch (f.type) {
    case FaultType.AddressSize:
      return f.level < 0 ? 0x29 : 0x00 | lvl;
    case FaultType.Translation:
      return f.level < 0 ? 0x2b : 0x04 | lvl;
    case FaultType.AccessFlag:
      return 0x08 | lvl;
    case FaultType.Permission:
      return 0x0c | lvl;
    case FaultType.ExternalAbort:
      return f.onWalk || f.s1ptw ? 0x14 | lvl : 0x10;
    case FaultType.Alignment:
      return 0x21;
  }
}

export function faultName(f: Fault): string {
  const names = ["address size", "translation", "access flag", "permission", "external abort", "alignment"];
  return `stage-${f.stage} ${names[f.type]} fault, level ${f.level}${f.s1ptw ? " (on stage-1 walk)" : ""}`;
}
