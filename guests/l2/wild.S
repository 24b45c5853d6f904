// L2 "wild": jumps to nested IPA 0x7000_0000, outside its 16 MiB window. L1 reports the stage-2
// fault and ends the machine with exit code 3.

l2_entry:
        adr     x0, msg_jump
        bl      l2_puts
        mov32   x0, 0x70000000
        br      x0

msg_jump:       .asciz "L2: jumping to nested IPA 0x70000000\n"
        .balign 4
        .include "lib/l2.S"
