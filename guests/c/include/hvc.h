/* L2 side of the L2 -> L1 calls (guests/README.md): hvc #0, function in x0, argument in x1. */
#ifndef NV_HVC_H
#define NV_HVC_H
#include <stdint.h>
#include "abi.h"

static inline uint64_t hvc_call(uint64_t fn, uint64_t arg)
{
	register uint64_t x0 __asm__("x0") = fn;
	register uint64_t x1 __asm__("x1") = arg;
	__asm__ volatile("hvc #0" : "+r"(x0) : "r"(x1) : "memory");
	return x0;
}

static inline void l2_putc(char c) { hvc_call(HVC_PUTCHAR, (unsigned char)c); }
static inline void l2_puts(const char *s) { hvc_call(HVC_PUTS, (uint64_t)s); }
__attribute__((noreturn)) static inline void l2_exit(unsigned code)
{
	hvc_call(HVC_EXIT, code);
	for (;;) {}
}

#endif
