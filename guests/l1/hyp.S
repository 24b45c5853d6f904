// L1 "hyp": the minimal guest hypervisor. One L2 (VMID 1) behind a 4K-granule stage-2 that L1
// fills lazily, one 4K page per stage-2 translation fault. Guest ABI: guests/README.md.

        .equ NUM_L2, 1
        .equ ROUNDS, 1
        .include "lib/defs.S"
        .include "lib/main.S"
        .include "lib/s2_4k.S"
        .include "lib/s2_common.S"
        .include "lib/hvc_none.S"
        .include "lib/console.S"
banner_text:    .asciz "L1: hyp: 4K granule, lazy 4K pages\n"
        .include "lib/vectors.S"
        .include "lib/data.S"
