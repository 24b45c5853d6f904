/* The L2 run loop of l1/run.c: what an L1 written in C calls, and the state its services read. */
#ifndef NV_L1_RUN_H
#define NV_L1_RUN_H
#include <stdint.h>
#include "l1.h"
#include "stage2.h"

#define L1_MAX_L2 8

struct l1_state {
	const struct s2_format *format;
	unsigned num_l2;
	unsigned cur;                    /* the L2 running now */
	uint64_t faults;                 /* stage-2 translation faults handled in the current run */
	uint64_t *roots[L1_MAX_L2];      /* stage-2 root of each L2, 0 until its first run */
};
extern struct l1_state l1;

/* Check EL2, set HCR_EL2 (VM, RW) and VTCR_EL2 for `format`. */
void l1_boot(const struct s2_format *format, unsigned num_l2);
/* Run L2 #n to its exit (VMID n + 1), printing the entry and exit lines; returns its exit code. */
uint64_t l1_run_l2(unsigned n);
/* Canonical IPA of L2's window base. */
uint64_t l2_window_base(unsigned n);
/* Nested IPA in the current L2's window -> canonical IPA; a bad HVC (exit 4) outside it. */
uint64_t l1_ipa_to_canonical(struct l2_frame *f, uint64_t ipa);
/* HVC functions >= 3: return 1 when handled (results go into f->x[]), 0 for a bad HVC. */
int l1_hvc_extra(struct l2_frame *f, uint64_t fn, uint64_t arg);

#endif
