// L2 "loop": the standard CPU benchmark loop (bench/lib/cpu_loop.ts, same 13 instructions) run
// LOOP_ITERATIONS times with its 256-entry table one page above the code, then exit 0. The count
// is the 32-bit word at symbol loop_iterations, so the benchmark patches it.

l2_entry:
        b       loop_start
loop_iterations:
        .word   1000

loop_start:
        adr     x0, loop_iterations
        ldr     w0, [x0]
        adr     x10, l2_entry
        add     x10, x10, #0x1000       // the table: its own page
        mov     x1, #0
        mov     x11, #0

loop:   add     x1, x1, x0
        sub     x2, x2, #3
        eor     x3, x3, x1
        and     x4, x3, #0x00ff00ff00ff00ff
        lsl     x5, x1, #3
        orr     x6, x5, x2, lsr #7
        ldr     x7, [x10, x11, lsl #3]
        add     x7, x7, x6
        str     x7, [x10, x11, lsl #3]
        add     x11, x11, #1
        and     x11, x11, #0xff
        subs    x0, x0, #1
        b.ne    loop

        mov     x1, #0
        mov     x0, #1                  // HVC exit (guests/README.md), code 0
        hvc     #0
1:      b       1b
