// Broken L1: level-1 entry 1 is a table descriptor to 0x1000_0000_0000, beyond the 40-bit output
// size VTCR_EL2.PS gives: an Address size fault, level 1 (FSC 0x01), for L1.

        .include "../l1/lib/defs.S"
        .equ VTCR_VALUE, VTCR_RES1 | VTCR_PS_40 | VTCR_TG0_4K | VTCR_SH0_INNER | (1 << 6) | 25
        .include "lib/l1_4k.S"

s2_corrupt_root:
        mov64   x1, 0x100000000000 | S2_TABLE
        str     x1, [x0, #8]
        dsb     ishst
        ret

banner_text:    .asciz "L1: bad: stage-2 table beyond the output size\n"
