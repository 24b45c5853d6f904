// Reads the first word of its own page remap_target, asks L1 to remap that page (function
// REMAP_FN, defined by the including file), and reads the word again.

l2_entry:
        adr     x19, remap_target
        ldr     x20, [x19]              // before: L2's own page
        adr     x0, msg_before
        bl      l2_puts
        mov     x0, x20
        bl      l2_puthex
        mov     x0, #'\n'
        bl      l2_putc

        mov     x0, #REMAP_FN
        mov     x1, x19
        hvc     #0

        ldr     x21, [x19]              // after: whatever the page maps to now
        adr     x0, msg_after
        bl      l2_puts
        mov     x0, x21
        bl      l2_puthex
        mov     x0, #'\n'
        bl      l2_putc
        mov     x0, #0
        bl      l2_exit

msg_before:     .asciz "remap: before "
msg_after:      .asciz "remap: after  "
        .balign 4
        .include "l2.S"

        .balign 4096
remap_target:
        .quad   0x0123456789abcdef
        .space  4088
