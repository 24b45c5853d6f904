// L1 "hypblock": like hyp.S, but maps L2 memory with 2M block descriptors at level 2 (4K granule,
// T0SZ=32, start level 2 with four concatenated tables): one stage-2 fault per 2M of L2 memory.

        .equ NUM_L2, 1
        .equ ROUNDS, 1
        .include "lib/defs.S"
        .include "lib/main.S"
        .include "lib/s2_block2m.S"
        .include "lib/s2_common.S"
        .include "lib/hvc_none.S"
        .include "lib/console.S"
banner_text:    .asciz "L1: hypblock: 4K granule, lazy 2M blocks\n"
        .include "lib/vectors.S"
        .include "lib/data.S"
