/* A C L2 that takes an exception at its own EL1 (SVC): crt0's EL1 vectors report it through L1 and
 * exit with 2, which becomes the machine's exit code. */
#include "printf.h"

int main(void)
{
	printf("C L2: svc #0 at EL1\n");
	__asm__ volatile("svc #0");
	printf("C L2: still running after svc\n");
	return 0;
}
