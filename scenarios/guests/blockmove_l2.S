// L2 "blockmove_l2" (for scenarios/guests/blockmove.S): writes a marker into a page of its second
// 2M block (nested 0x40203000), asks L1 to move that block to a fresh canonical block (hvc function
// 3), and reads the word again: after L1's TLBIs it must read the new block (zero), not the marker.

        .equ MARKED, 0x40203000

l2_entry:
        mov64   x19, MARKED
        mov64   x20, 0x5eed0000cafe
        str     x20, [x19]
        mov     x0, #3
        mov     x1, x19
        hvc     #0
        ldr     x21, [x19]
        adr     x0, msg_after
        bl      l2_puts
        mov     x0, x21
        bl      l2_puthex
        mov     x0, #'\n'
        bl      l2_putc
        mov     x0, #0
        bl      l2_exit

msg_after:      .asciz "blockmove: after the move the page reads "
        .balign 4
        .include "../../guests/l2/lib/l2.S"
