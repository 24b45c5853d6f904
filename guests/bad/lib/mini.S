// A minimal L1 runtime for single-purpose broken guests: a vector table that prints what it caught
// and ends the machine, and system_off. Include after the guest's own code (the entry must be the
// first instruction of the image), with ../../l1/lib/defs.S included first.
//
// Every vector prints "L1: caught vector +OFF ESR=… ELR=… SPSR=… FAR=…" and powers off with exit
// code 255 (current EL) or 2 (lower EL), as the shipped L1s do.

// system_off(x0 = exit code): PSCI SYSTEM_OFF. Never returns.
system_off:
        mov     x1, x0
        mov64   x0, PSCI_SYSTEM_OFF
        smc     #0
1:      b       1b

mini_caught:
        mov     x19, x0
        adrl    x0, msg_caught
        bl      console_puts
        mov     x0, x19
        bl      console_puthex
        adrl    x0, msg_esr
        bl      console_puts
        mrs     x0, esr_el2
        bl      console_puthex
        adrl    x0, msg_elr
        bl      console_puts
        mrs     x0, elr_el2
        bl      console_puthex
        adrl    x0, msg_spsr
        bl      console_puts
        mrs     x0, spsr_el2
        bl      console_puthex
        adrl    x0, msg_far
        bl      console_puts
        mrs     x0, far_el2
        bl      console_puthex
        mov     w0, #'\n'
        bl      console_putc
        mov     x0, #ERR_L1_EXCEPTION
        cmp     x19, #0x400
        b.lo    1f
        mov     x0, #ERR_L2_EXCEPTION
1:      b       system_off

msg_caught:     .asciz "L1: caught vector +"
msg_esr:        .asciz " ESR="
msg_elr:        .asciz " ELR="
msg_spsr:       .asciz " SPSR="
msg_far:        .asciz " FAR="
        .balign 4
        .include "../../l1/lib/console.S"

        .balign 2048
mini_vectors:
        .org    mini_vectors + 0x000
        mov     x0, #0x000
        b       mini_caught
        .org    mini_vectors + 0x080
        mov     x0, #0x080
        b       mini_caught
        .org    mini_vectors + 0x100
        mov     x0, #0x100
        b       mini_caught
        .org    mini_vectors + 0x180
        mov     x0, #0x180
        b       mini_caught
        .org    mini_vectors + 0x200
        mov     x0, #0x200
        b       mini_caught
        .org    mini_vectors + 0x280
        mov     x0, #0x280
        b       mini_caught
        .org    mini_vectors + 0x300
        mov     x0, #0x300
        b       mini_caught
        .org    mini_vectors + 0x380
        mov     x0, #0x380
        b       mini_caught
        .org    mini_vectors + 0x400
        mov     x0, #0x400
        b       mini_caught
        .org    mini_vectors + 0x480
        mov     x0, #0x480
        b       mini_caught
        .org    mini_vectors + 0x500
        mov     x0, #0x500
        b       mini_caught
        .org    mini_vectors + 0x580
        mov     x0, #0x580
        b       mini_caught
        .org    mini_vectors + 0x600
        mov     x0, #0x600
        b       mini_caught
        .org    mini_vectors + 0x680
        mov     x0, #0x680
        b       mini_caught
        .org    mini_vectors + 0x700
        mov     x0, #0x700
        b       mini_caught
        .org    mini_vectors + 0x780
        mov     x0, #0x780
        b       mini_caught
        .org    mini_vectors + 0x800
