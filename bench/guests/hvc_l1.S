// L1 "hvc": guests/l1/hyp.S (4K stage-2, lazy 4K pages, one L2) with a fast path for the HVC round
// trip benchmark. L2's HVC function 3 switches VBAR_EL2 to bench_vectors, whose lower-EL synchronous
// vector handles function 7 (a null call) in a few instructions: save x16/x17, read ESR_EL2 (a trapped
// EL2 register read), check for an HVC with x0 = 7, restore and ERET (a trapped ERET). So each round
// trip is three exits to L0: L2's HVC (injected into vEL2), the MRS of ESR_EL2, and the nested ERET
// back to L2. Everything else (stage-2 faults, the exit call) takes hyp.S's full path. Guest ABI:
// guests/README.md; the L2 is bench/guests/hvc_l2.S.

        .equ NUM_L2, 1
        .equ ROUNDS, 1
        .equ HVC_BENCH_ON, 3
        .equ HVC_BENCH_NOP, 7
        .include "../../guests/l1/lib/defs.S"
        .include "../../guests/l1/lib/main.S"
        .include "../../guests/l1/lib/s2_4k.S"
        .include "../../guests/l1/lib/s2_common.S"
        .include "../../guests/l1/lib/console.S"
banner_text:    .asciz "L1: hvc: 4K granule, lazy 4K pages, fast null HVC\n"

        .balign 4
// hvc_extra (x1 = argument): function 3 installs bench_vectors; any other function is rejected.
hvc_extra:
        ldr     x0, [x19]               // L2's x0
        cmp     x0, #HVC_BENCH_ON
        b.ne    hvc_bad
        adrl    x0, bench_vectors
        msr     vbar_el2, x0
        ret

        .include "../../guests/l1/lib/vectors.S"

// Every vector but the lower-EL synchronous one goes to l1_vectors' handler of the same offset.
        .balign 2048
bench_vectors:
        b       l1_vectors + 0x000
        .org    bench_vectors + 0x080
        b       l1_vectors + 0x080
        .org    bench_vectors + 0x100
        b       l1_vectors + 0x100
        .org    bench_vectors + 0x180
        b       l1_vectors + 0x180
        .org    bench_vectors + 0x200
        b       l1_vectors + 0x200
        .org    bench_vectors + 0x280
        b       l1_vectors + 0x280
        .org    bench_vectors + 0x300
        b       l1_vectors + 0x300
        .org    bench_vectors + 0x380
        b       l1_vectors + 0x380
        .org    bench_vectors + 0x400   // lower EL, AArch64, synchronous
        stp     x16, x17, [sp, #-16]!
        mrs     x16, esr_el2
        lsr     x17, x16, #26
        cmp     x17, #EC_HVC64
        b.ne    1f
        cmp     x0, #HVC_BENCH_NOP
        b.ne    1f
bench_restore:
        ldp     x16, x17, [sp], #16
        eret
1:      ldp     x16, x17, [sp], #16
        b       lower_sync
        .org    bench_vectors + 0x480
        b       l1_vectors + 0x480
        .org    bench_vectors + 0x500
        b       l1_vectors + 0x500
        .org    bench_vectors + 0x580
        b       l1_vectors + 0x580
        .org    bench_vectors + 0x600
        b       l1_vectors + 0x600
        .org    bench_vectors + 0x680
        b       l1_vectors + 0x680
        .org    bench_vectors + 0x700
        b       l1_vectors + 0x700
        .org    bench_vectors + 0x780
        b       l1_vectors + 0x780
        .org    bench_vectors + 0x800

        .include "../../guests/l1/lib/data.S"
