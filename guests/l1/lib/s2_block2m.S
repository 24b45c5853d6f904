// Stage-2 format: 4K granule, 32-bit nested IPA (T0SZ=32), start at level 2 (SL0=0) with four
// concatenated level-2 tables (16 KiB, 2048 entries), 2M block descriptors at level 2.

        .equ VTCR_VALUE, VTCR_RES1 | VTCR_PS_40 | VTCR_TG0_4K | VTCR_SH0_INNER | (0 << 6) | 32
        .equ S2_MAP_SHIFT, 21           // leaves are 2M blocks
        .equ S2_TABLE_SHIFT, 12
        .equ S2_LEAF_TYPE, S2_BLOCK

// s2_alloc_root() -> x0 = four zeroed, concatenated level-2 tables (16K aligned).
s2_alloc_root:
        mov     x0, #14
        b       pool_alloc

// s2_leaf_slot(x0 = root, x1 = nested IPA) -> x0 = address of its level-2 block descriptor.
s2_leaf_slot:
        ubfx    x1, x1, #21, #11
        add     x0, x0, x1, lsl #3
        ret
