// L1 "hypfp": hyp.S (4K granule, lazy 4K pages, one L2) that also gives L2 SIMD&FP registers of its
// own, switched lazily as a hypervisor on hardware must: the architecture does not bank V0-V31,
// FPCR and FPSR by exception level.
//
// L1 keeps its own values in the registers and runs L2 with CPTR_EL2.TFP set: every return to L2
// through lower_sync sets TFP from who holds the registers (fp_before_eret). L2 cannot execute an
// instruction before its first exception (its code page is not mapped yet, guests/README.md), so
// that return is also where L1 sets up its own SIMD&FP values, once. L2's first SIMD&FP
// instruction traps to L1 (EC 0x07, taken at +0x400 before any other dispatch): L1 clears TFP,
// saves its registers, loads L2's and re-runs the instruction. HVC function 3 ("FP turn") is L1's
// own use: it takes the registers back (saving L2's), checks and advances its values, prints them,
// and keeps them, so the return sets TFP and L2's next use traps again. L1 never uses SIMD&FP on any other path.
//
// CPTR_EL2 is written whole: RES1 bits 13, 9 and 7:0, TZ (bit 8) and TSM (bit 12) set to trap
// SVE and SME, which neither guest uses; TFP (bit 10) as needed.

        .equ NUM_L2, 1
        .equ ROUNDS, 1
        .equ CPTR_FP_OPEN, 0x33ff
        .equ CPTR_FP_TRAP, 0x37ff
        .equ EC_FP_ASIMD, 0x07
        .equ HVC_FP_TURN, 3
        .include "lib/defs.S"

        .include "lib/main.S"
        .include "lib/s2_4k.S"
        .include "lib/s2_common.S"
        .include "lib/console.S"

// fp_save(x0 = area): V0-V31, FPCR, FPSR to a 16-byte aligned area. Clobbers x1.
fp_save:
        stp     q0, q1, [x0, #0]
        stp     q2, q3, [x0, #32]
        stp     q4, q5, [x0, #64]
        stp     q6, q7, [x0, #96]
        stp     q8, q9, [x0, #128]
        stp     q10, q11, [x0, #160]
        stp     q12, q13, [x0, #192]
        stp     q14, q15, [x0, #224]
        stp     q16, q17, [x0, #256]
        stp     q18, q19, [x0, #288]
        stp     q20, q21, [x0, #320]
        stp     q22, q23, [x0, #352]
        stp     q24, q25, [x0, #384]
        stp     q26, q27, [x0, #416]
        stp     q28, q29, [x0, #448]
        stp     q30, q31, [x0, #480]
        mrs     x1, fpcr
        str     x1, [x0, #512]
        mrs     x1, fpsr
        str     x1, [x0, #520]
        ret

// fp_load(x0 = area): the counterpart of fp_save. Clobbers x1.
fp_load:
        ldp     q0, q1, [x0, #0]
        ldp     q2, q3, [x0, #32]
        ldp     q4, q5, [x0, #64]
        ldp     q6, q7, [x0, #96]
        ldp     q8, q9, [x0, #128]
        ldp     q10, q11, [x0, #160]
        ldp     q12, q13, [x0, #192]
        ldp     q14, q15, [x0, #224]
        ldp     q16, q17, [x0, #256]
        ldp     q18, q19, [x0, #288]
        ldp     q20, q21, [x0, #320]
        ldp     q22, q23, [x0, #352]
        ldp     q24, q25, [x0, #384]
        ldp     q26, q27, [x0, #416]
        ldp     q28, q29, [x0, #448]
        ldp     q30, q31, [x0, #480]
        ldr     x1, [x0, #512]
        msr     fpcr, x1
        ldr     x1, [x0, #520]
        msr     fpsr, x1
        ret

// fp_before_eret: on the first call, L1's own SIMD&FP values; then CPTR_EL2.TFP set while the
// registers are L1's, clear while they are L2's. Clobbers x0, x1.
fp_before_eret:
        adrl    x0, fp_ready
        ldr     x1, [x0]
        cbnz    x1, 1f
        mov     x1, #1
        str     x1, [x0]
        mov64   x0, CPTR_FP_OPEN
        msr     cptr_el2, x0
        isb
        msr     fpcr, xzr
        msr     fpsr, xzr
        fmov    d8, #1.0                // L1's accumulator: + 0.25 per FP turn
        fmov    d9, #0.25
        adrl    x0, l1_pattern
        ldr     q10, [x0]
        movi    v31.4s, #0x11           // added to v10 per FP turn (a high register)
1:      mov64   x0, CPTR_FP_TRAP
        adrl    x1, fp_l2_owns
        ldr     x1, [x1]
        cbz     x1, 2f
        mov64   x0, CPTR_FP_OPEN
2:      msr     cptr_el2, x0
        isb
        ret

// fp_trap: L2's SIMD&FP use while the registers are L1's (EC 0x07 from L2). Switch to L2's and
// re-run the instruction (ELR_EL2 is the instruction itself). Keeps every L2 register.
fp_trap:
        stp     x0, x1, [sp, #-32]!
        str     x30, [sp, #16]
        mov64   x0, CPTR_FP_OPEN
        msr     cptr_el2, x0
        isb
        adrl    x0, l1_fp_area
        bl      fp_save
        adrl    x0, l2_fp_area
        bl      fp_load
        adrl    x0, fp_l2_owns
        mov     x1, #1
        str     x1, [x0]
        adrl    x0, fp_traps
        ldr     x1, [x0]
        add     x1, x1, #1
        str     x1, [x0]
        adrl    x0, fp_last_esr
        mrs     x1, esr_el2
        str     x1, [x0]
        ldr     x30, [sp, #16]
        ldp     x0, x1, [sp], #32
        eret

// hvc_extra(x0 = function, x1 = argument; x19 = L2's register frame): function 3, L1's FP turn.
hvc_extra:
        cmp     x0, #HVC_FP_TURN
        b.ne    hvc_bad
        stp     x29, x30, [sp, #-16]!
        mov64   x0, CPTR_FP_OPEN
        msr     cptr_el2, x0
        isb
        adrl    x2, fp_l2_owns
        ldr     x3, [x2]
        cbz     x3, 1f
        str     xzr, [x2]
        adrl    x0, l2_fp_area
        bl      fp_save
        adrl    x0, l1_fp_area
        bl      fp_load
1:      fadd    d8, d8, d9
        add     v10.4s, v10.4s, v31.4s
        adrl    x0, msg_fp_turn
        bl      console_puts
        adrl    x0, fp_turns
        ldr     x1, [x0]
        add     x1, x1, #1
        str     x1, [x0]
        mov     x0, x1
        bl      console_putdec
        adrl    x0, msg_fp_d8
        bl      console_puts
        fmov    x0, d8
        bl      console_puthex
        adrl    x0, msg_fp_v10
        bl      console_puts
        mov     x0, v10.d[1]
        bl      console_puthex
        mov     w0, #':'
        bl      console_putc
        fmov    x0, d10
        bl      console_puthex
        adrl    x0, msg_fp_traps
        bl      console_puts
        adrl    x0, fp_traps
        ldr     x0, [x0]
        bl      console_putdec
        adrl    x0, msg_fp_esr
        bl      console_puts
        adrl    x0, fp_last_esr
        ldr     x0, [x0]
        bl      console_puthex
        mov     w0, #'\n'
        bl      console_putc
        ldp     x29, x30, [sp], #16     // the registers stay L1's: fp_before_eret sets TFP
        ret

banner_text:    .asciz "L1: hypfp: 4K granule, lazy 4K pages, lazy FP/SIMD switching (CPTR_EL2.TFP)\n"
msg_fp_turn:       .asciz "L1: FP turn "
msg_fp_d8:         .asciz ": d8="
msg_fp_v10:        .asciz " v10="
msg_fp_traps:      .asciz ", L2 FP traps: "
msg_fp_esr:        .asciz ", last ESR_EL2 "

// L1's EL2 vector table: lib/vectors.S, except that +0x400 sends EC 0x07 to fp_trap and lower_sync
// sets CPTR_EL2 before its ERET.
        .balign 2048
l1_vectors:
        mov     x0, #0x000
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
        .org    l1_vectors + 0x200
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
        str     x0, [sp, #-16]!
        mrs     x0, esr_el2
        lsr     x0, x0, #26
        cmp     x0, #EC_FP_ASIMD
        ldr     x0, [sp], #16
        b.eq    fp_trap
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
        .org    l1_vectors + 0x600
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

        .equ FRAME_SIZE, 256

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
        bl      fp_before_eret
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

        .balign 16
l1_pattern:     .quad 0x0123456789abcdef, 0xfedcba9876543210
l1_fp_area:     .space 528              // V0-V31, FPCR, FPSR
        .balign 16
l2_fp_area:     .space 528              // L2 starts from zeroed registers
        .balign 8
fp_l2_owns:     .quad 0                 // the registers hold L2's values
fp_traps:       .quad 0
fp_turns:       .quad 0
fp_last_esr:    .quad 0
fp_ready:       .quad 0                 // L1's own values are set up
        .include "lib/data.S"
