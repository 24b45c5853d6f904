// Start-up steps every crt0 shares (assembly only): SP at __stack_top, then .bss zeroed with aligned
// 8-byte stores, the only kind that is safe with the MMU off, where RAM is Device memory.
#ifndef NVLAB_CRT0_H
#define NVLAB_CRT0_H
#ifdef __ASSEMBLER__

        .macro  stack_and_bss
        ldr     x0, =__stack_top
        mov     sp, x0
        ldr     x0, =__bss_start
        ldr     x1, =__bss_end
1:      cmp     x0, x1
        b.hs    2f
        str     xzr, [x0], #8
        b       1b
2:
        .endm

#endif
#endif
