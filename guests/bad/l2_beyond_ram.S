// L2 for s2_beyond_ram.S: loads from nested IPA 0x1800_0000 (0x10 bytes in), which L1 maps to a
// canonical IPA outside RAM.

l2_entry:
        adr     x0, msg
        bl      l2_puts
        mov32   x2, 0x18000010
        ldr     x3, [x2]
        mov     x0, #0
        bl      l2_exit

msg:    .asciz "L2: loading from nested IPA 0x18000010\n"
        .balign 4
        .include "../l2/lib/l2.S"
