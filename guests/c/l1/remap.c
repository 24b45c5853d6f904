/* HVC function 3, remap: the leaf holding the nested IPA in x1 moves to a fresh leaf from this
 * vCPU's pool whose word at the same offset is 0xfedcba9876543210, with break-before-make and
 * TLBIs, so L2 is guaranteed to read the new value when the call returns. */
#include "abi.h"
#include "l1_run.h"
#include "printf.h"
#include "stage2.h"
#include "sysreg.h"

#define REMAP_VALUE 0xfedcba9876543210UL

int l1_hvc_extra(struct l2_frame *f, uint64_t fn, uint64_t ipa)
{
	if (fn != HVC_REMAP || (ipa & 7)) return 0;
	l1_ipa_to_canonical(f, ipa);   /* must be the current L2's */
	struct l1_state *s = l1_this();
	unsigned shift = s2_leaf_shift(l1_format);
	uint64_t leaf_mask = (1UL << shift) - 1;
	uint64_t *fresh = pool_alloc(shift);
	fresh[(ipa & leaf_mask) / 8] = REMAP_VALUE;
	dsb(ishst);
	s2_remap(l1_format, s->roots[s->cur], ipa & ~leaf_mask, (uint64_t)fresh, S2_ATTR_RAM);
	printf("L1: remapped L2 #%u leaf 0x%lx (%lu KiB) with TLBI IPAS2E1IS\n", s->cur, ipa & ~leaf_mask,
	       (leaf_mask + 1) >> 10);
	return 1;
}
