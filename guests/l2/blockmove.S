// L2 "blockmove" (for guests/l1/blockmove.S): asks L1 to mark blocks A and B, reads pages of its
// 2M block at nested 0x4020_0000 (which L1 maps to A), so that its host caches their translation,
// asks L1 to move the block to B (whose TLBI range covers only pages 2 and 3), and reads pages
// again: first pages outside those 8K, then inside. Each read prints the marker it found; every
// read before the move must find A, every read after it B. Exits 0 (PASS) or 1 (FAIL).

        .equ HVC_BLOCK_MARK, 5
        .equ HVC_BLOCK_MOVE, 6
        .equ BLOCK_IPA, 0x40200000
        .equ MARK_A, 0xaaaaaaaa00000000
        .equ MARK_B, 0xbbbbbbbb00000000

// Registers kept across the HVC wrappers (which clobber x0-x5): x19 block, x20 page list,
// x21 expected marker, x22 failures, x23 page, x24 value read, x25 return address of read_pages.
l2_entry:
        mov     x0, #HVC_BLOCK_MARK
        hvc     #0
        mov32   x19, BLOCK_IPA
        mov     x22, #0

        adr     x0, msg_before
        bl      l2_puts
        adr     x20, pages_before
        mov64   x21, MARK_A
        bl      read_pages

        mov     x0, #HVC_BLOCK_MOVE
        mov     x1, x19
        hvc     #0

        adr     x0, msg_after
        bl      l2_puts
        adr     x20, pages_after
        mov64   x21, MARK_B
        bl      read_pages

        adr     x0, msg_pass
        cbz     x22, 1f
        adr     x0, msg_fail
1:      bl      l2_puts
        cmp     x22, #0
        cset    x0, ne
        bl      l2_exit

// read_pages(x20 = list of page numbers ending in 0xffff, x21 = the marker expected, without page
// number): read the first word of each page of the block, print it, count mismatches in x22.
read_pages:
        mov     x25, x30
1:      ldrh    w23, [x20], #2
        mov     x0, #0xffff
        cmp     x23, x0
        b.eq    4f
        add     x0, x19, x23, lsl #12
        ldr     x24, [x0]
        adr     x0, msg_page
        bl      l2_puts
        mov     x0, x23
        bl      l2_putdec
        adr     x0, msg_reads
        bl      l2_puts
        mov     x0, x24
        bl      l2_puthex
        // Name the block only when the page number matches too.
        adr     x0, msg_unknown
        mov64   x1, MARK_A
        orr     x1, x1, x23
        cmp     x24, x1
        b.ne    2f
        adr     x0, msg_block_a
2:      mov64   x1, MARK_B
        orr     x1, x1, x23
        cmp     x24, x1
        b.ne    3f
        adr     x0, msg_block_b
3:      bl      l2_puts
        orr     x1, x21, x23
        cmp     x24, x1
        cinc    x22, x22, ne
        b       1b
4:      ret     x25

// Before: a page outside the later TLBI range (5), one inside it (2), the block's last page.
pages_before:   .hword 5, 2, 511, 0xffff
// After: outside the range first, then inside it. That order matters: a fault inside the range
// may map the whole new block and so replace stale pieces of the old one before they are read.
pages_after:    .hword 5, 511, 2, 3, 0xffff
msg_before:     .asciz "blockmove: before the move\n"
msg_after:      .asciz "blockmove: after the move\n"
msg_page:       .asciz "blockmove: page "
msg_reads:      .asciz " reads "
msg_block_a:    .asciz ": block A\n"
msg_block_b:    .asciz ": block B\n"
msg_unknown:    .asciz ": neither block\n"
msg_pass:       .asciz "blockmove: PASS: before the move block A, after it block B\n"
msg_fail:       .asciz "blockmove: FAIL: a page read the wrong block\n"
        .balign 4
        .include "lib/l2.S"
