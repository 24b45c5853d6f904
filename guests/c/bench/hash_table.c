/* An open-addressing hash table with linear probing and tombstones (the shape of a revmap or a
 * VMID/ASID table): inserts, lookups of present and absent keys, deletes, lookups again. The
 * checksum covers what each lookup found and how many probes it took. */
#include "kernels.h"

#define SLOTS 4096                /* a power of two */
#define EMPTY 0ULL
#define TOMBSTONE 1ULL

static uint64_t keys[SLOTS];
static uint64_t values[SLOTS];
static uint64_t probes;

static unsigned slot_of(uint64_t key) { return (unsigned)((key * 0x9e3779b97f4a7c15ULL) >> 52) & (SLOTS - 1); }

static void insert(uint64_t key, uint64_t value)
{
	for (unsigned i = slot_of(key);; i = (i + 1) & (SLOTS - 1)) {
		probes++;
		if (keys[i] == EMPTY || keys[i] == TOMBSTONE || keys[i] == key) {
			keys[i] = key;
			values[i] = value;
			return;
		}
	}
}

static int find(uint64_t key)
{
	for (unsigned i = slot_of(key), n = 0; n < SLOTS; i = (i + 1) & (SLOTS - 1), n++) {
		probes++;
		if (keys[i] == EMPTY) return -1;
		if (keys[i] == key) return (int)i;
	}
	return -1;
}

static uint64_t lookups(uint64_t seed, int n, uint64_t h)
{
	for (int i = 0; i < n; i++) {
		uint64_t key = (rng_next(&seed) | 2) & (i & 1 ? ~0ULL : ~0xffULL);
		int slot = find(key);
		h = mix(h, slot < 0 ? 0 : values[slot]);
	}
	return h;
}

KERNEL uint64_t k_hash_table(void)
{
	uint64_t s = 0xabcdef, h = 0;
	probes = 0;
	for (int i = 0; i < SLOTS; i++) keys[i] = EMPTY;
	/* Keys have bit 1 set so they are never EMPTY or TOMBSTONE; every other key has its low byte
	 * cleared, so the lookups below find some keys and miss others. */
	for (int i = 0; i < 3000; i++) insert((rng_next(&s) | 2) & (i & 1 ? ~0ULL : ~0xffULL), (uint64_t)i * 7 + 1);
	h = lookups(0xabcdef, 6000, h);
	uint64_t d = 0xabcdef;
	for (int i = 0; i < 1000; i++) {
		int slot = find((rng_next(&d) | 2) & (i & 1 ? ~0ULL : ~0xffULL));
		if (slot >= 0) keys[slot] = TOMBSTONE;
		rng_next(&d);
	}
	h = lookups(0xabcdef, 6000, h);
	return mix(h, probes);
}
