// L2 "uart": prints one line by storing bytes straight to the PL011 at nested IPA 0x0900_0000 (L1
// maps that page 1:1 as device memory on the first fault) and one line through L1 (HVC puts).

        .equ UART_BASE, 0x09000000

l2_entry:
        mov32   x1, UART_BASE
        adr     x2, msg_direct
1:      ldrb    w3, [x2], #1
        cbz     w3, 2f
        strb    w3, [x1]
        b       1b
2:      adr     x0, msg_hvc
        bl      l2_puts
        mov     x0, #0
        bl      l2_exit

msg_direct:     .asciz "L2: hello via the UART\n"
msg_hvc:        .asciz "L2: hello via HVC\n"
        .balign 4
        .include "lib/l2.S"
