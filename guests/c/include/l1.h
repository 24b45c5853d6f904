/* The L1 (guest hypervisor) side: running an L2 and being called back when it traps. */
#ifndef NV_L1_H
#define NV_L1_H
#include <stdint.h>

/* L2's x0..x30 as the +0x400 vector saved them; writes reach L2 when the vector ERETs. */
struct l2_frame {
	uint64_t x[31];
	uint64_t pad;
};

/* Enter L2 with VTTBR_EL2/ELR_EL2/SPSR_EL2 already set: L2 starts with x0 = `x0` and x1-x30 = 0.
 * Returns the code passed to l1_leave_l2 (L2's exit), with L1's stack as it was at the call. */
uint64_t l1_enter_l2(uint64_t x0);
/* From inside an exception taken from L2: abandon it and return `code` from l1_enter_l2. */
__attribute__((noreturn)) void l1_leave_l2(uint64_t code);

/* Called by the vectors (crt0_l1.S). */
void l1_lower_sync(struct l2_frame *frame);
__attribute__((noreturn)) void l1_unexpected(uint64_t vector_offset);

/* Print "L1: system off, exit code N" and power off. */
__attribute__((noreturn)) void l1_system_off(uint64_t code);

#endif
