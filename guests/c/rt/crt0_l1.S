// L1 start-up at EL2: stack, .bss, VBAR_EL2, then main(); main's return value powers the machine off.
// Secondary vCPUs (PSCI CPU_ON) start at _start_secondary.
// The vectors save L2's registers in a struct l2_frame and call l1_lower_sync (C); every other
// vector calls l1_unexpected with its offset (+0x200 is a fault in L1 itself).
// Built without -mgeneral-regs-only (__ARM_NEON), L1's C code may use any SIMD&FP register: the
// start-up clears CPTR_EL2.TFP (for L1 at EL2 and for its L2s at EL1), and lower_sync keeps L2's
// q0-q31, FPSR and FPCR around l1_lower_sync, which runs with FPCR = 0 (L1's own settings).

        // CPTR_EL2.TFP = 0, the rest as found (E2H is 0 here: bit 10 is TFP).
#include "crt0.h"

        .macro  fp_enable_el2
#ifdef __ARM_NEON
        mrs     x1, cptr_el2
        bic     x1, x1, #(1 << 10)
        msr     cptr_el2, x1
        isb
#endif
        .endm

        .section .text.start, "ax"
        .global _start
_start:
        msr     daifset, #0xf
        fp_enable_el2
        stack_and_bss                   // no register value is promised at entry, SP included
        adr     x0, l1_vectors
        msr     vbar_el2, x0
        isb
        bl      main
        bl      l1_system_off

// A secondary vCPU started by PSCI CPU_ON at this address with x0 = the context ID, which the SMP
// L1 sets to the vCPU number n: SP = __stack_top - n * 64 KiB, VBAR_EL2, then l1_secondary_main(n).
        .global _start_secondary
_start_secondary:
        msr     daifset, #0xf
        fp_enable_el2
        ldr     x1, =__stack_top
        sub     x1, x1, x0, lsl #16
        mov     sp, x1
        adr     x1, l1_vectors
        msr     vbar_el2, x1
        isb
        bl      l1_secondary_main
3:      b       3b

        .weak   l1_secondary_main       // only SMP L1s have secondaries

        .macro  unexpected off
        .org    l1_vectors + \off
        mov     x0, #\off
        b       l1_unexpected
        .endm

        .text
        .balign 2048
        .global l1_vectors
l1_vectors:
        unexpected 0x000
        unexpected 0x080
        unexpected 0x100
        unexpected 0x180
        unexpected 0x200
        unexpected 0x280
        unexpected 0x300
        unexpected 0x380
        .org    l1_vectors + 0x400      // lower EL, AArch64, synchronous: L2's HVCs and stage-2 faults
        b       lower_sync
        unexpected 0x480
        unexpected 0x500
        unexpected 0x580
        unexpected 0x600
        unexpected 0x680
        unexpected 0x700
        unexpected 0x780
        .org    l1_vectors + 0x800

lower_sync:
#ifdef __ARM_NEON
        sub     sp, sp, #(32 * 16 + 16) // above struct l2_frame: q0-q31, then FPSR and FPCR
        stp     q0, q1, [sp, #0]
        stp     q2, q3, [sp, #32]
        stp     q4, q5, [sp, #64]
        stp     q6, q7, [sp, #96]
        stp     q8, q9, [sp, #128]
        stp     q10, q11, [sp, #160]
        stp     q12, q13, [sp, #192]
        stp     q14, q15, [sp, #224]
        stp     q16, q17, [sp, #256]
        stp     q18, q19, [sp, #288]
        stp     q20, q21, [sp, #320]
        stp     q22, q23, [sp, #352]
        stp     q24, q25, [sp, #384]
        stp     q26, q27, [sp, #416]
        stp     q28, q29, [sp, #448]
        stp     q30, q31, [sp, #480]
#endif
        sub     sp, sp, #256
        stp     x0, x1, [sp, #0]
        stp     x2, x3, [sp, #16]
        stp     x4, x5, [sp, #32]
        stp     x6, x7, [sp, #48]
        stp     x8, x9, [sp, #64]
        stp     x10, x11, [sp, #80]
        stp     x12, x13, [sp, #96]
        stp     x14, x15, [sp, #112]
        stp     x16, x17, [sp, #128]
        stp     x18, x19, [sp, #144]
        stp     x20, x21, [sp, #160]
        stp     x22, x23, [sp, #176]
        stp     x24, x25, [sp, #192]
        stp     x26, x27, [sp, #208]
        stp     x28, x29, [sp, #224]
        str     x30, [sp, #240]
#ifdef __ARM_NEON
        mrs     x0, fpsr
        mrs     x1, fpcr
        add     x2, sp, #(256 + 512)
        stp     x0, x1, [x2]
        msr     fpcr, xzr
#endif
        mov     x0, sp
        bl      l1_lower_sync
#ifdef __ARM_NEON
        add     x2, sp, #(256 + 512)
        ldp     x0, x1, [x2]
        msr     fpsr, x0
        msr     fpcr, x1
#endif
        ldp     x0, x1, [sp, #0]
        ldp     x2, x3, [sp, #16]
        ldp     x4, x5, [sp, #32]
        ldp     x6, x7, [sp, #48]
        ldp     x8, x9, [sp, #64]
        ldp     x10, x11, [sp, #80]
        ldp     x12, x13, [sp, #96]
        ldp     x14, x15, [sp, #112]
        ldp     x16, x17, [sp, #128]
        ldp     x18, x19, [sp, #144]
        ldp     x20, x21, [sp, #160]
        ldp     x22, x23, [sp, #176]
        ldp     x24, x25, [sp, #192]
        ldp     x26, x27, [sp, #208]
        ldp     x28, x29, [sp, #224]
        ldr     x30, [sp, #240]
        add     sp, sp, #256
#ifdef __ARM_NEON
        ldp     q0, q1, [sp, #0]
        ldp     q2, q3, [sp, #32]
        ldp     q4, q5, [sp, #64]
        ldp     q6, q7, [sp, #96]
        ldp     q8, q9, [sp, #128]
        ldp     q10, q11, [sp, #160]
        ldp     q12, q13, [sp, #192]
        ldp     q14, q15, [sp, #224]
        ldp     q16, q17, [sp, #256]
        ldp     q18, q19, [sp, #288]
        ldp     q20, q21, [sp, #320]
        ldp     q22, q23, [sp, #352]
        ldp     q24, q25, [sp, #384]
        ldp     q26, q27, [sp, #416]
        ldp     q28, q29, [sp, #448]
        ldp     q30, q31, [sp, #480]
        add     sp, sp, #(32 * 16 + 16)
#endif
        eret
