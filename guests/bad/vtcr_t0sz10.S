// Broken L1: VTCR_EL2.T0SZ=10 (a 54-bit IPA), which a stage-2 walk refuses (T0SZ 25..48 only).
// L0 cannot walk L1's tables: L2's first fetch gives L1 an Address size fault, level 0 (FSC 0).

        .include "../l1/lib/defs.S"
        .equ VTCR_VALUE, VTCR_RES1 | VTCR_PS_40 | VTCR_TG0_4K | VTCR_SH0_INNER | (1 << 6) | 10
        .include "lib/l1_4k.S"

s2_corrupt_root:
        ret

banner_text:    .asciz "L1: bad: VTCR_EL2.T0SZ=10\n"
