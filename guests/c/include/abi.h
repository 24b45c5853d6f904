/* The guest ABI shared with the assembly guests (guests/README.md): canonical addresses, the L2
 * windows, the HVC functions and L1's exit codes. */
#ifndef NV_ABI_H
#define NV_ABI_H

#define UART_BASE        0x09000000UL   /* PL011 data register (canonical IPA = nested IPA) */
#define L1_IMAGE_BASE    0x40100000UL   /* L1 is loaded and entered here */
#define L1_STACK_TOP     0x44000000UL   /* L1's stack grows down from here */
#define POOL_BASE        0x44000000UL   /* L1's stage-2 table pool */
#define POOL_END         0x48000000UL
#define L2_CANON_BASE    0x48000000UL   /* L2 #n's window: L2_CANON_BASE + n * L2_WINDOW */
#define L2_WINDOW        0x01000000UL
#define L2_IPA_BASE      0x40000000UL   /* where every L2 sees itself (its entry) */
#define L2_SPSR          0x3c5UL        /* EL1h, DAIF masked */

/* L2 -> L1: hvc #0, function in x0, argument in x1; every register is preserved. */
#define HVC_PUTCHAR      0
#define HVC_EXIT         1
#define HVC_PUTS         2
#define HVC_REMAP        3   /* C L1: point the leaf holding x1 at a fresh one, break-before-make + TLBI */

/* L1's own exit codes (an L2's exit code is passed through otherwise). */
#define ERR_L2_EXCEPTION 2
#define ERR_L2_OUTSIDE   3
#define ERR_BAD_HVC      4
#define ERR_S2_FAULT     5
#define ERR_POOL         6
#define ERR_NOT_EL2      7
#define ERR_L1_EXCEPTION 255

#endif
