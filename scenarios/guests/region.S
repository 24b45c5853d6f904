// L1 "region" (scenarios only): vCPU 0 starts every other vCPU with PSCI CPU_ON (until the first
// INVALID_PARAMETERS, at most 4 in all); then each vCPU makes PASSES passes over the 512 pages of
// the 2M region at REGION, adding 1 to its own word (vCPU n: offset n*8) of every page, at
// virtual EL2 with the MMU off, so through the canonical stage-2 that scenarios split and
// coalesce under it. vCPU 0 waits for the others, checks every word, prints one line and powers
// off with exit code 0 (all words right) or 1.

        .equ REGION,            0x42000000
        .equ PAGES,             512
        .equ PASSES,            6
        .equ MAX_VCPUS,         4
        .equ PSCI_CPU_ON,       0xc4000003
        .equ PSCI_CPU_OFF,      0x84000002
        .include "../../guests/l1/lib/defs.S"

entry:
        mrs     x19, mpidr_el1
        and     x19, x19, #0xff
        cbnz    x19, worker
        mov     x21, #1                 // vCPUs running
1:      cmp     x21, #MAX_VCPUS
        b.hs    2f
        mov64   x0, PSCI_CPU_ON
        mov64   x1, 0x80000000
        orr     x1, x1, x21
        adr     x2, entry
        mov     x3, #0
        smc     #0
        cbnz    x0, 2f                  // no such vCPU: that is all of them
        add     x21, x21, #1
        b       1b
2:      adr     x5, vcpus_running
        stlr    x21, [x5]
        bl      passes
        // Wait until every secondary has finished its passes.
        adr     x5, finished
3:      ldar    x6, [x5]
        add     x6, x6, #1              // vCPU 0 itself
        cmp     x6, x21
        b.lo    3b
        // Every word of every vCPU must be PASSES in every page.
        mov64   x10, REGION
        mov     x11, #0                 // page
        mov     x20, #0                 // wrong words
4:      mov     x12, #0                 // vCPU
5:      add     x13, x10, x11, lsl #12
        ldr     x14, [x13, x12, lsl #3]
        cmp     x14, #PASSES
        cinc    x20, x20, ne
        add     x12, x12, #1
        cmp     x12, x21
        b.lo    5b
        add     x11, x11, #1
        cmp     x11, #PAGES
        b.lo    4b
        adr     x0, msg_vcpus
        bl      console_puts
        mov     x0, x21
        bl      console_putdec
        adr     x0, msg_passes
        bl      console_puts
        mov     x0, x20
        bl      console_putdec
        adr     x0, msg_wrong
        bl      console_puts
        mov64   x0, PSCI_SYSTEM_OFF
        cmp     x20, #0
        cset    x1, ne
        smc     #0
        b       .

worker:
        bl      passes
        adr     x5, finished
6:      ldaxr   x6, [x5]
        add     x6, x6, #1
        stlxr   w7, x6, [x5]
        cbnz    w7, 6b
        mov64   x0, PSCI_CPU_OFF
        smc     #0
        b       .

// PASSES passes over the region's pages, each adding 1 to this vCPU's word. Clobbers x9-x16.
passes:
        mov64   x10, REGION
        mov     x9, #PASSES
7:      mov     x11, #0
8:      add     x13, x10, x11, lsl #12
        ldr     x14, [x13, x19, lsl #3]
        add     x14, x14, #1
        str     x14, [x13, x19, lsl #3]
        add     x11, x11, #1
        cmp     x11, #PAGES
        b.lo    8b
        subs    x9, x9, #1
        b.ne    7b
        ret

        .include "../../guests/l1/lib/console.S"

msg_vcpus:      .asciz "region: "
msg_passes:     .asciz " vCPUs, 6 passes over 512 pages, "
msg_wrong:      .asciz " wrong words\n"
        .balign 8
vcpus_running:  .quad 0
finished:       .quad 0
