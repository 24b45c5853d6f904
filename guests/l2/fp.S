// L2 "fp": for l1/hypfp.S. Enables SIMD&FP at EL1 (CPACR_EL1.FPEN = 0b11), then for 4 rounds
// doubles d0 (fadd), adds v31 to v2 (loaded with ldr q), prints both, and lets L1 use the
// registers (HVC function 3) in between. L1 traps each first use after that lazily and restores
// L2's registers, so every printed value follows from L2's own arithmetic alone.

        .equ HVC_FP_TURN, 3
        .equ ROUNDS, 4

l2_entry:
        mov     x0, #(3 << 20)
        msr     cpacr_el1, x0
        isb
        fmov    d0, #0.5
        adr     x0, l2_pattern
        ldr     q2, [x0]
        movi    v31.4s, #0x22
        mov     x20, #0
1:      fadd    d0, d0, d0
        add     v2.4s, v2.4s, v31.4s
        adr     x0, msg_round
        bl      l2_puts
        add     x0, x20, #1
        bl      l2_putdec
        adr     x0, msg_d0
        bl      l2_puts
        fmov    x0, d0
        bl      l2_puthex
        adr     x0, msg_v2
        bl      l2_puts
        mov     x0, v2.d[1]
        bl      l2_puthex
        mov     x0, #':'
        bl      l2_putc
        fmov    x0, d2
        bl      l2_puthex
        mov     x0, #'\n'
        bl      l2_putc
        mov     x0, #HVC_FP_TURN
        hvc     #0
        add     x20, x20, #1
        cmp     x20, #ROUNDS
        b.lo    1b
        mov     x0, #0
        bl      l2_exit

msg_round:      .asciz "L2: round "
msg_d0:         .asciz ": d0="
msg_v2:         .asciz " v2="
        .balign 16
l2_pattern:     .quad 0x1000000020000000, 0x3000000040000000
        .balign 4
        .include "lib/l2.S"
