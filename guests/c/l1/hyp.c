/* "hyp_c": an L1 guest hypervisor in C. It runs NUM_L2 L2s in order (any mix of C and assembly
 * L2s in the canonical windows), maps their stage-2 lazily with the format chosen at build time
 * (S2_FORMAT) and offers HVC function 3, remap: the leaf holding the nested IPA in x1 moves to a
 * fresh leaf whose word at the same offset is 0xfedcba9876543210, with break-before-make and TLBIs,
 * so L2 is guaranteed to read the new value after the call. */
#include "abi.h"
#include "l1_run.h"
#include "printf.h"
#include "stage2.h"
#include "sysreg.h"

#ifndef S2_FORMAT
#define S2_FORMAT S2_4K_PAGES
#endif
#ifndef NUM_L2
#define NUM_L2 2
#endif

#define REMAP_VALUE 0xfedcba9876543210UL

int l1_hvc_extra(struct l2_frame *f, uint64_t fn, uint64_t ipa)
{
	if (fn != HVC_REMAP || (ipa & 7)) return 0;
	l1_ipa_to_canonical(f, ipa);   /* must be the current L2's */
	unsigned shift = s2_leaf_shift(l1.format);
	uint64_t leaf_mask = (1UL << shift) - 1;
	uint64_t *fresh = pool_alloc(shift);
	fresh[(ipa & leaf_mask) / 8] = REMAP_VALUE;
	dsb(ishst);
	s2_remap(l1.format, l1.roots[l1.cur], ipa & ~leaf_mask, (uint64_t)fresh, S2_ATTR_RAM);
	printf("L1: remapped L2 #%u leaf 0x%lx (%lu KiB) with TLBI IPAS2E1IS\n", l1.cur, ipa & ~leaf_mask,
	       (leaf_mask + 1) >> 10);
	return 1;
}

int main(void)
{
	l1_boot(&S2_FORMAT, NUM_L2);
	printf("L1: hyp_c: %s, %u L2s\n", l1.format->name, l1.num_l2);
	uint64_t status = 0;
	for (unsigned n = 0; n < l1.num_l2; n++) {
		uint64_t code = l1_run_l2(n);
		if (!status) status = code;
	}
	return (int)status;
}
