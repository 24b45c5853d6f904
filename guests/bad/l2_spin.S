// L2 that never exits: a branch to itself at its entry (nested IPA 0x4000_0000 + 4).

l2_entry:
        nop
1:      b       1b
