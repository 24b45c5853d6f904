// MPIDR_EL1, the affinity a CPU reports and PSCI addresses it by. nvlab numbers CPU i as
// Aff0 = i[7:0], Aff1 = i[15:8] (Aff2 = Aff3 = 0): CPUs below 256 keep the Aff0-only values the
// guests and QEMU's first cluster use, and every CPU up to 65535 has an affinity of its own, so
// CPU_ON and AFFINITY_INFO find CPU 256 by MPIDR 0x100 rather than aliasing it to CPU 0.

/** MPIDR_EL1 bit 31, RES1. */
const MPIDR_RES1 = 0x8000_0000n;

/** Most CPUs the two affinity levels nvlab fills can number. */
export const MPIDR_MAX_CPUS = 1 << 16;

/** MPIDR_EL1 of CPU `index`: bit 31 set, U = 0, MT = 0, Aff1.Aff0 = the index. */
export function mpidrOfIndex(index: number): bigint {
  return MPIDR_RES1 | (BigInt((index >> 8) & 0xff) << 8n) | BigInt(index & 0xff);
}
