// Broken L1: ERET from vEL2 with SPSR_EL2.M = EL3h (0b1101), an illegal return (no EL3 here).

        .include "../l1/lib/defs.S"
        .equ ERET_SPSR, 0x3cd
        .include "lib/eret_illegal.S"
banner: .asciz "L1: bad: ERET to EL3h\n"
