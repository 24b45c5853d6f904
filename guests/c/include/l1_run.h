/* The L2 run loop of l1/run.c: what an L1 written in C calls, and the state its services read. */
#ifndef NV_L1_RUN_H
#define NV_L1_RUN_H
#include <stdint.h>
#include "l1.h"
#include "stage2.h"

#define L1_MAX_L2 8
#define L1_MAX_CPUS 4          /* vCPU n is MPIDR_EL1.Aff0 = n; each has its own state below */
#define L1_CONSOLE_BUF 4096

/* One vCPU's L1 state. A vCPU touches only its own, so no locking is needed. */
struct l1_state {
	unsigned cur;                    /* the L2 running now */
	uint64_t faults;                 /* stage-2 translation faults handled in the current run */
	uint64_t *roots[L1_MAX_L2];      /* stage-2 root of each L2 this vCPU runs, 0 until its first run */
	int buffered;                    /* console output goes to buf (SMP: only the primary prints) */
	unsigned len;
	char buf[L1_CONSOLE_BUF];
};
extern struct l1_state l1_cpus[L1_MAX_CPUS];
extern const struct s2_format *l1_format;
extern unsigned l1_num_l2;

/* This vCPU's number (MPIDR_EL1.Aff0) and state. */
unsigned l1_cpu(void);
static inline struct l1_state *l1_this(void) { return &l1_cpus[l1_cpu()]; }

/* Check EL2, set HCR_EL2 (VM, RW) and VTCR_EL2 for `format` (primary vCPU). */
void l1_boot(const struct s2_format *format, unsigned num_l2);
/* Print what this vCPU buffered and stop buffering (SMP: the report of its run, or before a fatal one). */
void l1_flush_console(void);
/* HCR_EL2 and VTCR_EL2 on a secondary vCPU (nothing is promised about them at CPU_ON entry). */
void l1_cpu_init(void);
/* Run L2 #n to its exit (VMID n + 1), printing the entry and exit lines; returns its exit code. */
uint64_t l1_run_l2(unsigned n);
/* Canonical IPA of L2's window base. */
uint64_t l2_window_base(unsigned n);
/* Nested IPA in the current L2's window -> canonical IPA; a bad HVC (exit 4) outside it. */
uint64_t l1_ipa_to_canonical(struct l2_frame *f, uint64_t ipa);
/* HVC functions >= 3: return 1 when handled (results go into f->x[]), 0 for a bad HVC. */
int l1_hvc_extra(struct l2_frame *f, uint64_t fn, uint64_t arg);

#endif
