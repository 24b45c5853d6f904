// L1 "smp_shared": one L2 run by every vCPU. As l1/smp.S, except that all vCPUs enter L2 #0
// (VMID 1, one 4K-granule stage-2, filled lazily by whichever vCPU faults first) at its entry,
// each with its vCPU number in x0 (the L2 picks its own stack and data from it). Which vCPU
// takes the fault for a shared page is timing, so L1 reports the pages mapped at the end rather
// than per-vCPU fault counts.

        .equ SHARED_L2, 1
        .equ ROUNDS, 1                  // one L2 run per vCPU
        .include "lib/defs.S"
        .include "lib/smp_main.S"
        .include "lib/s2_4k.S"
banner_text:    .asciz "L1: smp_shared: one L2 on every vCPU, 4K granule, lazy 4K pages\n"
        .include "lib/vectors.S"
        .include "lib/smp_data.S"
