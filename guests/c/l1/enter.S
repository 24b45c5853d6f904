// Entering and leaving L2 (include/l1.h). l1_enter_l2 keeps L1's callee-saved registers and SP in
// l1_host_context and ERETs with x1-x30 cleared (L2 starts from the same registers on every host);
// l1_leave_l2, called from an exception taken from L2, restores them and so "returns" from
// l1_enter_l2, abandoning the exception's stack frame. Built without -mgeneral-regs-only
// (__ARM_NEON), d8-d15 and FPCR are L1's callee-saved state too: kept beside the others, and
// L2 starts with the SIMD&FP registers cleared.

#ifdef __ARM_NEON
        // \reg = this vCPU's entry in l1_host_fp_context; x4 is scratch
        .macro  fp_context reg
        mrs     \reg, mpidr_el1
        and     \reg, \reg, #3
        lsl     \reg, \reg, #7        // 128 bytes per vCPU
        adr     x4, l1_host_fp_context
        add     \reg, x4, \reg
        mov     x4, #0
        .endm
#endif

        .text
        .global l1_enter_l2
l1_enter_l2:
        mrs     x1, mpidr_el1           // one context per vCPU (Aff0, as l1_cpu())
        and     x1, x1, #3
        adr     x2, l1_host_context
        add     x1, x2, x1, lsl #7
        stp     x19, x20, [x1, #0]
        stp     x21, x22, [x1, #16]
        stp     x23, x24, [x1, #32]
        stp     x25, x26, [x1, #48]
        stp     x27, x28, [x1, #64]
        stp     x29, x30, [x1, #80]
        mov     x2, sp
        str     x2, [x1, #96]
#ifdef __ARM_NEON
        fp_context x2
        stp     d8, d9, [x2, #0]
        stp     d10, d11, [x2, #16]
        stp     d12, d13, [x2, #32]
        stp     d14, d15, [x2, #48]
        mrs     x3, fpcr
        str     x3, [x2, #64]
        mov     x2, #0
        mov     x3, #0
        // L2 starts from cleared SIMD&FP registers too, FPCR and FPSR included.
        .irp    n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
        movi    v\n\().2d, #0
        .endr
        msr     fpcr, xzr
        msr     fpsr, xzr
#endif
        mov     x1, #0
        mov     x2, #0
        mov     x3, #0
        mov     x4, #0
        mov     x5, #0
        mov     x6, #0
        mov     x7, #0
        mov     x8, #0
        mov     x9, #0
        mov     x10, #0
        mov     x11, #0
        mov     x12, #0
        mov     x13, #0
        mov     x14, #0
        mov     x15, #0
        mov     x16, #0
        mov     x17, #0
        mov     x18, #0
        mov     x19, #0
        mov     x20, #0
        mov     x21, #0
        mov     x22, #0
        mov     x23, #0
        mov     x24, #0
        mov     x25, #0
        mov     x26, #0
        mov     x27, #0
        mov     x28, #0
        mov     x29, #0
        mov     x30, #0
        eret

        .global l1_leave_l2
l1_leave_l2:
        mrs     x1, mpidr_el1
        and     x1, x1, #3
        adr     x2, l1_host_context
        add     x1, x2, x1, lsl #7
        ldp     x19, x20, [x1, #0]
        ldp     x21, x22, [x1, #16]
        ldp     x23, x24, [x1, #32]
        ldp     x25, x26, [x1, #48]
        ldp     x27, x28, [x1, #64]
        ldp     x29, x30, [x1, #80]
        ldr     x2, [x1, #96]
        mov     sp, x2
#ifdef __ARM_NEON
        fp_context x2
        ldp     d8, d9, [x2, #0]
        ldp     d10, d11, [x2, #16]
        ldp     d12, d13, [x2, #32]
        ldp     d14, d15, [x2, #48]
        ldr     x3, [x2, #64]
        msr     fpcr, x3
#endif
        ret

        .bss
        .balign 16
l1_host_context:
        .space  4 * 128                 // L1_MAX_CPUS contexts of x19-x30 and SP
#ifdef __ARM_NEON
        .balign 16
l1_host_fp_context:
        .space  4 * 128                 // and of d8-d15 and FPCR
#endif
