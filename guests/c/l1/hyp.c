/* "hyp_c": an L1 guest hypervisor in C. It runs NUM_L2 L2s in order (any mix of C and assembly
 * L2s in the canonical windows), maps their stage-2 lazily with the format chosen at build time
 * (S2_FORMAT) and offers HVC function 3, remap (l1/remap.c). */
#include "abi.h"
#include "l1_run.h"
#include "printf.h"
#include "stage2.h"

#ifndef S2_FORMAT
#define S2_FORMAT S2_4K_PAGES
#endif
#ifndef NUM_L2
#define NUM_L2 2
#endif

int main(void)
{
	l1_boot(&S2_FORMAT, NUM_L2);
	printf("L1: hyp_c: %s, %u L2s\n", l1_format->name, l1_num_l2);
	uint64_t status = 0;
	for (unsigned n = 0; n < l1_num_l2; n++) {
		uint64_t code = l1_run_l2(n);
		if (!status) status = code;
	}
	return (int)status;
}
