// L2 "hvc": HVC round trips through L1 (bench/guests/hvc_l1.S). Asks L1 for its fast vectors
// (function 3), then makes HVC_ITERATIONS null calls (function 7), counting them in x3 and keeping
// marker values in x4-x6, x16 and x17 that L1 must preserve. Exits with code 0 if the count and
// every marker are intact, 1 otherwise. The count is the 32-bit word at symbol hvc_iterations, so
// the benchmark patches it.

l2_entry:
        b       start
hvc_iterations:
        .word   1000

start:
        mov     x0, #3                  // HVC_BENCH_ON
        hvc     #0
        adr     x2, hvc_iterations
        ldr     w2, [x2]
        mov     w7, w2
        mov     x3, #0
        mov64   x4, 0x0123456789abcdef
        mov64   x5, 0xfedcba9876543210
        mov     x6, sp
        mov64   x16, 0x1616161616161616
        mov64   x17, 0x1717171717171717

loop:   mov     x0, #7                  // HVC_BENCH_NOP
        hvc     #0
        add     x3, x3, #1
        subs    w2, w2, #1
        b.ne    loop

        mov     x1, #1
        cmp     x3, x7
        b.ne    done
        mov64   x8, 0x0123456789abcdef
        cmp     x4, x8
        b.ne    done
        mov64   x8, 0xfedcba9876543210
        cmp     x5, x8
        b.ne    done
        mov     x8, sp
        cmp     x6, x8
        b.ne    done
        mov64   x8, 0x1616161616161616
        cmp     x16, x8
        b.ne    done
        mov64   x8, 0x1717171717171717
        cmp     x17, x8
        b.ne    done
        mov     x1, #0
done:   mov     x0, #1                  // exit with the code in x1
        hvc     #0
1:      b       1b
