/* Division, remainder and wide multiplication, as in address-space arithmetic, timer scaling and
 * hashing: gcds by Euclid's algorithm (udiv + msub), a 64x64->128 multiply-high, and a modular
 * exponentiation by squaring with 128-bit products. */
#include "kernels.h"

static uint64_t gcd(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t t = a % b;
		a = b;
		b = t;
	}
	return a;
}

static uint64_t mulmod(uint64_t a, uint64_t b, uint64_t m) { return (uint64_t)(((unsigned __int128)a * b) % m); }

static uint64_t powmod(uint64_t b, uint64_t e, uint64_t m)
{
	uint64_t r = 1;
	b %= m;
	while (e) {
		if (e & 1) r = mulmod(r, b, m);
		b = mulmod(b, b, m);
		e >>= 1;
	}
	return r;
}

KERNEL uint64_t k_divmod(void)
{
	uint64_t s = 0xd1f, h = 0;
	for (int i = 0; i < 3000; i++) {
		uint64_t a = rng_next(&s), b = rng_next(&s) >> (i % 48);
		h = mix(h, gcd(a, b | 1));
		h = mix(h, (uint64_t)(((unsigned __int128)a * b) >> 64));
		h = mix(h, a / (b | 1) + a % ((b >> 3) | 1));
	}
	for (int i = 0; i < 40; i++) {
		/* Two statements: the order of evaluation of a call's arguments differs between compilers. */
		uint64_t base = rng_next(&s);
		uint64_t e = rng_next(&s);
		h = mix(h, powmod(base, e, 0xffffffff00000001ULL));
	}
	return h;
}
