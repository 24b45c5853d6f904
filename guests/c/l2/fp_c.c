/* A C L2 for the builds without -mgeneral-regs-only: fills all 32 SIMD&FP registers, FPCR and FPSR
 * with patterns, touches a page it never touched (a stage-2 fault: L1 builds tables and zeroes
 * pages in C) and makes an HVC, each of which runs L1's C code, which may use the same registers;
 * then reads them all back and checks that none changed (L1's vectors keep them; on nvlab, L0's
 * switching between L1's and L2's SIMD&FP contexts must keep them too); then does some FP arithmetic L1 never sees.
 * Prints PASS and exits 0, or names the first register that changed and exits 1. */
#include <stdint.h>
#include "hvc.h"
#include "printf.h"

#define ROUNDS 4
#define TOUCH_BASE 0x40400000UL /* one fresh 2 MiB region per round, inside the window */

/* FPCR: RMode = round towards minus infinity (0b10 << 22), DN (25); FPSR: IXC (4) and QC (27). */
#define FPCR_PATTERN ((2UL << 22) | (1UL << 25))
#define FPSR_PATTERN ((1UL << 4) | (1UL << 27))

static uint64_t before[64], after[64];

/* Pattern for register n: two different 64-bit words per register, different for every round. */
static void fill(unsigned round)
{
	for (unsigned i = 0; i < 64; i++)
		before[i] = 0x0101010101010101UL * (i + 1) ^ ((uint64_t)round << 56) ^ 0x8000000000000000UL;
}

/* Load before[] into q0-q31 and FPCR/FPSR, touch the round's page, `hvc #0` putchar('.'), store
 * q0-q31 and FPCR/FPSR. */
static void hvc_with_patterns(unsigned round, uint64_t *fpcr, uint64_t *fpsr)
{
	register uint64_t page __asm__("x7") = TOUCH_BASE + round * 0x200000UL;
	register uint64_t x0 __asm__("x0") = HVC_PUTCHAR;
	register uint64_t x1 __asm__("x1") = '.';
	register uint64_t *in __asm__("x2") = before;
	register uint64_t *out __asm__("x3") = after;
	register uint64_t cr __asm__("x4") = FPCR_PATTERN;
	register uint64_t sr __asm__("x5") = FPSR_PATTERN;
	__asm__ volatile(
		"mrs x6, fpcr\n\t"
		"ldp q0, q1, [x2, #0]\n\t"    "ldp q2, q3, [x2, #32]\n\t"   "ldp q4, q5, [x2, #64]\n\t"
		"ldp q6, q7, [x2, #96]\n\t"   "ldp q8, q9, [x2, #128]\n\t"  "ldp q10, q11, [x2, #160]\n\t"
		"ldp q12, q13, [x2, #192]\n\t" "ldp q14, q15, [x2, #224]\n\t" "ldp q16, q17, [x2, #256]\n\t"
		"ldp q18, q19, [x2, #288]\n\t" "ldp q20, q21, [x2, #320]\n\t" "ldp q22, q23, [x2, #352]\n\t"
		"ldp q24, q25, [x2, #384]\n\t" "ldp q26, q27, [x2, #416]\n\t" "ldp q28, q29, [x2, #448]\n\t"
		"ldp q30, q31, [x2, #480]\n\t"
		"msr fpcr, x4\n\t"
		"msr fpsr, x5\n\t"
		"str xzr, [x7]\n\t"
		"hvc #0\n\t"
		"mrs x4, fpcr\n\t"
		"mrs x5, fpsr\n\t"
		"msr fpcr, x6\n\t"
		"stp q0, q1, [x3, #0]\n\t"    "stp q2, q3, [x3, #32]\n\t"   "stp q4, q5, [x3, #64]\n\t"
		"stp q6, q7, [x3, #96]\n\t"   "stp q8, q9, [x3, #128]\n\t"  "stp q10, q11, [x3, #160]\n\t"
		"stp q12, q13, [x3, #192]\n\t" "stp q14, q15, [x3, #224]\n\t" "stp q16, q17, [x3, #256]\n\t"
		"stp q18, q19, [x3, #288]\n\t" "stp q20, q21, [x3, #320]\n\t" "stp q22, q23, [x3, #352]\n\t"
		"stp q24, q25, [x3, #384]\n\t" "stp q26, q27, [x3, #416]\n\t" "stp q28, q29, [x3, #448]\n\t"
		"stp q30, q31, [x3, #480]\n\t"
		"msr fpsr, xzr"
		: "+r"(x0), "+r"(cr), "+r"(sr)
		: "r"(x1), "r"(in), "r"(out), "r"(page)
		: "x6", "memory", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12",
		  "v13", "v14", "v15", "v16", "v17", "v18", "v19", "v20", "v21", "v22", "v23", "v24", "v25", "v26",
		  "v27", "v28", "v29", "v30", "v31");
	*fpcr = cr;
	*fpsr = sr;
}

/* volatile: computed at run time, on the SIMD&FP unit. */
static volatile double third = 1.0 / 3.0;
static volatile float scale = 1.5f;

int main(void)
{
	for (unsigned r = 0; r < ROUNDS; r++) {
		uint64_t fpcr, fpsr;
		fill(r);
		hvc_with_patterns(r, &fpcr, &fpsr);
		for (unsigned i = 0; i < 64; i++) {
			if (after[i] != before[i]) {
				printf("\nC L2: q%u changed across an HVC: %lx, not %lx\nC L2: FAIL\n", i / 2, after[i], before[i]);
				return 1;
			}
		}
		if (fpcr != FPCR_PATTERN || fpsr != FPSR_PATTERN) {
			printf("\nC L2: FPCR/FPSR changed across an HVC: %lx/%lx\nC L2: FAIL\n", fpcr, fpsr);
			return 1;
		}
	}
	long x = (long)(third * 3.0e9 * scale);
	printf("\nC L2: q0-q31, FPCR and FPSR survived %d HVCs; 1/3 * 3e9 * 1.5 = %ld\nC L2: PASS\n", ROUNDS, x);
	return x == 1500000000L ? 0 : 1;
}
