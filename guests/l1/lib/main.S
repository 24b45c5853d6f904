// L1 core shared by every one-vCPU variant: boot, the L2 run loop, HVC services, lazy stage-2
// faults. Include it first among the code files: l1_entry must sit at the image base (the entry).
// What it has in common with the SMP core (lib/smp_main.S) is in lib/l1_common.S, which it includes.
//
// A variant defines:
//   NUM_L2, ROUNDS           how many L2s to run, and how many times over (round-robin order)
//   banner_text              the line L1 prints after boot
//   VTCR_VALUE, S2_MAP_SHIFT, s2_alloc_root, s2_leaf_slot, ...   (a stage-2 format: s2_*.S)
//   hvc_extra                HVC functions >= 3 (lib/hvc_none.S rejects them)
//
// Register use: AAPCS-like. x0-x15 are scratch, x19-x28 are preserved by functions that use them.

l1_entry:
        msr     daifset, #0xf
        mov64   x0, L1_STACK_TOP
        mov     sp, x0
        adrl    x0, l1_vectors
        msr     vbar_el2, x0
        isb
        mrs     x0, currentel
        ubfx    x0, x0, #2, #2
        cmp     x0, #2
        b.eq    1f
        adrl    x0, msg_not_el2
        bl      console_puts
        mov     x0, #ERR_NOT_EL2
        b       system_off
1:      adrl    x0, banner_text
        bl      console_puts
        mov64   x0, HCR_VM | HCR_RW
        msr     hcr_el2, x0
        mov64   x0, VTCR_VALUE
        msr     vtcr_el2, x0
        isb

        mov     x21, #0                 // machine exit code: the first non-zero L2 exit code
        mov     x19, #0                 // round
2:      mov     x20, #0                 // L2 number
3:      mov     x0, x20
        bl      run_l2
        cbnz    x21, 4f
        mov     x21, x0
4:      add     x20, x20, #1
        cmp     x20, #NUM_L2
        b.lo    3b
        add     x19, x19, #1
        cmp     x19, #ROUNDS
        b.lo    2b
        mov     x0, x21
        b       system_off

// run_l2(x0 = n) -> x0 = exit code of L2 #n. Enters L2 #n at its entry with VMID n + 1 and
// returns when it calls exit (hvc_exit jumps to run_l2_done with L1's stack reset).
run_l2:
        stp     x29, x30, [sp, #-96]!
        stp     x19, x20, [sp, #16]
        stp     x21, x22, [sp, #32]
        stp     x23, x24, [sp, #48]
        stp     x25, x26, [sp, #64]
        stp     x27, x28, [sp, #80]
        mov     x19, x0
        adrl    x1, cur_l2
        str     x19, [x1]
        adrl    x1, fault_count
        str     xzr, [x1]
        adrl    x20, l2_roots           // stage-2 tables persist across rounds
        ldr     x0, [x20, x19, lsl #3]
        cbnz    x0, 1f
        bl      s2_alloc_root
        str     x0, [x20, x19, lsl #3]
1:      add     x1, x19, #1
        orr     x0, x0, x1, lsl #48     // VTTBR_EL2.VMID = n + 1
        msr     vttbr_el2, x0

        adrl    x0, msg_enter
        bl      console_puts
        mov     x0, x19
        bl      console_putdec
        adrl    x0, msg_vmid
        bl      console_puts
        add     x0, x19, #1
        bl      console_putdec
        adrl    x0, msg_close
        bl      console_puts

        mov     x0, sp
        adrl    x1, l1_saved_sp
        str     x0, [x1]
        mov64   x0, L2_SPSR
        msr     spsr_el2, x0
        mov64   x0, L2_IPA_BASE
        msr     elr_el2, x0
        mov     x0, #0                  // L2 starts from all-zero registers
        .include "l2_eret.S"

// Reached by a branch from the HVC exit service with x0 = exit code.
run_l2_done:
        adrl    x1, l1_saved_sp
        ldr     x1, [x1]
        mov     sp, x1
        mov     x19, x0
        adrl    x0, msg_exited1
        bl      console_puts
        adrl    x0, cur_l2
        ldr     x0, [x0]
        bl      console_putdec
        adrl    x0, msg_exited2
        bl      console_puts
        mov     x0, x19
        bl      console_putdec
        adrl    x0, msg_exited3
        bl      console_puts
        adrl    x0, fault_count
        ldr     x0, [x0]
        bl      console_putdec
        adrl    x0, msg_exited4
        bl      console_puts
        mov     x0, x19
        ldp     x19, x20, [sp, #16]
        ldp     x21, x22, [sp, #32]
        ldp     x23, x24, [sp, #48]
        ldp     x25, x26, [sp, #64]
        ldp     x27, x28, [sp, #80]
        ldp     x29, x30, [sp], #96
        ret

hvc_putchar:
        and     w0, w1, #0xff
        bl      console_putc
        b       lower_sync_return

hvc_exit:
        and     x0, x1, #0xff
        b       run_l2_done

hvc_puts:
        mov     x0, x1
        bl      l2_ipa_to_canonical     // the whole string must lie in L2's window
        mov32   x3, UART_BASE
1:      ldrb    w2, [x0], #1
        cbz     w2, lower_sync_return
        strb    w2, [x3]
        cmp     x0, x1
        b.lo    1b
        b       hvc_bad

// l2_ipa_to_canonical(x0 = nested IPA in the current L2's window) -> x0 = canonical IPA,
// x1 = canonical end of the window. Outside the window: hvc_bad (needs x19 = frame).
l2_ipa_to_canonical:
        mov64   x2, L2_IPA_BASE
        subs    x0, x0, x2
        b.lo    hvc_bad
        mov64   x2, L2_WINDOW
        cmp     x0, x2
        b.hs    hvc_bad
        adrl    x1, cur_l2
        ldr     x1, [x1]
        mov64   x3, L2_CANON_BASE
        madd    x1, x1, x2, x3          // window base
        add     x0, x0, x1
        add     x1, x1, x2
        ret

// s2_fault(x0 = faulting nested IPA): map the granule (S2_MAP_SHIFT) that holds it.
s2_fault:
        stp     x29, x30, [sp, #-16]!
        adrl    x1, fault_count
        ldr     x2, [x1]
        add     x2, x2, #1
        str     x2, [x1]
        mov     x4, x0
        lsr     x1, x0, #S2_MAP_SHIFT
        lsl     x1, x1, #S2_MAP_SHIFT
        mov64   x2, L2_IPA_BASE
        subs    x2, x1, x2
        b.lo    1f
        mov64   x3, L2_WINDOW
        cmp     x2, x3
        b.hs    1f
        adrl    x5, cur_l2
        ldr     x5, [x5]
        mov64   x6, L2_CANON_BASE
        madd    x5, x5, x3, x6
        add     x2, x2, x5              // canonical IPA of the granule
        mov64   x3, S2_ATTR_RAM
        b       2f
1:      mov32   x2, UART_BASE           // the UART granule, 1:1, as device memory
        lsr     x2, x2, #S2_MAP_SHIFT
        lsl     x2, x2, #S2_MAP_SHIFT
        cmp     x1, x2
        b.ne    3f
        mov64   x3, S2_ATTR_DEVICE
2:      adrl    x0, cur_l2
        ldr     x0, [x0]
        adrl    x5, l2_roots
        ldr     x0, [x5, x0, lsl #3]
        bl      s2_map
        dsb     ishst
        ldp     x29, x30, [sp], #16
        ret
3:      adrl    x5, cur_l2              // x4 = the faulting IPA
        ldr     x5, [x5]
        b       s2_fault_outside

msg_enter:      .asciz "L1: entering L2 #"
msg_exited4:    .asciz "\n"
        .balign 4
        .include "l1_common.S"
