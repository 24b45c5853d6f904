// L1's variables. Include last; NUM_L2 sizes the per-L2 table.
        .balign 8
pool_next:      .quad POOL_BASE
cur_l2:         .quad 0
fault_count:    .quad 0                 // L2 stage-2 faults L1 handled during the current run
l1_saved_sp:    .quad 0
off_requested:  .quad 0
l2_roots:       .space NUM_L2 * 8       // stage-2 root of each L2 (0 = not built yet)
