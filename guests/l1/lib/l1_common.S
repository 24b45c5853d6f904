// Routines shared by the two L1 cores, lib/main.S (one vCPU) and lib/smp_main.S (SMP): the
// synchronous-exception dispatch, the fatal reports and system_off. Both cores include it after
// their own entry code; a variant does not include it. The cores' normal paths (boot, entering
// L2, the fault and HVC services, the exit lines) stay their own: a shared routine would change
// how many instructions those paths run, which decides how SMP vCPUs interleave under nvlab's
// scheduler and which the documented step counts of a hyp.S run (README.md) show.
//
// The including core defines:
//   hvc_putchar, hvc_exit, hvc_puts   HVC functions 0-2 (reached by a branch from handle_lower_sync
//                                     with x1 = L2's argument; they end with `b lower_sync_return`
//                                     or never return)
//   hvc_extra                         HVC functions >= 3 (lib/hvc_none.S rejects them)
//   s2_fault(x0 = faulting nested IPA) map the granule that holds it

// system_off(x0 = exit code): PSCI SYSTEM_OFF with the code in x1. Never returns.
system_off:
        adrl    x1, off_requested       // a second attempt (SMC not a PSCI conduit) just stops
        ldr     x2, [x1]
        cbnz    x2, 2f
        str     x1, [x1]
        mov     x19, x0
        adrl    x0, msg_off
        bl      console_puts
        mov     x0, x19
        bl      console_putdec
        mov     w0, #'\n'
        bl      console_putc
        mov     x1, x19
        mov64   x0, PSCI_SYSTEM_OFF
        smc     #0
2:      b       2b

// handle_lower_sync(x0 = frame of L2's x0..x30): a synchronous exception from (this vCPU's) L2.
// Returns to the vector code, which restores L2's registers and ERETs.
handle_lower_sync:
        stp     x29, x30, [sp, #-32]!
        stp     x19, x20, [sp, #16]
        mov     x19, x0
        mrs     x20, esr_el2
        lsr     x1, x20, #26
        cmp     x1, #EC_HVC64
        b.eq    5f
        cmp     x1, #EC_DABT_LOW
        b.eq    6f
        cmp     x1, #EC_IABT_LOW
        b.eq    6f
        mov     x0, #0x400
        b       l1_unexpected

5:      and     x1, x20, #0xffff        // HVC immediate: only #0 is defined
        cbnz    x1, hvc_bad
        ldp     x0, x1, [x19]           // L2's x0 (function) and x1 (argument)
        cbz     x0, hvc_putchar
        cmp     x0, #1
        b.eq    hvc_exit
        cmp     x0, #2
        b.eq    hvc_puts
        bl      hvc_extra
        b       lower_sync_return

6:      and     x1, x20, #0x3c          // FSC 0b0001LL: translation fault, level LL
        cmp     x1, #0x04
        b.ne    s2_fault_bad
        mrs     x1, hpfar_el2           // FIPA = IPA[47:12] in bits [43:4]
        ubfx    x1, x1, #4, #40
        lsl     x1, x1, #12
        mrs     x2, far_el2
        and     x2, x2, #0xfff
        orr     x0, x1, x2
        bl      s2_fault
lower_sync_return:
        ldp     x19, x20, [sp, #16]
        ldp     x29, x30, [sp], #32
        ret

// hvc_bad: an HVC L1 does not provide, or a bad argument. Never returns.
hvc_bad:
        adrl    x0, msg_bad_hvc
        bl      console_puts
        ldp     x0, x1, [x19]
        bl      console_puthex
        adrl    x0, msg_arg
        bl      console_puts
        ldr     x0, [x19, #8]
        bl      console_puthex
        mov     w0, #'\n'
        bl      console_putc
        mov     x0, #ERR_BAD_HVC
        b       system_off

// s2_fault_outside(x4 = faulting nested IPA, x5 = L2 number): a stage-2 fault neither in L2's
// window nor on the UART granule. Never returns.
s2_fault_outside:
        mov     x19, x4
        mov     x20, x5
        adrl    x0, msg_outside1
        bl      console_puts
        mov     x0, x20
        bl      console_putdec
        adrl    x0, msg_outside2
        bl      console_puts
        mov     x0, x19
        bl      console_puthex
        adrl    x0, msg_elr
        bl      console_puts
        mrs     x0, elr_el2
        bl      console_puthex
        mov     w0, #'\n'
        bl      console_putc
        mov     x0, #ERR_L2_OUTSIDE
        b       system_off

s2_fault_bad:
        adrl    x0, msg_bad_fault
        bl      console_puts
        mov     x0, x20
        bl      console_puthex
        adrl    x0, msg_hpfar
        bl      console_puts
        mrs     x0, hpfar_el2
        bl      console_puthex
        mov     w0, #'\n'
        bl      console_putc
        mov     x0, #ERR_S2_FAULT
        b       system_off

// l1_unexpected(x0 = vector offset): any exception L1 does not handle. Uses no stack.
l1_unexpected:
        mov     x19, x0
        adrl    x0, msg_unexpected
        bl      console_puts
        mov     x0, x19
        bl      console_puthex
        adrl    x0, msg_esr
        bl      console_puts
        mrs     x0, esr_el2
        bl      console_puthex
        adrl    x0, msg_elr
        bl      console_puts
        mrs     x0, elr_el2
        bl      console_puthex
        adrl    x0, msg_far
        bl      console_puts
        mrs     x0, far_el2
        bl      console_puthex
        mov     w0, #'\n'
        bl      console_putc
        mov     x0, #ERR_L1_EXCEPTION
        cmp     x19, #0x400             // vectors from 0x400 up: taken from L2
        b.lo    1f
        mov     x0, #ERR_L2_EXCEPTION
1:      b       system_off

msg_not_el2:    .asciz "L1: not started at EL2\n"
msg_vmid:       .asciz " (VMID "
msg_close:      .asciz ")\n"
msg_exited1:    .asciz "L1: L2 #"
msg_exited2:    .asciz " exited with code "
msg_exited3:    .asciz ", stage-2 faults: "
msg_off:        .asciz "L1: system off, exit code "
msg_bad_hvc:    .asciz "L1: bad HVC from L2: x0="
msg_arg:        .asciz " x1="
msg_outside1:   .asciz "L1: L2 #"
msg_outside2:   .asciz " stage-2 fault outside its window: IPA="
msg_bad_fault:  .asciz "L1: unexpected stage-2 fault from L2: ESR="
msg_hpfar:      .asciz " HPFAR="
msg_unexpected: .asciz "L1: unexpected exception, vector +"
msg_esr:        .asciz " ESR="
msg_elr:        .asciz " ELR="
msg_far:        .asciz " FAR="
        .balign 4
