/* "hyp_c_smp": the C L1 on up to 4 vCPUs. vCPU n runs L2 #n (VMID n + 1, its own stage-2 and its
 * own slice of the table pool), concurrently. As guests/l1/smp.S: the primary starts the others
 * with PSCI CPU_ON until one is refused, L1 and L2 output of every run is buffered per vCPU and
 * printed by the primary after all runs, in vCPU order, so the console does not depend on how the
 * vCPUs interleave. vCPUs synchronise only with load-acquire/store-release on flag words. */
#include "abi.h"
#include "l1_run.h"
#include "printf.h"
#include "psci.h"
#include "stage2.h"
#include "sysreg.h"

#ifndef S2_FORMAT
#define S2_FORMAT S2_4K_PAGES
#endif
#define ERR_SECONDARY 8

extern char _start_secondary[];

static uint64_t go;
static uint64_t done[L1_MAX_CPUS];
static uint64_t codes[L1_MAX_CPUS];
static uint64_t mpidrs[L1_MAX_CPUS];

static inline void store_release(uint64_t *p, uint64_t v) { __asm__ volatile("stlr %1, %0" : "=Q"(*p) : "r"(v) : "memory"); }
static inline uint64_t load_acquire(const uint64_t *p)
{
	uint64_t v;
	__asm__ volatile("ldar %0, %1" : "=r"(v) : "Q"(*p) : "memory");
	return v;
}

/* Run this vCPU's L2 with its output buffered. */
static void run_own_l2(unsigned n)
{
	mpidrs[n] = read_sysreg(mpidr_el1);
	l1_cpus[n].buffered = 1;
	codes[n] = l1_run_l2(n);
	l1_cpus[n].buffered = 0;
}

void l1_secondary_main(uint64_t n)
{
	l1_cpu_init();
	if ((read_sysreg(mpidr_el1) & 0xff) != n) {
		printf("L1: vCPU started as %lu reads MPIDR 0x%lx\n", n, read_sysreg(mpidr_el1));
		l1_system_off(ERR_SECONDARY);
	}
	while (!load_acquire(&go)) {}
	run_own_l2((unsigned)n);
	store_release(&done[n], 1);
	psci_cpu_off();
}

int main(void)
{
	l1_boot(&S2_FORMAT, L1_MAX_CPUS);
	if (l1_cpu() != 0 || (read_sysreg(mpidr_el1) & 0xff) != 0) {
		printf("L1: primary reads MPIDR 0x%lx\n", read_sysreg(mpidr_el1));
		return ERR_SECONDARY;
	}
	printf("L1: hyp_c_smp: one L2 per vCPU, %s\n", l1_format->name);
	unsigned vcpus = 1;
	for (; vcpus < L1_MAX_CPUS; vcpus++) {
		int64_t r = psci_cpu_on(vcpus, (uint64_t)_start_secondary, vcpus);
		if (r == PSCI_INVALID) break;   /* no vCPU with that affinity: all are running */
		if (r != PSCI_SUCCESS) {
			printf("L1: CPU_ON MPIDR=0x%x failed: x0=0x%lx\n", vcpus, (uint64_t)r);
			return ERR_SECONDARY;
		}
		printf("L1: CPU_ON started vCPU %u (target 0x%x)\n", vcpus, vcpus);
	}
	printf("L1: vCPUs running: %u\n", vcpus);
	store_release(&go, 1);
	run_own_l2(0);
	for (unsigned n = 1; n < vcpus; n++)
		while (!load_acquire(&done[n])) {}
	uint64_t status = 0;
	for (unsigned n = 0; n < vcpus; n++) {
		printf("L1: vCPU %u (MPIDR 0x%lx) ran L2 #%u (VMID %u)\n", n, mpidrs[n], n, n + 1);
		for (unsigned i = 0; i < l1_cpus[n].len; i++) rt_putchar(l1_cpus[n].buf[i]);
		l1_cpus[n].len = 0;
		if (!status) status = codes[n];
	}
	return (int)status;
}
