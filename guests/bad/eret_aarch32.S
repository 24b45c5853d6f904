// Broken L1: ERET from vEL2 with SPSR_EL2.M[4] = 1 (AArch32 User), illegal: EL1 and EL0 are
// AArch64-only.

        .include "../l1/lib/defs.S"
        .equ ERET_SPSR, 0x3d0
        .include "lib/eret_illegal.S"
banner: .asciz "L1: bad: ERET to AArch32\n"
