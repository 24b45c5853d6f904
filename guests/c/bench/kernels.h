/* The benchmark's kernels: each does a fixed amount of integer work typical of hypervisor and
 * systems code from scratch (no state survives a call) and returns a checksum of its results, so
 * every call on every machine must return the same value. */
#ifndef NV_BENCH_KERNELS_H
#define NV_BENCH_KERNELS_H
#include <stdint.h>

/* noipa: the compiler may neither inline a kernel nor reuse one call's result for the next round. */
#define KERNEL __attribute__((noipa))

uint64_t k_pt_walk(void);
uint64_t k_hash_table(void);
uint64_t k_crc32(void);
uint64_t k_sort(void);
uint64_t k_matmul(void);
uint64_t k_bits(void);
uint64_t k_mem(void);
uint64_t k_interp(void);
uint64_t k_divmod(void);

/* xorshift64 and a 64-bit mix: identical on every compiler (unsigned arithmetic only). */
static inline uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static inline uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
	return h * 0xff51afd7ed558ccdULL;
}

#endif
