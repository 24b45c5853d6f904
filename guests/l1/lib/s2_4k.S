// Stage-2 format: 4K granule, 39-bit nested IPA (T0SZ=25), start at level 1 (SL0=1), 4K pages.

        .equ VTCR_VALUE, VTCR_RES1 | VTCR_PS_40 | VTCR_TG0_4K | VTCR_SH0_INNER | (1 << 6) | 25
        .equ S2_MAP_SHIFT, 12           // leaves are 4K pages
        .equ S2_TABLE_SHIFT, 12
        .equ S2_LEAF_TYPE, S2_PAGE

// s2_alloc_root() -> x0 = a zeroed level-1 table.
s2_alloc_root:
        mov     x0, #12
        b       pool_alloc

// s2_leaf_slot(x0 = root, x1 = nested IPA) -> x0 = address of its level-3 descriptor.
s2_leaf_slot:
        stp     x29, x30, [sp, #-32]!
        stp     x19, x20, [sp, #16]
        mov     x20, x1
        ubfx    x1, x20, #30, #9
        bl      s2_next_table           // level 1 -> level-2 table
        ubfx    x1, x20, #21, #9
        bl      s2_next_table           // level 2 -> level-3 table
        ubfx    x1, x20, #12, #9
        add     x0, x0, x1, lsl #3
        ldp     x19, x20, [sp, #16]
        ldp     x29, x30, [sp], #32
        ret
