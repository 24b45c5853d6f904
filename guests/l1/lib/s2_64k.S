// Stage-2 format: 64K granule, 32-bit nested IPA (T0SZ=32), start at level 2 (SL0=1: 8 entries
// of 512 MiB), 64K pages at level 3 (8192 entries per table).

        .equ VTCR_VALUE, VTCR_RES1 | VTCR_PS_40 | VTCR_TG0_64K | VTCR_SH0_INNER | (1 << 6) | 32
        .equ S2_MAP_SHIFT, 16           // leaves are 64K pages
        .equ S2_TABLE_SHIFT, 16
        .equ S2_LEAF_TYPE, S2_PAGE

// s2_alloc_root() -> x0 = a zeroed level-2 table (64K aligned).
s2_alloc_root:
        mov     x0, #16
        b       pool_alloc

// s2_leaf_slot(x0 = root, x1 = nested IPA) -> x0 = address of its level-3 descriptor.
s2_leaf_slot:
        stp     x29, x30, [sp, #-32]!
        stp     x19, x20, [sp, #16]
        mov     x20, x1
        ubfx    x1, x20, #29, #3
        bl      s2_next_table           // level 2 -> level-3 table
        ubfx    x1, x20, #16, #13
        add     x0, x0, x1, lsl #3
        ldp     x19, x20, [sp, #16]
        ldp     x29, x30, [sp], #32
        ret
