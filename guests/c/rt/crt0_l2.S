// L2 start-up at EL1 (nested IPA 0x4000_0000, MMU off, x0-x30 = 0, SP unknown): stack at the top of
// the 16 MiB window, .bss, VBAR_EL1, then main(); main's return value is L2's exit code (HVC exit).
// Every exception L2 takes at EL1 prints its vector offset through L1 and exits 2.

#include "crt0.h"

        .section .text.start, "ax"
        .global _start
_start:
#ifdef __ARM_NEON
        // Built without -mgeneral-regs-only: CPACR_EL1.FPEN = 0b11 before any C (its reset value is
        // UNKNOWN; L1 must also leave CPTR_EL2.TFP clear).
        mrs     x0, cpacr_el1
        orr     x0, x0, #(3 << 20)
        msr     cpacr_el1, x0
        isb
#endif
        stack_and_bss
        adr     x0, l2_vectors
        msr     vbar_el1, x0
        isb
        mov     x0, #0
        bl      main
        mov     x1, x0
        mov     x0, #1                  // HVC_EXIT
        hvc     #0
3:      b       3b

        .macro  vector off
        .org    l2_vectors + \off
        mov     x19, #\off
        b       l2_unexpected
        .endm

        .text
        .balign 2048
l2_vectors:
        vector 0x000
        vector 0x080
        vector 0x100
        vector 0x180
        vector 0x200
        vector 0x280
        vector 0x300
        vector 0x380
        vector 0x400
        vector 0x480
        vector 0x500
        vector 0x580
        vector 0x600
        vector 0x680
        vector 0x700
        vector 0x780
        .org    l2_vectors + 0x800

// x19 = the vector offset: "L2: unexpected exception at EL1, vector +0x<3 hex digits>", exit 2.
l2_unexpected:
        adr     x1, msg_unexpected
        mov     x0, #2                  // HVC_PUTS
        hvc     #0
        mov     x20, #8                 // shift of the digit
5:      lsr     x1, x19, x20
        and     x1, x1, #0xf
        cmp     x1, #10
        add     x2, x1, #'0'
        add     x3, x1, #('a' - 10)
        csel    x1, x2, x3, lo
        mov     x0, #0                  // HVC_PUTCHAR
        hvc     #0
        subs    x20, x20, #4
        b.ge    5b
        mov     x1, #'\n'
        hvc     #0
        mov     x0, #1                  // HVC_EXIT with code 2
        mov     x1, #2
        hvc     #0
4:      b       4b

msg_unexpected: .asciz "L2: unexpected exception at EL1, vector +0x"
