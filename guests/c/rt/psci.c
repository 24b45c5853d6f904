/* PSCI wrappers over psci_call (psci.S). */
#include "psci.h"

void psci_system_off(uint64_t code)
{
	psci_call(PSCI_SYSTEM_OFF, code, 0, 0);
	for (;;) {}   /* SMC is not a PSCI conduit here: nothing more to do */
}

int64_t psci_cpu_on(uint64_t mpidr, uint64_t entry, uint64_t context)
{
	return psci_call(PSCI_CPU_ON_64, mpidr, entry, context);
}

void psci_cpu_off(void)
{
	psci_call(PSCI_CPU_OFF, 0, 0, 0);
	for (;;) {}
}
