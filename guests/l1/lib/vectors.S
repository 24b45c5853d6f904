// L1's EL2 vector table (VBAR_EL2). Only a synchronous exception from lower-EL AArch64 (+0x400: L2's
// HVCs and stage-2 faults) is handled; every other vector reports itself and ends the machine.

        .balign 2048
l1_vectors:
        mov     x0, #0x000              // current EL, SP_EL0
        b       l1_unexpected
        .org    l1_vectors + 0x080
        mov     x0, #0x080
        b       l1_unexpected
        .org    l1_vectors + 0x100
        mov     x0, #0x100
        b       l1_unexpected
        .org    l1_vectors + 0x180
        mov     x0, #0x180
        b       l1_unexpected
        .org    l1_vectors + 0x200      // current EL, SP_ELx: a fault in L1 itself
        mov     x0, #0x200
        b       l1_unexpected
        .org    l1_vectors + 0x280
        mov     x0, #0x280
        b       l1_unexpected
        .org    l1_vectors + 0x300
        mov     x0, #0x300
        b       l1_unexpected
        .org    l1_vectors + 0x380
        mov     x0, #0x380
        b       l1_unexpected
        .org    l1_vectors + 0x400      // lower EL, AArch64, synchronous
        b       lower_sync
        .org    l1_vectors + 0x480
        mov     x0, #0x480
        b       l1_unexpected
        .org    l1_vectors + 0x500
        mov     x0, #0x500
        b       l1_unexpected
        .org    l1_vectors + 0x580
        mov     x0, #0x580
        b       l1_unexpected
        .org    l1_vectors + 0x600      // lower EL, AArch32
        mov     x0, #0x600
        b       l1_unexpected
        .org    l1_vectors + 0x680
        mov     x0, #0x680
        b       l1_unexpected
        .org    l1_vectors + 0x700
        mov     x0, #0x700
        b       l1_unexpected
        .org    l1_vectors + 0x780
        mov     x0, #0x780
        b       l1_unexpected
        .org    l1_vectors + 0x800

        .equ FRAME_SIZE, 256            // x0..x30, 16-byte aligned

// Save L2's registers, handle the exception, restore them and return to L2.
lower_sync:
        sub     sp, sp, #FRAME_SIZE
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
        mov     x0, sp
        bl      handle_lower_sync
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
        add     sp, sp, #FRAME_SIZE
        eret
