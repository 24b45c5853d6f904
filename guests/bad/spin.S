// L1 that never exits: a branch to itself right after the entry instruction.

l1_entry:
        nop
1:      b       1b
