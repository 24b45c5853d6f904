// Broken L1: an UNDEFINED instruction before any vector table is installed (VBAR_EL2 = 0): the
// exception's vector, 0x200, is not RAM.

        .include "../l1/lib/defs.S"
l1_entry:
        .inst   0x00000000              // UDF #0
