/* PSCI over the SMC conduit (QEMU virt with virtualization=on and no EL3; nvlab). */
#ifndef NV_PSCI_H
#define NV_PSCI_H
#include <stdint.h>

#define PSCI_CPU_OFF       0x84000002UL
#define PSCI_CPU_ON_64     0xC4000003UL
#define PSCI_SYSTEM_OFF    0x84000008UL
#define PSCI_SUCCESS       0
#define PSCI_INVALID       (-2)
#define PSCI_ALREADY_ON    (-4)

int64_t psci_call(uint64_t fn, uint64_t a1, uint64_t a2, uint64_t a3);
/* SYSTEM_OFF with the exit code in x1 (nvlab's exit status; QEMU ignores it). */
__attribute__((noreturn)) void psci_system_off(uint64_t code);
/* CPU_ON: start the vCPU with affinity `mpidr` at canonical `entry` with x0 = `context`. */
int64_t psci_cpu_on(uint64_t mpidr, uint64_t entry, uint64_t context);
__attribute__((noreturn)) void psci_cpu_off(void);

#endif
