// Constants of the SMP L1s (l1/smp.S, l1/smp_shared.S, l1/smp_rounds.S): PSCI calls and the
// per-vCPU area layout. Included by lib/smp_main.S (after lib/defs.S and the variant's SHARED_L2
// and ROUNDS).

        .equ PSCI_CPU_ON64,     0xc4000003      // x1 = target MPIDR, x2 = entry, x3 = context ID
        .equ PSCI_CPU_OFF,      0x84000002
        .equ PSCI_INVALID,      -2              // INVALID_PARAMETERS: no CPU with that MPIDR

        .equ MAX_VCPUS,         4               // vCPUs L1 tries to bring up (Aff0 0 .. 3)
        .equ MPIDR_AFF_MASK,    0xff00ffff00    // Aff3, Aff2, Aff1: kept from the primary's MPIDR
        .equ SMP_STACK_SIZE,    0x10000         // vCPU n's stack ends at L1_STACK_TOP - n * this
        .equ NUM_ROOTS,         MAX_VCPUS - SHARED_L2 * (MAX_VCPUS - 1) // stage-2 tables to build: 1 when shared

        // Per-vCPU area (one per Aff0, PERCPU_SIZE bytes each), in lib/smp_data.S.
        .equ PC_DONE,           0       // 1 once the vCPU's last L2 run has exited (stlr; the primary ldar's it)
        .equ PC_EXIT,           8       // the current L2 run's exit code
        .equ PC_FAULTS,         16      // stage-2 faults this vCPU handled in the current run
        .equ PC_L2,             24      // number of the L2 this vCPU runs (selects window and tables)
        .equ PC_SAVED_SP,       32      // L1's SP while the L2 runs (the exit call resets it)
        .equ PC_MPIDR,          40      // MPIDR_EL1 as this vCPU read it
        .equ PC_BUF_LEN,        48      // bytes of L2 output held in PC_BUF (all runs so far)
        .equ PC_LOST,           56      // bytes of L2 output that did not fit (all runs so far)
        .equ PC_ROUND,          64      // the current run: 0 .. ROUNDS - 1 (the VMID depends on it)
        .equ PC_RUNS,           72      // ROUNDS run records (RUN_*), filled as each run ends
        .equ PC_BUF,            PC_RUNS + ROUNDS * RUN_SIZE
        .equ PERCPU_SIZE,       4096

        // Run record: what the report prints for one L2 run of a vCPU. The run's output is PC_BUF
        // from the previous record's RUN_BUF_END (0 for the first) to its own.
        .equ RUN_EXIT,          0       // exit code
        .equ RUN_FAULTS,        8       // stage-2 faults L1 handled during the run
        .equ RUN_BUF_END,       16      // PC_BUF_LEN when the run ended
        .equ RUN_LOST,          24      // PC_LOST when the run ended
        .equ RUN_SHIFT,         5
        .equ RUN_SIZE,          1 << RUN_SHIFT
        .equ PC_BUF_SIZE,       PERCPU_SIZE - PC_BUF

        .equ ERR_SMP,           8       // a secondary vCPU could not be started or started wrong
