/* Bit manipulation as in register and descriptor decoding: population count, leading and trailing
 * zeros, a bit reversal, rotates, field extract and insert, and a parity, over a stream of values. */
#include "kernels.h"

static uint64_t reverse(uint64_t x)
{
	x = ((x >> 1) & 0x5555555555555555ULL) | ((x & 0x5555555555555555ULL) << 1);
	x = ((x >> 2) & 0x3333333333333333ULL) | ((x & 0x3333333333333333ULL) << 2);
	x = ((x >> 4) & 0x0f0f0f0f0f0f0f0fULL) | ((x & 0x0f0f0f0f0f0f0f0fULL) << 4);
	x = ((x >> 8) & 0x00ff00ff00ff00ffULL) | ((x & 0x00ff00ff00ff00ffULL) << 8);
	x = ((x >> 16) & 0x0000ffff0000ffffULL) | ((x & 0x0000ffff0000ffffULL) << 16);
	return (x >> 32) | (x << 32);
}

/* SWAR popcount and parity: GCC's __builtin_popcountll calls libgcc's __popcountdi2, which uses
 * SIMD (cnt), and nvlab's CPU has no FP/SIMD yet. */
static uint64_t popcount(uint64_t x)
{
	x -= (x >> 1) & 0x5555555555555555ULL;
	x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
	return (x * 0x0101010101010101ULL) >> 56;
}

static uint64_t parity(uint64_t x)
{
	x ^= x >> 32;
	x ^= x >> 16;
	x ^= x >> 8;
	x ^= x >> 4;
	x ^= x >> 2;
	x ^= x >> 1;
	return x & 1;
}

static uint64_t rotl(uint64_t x, unsigned r) { return (x << (r & 63)) | (x >> ((64 - r) & 63)); }

static uint64_t extract(uint64_t x, unsigned lsb, unsigned width) { return (x >> lsb) & ((1ULL << width) - 1); }

static uint64_t insert(uint64_t x, uint64_t v, unsigned lsb, unsigned width)
{
	uint64_t mask = ((1ULL << width) - 1) << lsb;
	return (x & ~mask) | ((v << lsb) & mask);
}

KERNEL uint64_t k_bits(void)
{
	uint64_t s = 0xb175, h = 0;
	for (int i = 0; i < 20000; i++) {
		uint64_t x = rng_next(&s);
		if (i % 5 == 0) x &= x >> 17; /* sparser values now and then */
		unsigned lsb = (unsigned)(x >> 58), width = 1 + (unsigned)((x >> 52) & 31);
		if (lsb + width > 63) lsb = 63 - width;
		uint64_t v = popcount(x);
		v = v * 131 + (x ? (uint64_t)__builtin_clzll(x) : 64);
		v = v * 131 + (x ? (uint64_t)__builtin_ctzll(x) : 64);
		v ^= reverse(x) ^ rotl(x, (unsigned)i);
		v += extract(x, lsb, width);
		v ^= insert(h, x, lsb, width);
		v += parity(x);
		h = mix(h, v);
	}
	return h;
}
