/* Round trips through the LZ4 library (fetched at build time, never in this repository: see
 * "Bare programs" in guests/c/README.md): every input kind through the block API (fast, an
 * accelerated fast, HC at three levels) and the frame API (default and HC, with block and content
 * checksums), decompressed and compared byte for byte. Prints each compressed size and the XXH32
 * of the compressed bytes, so two machines running it must print the same text; ends with a PASS
 * or FAIL line, main's value being the number of failures. LZ4_CHECK_SIZE sets the input size. */
#include <stdint.h>
#include "lz4.h"
#include "lz4hc.h"
#include "lz4frame.h"
#include "xxhash.h"
#include "printf.h"
#include "string.h"
#include "data.h"

#ifndef LZ4_CHECK_SIZE
#define LZ4_CHECK_SIZE 16384
#endif
#define CAP (LZ4_CHECK_SIZE + LZ4_CHECK_SIZE / 8 + 1024) /* above both bounds for these sizes */

static uint8_t input[LZ4_CHECK_SIZE];
static uint8_t packed[CAP];
static uint8_t unpacked[LZ4_CHECK_SIZE + 64];
static int failures;

enum method { FAST, FAST_ACCEL8, HC3, HC9, HC12, FRAME, FRAME_HC9, METHODS };
static const char *const method_name[METHODS] = {
	"fast      ", "fast x8   ", "hc 3      ", "hc 9      ", "hc 12     ", "frame     ", "frame hc 9",
};

/* Compress input[0..n) with method m into packed; the compressed size, or 0 on error. */
static size_t compress(enum method m, size_t n)
{
	const char *src = (const char *)input;
	char *dst = (char *)packed;
	int cap = (int)sizeof(packed);
	switch (m) {
	case FAST: return (size_t)LZ4_compress_default(src, dst, (int)n, cap);
	case FAST_ACCEL8: return (size_t)LZ4_compress_fast(src, dst, (int)n, cap, 8);
	case HC3: return (size_t)LZ4_compress_HC(src, dst, (int)n, cap, 3);
	case HC9: return (size_t)LZ4_compress_HC(src, dst, (int)n, cap, 9);
	case HC12: return (size_t)LZ4_compress_HC(src, dst, (int)n, cap, 12);
	default: {
		LZ4F_preferences_t prefs;
		memset(&prefs, 0, sizeof(prefs));
		prefs.frameInfo.blockSizeID = LZ4F_max64KB;
		prefs.frameInfo.blockChecksumFlag = LZ4F_blockChecksumEnabled;
		prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
		prefs.frameInfo.contentSize = n;
		prefs.compressionLevel = m == FRAME_HC9 ? 9 : 0;
		if (LZ4F_compressFrameBound(n, &prefs) > sizeof(packed)) return 0;
		size_t r = LZ4F_compressFrame(dst, sizeof(packed), src, n, &prefs);
		return LZ4F_isError(r) ? 0 : r;
	}
	}
}

/* Decompress a frame in small steps, as a streaming reader would: at most 4 KiB in per call. */
static size_t decompress_frame(size_t packed_size)
{
	LZ4F_dctx *dctx;
	if (LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION))) return (size_t)-1;
	size_t in = 0, out = 0, hint = 1;
	while (hint != 0 && in < packed_size) {
		size_t src_size = packed_size - in < 4096 ? packed_size - in : 4096;
		size_t dst_size = sizeof(unpacked) - out;
		hint = LZ4F_decompress(dctx, unpacked + out, &dst_size, packed + in, &src_size, NULL);
		if (LZ4F_isError(hint)) break;
		in += src_size;
		out += dst_size;
	}
	LZ4F_freeDecompressionContext(dctx);
	return LZ4F_isError(hint) || hint != 0 || in != packed_size ? (size_t)-1 : out;
}

static size_t decompress(enum method m, size_t packed_size)
{
	if (m == FRAME || m == FRAME_HC9) return decompress_frame(packed_size);
	int r = LZ4_decompress_safe((const char *)packed, (char *)unpacked, (int)packed_size, (int)sizeof(unpacked));
	return r < 0 ? (size_t)-1 : (size_t)r;
}

static void round_trip(enum method m, size_t n)
{
	memset(unpacked, 0xa5, sizeof(unpacked));
	size_t c = compress(m, n);
	size_t d = c ? decompress(m, c) : (size_t)-1;
	int ok = c != 0 && d == n && memcmp(unpacked, input, n) == 0 && XXH64(unpacked, d, 0) == XXH64(input, n, 0);
	printf("  %s %6u B  %3u%%  xxh32 %08x  %s\n", method_name[m], (unsigned)c, (unsigned)(c * 100 / n),
	       (unsigned)XXH32(packed, c, 0), ok ? "ok" : "MISMATCH");
	if (!ok) failures++;
}

int main(void)
{
	printf("lz4_check: LZ4 %s, %u inputs x %u methods, %u bytes each\n", LZ4_versionString(),
	       (unsigned)DATA_KINDS, (unsigned)METHODS, (unsigned)LZ4_CHECK_SIZE);
	for (int k = 0; k < DATA_KINDS; k++) {
		data_fill((enum data_kind)k, input, LZ4_CHECK_SIZE);
		uint64_t h64 = XXH64(input, LZ4_CHECK_SIZE, 0);
		printf("%s %u B  xxh32 %08x  xxh64 %016llx\n", data_kind_name[k], (unsigned)LZ4_CHECK_SIZE,
		       (unsigned)XXH32(input, LZ4_CHECK_SIZE, 0), (unsigned long long)h64);
		for (int m = 0; m < METHODS; m++) round_trip((enum method)m, LZ4_CHECK_SIZE);
	}
	if (failures)
		printf("lz4_check: FAIL (%d of %u round trips)\n", failures, (unsigned)(DATA_KINDS * METHODS));
	else
		printf("lz4_check: PASS (%u round trips)\n", (unsigned)(DATA_KINDS * METHODS));
	return failures;
}
