// The last instructions of entering L2, spliced (.include) into the end of each routine that
// enters L2 (lib/main.S run_l2, lib/smp_main.S smp_run_l2): the assembler has no macros, and a
// branch to a shared copy would add an instruction to every L2 entry (instruction counts decide
// how SMP vCPUs interleave under nvlab's scheduler, and show in step counts). With VTTBR_EL2,
// SPSR_EL2, ELR_EL2 and L2's x0 set, clear x1-x30 (L2 starts from the same registers on every
// host) and ERET.
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
