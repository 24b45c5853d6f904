// Stage-2 table building shared by the granule files (s2_4k.S, s2_64k.S, s2_block2m.S), which
// define S2_TABLE_SHIFT (log2 of a table's size), S2_LEAF_TYPE and s2_leaf_slot.

// pool_alloc(x0 = log2 size) -> x0 = zeroed block of that size, aligned to it, from the table pool.
// Clobbers x0-x6.
pool_alloc:
        mov     x3, #1
        lsl     x3, x3, x0              // size
        sub     x4, x3, #1
        adrl    x5, pool_next
        ldr     x1, [x5]
        add     x1, x1, x4
        bic     x1, x1, x4              // align up
        add     x2, x1, x3
        mov64   x6, POOL_END
        cmp     x2, x6
        b.hi    pool_exhausted
        str     x2, [x5]
        mov     x0, x1
1:      stp     xzr, xzr, [x1], #16
        cmp     x1, x2
        b.lo    1b
        ret

pool_exhausted:
        adrl    x0, msg_pool
        bl      console_puts
        mov     x0, #ERR_POOL
        b       system_off

// s2_next_table(x0 = table, x1 = index) -> x0 = the next-level table its entry points at,
// allocated (and the entry written) when the entry is invalid.
s2_next_table:
        stp     x29, x30, [sp, #-32]!
        str     x19, [sp, #16]
        add     x19, x0, x1, lsl #3
        ldr     x0, [x19]
        tbz     x0, #0, 1f
        ubfx    x0, x0, #S2_TABLE_SHIFT, #(48 - S2_TABLE_SHIFT)
        lsl     x0, x0, #S2_TABLE_SHIFT
        b       2f
1:      mov     x0, #S2_TABLE_SHIFT
        bl      pool_alloc
        dsb     ishst                   // the zeroed table before the entry that publishes it
        orr     x1, x0, #S2_TABLE
        str     x1, [x19]
2:      ldr     x19, [sp, #16]
        ldp     x29, x30, [sp], #32
        ret

// s2_map(x0 = root, x1 = nested IPA, x2 = output address, x3 = attributes): write the leaf
// descriptor for one S2_MAP_SHIFT-sized granule. The caller issues the DSB.
s2_map:
        stp     x29, x30, [sp, #-32]!
        stp     x19, x20, [sp, #16]
        orr     x19, x2, x3
        orr     x19, x19, #S2_LEAF_TYPE
        bl      s2_leaf_slot
        str     x19, [x0]
        ldp     x19, x20, [sp, #16]
        ldp     x29, x30, [sp], #32
        ret

msg_pool:       .asciz "L1: stage-2 table pool exhausted\n"
        .balign 4
