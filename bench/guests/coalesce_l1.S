// L1 for the coalescing benchmark: vCPU 0 starts vCPUs 1..vcpus-1 with PSCI CPU_ON, then every
// vCPU alternates `work` iterations of register-only work with a read of the next of the first
// `touch_pages` pages of the 2M region at REGION, at virtual EL2 with its MMU off (so through
// the canonical stage-2). The benchmark patches the three words and stops the run itself.

        .equ REGION,            0x42000000
        .equ PSCI_CPU_ON,       0xc4000003

entry:
        b       start
touch_pages:
        .word   16
vcpus:
        .word   2
work:
        .word   100

start:
        mrs     x19, mpidr_el1
        and     x19, x19, #0xff
        cbnz    x19, touch              // a secondary: straight to work
        adr     x20, vcpus
        ldr     w20, [x20]
        mov     x21, #1
1:      cmp     x21, x20
        b.hs    touch
        mov64   x0, PSCI_CPU_ON
        mov64   x1, 0x80000000
        orr     x1, x1, x21
        adr     x2, entry
        mov     x3, #0
        smc     #0
        add     x21, x21, #1
        b       1b

touch:
        adr     x9, touch_pages
        ldr     w9, [x9]
        adr     x14, work
        ldr     w14, [x14]
        mov64   x10, REGION
        // Each vCPU starts at a different page, so they do not move in lockstep.
        mov     x11, x19
2:      udiv    x15, x11, x9
        msub    x11, x15, x9, x11       // x11 %= touch_pages
        add     x13, x10, x11, lsl #12
        ldr     x12, [x13]
        add     x11, x11, #1
        mov     x16, x14
3:      add     x17, x17, x16
        eor     x17, x17, x12
        subs    x16, x16, #1
        b.ne    3b
        b       2b
