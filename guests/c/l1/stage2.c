/* Stage-2 tables for any granule, start level and leaf level (include/stage2.h). */
#include "abi.h"
#include "l1_run.h"
#include "printf.h"
#include "stage2.h"
#include "sysreg.h"

#define DESC_VALID  1UL
#define DESC_TABLE  3UL   /* table descriptor (levels above the leaf); also the page type at level 3 */
#define DESC_BLOCK  1UL   /* block descriptor (levels 1-2) */
#define OA_MASK     0x0000ffffffffffffUL

const struct s2_format S2_4K_PAGES = { "4K granule, lazy 4K pages", 12, 39, 1, 3 };
const struct s2_format S2_4K_2M_BLOCKS = { "4K granule, lazy 2M blocks", 12, 32, 2, 2 };
const struct s2_format S2_16K_PAGES = { "16K granule, lazy 16K pages", 14, 36, 2, 3 };
const struct s2_format S2_64K_PAGES = { "64K granule, lazy 64K pages", 16, 32, 2, 3 };

/* Each vCPU allocates from its own slice of the pool: vCPUs never share an allocator (no atomics
 * with the MMU off), and a vCPU's allocations do not depend on how the vCPUs interleave. */
#define POOL_SLICE ((POOL_END - POOL_BASE) / L1_MAX_CPUS)
static uint64_t pool_used[L1_MAX_CPUS];

void *pool_alloc(unsigned log2_size)
{
	unsigned cpu = l1_cpu();
	uint64_t start = POOL_BASE + cpu * POOL_SLICE, size = 1UL << log2_size;
	uint64_t base = (start + pool_used[cpu] + size - 1) & ~(size - 1);
	if (base + size > start + POOL_SLICE) {
		printf("L1: stage-2 table pool exhausted\n");
		l1_system_off(ERR_POOL);
	}
	pool_used[cpu] = base + size - start;
	/* 8-byte stores: with the MMU off the pool is Device memory (no unaligned or DC ZVA tricks). */
	for (volatile uint64_t *p = (uint64_t *)base; p < (uint64_t *)(base + size); p++) *p = 0;
	return (void *)base;
}

/* Bits of the input address each level resolves: levels below the start resolve granule_shift - 3. */
static unsigned level_shift(const struct s2_format *f, unsigned level)
{
	return f->granule_shift + (3 - level) * (f->granule_shift - 3);
}

static unsigned root_index_bits(const struct s2_format *f)
{
	return f->ia_bits - level_shift(f, f->start_level);
}

unsigned s2_leaf_shift(const struct s2_format *f) { return level_shift(f, f->leaf_level); }

uint64_t s2_vtcr(const struct s2_format *f)
{
	/* TG0: 4K 0b00, 64K 0b01, 16K 0b10. SL0 counts down from the last level the granule starts at. */
	uint64_t tg0 = f->granule_shift == 12 ? 0 : f->granule_shift == 16 ? 1 : 2;
	uint64_t sl0 = (f->granule_shift == 12 ? 2 : 3) - f->start_level;
	return (1UL << 31) | (2UL << 16) /* PS: 40 bits */ | (tg0 << 14) | (3UL << 12) /* SH0 inner */ |
	       (sl0 << 6) | (64 - f->ia_bits);   /* IRGN0 = ORGN0 = 0: L1 writes tables with its MMU off */
}

uint64_t *s2_alloc_root(const struct s2_format *f)
{
	unsigned bytes_log2 = root_index_bits(f) + 3;
	return pool_alloc(bytes_log2 > f->granule_shift ? bytes_log2 : f->granule_shift);
}

static uint64_t index_at(const struct s2_format *f, unsigned level, uint64_t ipa)
{
	unsigned bits = level == f->start_level ? root_index_bits(f) : f->granule_shift - 3;
	return (ipa >> level_shift(f, level)) & ((1UL << bits) - 1);
}

uint64_t *s2_leaf_slot(const struct s2_format *f, uint64_t *root, uint64_t ipa)
{
	uint64_t *table = root;
	for (unsigned level = f->start_level; level < f->leaf_level; level++) {
		volatile uint64_t *entry = &table[index_at(f, level, ipa)];
		uint64_t desc = *entry;
		if (!(desc & DESC_VALID)) {
			uint64_t *next = pool_alloc(f->granule_shift);
			dsb(ishst);   /* the zeroed table before the entry that publishes it */
			desc = (uint64_t)next | DESC_TABLE;
			*entry = desc;
		}
		table = (uint64_t *)(desc & OA_MASK & ~((1UL << f->granule_shift) - 1));
	}
	return &table[index_at(f, f->leaf_level, ipa)];
}

static uint64_t leaf_desc(const struct s2_format *f, uint64_t pa, uint64_t attrs)
{
	return pa | attrs | (f->leaf_level == 3 ? DESC_TABLE : DESC_BLOCK);
}

void s2_map(const struct s2_format *f, uint64_t *root, uint64_t ipa, uint64_t pa, uint64_t attrs)
{
	*(volatile uint64_t *)s2_leaf_slot(f, root, ipa) = leaf_desc(f, pa, attrs);
}

void s2_remap(const struct s2_format *f, uint64_t *root, uint64_t ipa, uint64_t pa, uint64_t attrs)
{
	volatile uint64_t *slot = s2_leaf_slot(f, root, ipa);
	*slot = 0;                      /* break */
	dsb(ishst);
	tlbi(ipas2e1is, ipa >> 12);     /* stage-2 entries of the IPA, current VMID */
	dsb(ish);
	tlbi_all(vmalle1is);            /* combined stage-1+2 entries of the VMID */
	dsb(ish);
	isb();
	*slot = leaf_desc(f, pa, attrs);   /* make */
	dsb(ishst);
	isb();
}
