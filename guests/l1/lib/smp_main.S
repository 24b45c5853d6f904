// SMP L1 core: the primary vCPU brings up secondaries with PSCI CPU_ON, every vCPU runs its L2
// ROUNDS times, and the primary prints all results in vCPU order once every vCPU has reported. Include it first
// among the code files (l1_entry is the image entry), after lib/defs.S.
//
// A variant defines:
//   SHARED_L2        0: vCPU n runs L2 #n (VMID n + 1, own stage-2); 1: every vCPU runs L2 #0
//                    (VMID 1, one stage-2) and gets its vCPU number in x0
//   ROUNDS           L2 runs per vCPU. Run r uses VMID
//                    L2 number + 1 + r * MAX_VCPUS, so every run of every vCPU has its own VMID
//                    (at most 63 rounds: 8-bit VMIDs), over the same stage-2 tables: only the
//                    first run of an L2 takes stage-2 faults in L1, but each run is a new VMID
//                    for the host (a new shadow stage-2).
//   banner_text      the line L1 prints after boot
//   and a stage-2 format (lib/s2_*.S), as lib/main.S does.
// It includes lib/smp_defs.S (its constants), lib/l1_common.S (what it shares with lib/main.S),
// lib/hvc_none.S, lib/s2_common.S and lib/console.S: a variant adds only the stage-2 format.
//
// Why the output is the same on every interleaving: L2 output (HVC putchar/puts) goes to a buffer
// in the running vCPU's own area, not to the UART; only the primary prints, and it prints the
// buffers after the vCPUs have finished, in vCPU order. Stage-2 tables (down to the last level) are
// all built by the primary before any CPU_ON, so a fault only writes a leaf: vCPUs never allocate
// from the shared pool and never race on a table entry (with SHARED_L2 two vCPUs may write the same
// leaf, with the same value). Per-vCPU state is found through MPIDR_EL1.Aff0, which every host sets
// per vCPU; SP_EL2 is per vCPU too.

        .include "smp_defs.S"

l1_entry:
        msr     daifset, #0xf
        mov64   x0, L1_STACK_TOP
        mov     sp, x0
        bl      smp_cpu_setup
        adrl    x0, banner_text
        bl      console_puts
        mrs     x19, mpidr_el1
        and     x0, x19, #0xff
        cbz     x0, 1f                  // the primary must be Aff0 0: it owns per-vCPU area 0
        mov     x0, x19
        adrl    x1, msg_bad_primary
        b       smp_fatal_mpidr
1:      bl      smp_build_tables

        // CPU_ON Aff0 = 1, 2, ... (same Aff3..Aff1 as the primary) until the first
        // INVALID_PARAMETERS: the number of vCPUs is whatever the host has, up to MAX_VCPUS.
        mov64   x0, MPIDR_AFF_MASK
        and     x20, x19, x0            // target MPIDR without Aff0
        mov     x21, #1                 // vCPU number = Aff0 = context ID
2:      cmp     x21, #MAX_VCPUS
        b.hs    4f
        dsb     ish                     // tables and variables visible before the vCPU starts
        mov64   x0, PSCI_CPU_ON64
        orr     x1, x20, x21
        adrl    x2, smp_secondary_entry
        mov     x3, x21
        smc     #0
        cbz     x0, 3f
        cmn     x0, #-PSCI_INVALID
        b.eq    4f
        mov     x19, x0                 // any other result (ALREADY_ON, DENIED, ...) is a bug
        adrl    x0, msg_cpu_on_failed
        bl      console_puts
        orr     x0, x20, x21
        bl      console_puthex
        mov     x0, x19
        adrl    x1, msg_result
        b       smp_fatal_mpidr
3:      adrl    x0, msg_started
        bl      console_puts
        mov     x0, x21
        bl      console_putdec
        adrl    x0, msg_target
        bl      console_puts
        orr     x0, x20, x21
        bl      console_puthex
        adrl    x0, msg_close
        bl      console_puts
        add     x21, x21, #1
        b       2b
4:      adrl    x0, nr_vcpus
        str     x21, [x0]
        adrl    x0, msg_vcpus
        bl      console_puts
        mov     x0, x21
        bl      console_putdec
        mov     w0, #'\n'
        bl      console_putc
        adrl    x0, smp_go              // the secondaries' L2s may run now: nothing but a fatal
        mov     x1, #1                  //   error prints before the final report, and none can
        stlr    x1, [x0]                //   cut into the lines above

        mov     x0, #0                  // the primary's own share
        bl      smp_run_rounds

        mov     x22, #1                 // wait for every secondary's report (acquire: its
5:      cmp     x22, x21                //   results are visible once the flag is)
        b.hs    7f
        mov     x0, x22
        bl      percpu_of
6:      ldar    x1, [x0]                // PC_DONE is at offset 0
        cbz     x1, 6b
        add     x22, x22, #1
        b       5b
7:      bl      smp_report_all
        b       system_off

// smp_secondary_entry: where CPU_ON starts a secondary, at EL2h, MMU off, x0 = context ID = its
// vCPU number. Runs its L2, publishes the results with a release store and turns itself off.
smp_secondary_entry:
        msr     daifset, #0xf
        mov     x19, x0
        cmp     x19, #MAX_VCPUS
        b.hs    8f
        mov64   x1, L1_STACK_TOP        // SP first: the fatal paths below use the stack
        mov64   x2, SMP_STACK_SIZE
        msub    x1, x19, x2, x1
        mov     sp, x1
        bl      smp_cpu_setup
        mrs     x0, mpidr_el1
        and     x1, x0, #0xff
        cmp     x1, x19                 // it must read the MPIDR it was started as
        b.ne    9f
        adrl    x0, smp_go
6:      ldar    x1, [x0]
        cbz     x1, 6b
        mov     x0, x19
        bl      smp_run_rounds
        mov     x0, x19
        bl      percpu_of
        mov     x1, #1
        stlr    x1, [x0]                // PC_DONE: after the results (release)
        mov64   x0, PSCI_CPU_OFF
        smc     #0
7:      b       7b                      // CPU_OFF does not return; if a host lets it, stay here
8:      mov64   x1, L1_STACK_TOP - MAX_VCPUS * SMP_STACK_SIZE // a stack no vCPU uses
        mov     sp, x1
        adrl    x1, msg_bad_context
        b       smp_fatal_mpidr
9:      adrl    x1, msg_bad_secondary
        b       smp_fatal_mpidr

// smp_fatal_mpidr(x0 = MPIDR or context ID, x1 = message): print both, end the machine.
smp_fatal_mpidr:
        mov     x19, x0
        mov     x0, x1
        bl      console_puts
        mov     x0, x19
        bl      console_puthex
        mov     w0, #'\n'
        bl      console_putc
        mov     x0, #ERR_SMP
        b       system_off

// smp_cpu_setup: this vCPU's EL2 registers (each vCPU has its own): vectors, HCR_EL2, VTCR_EL2.
// Ends the machine if the vCPU is not at EL2.
smp_cpu_setup:
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
1:      mov64   x0, HCR_VM | HCR_RW
        msr     hcr_el2, x0
        mov64   x0, VTCR_VALUE
        msr     vtcr_el2, x0
        isb
        ret

// percpu_of(x0 = vCPU number) -> x0 = its per-vCPU area. Clobbers x1.
percpu_of:
        mov     x1, #PERCPU_SIZE
        mul     x0, x0, x1
        adrl    x1, percpu_areas
        add     x0, x0, x1
        ret

// this_percpu() -> x0 = the running vCPU's area (by MPIDR_EL1.Aff0). Clobbers x1.
this_percpu:
        mrs     x0, mpidr_el1
        and     x0, x0, #0xff
        b       percpu_of

// smp_build_tables: every L2's stage-2 root and all tables below it for its whole window and the
// UART granule, so that a fault later only has to write the leaf.
smp_build_tables:
        stp     x29, x30, [sp, #-48]!
        stp     x19, x20, [sp, #16]
        stp     x21, x22, [sp, #32]
        mov     x19, #0                 // L2 number
        adrl    x20, l2_roots
1:      bl      s2_alloc_root
        str     x0, [x20, x19, lsl #3]
        mov     x21, x0
        mov64   x22, L2_IPA_BASE
2:      mov     x0, x21                 // every 2 MiB: the smallest span a last-level table covers
        mov     x1, x22
        bl      s2_leaf_slot
        add     x22, x22, #0x200000
        mov64   x0, L2_IPA_BASE + L2_WINDOW
        cmp     x22, x0
        b.lo    2b
        mov     x0, x21
        mov32   x1, UART_BASE
        bl      s2_leaf_slot
        add     x19, x19, #1
        cmp     x19, #NUM_ROOTS
        b.lo    1b
        ldp     x21, x22, [sp, #32]
        ldp     x19, x20, [sp, #16]
        ldp     x29, x30, [sp], #48
        ret

// smp_run_rounds(x0 = vCPU number): run this vCPU's L2 ROUNDS times, keeping a run record (exit
// code, faults, where its output ends) for each run in the vCPU's area.
smp_run_rounds:
        stp     x29, x30, [sp, #-32]!
        stp     x19, x20, [sp, #16]
        mov     x19, x0
        bl      percpu_of
        mov     x20, x0
        str     xzr, [x20, #PC_ROUND]
1:      str     xzr, [x20, #PC_FAULTS]
        mov     x0, x19
        bl      smp_run_l2
        ldr     x0, [x20, #PC_ROUND]
        add     x1, x20, #PC_RUNS
        add     x1, x1, x0, lsl #RUN_SHIFT
        ldr     x2, [x20, #PC_EXIT]
        str     x2, [x1, #RUN_EXIT]
        ldr     x2, [x20, #PC_FAULTS]
        str     x2, [x1, #RUN_FAULTS]
        ldr     x2, [x20, #PC_BUF_LEN]
        str     x2, [x1, #RUN_BUF_END]
        ldr     x2, [x20, #PC_LOST]
        str     x2, [x1, #RUN_LOST]
        add     x0, x0, #1
        str     x0, [x20, #PC_ROUND]
        cmp     x0, #ROUNDS
        b.lo    1b
        ldp     x19, x20, [sp, #16]
        ldp     x29, x30, [sp], #32
        ret

// smp_vmid(x0 = L2 number, x1 = round) -> x0 = the VMID of that run (see ROUNDS above).
smp_vmid:
        add     x0, x0, #1
        mov     x2, #MAX_VCPUS
        madd    x0, x1, x2, x0
        ret

// smp_run_l2(x0 = vCPU number): run this vCPU's L2 once (round PC_ROUND) until it calls exit; the
// exit code, fault count and output stay in the vCPU's area. Returns through smp_run_l2_done.
smp_run_l2:
        stp     x29, x30, [sp, #-96]!
        stp     x19, x20, [sp, #16]
        stp     x21, x22, [sp, #32]
        stp     x23, x24, [sp, #48]
        stp     x25, x26, [sp, #64]
        stp     x27, x28, [sp, #80]
        mov     x19, x0
        bl      percpu_of
        mov     x20, x0
        mrs     x0, mpidr_el1
        str     x0, [x20, #PC_MPIDR]
        mov     x0, #(1 - SHARED_L2)    // L2 number: the vCPU's own, or #0 when shared
        mul     x0, x0, x19
        str     x0, [x20, #PC_L2]
        adrl    x1, l2_roots
        ldr     x21, [x1, x0, lsl #3]
        ldr     x1, [x20, #PC_ROUND]
        bl      smp_vmid
        orr     x1, x21, x0, lsl #48    // VTTBR_EL2.VMID: L2 number + 1 (+ MAX_VCPUS per round)
        msr     vttbr_el2, x1
        mov     x0, sp
        str     x0, [x20, #PC_SAVED_SP]
        mov64   x0, L2_SPSR
        msr     spsr_el2, x0
        mov64   x0, L2_IPA_BASE
        msr     elr_el2, x0
        isb
        mov     x0, #SHARED_L2          // L2 starts from all-zero registers, except that a
        mul     x0, x0, x19             //   shared L2 learns in x0 which vCPU it runs on
        .include "l2_eret.S"

// Reached by a branch from the HVC exit service with x0 = exit code.
smp_run_l2_done:
        mov     x19, x0
        bl      this_percpu
        ldr     x1, [x0, #PC_SAVED_SP]
        mov     sp, x1
        str     x19, [x0, #PC_EXIT]
        ldp     x19, x20, [sp, #16]
        ldp     x21, x22, [sp, #32]
        ldp     x23, x24, [sp, #48]
        ldp     x25, x26, [sp, #64]
        ldp     x27, x28, [sp, #80]
        ldp     x29, x30, [sp], #96
        ret

// smp_report_all() -> x0 = machine exit code (the first non-zero L2 exit code, in vCPU order and
// run order within a vCPU). Prints every run of every vCPU in that order; primary only, after all
// vCPUs reported.
smp_report_all:
        stp     x29, x30, [sp, #-80]!
        stp     x19, x20, [sp, #16]
        stp     x21, x22, [sp, #32]
        stp     x23, x24, [sp, #48]
        stp     x25, x26, [sp, #64]
        mov     x19, #0                 // vCPU number
        mov     x21, #0                 // machine exit code
1:      mov     x0, x19
        bl      percpu_of
        mov     x20, x0
        mov     x22, #0                 // round
        mov     x23, #0                 // where the run's output starts in PC_BUF
        mov     x24, #0                 // PC_LOST before the run
2:      add     x25, x20, #PC_RUNS      // the run's record
        add     x25, x25, x22, lsl #RUN_SHIFT
        adrl    x0, msg_vcpu
        bl      console_puts
        mov     x0, x19
        bl      console_putdec
        adrl    x0, msg_mpidr_open
        bl      console_puts
        ldr     x0, [x20, #PC_MPIDR]
        bl      console_puthex
        adrl    x0, msg_ran
        bl      console_puts
        ldr     x0, [x20, #PC_L2]
        bl      console_putdec
        adrl    x0, msg_vmid
        bl      console_puts
        ldr     x0, [x20, #PC_L2]
        mov     x1, x22
        bl      smp_vmid
        bl      console_putdec
        adrl    x0, msg_close
        bl      console_puts
        add     x1, x20, #PC_BUF        // the run's output, as the L2 wrote it
        add     x0, x1, x23
        ldr     x23, [x25, #RUN_BUF_END]
        add     x1, x1, x23
        mov32   x3, UART_BASE
3:      cmp     x0, x1
        b.hs    4f
        ldrb    w2, [x0], #1
        strb    w2, [x3]
        b       3b
4:      ldr     x0, [x25, #RUN_LOST]
        sub     x26, x0, x24            // bytes of this run's output that did not fit
        mov     x24, x0
        cbz     x26, 5f
        adrl    x0, msg_lost
        bl      console_puts
        mov     x0, x26
        bl      console_putdec
        adrl    x0, msg_lost2
        bl      console_puts
5:      adrl    x0, msg_exited1
        bl      console_puts
        ldr     x0, [x20, #PC_L2]
        bl      console_putdec
        adrl    x0, msg_exited2
        bl      console_puts
        ldr     x0, [x25, #RUN_EXIT]
        bl      console_putdec
        mov     x0, #SHARED_L2          // own tables: every first touch of a page faults
        cbnz    x0, 6f                  //   once; shared ones: who faults first is timing
        adrl    x0, msg_exited3
        bl      console_puts
        ldr     x0, [x25, #RUN_FAULTS]
        bl      console_putdec
6:      mov     w0, #'\n'
        bl      console_putc
        cbnz    x21, 7f
        ldr     x21, [x25, #RUN_EXIT]
7:      add     x22, x22, #1
        cmp     x22, #ROUNDS
        b.lo    2b
        add     x19, x19, #1
        adrl    x0, nr_vcpus
        ldr     x0, [x0]
        cmp     x19, x0
        b.lo    1b
        mov     x0, #SHARED_L2
        cbz     x0, 8f
        bl      smp_report_shared       // instead of per-vCPU fault counts: pages mapped in the end
8:      mov     x0, x21
        ldp     x25, x26, [sp, #64]
        ldp     x23, x24, [sp, #48]
        ldp     x21, x22, [sp, #32]
        ldp     x19, x20, [sp, #16]
        ldp     x29, x30, [sp], #80
        ret

// smp_report_shared: "L1: shared stage-2 (VMID 1): k pages mapped" (valid leaves in L2 #0's window).
smp_report_shared:
        stp     x29, x30, [sp, #-48]!
        stp     x19, x20, [sp, #16]
        stp     x21, x22, [sp, #32]
        mov     x19, #0                 // valid leaves
        mov64   x20, L2_IPA_BASE
1:      adrl    x0, l2_roots
        ldr     x0, [x0]
        mov     x1, x20
        bl      s2_leaf_slot            // the tables exist: this only walks them
        ldr     x0, [x0]
        and     x0, x0, #1
        add     x19, x19, x0
        mov     x0, #1
        lsl     x0, x0, #S2_MAP_SHIFT
        add     x20, x20, x0
        mov64   x0, L2_IPA_BASE + L2_WINDOW
        cmp     x20, x0
        b.lo    1b
        adrl    x0, msg_shared
        bl      console_puts
        mov     x0, x19
        bl      console_putdec
        adrl    x0, msg_shared2
        bl      console_puts
        ldp     x21, x22, [sp, #32]
        ldp     x19, x20, [sp, #16]
        ldp     x29, x30, [sp], #48
        ret

hvc_putchar:
        and     w0, w1, #0xff
        bl      smp_buf_putc
        b       lower_sync_return

hvc_exit:
        and     x0, x1, #0xff
        b       smp_run_l2_done

hvc_puts:
        mov     x0, x1
        bl      l2_ipa_to_canonical     // the whole string must lie in L2's window
        stp     x21, x22, [sp, #-16]!
        mov     x21, x0
        mov     x22, x1
1:      ldrb    w0, [x21], #1
        cbz     w0, 2f
        bl      smp_buf_putc
        cmp     x21, x22
        b.lo    1b
        b       hvc_bad
2:      ldp     x21, x22, [sp], #16
        b       lower_sync_return

// smp_buf_putc(w0 = byte): append to this vCPU's output buffer (counted as lost when full).
// Clobbers x0-x3.
smp_buf_putc:
        mov     x2, x0
        mov     x3, x30
        bl      this_percpu
        mov     x30, x3
        ldr     x1, [x0, #PC_BUF_LEN]
        cmp     x1, #PC_BUF_SIZE
        b.hs    1f
        add     x3, x0, #PC_BUF
        strb    w2, [x3, x1]
        add     x1, x1, #1
        str     x1, [x0, #PC_BUF_LEN]
        ret
1:      ldr     x1, [x0, #PC_LOST]
        add     x1, x1, #1
        str     x1, [x0, #PC_LOST]
        ret

// l2_ipa_to_canonical(x0 = nested IPA in this vCPU's L2 window) -> x0 = canonical IPA,
// x1 = canonical end of the window. Outside the window: hvc_bad (needs x19 = frame).
l2_ipa_to_canonical:
        mov64   x2, L2_IPA_BASE
        subs    x0, x0, x2
        b.lo    hvc_bad
        mov64   x2, L2_WINDOW
        cmp     x0, x2
        b.hs    hvc_bad
        mov     x4, x0
        mov     x5, x30
        bl      this_percpu
        mov     x30, x5
        ldr     x1, [x0, #PC_L2]
        mov64   x2, L2_WINDOW
        mov64   x3, L2_CANON_BASE
        madd    x1, x1, x2, x3          // window base
        add     x0, x4, x1
        add     x1, x1, x2
        ret

// s2_fault(x0 = faulting nested IPA): write the leaf for the granule (S2_MAP_SHIFT) that holds
// it into this vCPU's L2's tables (built in advance: s2_map allocates nothing).
s2_fault:
        stp     x29, x30, [sp, #-32]!
        stp     x19, x20, [sp, #16]
        mov     x19, x0
        bl      this_percpu
        mov     x20, x0
        ldr     x2, [x20, #PC_FAULTS]
        add     x2, x2, #1
        str     x2, [x20, #PC_FAULTS]
        lsr     x1, x19, #S2_MAP_SHIFT
        lsl     x1, x1, #S2_MAP_SHIFT
        mov64   x2, L2_IPA_BASE
        subs    x2, x1, x2
        b.lo    1f
        mov64   x3, L2_WINDOW
        cmp     x2, x3
        b.hs    1f
        ldr     x5, [x20, #PC_L2]
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
2:      ldr     x0, [x20, #PC_L2]
        adrl    x5, l2_roots
        ldr     x0, [x5, x0, lsl #3]
        bl      s2_map
        dsb     ishst
        ldp     x19, x20, [sp, #16]
        ldp     x29, x30, [sp], #32
        ret

3:      mov     x4, x19                 // the faulting IPA
        ldr     x5, [x20, #PC_L2]
        b       s2_fault_outside

msg_bad_primary: .asciz "L1: the primary vCPU's MPIDR_EL1.Aff0 is not 0: MPIDR="
msg_bad_context: .asciz "L1: secondary started with a bad context ID: "
msg_bad_secondary: .asciz "L1: a secondary reads an MPIDR_EL1 whose Aff0 is not its context ID: MPIDR="
msg_cpu_on_failed: .asciz "L1: CPU_ON MPIDR="
msg_result:     .asciz " failed: x0="
msg_started:    .asciz "L1: CPU_ON started vCPU "
msg_mpidr_open: .asciz " (MPIDR "
msg_target:     .asciz " (target "
msg_vcpus:      .asciz "L1: vCPUs running: "
msg_vcpu:       .asciz "L1: vCPU "
msg_ran:        .asciz ") ran L2 #"
msg_lost:       .asciz "L1: ... "
msg_lost2:      .asciz " more bytes of output dropped\n"
msg_shared:     .asciz "L1: shared stage-2 (VMID 1): "
msg_shared2:    .asciz " pages mapped\n"
        .balign 4
        .include "hvc_none.S"           // no HVC functions beyond 0-2
        .include "l1_common.S"
        .include "s2_common.S"
        .include "console.S"
