// Broken L1: its stage-2 root points back at itself. Entries 0 and 1 of the level-1 root are table
// descriptors to the root, so the walk of nested IPA 0x4000_0000 reads the root at levels 1, 2
// and 3, where entry 0 is taken as a page descriptor (to the root, AF clear). Levels are
// bounded: the walk ends with an Access flag fault, level 3 (FSC 0x0b), for L1.

        .include "../l1/lib/defs.S"
        .equ VTCR_VALUE, VTCR_RES1 | VTCR_PS_40 | VTCR_TG0_4K | VTCR_SH0_INNER | (1 << 6) | 25
        .include "lib/l1_4k.S"

s2_corrupt_root:
        orr     x1, x0, #S2_TABLE
        str     x1, [x0]
        str     x1, [x0, #8]
        dsb     ishst
        ret

banner_text:    .asciz "L1: bad: stage-2 root entries point at the root\n"
