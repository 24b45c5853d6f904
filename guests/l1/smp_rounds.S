// L1 "smp_rounds": as l1/smp.S (vCPU n runs L2 #n in its own window, with its own 4K-granule
// stage-2 tables), but each vCPU runs its L2 three times, and every run has its own VMID:
// n + 1 + 4 * round (vCPU 0: VMIDs 1, 5, 9; vCPU 3: 4, 8, 12). The tables are reused, so L1
// handles stage-2 faults only in round 0; to the host each run is a new stage-2 context. With
// four vCPUs that is 12 VMIDs, more than the host keeps shadow stage-2 MMUs for (2 per vCPU by
// default), so it must recycle MMUs while the other vCPUs hold theirs. The report is in vCPU
// order, then run order, as l1/smp.S prints it.

        .equ SHARED_L2, 0
        .equ ROUNDS, 3
        .include "lib/defs.S"
        .include "lib/smp_main.S"
        .include "lib/s2_4k.S"
banner_text:    .asciz "L1: smp_rounds: one L2 per vCPU, 3 rounds, a VMID per round, 4K granule, lazy 4K pages\n"
        .include "lib/vectors.S"
        .include "lib/smp_data.S"
