// L2 "hello": prints a line through L1 (HVC puts, then putchar) and exits with code 0.

l2_entry:
        adr     x0, greeting
        bl      l2_puts
        mov     x0, #'\n'
        bl      l2_putc
        mov     x0, #0
        bl      l2_exit

greeting:       .asciz "hello from L2"
        .balign 4
        .include "lib/l2.S"
