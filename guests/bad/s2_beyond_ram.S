// Broken L1: besides the lazy L2 window, a level-1 block maps nested IPA 0..0x3fff_ffff to
// canonical 0x4000_0000..0x7fff_ffff, most of which (above L1's RAM) is neither RAM nor a device.
// With l2_beyond_ram.S: L2's load from nested 0x1800_0000 reaches canonical 0x5800_0000, which
// L0 reports as a guest error at L2.

        .include "../l1/lib/defs.S"
        .equ VTCR_VALUE, VTCR_RES1 | VTCR_PS_40 | VTCR_TG0_4K | VTCR_SH0_INNER | (1 << 6) | 25
        .include "lib/l1_4k.S"

s2_corrupt_root:
        mov64   x1, 0x40000000 | S2_ATTR_RAM | S2_BLOCK
        str     x1, [x0]
        dsb     ishst
        ret

banner_text:    .asciz "L1: bad: block to canonical 0x40000000..0x7fffffff\n"
