// A hyp.S-like L1 (4K granule, lazy 4K pages, one L2) whose variant chooses VTCR_EL2 and may
// corrupt the stage-2 root right after allocating it. Each variant first includes
// ../l1/lib/defs.S, defines VTCR_VALUE, includes this file, and defines s2_corrupt_root
// (x0 = the zeroed level-1 root; must return it in x0; may clobber x1-x6) and banner_text.
// The machinery is the shipped L1's (../../l1/lib): L1 reports any stage-2 fault that is not a
// translation fault as "L1: unexpected stage-2 fault from L2: ESR=… HPFAR=…" and exits 5.

        .equ NUM_L2, 1
        .equ ROUNDS, 1
        .include "../../l1/lib/main.S"

        .equ S2_MAP_SHIFT, 12
        .equ S2_TABLE_SHIFT, 12
        .equ S2_LEAF_TYPE, S2_PAGE

// s2_alloc_root() -> x0 = a level-1 table, as the variant leaves it.
s2_alloc_root:
        stp     x29, x30, [sp, #-16]!
        mov     x0, #12
        bl      pool_alloc
        bl      s2_corrupt_root
        ldp     x29, x30, [sp], #16
        ret

// s2_leaf_slot(x0 = root, x1 = nested IPA) -> x0 = address of its level-3 descriptor.
s2_leaf_slot:
        stp     x29, x30, [sp, #-32]!
        stp     x19, x20, [sp, #16]
        mov     x20, x1
        ubfx    x1, x20, #30, #9
        bl      s2_next_table
        ubfx    x1, x20, #21, #9
        bl      s2_next_table
        ubfx    x1, x20, #12, #9
        add     x0, x0, x1, lsl #3
        ldp     x19, x20, [sp, #16]
        ldp     x29, x30, [sp], #32
        ret

        .include "../../l1/lib/s2_common.S"
        .include "../../l1/lib/hvc_none.S"
        .include "../../l1/lib/console.S"
        .include "../../l1/lib/vectors.S"
        .include "../../l1/lib/data.S"
