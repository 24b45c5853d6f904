// L1 "hyp64k": like hyp.S, with a 64K-granule stage-2 (T0SZ=32, start level 2): one 64K page per
// stage-2 translation fault.

        .equ NUM_L2, 1
        .equ ROUNDS, 1
        .include "lib/defs.S"
        .include "lib/main.S"
        .include "lib/s2_64k.S"
        .include "lib/s2_common.S"
        .include "lib/hvc_none.S"
        .include "lib/console.S"
banner_text:    .asciz "L1: hyp64k: 64K granule, lazy 64K pages\n"
        .include "lib/vectors.S"
        .include "lib/data.S"
