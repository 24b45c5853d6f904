// Broken L1: VBAR_EL2 points at zeroed RAM (0x4000_0000, the first MiB that L1 leaves alone), then
// an UNDEFINED instruction: the vector holds UDF, which takes the same vector again, forever.

        .include "../l1/lib/defs.S"
l1_entry:
        mov64   x0, 0x40000000
        msr     vbar_el2, x0
        isb
        .inst   0x00000001              // UDF #1
