// L1 "smp": one L2 per vCPU. The primary starts vCPUs 1, 2, ... with PSCI CPU_ON until the host
// has no more (at most 4); vCPU n runs L2 #n (canonical 0x4800_0000 + n * 16 MiB, VMID n + 1, its
// own 4K-granule stage-2 tables, filled lazily) once, concurrently with the others. The primary
// prints every run in vCPU order after all have exited, so the console does not depend on how
// the vCPUs interleave; with one vCPU it is a plain single run of L2 #0.

        .equ SHARED_L2, 0
        .equ ROUNDS, 1                  // one L2 run per vCPU
        .include "lib/defs.S"
        .include "lib/smp_main.S"
        .include "lib/s2_4k.S"
banner_text:    .asciz "L1: smp: one L2 per vCPU, 4K granule, lazy 4K pages\n"
        .include "lib/vectors.S"
        .include "lib/smp_data.S"
