// Variables of the SMP L1s. Include last. Only the primary writes the shared ones (pool_next,
// l2_roots and nr_vcpus before the secondaries' L2s run, smp_go to let them run); everything a
// vCPU changes while L2s run lives in its own per-vCPU area.
        .balign 8
pool_next:      .quad POOL_BASE
off_requested:  .quad 0
nr_vcpus:       .quad 0
smp_go:         .quad 0                 // set (stlr) by the primary once its start-up lines are out
l2_roots:       .space NUM_ROOTS * 8    // stage-2 root of each L2, all built before CPU_ON
        .balign 64
percpu_areas:   .space MAX_VCPUS * PERCPU_SIZE
