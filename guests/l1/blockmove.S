// L1 "blockmove": hypblock.S's stage-2 (4K granule, lazy 2M blocks) plus two HVC functions with
// which l2/blockmove.S replays a move of one of its 2M blocks to another canonical 2M block:
//   hvc #0, x0 = 5: write a marker into the first word of every 4K page p of canonical block A
//                   (BLOCK_A: where the window rule maps L2's block at nested 0x4020_0000) and of
//                   canonical block B (BLOCK_B, L1's own RAM): MARK_A + p and MARK_B + p.
//   hvc #0, x0 = 6, x1 = nested IPA of a 2M block of L2: point its block descriptor at B with
//                   break-before-make, invalidating with TLBI RIPAS2E1IS over only 8K inside the
//                   block (its pages 2 and 3), then TLBI VMALLE1IS.
// A TLBI by IPA removes every cached translation that holds any address of its range, so those 8K
// take the whole 2M block's translation with them: after the move L2 must read B on every page of
// the block, not only on the two invalidated ones. A host that keeps the rest of the old block's
// translation (e.g. as smaller shadow pieces) serves stale pages of A there.

        .equ NUM_L2, 1
        .equ ROUNDS, 1
        .include "lib/defs.S"
        .include "lib/main.S"
        .include "lib/s2_block2m.S"
        .include "lib/s2_common.S"
        .include "lib/console.S"

        .equ HVC_BLOCK_MARK, 5
        .equ HVC_BLOCK_MOVE, 6
        .equ BLOCK_A, 0x48200000        // L2 #0's window + 2M: its nested block 0x4020_0000
        .equ BLOCK_B, 0x42000000        // L1's RAM, far above its image and below its stack
        .equ MARK_A, 0xaaaaaaaa00000000
        .equ MARK_B, 0xbbbbbbbb00000000
        .equ BLOCK_PAGES, 512
        // RIPAS2E1IS operand: TG [47:46] = 0b01 (4K), SCALE [45:44] = 0, NUM [43:39] = 0, so
        // (NUM + 1) << (5 * SCALE + 1) = 2 pages; TTL [38:37] = 0 (no level hint); BaseADDR
        // [36:0] = IPA >> 12. The range starts RANGE_OFFSET into the block.
        .equ RANGE_TG_4K, 1 << 46
        .equ RANGE_OFFSET, 0x2000
        .equ ERR_NO_FEATURE, 9          // the host lacks FEAT_TLBIRANGE

// hvc_extra(x0 = function, x1 = argument; x19 = L2's register frame)
hvc_extra:
        cmp     x0, #HVC_BLOCK_MARK
        b.eq    block_mark
        cmp     x0, #HVC_BLOCK_MOVE
        b.eq    block_move
        b       hvc_bad

// The markers go in before L2 reads either block. L1's accesses are Device (MMU off), so they
// are visible to L2 once complete: the DSB.
block_mark:
        mov64   x0, BLOCK_A
        mov64   x1, MARK_A
        mov64   x2, BLOCK_B
        mov64   x3, MARK_B
        mov     x4, #0                  // page
1:      orr     x5, x1, x4
        str     x5, [x0]
        orr     x5, x3, x4
        str     x5, [x2]
        add     x0, x0, #4096
        add     x2, x2, #4096
        add     x4, x4, #1
        cmp     x4, #BLOCK_PAGES
        b.lo    1b
        dsb     ish
        stp     x29, x30, [sp, #-16]!
        adrl    x0, msg_marked
        bl      console_puts
        ldp     x29, x30, [sp], #16
        ret

block_move:
        stp     x29, x30, [sp, #-32]!
        stp     x21, x22, [sp, #16]
        mov     x22, x1
        tst     x22, #0x1fffff          // a 2M block of L2's window
        b.ne    hvc_bad
        mov     x0, x22
        bl      l2_ipa_to_canonical
        // Without FEAT_TLBIRANGE the range TLBI would be UNDEFINED: say so instead of dying in it.
        mrs     x0, id_aa64isar0_el1
        ubfx    x0, x0, #56, #4         // TLB: 0b0010 = outer shareable and range TLBIs
        cmp     x0, #2
        b.lo    no_tlbirange
        adrl    x0, cur_l2
        ldr     x0, [x0]
        adrl    x1, l2_roots
        ldr     x0, [x1, x0, lsl #3]
        mov     x1, x22
        bl      s2_leaf_slot
        mov     x21, x0                 // the block descriptor

        // Break: the walker must see the invalid descriptor before the TLBIs complete, or a walk
        // after them could cache the old block again.
        str     xzr, [x21]
        dsb     ishst
        // Stage-2 entries by IPA range, current VMID: only 8K inside the block, yet any entry
        // holding an address of the range goes, and that is the whole 2M block's entry.
        add     x1, x22, #RANGE_OFFSET
        lsr     x1, x1, #12
        mov64   x2, RANGE_TG_4K
        orr     x1, x1, x2
        tlbi    ripas2e1is, x1
        // The stage-2 invalidation must be complete before the combined one: otherwise a walk in
        // between could build a new combined entry from the stale stage-2 entry.
        dsb     ish
        // Combined stage-1+2 entries of the VMID: an IPA TLBI does not reach them.
        tlbi    vmalle1is
        dsb     ish
        isb
        // Make: the new block, visible before L2 runs again (the ERET).
        mov64   x0, BLOCK_B
        mov64   x1, S2_ATTR_RAM | S2_BLOCK
        orr     x0, x0, x1
        str     x0, [x21]
        dsb     ishst

        adrl    x0, msg_moved1
        bl      console_puts
        mov     x0, x22
        bl      console_puthex
        adrl    x0, msg_moved2
        bl      console_puts
        mov64   x0, BLOCK_B
        bl      console_puthex
        adrl    x0, msg_moved3
        bl      console_puts
        add     x0, x22, #RANGE_OFFSET
        bl      console_puthex
        adrl    x0, msg_moved4
        bl      console_puts
        ldp     x21, x22, [sp, #16]
        ldp     x29, x30, [sp], #32
        ret

no_tlbirange:
        adrl    x0, msg_no_range
        bl      console_puts
        mov     x0, #ERR_NO_FEATURE
        b       system_off

msg_marked:     .asciz "L1: markers written: block A 0x48200000, block B 0x42000000, 512 pages each\n"
msg_moved1:     .asciz "L1: moved L2 block "
msg_moved2:     .asciz " to "
msg_moved3:     .asciz " (break-before-make, TLBI RIPAS2E1IS "
msg_moved4:     .asciz " +8K, TLBI VMALLE1IS)\n"
msg_no_range:   .asciz "L1: no FEAT_TLBIRANGE (ID_AA64ISAR0_EL1.TLB < 2)\n"
banner_text:    .asciz "L1: blockmove: 4K granule, lazy 2M blocks, block move service\n"
        .include "lib/vectors.S"
        .include "lib/data.S"
