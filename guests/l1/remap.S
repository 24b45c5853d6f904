// L1 "remap": hyp.S plus the remap service (lib/remap_service.S), which points one 4K page of L2 at
// remap_page below (0xfedcba9876543210 in its first word) without copying anything.

        .equ NUM_L2, 1
        .equ ROUNDS, 1
        .include "lib/defs.S"
        .include "lib/main.S"
        .include "lib/s2_4k.S"
        .include "lib/s2_common.S"
        .include "lib/console.S"

        .include "lib/remap_service.S"

// The remapped page is remap_page below.
remap_target:
        adrl    x1, remap_page
        ret

msg_remapped:     .asciz "L1: remapped L2 page "
banner_text:      .asciz "L1: remap: 4K granule, lazy 4K pages, remap service\n"
        .include "lib/vectors.S"

        .balign 4096
remap_page:
        .quad   0xfedcba9876543210
        .space  4088
        .include "lib/data.S"
