/* Building stage-2 translation tables (VMSAv8-64, 4K/16K/64K granules, pages and blocks) from
 * L1's table pool. L1 runs with its MMU off, so table walks are set Non-cacheable in VTCR_EL2. */
#ifndef NV_STAGE2_H
#define NV_STAGE2_H
#include <stdint.h>

/* One stage-2 layout: granule, input size, first and leaf lookup levels. A start level whose
 * index needs more bits than a table holds uses concatenated tables (up to 16). */
struct s2_format {
	const char *name;        /* e.g. "4K granule, lazy 4K pages" */
	unsigned granule_shift;  /* 12, 14 or 16 */
	unsigned ia_bits;        /* 64 - T0SZ */
	unsigned start_level;
	unsigned leaf_level;     /* 3: pages; 2 (or 1 with 4K): blocks */
};

extern const struct s2_format S2_4K_PAGES, S2_4K_2M_BLOCKS, S2_16K_PAGES, S2_64K_PAGES;

/* Leaf attributes (descriptor bits besides the output address and the type bits). */
#define S2_AF             (1UL << 10)
#define S2_SH_INNER       (3UL << 8)
#define S2AP_RW           (3UL << 6)
#define S2_MEMATTR_NORMAL (0xfUL << 2)
#define S2_MEMATTR_DEVICE (0x1UL << 2)
#define S2_XN             (2UL << 53)
#define S2_ATTR_RAM       (S2_AF | S2_SH_INNER | S2AP_RW | S2_MEMATTR_NORMAL)
#define S2_ATTR_DEVICE    (S2_AF | S2AP_RW | S2_MEMATTR_DEVICE | S2_XN)

/* log2 of the size the format maps with one leaf. */
unsigned s2_leaf_shift(const struct s2_format *f);
/* VTCR_EL2 for the format (PS 40 bits, inner shareable, Non-cacheable walks). */
uint64_t s2_vtcr(const struct s2_format *f);
/* A zeroed root (concatenated when the start level needs it), aligned to its size. */
uint64_t *s2_alloc_root(const struct s2_format *f);
/* The leaf descriptor slot for `ipa`, allocating missing intermediate tables. */
uint64_t *s2_leaf_slot(const struct s2_format *f, uint64_t *root, uint64_t ipa);
/* Write the leaf for the granule holding `ipa` (no barrier, no TLBI: a new valid entry needs none,
 * the caller issues dsb ishst). `pa` must be aligned to the leaf size. */
void s2_map(const struct s2_format *f, uint64_t *root, uint64_t ipa, uint64_t pa, uint64_t attrs);
/* Break-before-make for a valid leaf: invalidate it, TLBI IPAS2E1IS + VMALLE1IS for the current
 * VMID, then write `pa | attrs` (the caller's VTTBR_EL2 must hold the VMID). */
void s2_remap(const struct s2_format *f, uint64_t *root, uint64_t ipa, uint64_t pa, uint64_t attrs);

/* Zeroing bump allocator over POOL_BASE..POOL_END; exits with ERR_POOL when it runs out. */
void *pool_alloc(unsigned log2_size);

#endif
