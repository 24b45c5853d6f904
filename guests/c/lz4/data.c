/* Inputs that stress a compressor differently: English-like text (many medium matches), random
 * bytes (incompressible: literals only), runs (long matches, overlapping copies) and fixed-size
 * records with counters (short periodic matches, as in tables and logs). */
#include "data.h"

const char *const data_kind_name[DATA_KINDS] = { "text   ", "random ", "runs   ", "records" };

/* xorshift64: small, and identical on every compiler (unsigned arithmetic only). */
static uint64_t next(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static const char *const words[] = {
	"the", "stage", "two", "table", "guest", "hypervisor", "fault", "page", "walk", "of",
	"and", "a", "shadow", "entry", "is", "mapped", "by", "L1", "for", "its", "nested", "VM",
	"translation", "level", "block", "TLB", "invalidate", "when", "to", "in", "descriptor",
};
#define NWORDS (sizeof(words) / sizeof(words[0]))

static void fill_text(uint8_t *buf, size_t n, uint64_t s)
{
	size_t i = 0;
	while (i < n) {
		const char *w = words[next(&s) % NWORDS];
		while (*w && i < n) buf[i++] = (uint8_t)*w++;
		if (i < n) buf[i++] = (next(&s) % 11 == 0) ? '.' : ' ';
		if (i < n && next(&s) % 17 == 0) buf[i++] = '\n';
	}
}

static void fill_random(uint8_t *buf, size_t n, uint64_t s)
{
	for (size_t i = 0; i < n; i++) buf[i] = (uint8_t)(next(&s) >> 32);
}

static void fill_runs(uint8_t *buf, size_t n, uint64_t s)
{
	size_t i = 0;
	while (i < n) {
		uint8_t b = (uint8_t)next(&s);
		size_t len = 1 + next(&s) % 300;
		while (len-- && i < n) buf[i++] = b;
	}
}

static void fill_records(uint8_t *buf, size_t n, uint64_t s)
{
	uint32_t id = 1000;
	for (size_t i = 0; i < n; i++) {
		size_t f = i % 16;
		if (f == 0) id += 1 + (uint32_t)(next(&s) % 3);
		buf[i] = f < 4 ? (uint8_t)(id >> (8 * f)) : f < 8 ? (uint8_t)"REC:"[f - 4] : f < 12 ? (uint8_t)(next(&s) % 4) : 0;
	}
}

void data_fill(enum data_kind kind, uint8_t *buf, size_t n)
{
	uint64_t seed = 0x9e3779b97f4a7c15ULL * (uint64_t)(kind + 1);
	switch (kind) {
	case DATA_TEXT: fill_text(buf, n, seed); break;
	case DATA_RANDOM: fill_random(buf, n, seed); break;
	case DATA_RUNS: fill_runs(buf, n, seed); break;
	default: fill_records(buf, n, seed); break;
	}
}
