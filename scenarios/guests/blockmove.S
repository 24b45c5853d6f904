// L1 "blockmove" (scenarios only): guests/l1/hypblock.S (L2 memory mapped with lazy 2M blocks) plus
// a block-move service. hvc #0 with x0 = 3, x1 = nested IPA of a page of L2: L1 moves the 2M block
// holding it to the next canonical 2M block of L2's window, break-before-make, but invalidates only
// 8K inside the block, 1M past its start (TLBI RIPAS2E1IS), then TLBI VMALLE1IS. Architecturally a
// TLBI by IPA removes every cached translation containing an address of its range, so the whole
// old block is gone from every TLB and L2 reads the new block afterwards (zeroes).

        .equ NUM_L2, 1
        .equ ROUNDS, 1
        .include "../../guests/l1/lib/defs.S"
        .include "../../guests/l1/lib/main.S"
        .include "../../guests/l1/lib/s2_block2m.S"
        .include "../../guests/l1/lib/s2_common.S"
        .include "../../guests/l1/lib/console.S"

        .equ HVC_MOVE_BLOCK, 3

// hvc_extra(x0 = function, x1 = argument; x19 = L2's register frame)
hvc_extra:
        cmp     x0, #HVC_MOVE_BLOCK
        b.ne    hvc_bad
        stp     x29, x30, [sp, #-32]!
        stp     x21, x22, [sp, #16]
        lsr     x22, x1, #21
        lsl     x22, x22, #21           // the nested 2M block
        mov     x0, x22
        bl      l2_ipa_to_canonical     // x0 = its canonical block (checks it is L2's)
        mov     x21, x0
        adrl    x0, cur_l2
        ldr     x0, [x0]
        adrl    x1, l2_roots
        ldr     x0, [x1, x0, lsl #3]
        mov     x1, x22
        bl      s2_leaf_slot
        str     xzr, [x0]               // break
        dsb     ishst
        // RIPAS2E1IS: TG 4K (1 << 46), SCALE 0, NUM 0 (2 pages), base = block + 1M.
        add     x1, x22, #0x100000
        lsr     x1, x1, #12
        mov64   x2, 1 << 46
        orr     x1, x1, x2
        tlbi    ripas2e1is, x1
        dsb     ish
        tlbi    vmalle1is
        dsb     ish
        isb
        add     x1, x21, #0x200000      // make: the next canonical 2M block
        mov64   x2, S2_ATTR_RAM | S2_BLOCK
        orr     x1, x1, x2
        str     x1, [x0]
        dsb     ishst
        isb
        adrl    x0, msg_moved
        bl      console_puts
        mov     x0, x22
        bl      console_puthex
        mov     x0, #'\n'
        bl      console_putc
        ldp     x21, x22, [sp, #16]
        ldp     x29, x30, [sp], #32
        ret

msg_moved:        .asciz "L1: moved L2 block "
banner_text:      .asciz "L1: blockmove: 4K granule, lazy 2M blocks, block-move service\n"
        .balign 4
        .include "../../guests/l1/lib/vectors.S"
        .include "../../guests/l1/lib/data.S"
