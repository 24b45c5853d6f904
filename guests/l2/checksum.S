// L2 "checksum": fills a 256 KiB buffer (1 MiB above the image) with a 64-bit LCG sequence,
// checksums it PASSES times (sum = (sum ror 59) ^ w, then sum += w >> 7, over every 64-bit word
// in order), checks that every pass agrees and prints the checksum.

        .equ BUF_OFFSET, 0x100000
        .equ BUF_BYTES, 0x40000
        .equ PASSES, 8

l2_entry:
        adr     x0, l2_entry
        mov64   x1, BUF_OFFSET
        add     x19, x0, x1             // buffer
        mov64   x1, BUF_BYTES
        add     x20, x19, x1            // end

        mov64   x1, 6364136223846793005
        mov64   x2, 1442695040888963407
        mov64   x3, 0x243f6a8885a308d3  // seed
        mov     x4, x19
1:      madd    x3, x3, x1, x2
        str     x3, [x4], #8
        cmp     x4, x20
        b.lo    1b

        mov     x21, #0                 // pass
2:      mov     x6, #0
        mov     x4, x19
3:      ldr     x7, [x4], #8
        eor     x6, x7, x6, ror #59
        add     x6, x6, x7, lsr #7
        cmp     x4, x20
        b.lo    3b
        cbnz    x21, 4f
        mov     x22, x6                 // pass 0 sets the reference
4:      cmp     x6, x22
        b.ne    checksum_mismatch
        add     x21, x21, #1
        cmp     x21, #PASSES
        b.lo    2b

        adr     x0, msg_sum1
        bl      l2_puts
        mov     x0, x22
        bl      l2_puthex
        adr     x0, msg_sum2
        bl      l2_puts
        mov     x0, #0
        bl      l2_exit

checksum_mismatch:
        adr     x0, msg_mismatch
        bl      l2_puts
        mov     x0, x21
        bl      l2_putdec
        mov     x0, #'\n'
        bl      l2_putc
        mov     x0, #1
        bl      l2_exit

msg_sum1:       .asciz "checksum: "
msg_sum2:       .asciz " over 262144 bytes, 8 passes agree\n"
msg_mismatch:   .asciz "checksum: mismatch in pass "
        .balign 4
        .include "lib/l2.S"
