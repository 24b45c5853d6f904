// L2 "remap_notlbi" (for guests/l1/remap.S): like remap.S, but L1 changes the descriptor without a
// TLBI (hvc function 4), so the value after the remap depends on what the host still caches: not
// architecturally defined, hence not part of the QEMU comparison.
        .equ REMAP_FN, 4
        .include "lib/remap_body.S"
