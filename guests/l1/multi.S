// L1 "multi": six L2s (L2 #n at canonical 0x4800_0000 + n * 16 MiB, VMID n + 1), each with its
// own 4K-granule stage-2 tables. L1 runs them one after another, then a second round in the
// same order with the tables it already built (no stage-2 faults in round 2) — six VMIDs, more
// than a one-vCPU host keeps shadow stage-2 MMUs for, so the host must recycle them.

        .equ NUM_L2, 6
        .equ ROUNDS, 2
        .include "lib/defs.S"
        .include "lib/main.S"
        .include "lib/s2_4k.S"
        .include "lib/s2_common.S"
        .include "lib/hvc_none.S"
        .include "lib/console.S"
banner_text:    .asciz "L1: multi: 6 L2s, 2 rounds, 4K granule, lazy 4K pages\n"
        .include "lib/vectors.S"
        .include "lib/data.S"
