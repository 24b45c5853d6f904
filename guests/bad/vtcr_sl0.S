// Broken L1: VTCR_EL2.SL0=2 (start level 0) with T0SZ=25 (39-bit IPA): too few bits for a level-0
// start with a 4K granule, so the walk is refused. L1 gets an Address size fault, level 0.

        .include "../l1/lib/defs.S"
        .equ VTCR_VALUE, VTCR_RES1 | VTCR_PS_40 | VTCR_TG0_4K | VTCR_SH0_INNER | (2 << 6) | 25
        .include "lib/l1_4k.S"

s2_corrupt_root:
        ret

banner_text:    .asciz "L1: bad: VTCR_EL2.SL0=2 with T0SZ=25\n"
