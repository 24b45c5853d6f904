// Body of the illegal-ERET guests: install vectors, then ERET from vEL2 with SPSR_EL2 = ERET_SPSR
// (an illegal return) to eret_target. An illegal exception return keeps the current mode (EL2h)
// and sets PSTATE.IL, so the first instruction at eret_target takes an Illegal Execution state
// exception (EC 0x0e) at vEL2: vector +0x200, ELR = eret_target.

l1_entry:
        msr     daifset, #0xf
        mov64   x0, L1_STACK_TOP
        mov     sp, x0
        adrl    x0, mini_vectors
        msr     vbar_el2, x0
        isb
        adrl    x0, banner
        bl      console_puts
        adrl    x0, eret_target
        msr     elr_el2, x0
        mov64   x0, ERET_SPSR
        msr     spsr_el2, x0
        eret
eret_target:
        adrl    x0, msg_returned
        bl      console_puts
        mov     x0, #0
        b       system_off

msg_returned:   .asciz "L1: ERET returned normally\n"
        .balign 4
        .include "mini.S"
