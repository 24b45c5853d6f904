/* memset and memcpy of many sizes (1 byte to 4 KiB) and alignments, overlapping none, as a
 * hypervisor copies guest pages and structures; the checksum is of the buffer's final bytes
 * sampled at every copy. */
#include "kernels.h"
#include "string.h"

#define SIZE 16384

static uint8_t buf[SIZE];

static uint64_t fnv(const uint8_t *p, unsigned n)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (unsigned i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

KERNEL uint64_t k_mem(void)
{
	uint64_t s = 0x3e3, h = 0;
	memset(buf, 0x5a, SIZE);
	for (int i = 0; i < 600; i++) {
		uint64_t r = rng_next(&s);
		unsigned n = 1 + (unsigned)(r % (i % 8 == 0 ? 4096 : 64));
		unsigned src = (unsigned)(r >> 16) % (SIZE / 2 - 4096);
		unsigned dst = SIZE / 2 + (unsigned)(r >> 40) % (SIZE / 2 - 4096);
		if (i % 3 == 0) memset(buf + dst, (int)(r >> 8) & 0xff, n);
		else memcpy(buf + dst, buf + src, n);
		buf[src] = (uint8_t)(buf[src] + (uint8_t)i);
		h = mix(h, fnv(buf + dst, n < 32 ? n : 32));
	}
	return mix(h, fnv(buf, SIZE));
}
