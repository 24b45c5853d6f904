// Entering and leaving L2 (include/l1.h). l1_enter_l2 keeps L1's callee-saved registers and SP in
// l1_host_context and ERETs with x1-x30 cleared (L2 starts from the same registers on every host);
// l1_leave_l2, called from an exception taken from L2, restores them and so "returns" from
// l1_enter_l2, abandoning the exception's stack frame.

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
        ret

        .bss
        .balign 16
l1_host_context:
        .space  4 * 128                 // L1_MAX_CPUS contexts of x19-x30 and SP
