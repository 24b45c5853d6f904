// Broken L1: level-1 entry 1 (nested IPA 0x4000_0000..0x7fff_ffff) is a table descriptor to
// 0x80_0000_0000: inside the 40-bit output size, but not L1 memory. The walk cannot read it:
// L1 gets an Address size fault, level 0 (KVM's answer to a walk that fails to read).

        .include "../l1/lib/defs.S"
        .equ VTCR_VALUE, VTCR_RES1 | VTCR_PS_40 | VTCR_TG0_4K | VTCR_SH0_INNER | (1 << 6) | 25
        .include "lib/l1_4k.S"

s2_corrupt_root:
        mov64   x1, 0x8000000000 | S2_TABLE
        str     x1, [x0, #8]
        dsb     ishst
        ret

banner_text:    .asciz "L1: bad: stage-2 table outside L1 memory\n"
