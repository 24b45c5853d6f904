/* CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320) two ways, as a hypervisor checksums images
 * and migration pages: byte-wise through a 256-entry table built on each call, and bit by bit. The
 * two must agree; the checksum is of the table CRCs of many slices of a 16 KiB buffer. */
#include "kernels.h"

#define BUF 16384

static uint8_t buf[BUF];
static uint32_t table[256];

static void build_table(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
		table[i] = c;
	}
}

static uint32_t crc_table(const uint8_t *p, uint32_t n)
{
	uint32_t c = 0xffffffffu;
	while (n--) c = table[(c ^ *p++) & 0xff] ^ (c >> 8);
	return ~c;
}

static uint32_t crc_bitwise(const uint8_t *p, uint32_t n)
{
	uint32_t c = 0xffffffffu;
	while (n--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
	}
	return ~c;
}

KERNEL uint64_t k_crc32(void)
{
	uint64_t s = 0xc4c32, h = 0;
	for (int i = 0; i < BUF; i++) buf[i] = (uint8_t)(rng_next(&s) >> 24);
	build_table();
	h = mix(h, crc_table(buf, BUF));
	for (uint32_t off = 0; off + 1024 <= BUF; off += 1000) h = mix(h, crc_table(buf + off, 1024 - off % 7));
	/* The bitwise form over a smaller part: it must give the table's answer. */
	uint32_t a = crc_table(buf, 2048), b = crc_bitwise(buf, 2048);
	return mix(h, a == b ? a : 0xdeadULL);
}
