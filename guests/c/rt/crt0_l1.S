// L1 start-up at EL2: stack, .bss, VBAR_EL2, then main(); main's return value powers the machine off.
// Secondary vCPUs (PSCI CPU_ON) start at _start_secondary.
// The vectors save L2's registers in a struct l2_frame and call l1_lower_sync (C); every other
// vector calls l1_unexpected with its offset (+0x200 is a fault in L1 itself).

        .section .text.start, "ax"
        .global _start
_start:
        msr     daifset, #0xf
        ldr     x0, =__stack_top        // no register value is promised at entry, SP included
        mov     sp, x0
        ldr     x0, =__bss_start
        ldr     x1, =__bss_end
1:      cmp     x0, x1
        b.hs    2f
        str     xzr, [x0], #8           // aligned stores only: with the MMU off RAM is Device memory
        b       1b
2:      adr     x0, l1_vectors
        msr     vbar_el2, x0
        isb
        bl      main
        bl      l1_system_off

// A secondary vCPU started by PSCI CPU_ON at this address with x0 = the context ID, which the SMP
// L1 sets to the vCPU number n: SP = __stack_top - n * 64 KiB, VBAR_EL2, then l1_secondary_main(n).
        .global _start_secondary
_start_secondary:
        msr     daifset, #0xf
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
        mov     x0, sp
        bl      l1_lower_sync
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
        eret
