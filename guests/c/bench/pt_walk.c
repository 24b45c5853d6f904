/* A stage-2-like page-table walker: builds a 4-level, 4K-granule table (pages and 2M blocks) in a
 * table pool for a clustered set of addresses, then translates addresses, half mapped and half
 * not, as a software walker (KVM's or a shadow-table builder) does. Table "physical addresses" are
 * pool indexes at a fixed base, so the result does not depend on where the program runs. */
#include "kernels.h"

#define POOL_TABLES 320
#define PT_BASE 0x80000000ULL
#define DESC_VALID 1ULL
#define DESC_TABLE 2ULL                    /* at levels 0-2: next-level table; at level 3: page */
#define DESC_AF (1ULL << 10)
#define OA_MASK 0x0000fffffffff000ULL
#define MAPPINGS 2048
#define WALKS 8192

static uint64_t pool[POOL_TABLES][512];
static unsigned used;

static uint64_t *table_at(uint64_t pa) { return pool[(pa - PT_BASE) >> 12]; }

static uint64_t new_table(void)
{
	uint64_t *t = pool[used];
	for (int i = 0; i < 512; i++) t[i] = 0;
	return PT_BASE + ((uint64_t)used++ << 12);
}

static unsigned index_at(uint64_t va, int level) { return (unsigned)(va >> (39 - 9 * level)) & 511; }

/* Map one 4K page (level 3) or 2M block (level 2) at va; an existing leaf on the way wins. */
static void map(uint64_t root, uint64_t va, uint64_t oa, int leaf_level)
{
	uint64_t *t = table_at(root);
	for (int level = 0; level < leaf_level; level++) {
		uint64_t *d = &t[index_at(va, level)];
		if (!(*d & DESC_VALID)) {
			if (used == POOL_TABLES) return;
			*d = new_table() | DESC_TABLE | DESC_VALID;
		} else if (!(*d & DESC_TABLE)) {
			return; /* a block already covers it */
		}
		t = table_at(*d & OA_MASK);
	}
	uint64_t *leaf = &t[index_at(va, leaf_level)];
	if (!(*leaf & DESC_VALID)) *leaf = (oa & OA_MASK) | DESC_AF | (leaf_level == 3 ? DESC_TABLE : 0) | DESC_VALID | 0x4c0;
}

/* The output address for va, or the faulting level + 1 in the top bits when there is none. */
static uint64_t walk(uint64_t root, uint64_t va)
{
	uint64_t *t = table_at(root);
	for (int level = 0; level <= 3; level++) {
		uint64_t d = t[index_at(va, level)];
		if (!(d & DESC_VALID)) return (uint64_t)(level + 1) << 60;
		int is_table = level < 3 && (d & DESC_TABLE);
		if (!is_table) {
			uint64_t size_mask = (1ULL << (39 - 9 * level)) - 1;
			return ((d & OA_MASK) & ~size_mask) | (va & size_mask);
		}
		t = table_at(d & OA_MASK);
	}
	return 0;
}

static uint64_t clustered_va(uint64_t *s)
{
	uint64_t r = rng_next(s);
	return ((r & 3) << 39) | (((r >> 2) & 7) << 30) | (((r >> 5) & 7) << 21) | (((r >> 8) & 511) << 12) | ((r >> 17) & 0xff8);
}

KERNEL uint64_t k_pt_walk(void)
{
	uint64_t s = 0x1234567, h = 0;
	used = 0;
	uint64_t root = new_table();
	for (int i = 0; i < MAPPINGS; i++) {
		uint64_t va = clustered_va(&s);
		map(root, va, 0x100000000ULL + (rng_next(&s) & 0xffffff000ULL), i % 64 == 0 ? 2 : 3);
	}
	for (int i = 0; i < WALKS; i++) {
		uint64_t va = i & 1 ? rng_next(&s) & 0x0000ffffffffffffULL : clustered_va(&s);
		h = mix(h, walk(root, va));
	}
	return mix(h, used);
}
