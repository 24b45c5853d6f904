// Flags of a CPU data access (CpuState.load/store and friends): how it is checked and reported.

export const ACC_UNPRIV = 1; // LDTR/STTR: permission checked as EL0
export const ACC_ALIGN = 2; // must be size-aligned (exclusives, acquire/release)
export const ACC_CM = 4; // cache maintenance / AT (syndrome CM=1, reported as a write)
