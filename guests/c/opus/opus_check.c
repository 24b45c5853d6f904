/*
 * opus_check: libopus's float encoder and decoder (CELT, SILK and hybrid modes, the float analysis)
 * over a generated signal, as a real float-heavy program for the SIMD&FP unit. Built against picolibc
 * (semihosting stdio) as ordinary C at -O2 and -O3.
 *
 * For each configuration: OPUS_CHECK_FRAMES 20 ms frames of two sine sweeps plus noise from a fixed
 * LCG are encoded with opus_encode_float, every packet is decoded with opus_decode_float, and the
 * line printed holds the packets' total size and FNV-1a hash and the FNV-1a hash of the decoded
 * samples' bit patterns. A correct FP unit computes every value the same way, so the console is the
 * same on every correct machine. The self-check is Opus's own conformance rule: the range coder's
 * final state after each packet (OPUS_GET_FINAL_RANGE) must be the same in the encoder and the
 * decoder. PASS when every packet decoded to a full frame with matching ranges.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <opus.h>

#ifndef OPUS_CHECK_FRAMES
#define OPUS_CHECK_FRAMES 10
#endif

#define MAX_FRAME 960 /* 20 ms at 48 kHz */
#define MAX_CHANNELS 2
#define MAX_PACKET 1500
#define TWO_PI 6.283185307f

struct config {
	const char *name;
	opus_int32 rate;
	int channels;
	int application;
	opus_int32 bitrate;
	int complexity;
};

static const struct config configs[] = {
	{ "voip 16k mono 12k c5", 16000, 1, OPUS_APPLICATION_VOIP, 12000, 5 },
	{ "voip 48k mono 24k c8", 48000, 1, OPUS_APPLICATION_VOIP, 24000, 8 },
	{ "audio 48k stereo 96k c10", 48000, 2, OPUS_APPLICATION_AUDIO, 96000, 10 },
	{ "lowdelay 48k mono 64k c3", 48000, 1, OPUS_APPLICATION_RESTRICTED_LOWDELAY, 64000, 3 },
};

#define FNV_OFFSET 0x811c9dc5u
#define FNV_PRIME 0x01000193u

static uint32_t fnv1a(uint32_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	while (n--) {
		h ^= *b++;
		h *= FNV_PRIME;
	}
	return h;
}

static uint32_t lcg_state;

/* Noise in [-1, 1): the top 24 bits of a 32-bit LCG (Numerical Recipes' constants). */
static float noise(void)
{
	lcg_state = lcg_state * 1664525u + 1013904223u;
	return (float)(int32_t)(lcg_state & 0xffffff00u) * (1.0f / 2147483648.0f);
}

/*
 * One frame of the test signal, interleaved: per channel a sweep rising from 100 Hz and one falling
 * from a quarter of the sample rate, across the whole run, and a little noise.
 */
static void make_frame(float *pcm, int frame, int size, const struct config *c, float *phase)
{
	int total = OPUS_CHECK_FRAMES * size;
	for (int i = 0; i < size; i++) {
		float t = (float)(frame * size + i) / (float)total;
		for (int ch = 0; ch < c->channels; ch++) {
			float up = 100.0f + t * (float)c->rate * (0.15f + 0.05f * ch);
			float down = (float)c->rate * (0.25f - 0.2f * t);
			phase[2 * ch] += TWO_PI * up / (float)c->rate;
			phase[2 * ch + 1] += TWO_PI * down / (float)c->rate;
			if (phase[2 * ch] > TWO_PI) phase[2 * ch] -= TWO_PI;
			if (phase[2 * ch + 1] > TWO_PI) phase[2 * ch + 1] -= TWO_PI;
			pcm[i * c->channels + ch] = 0.4f * sinf(phase[2 * ch]) + 0.2f * sinf(phase[2 * ch + 1]) + 0.05f * noise();
		}
	}
}

static float pcm_in[MAX_FRAME * MAX_CHANNELS];
static float pcm_out[MAX_FRAME * MAX_CHANNELS];
static unsigned char packet[MAX_PACKET];

/* Encode and decode one configuration; returns the number of failures. */
static int run(const struct config *c)
{
	int err, failures = 0;
	int size = c->rate / 50;
	OpusEncoder *enc = opus_encoder_create(c->rate, c->channels, c->application, &err);
	if (err != OPUS_OK) {
		printf("%s: opus_encoder_create: %s\n", c->name, opus_strerror(err));
		return 1;
	}
	OpusDecoder *dec = opus_decoder_create(c->rate, c->channels, &err);
	if (err != OPUS_OK) {
		printf("%s: opus_decoder_create: %s\n", c->name, opus_strerror(err));
		opus_encoder_destroy(enc);
		return 1;
	}
	opus_encoder_ctl(enc, OPUS_SET_BITRATE(c->bitrate));
	opus_encoder_ctl(enc, OPUS_SET_COMPLEXITY(c->complexity));

	float phase[2 * MAX_CHANNELS] = { 0 };
	uint32_t bits_hash = FNV_OFFSET, pcm_hash = FNV_OFFSET;
	long bytes = 0;
	lcg_state = 12345;
	for (int f = 0; f < OPUS_CHECK_FRAMES; f++) {
		make_frame(pcm_in, f, size, c, phase);
		int n = opus_encode_float(enc, pcm_in, size, packet, MAX_PACKET);
		if (n < 0) {
			printf("%s: frame %d: opus_encode_float: %s\n", c->name, f, opus_strerror(n));
			failures++;
			break;
		}
		bytes += n;
		uint16_t len = (uint16_t)n;
		bits_hash = fnv1a(bits_hash, &len, sizeof len);
		bits_hash = fnv1a(bits_hash, packet, (size_t)n);
		int got = opus_decode_float(dec, packet, n, pcm_out, MAX_FRAME, 0);
		if (got != size) {
			printf("%s: frame %d: opus_decode_float: %s\n", c->name, f, got < 0 ? opus_strerror(got) : "short frame");
			failures++;
			break;
		}
		pcm_hash = fnv1a(pcm_hash, pcm_out, (size_t)got * c->channels * sizeof(float));
		opus_uint32 enc_range, dec_range;
		opus_encoder_ctl(enc, OPUS_GET_FINAL_RANGE(&enc_range));
		opus_decoder_ctl(dec, OPUS_GET_FINAL_RANGE(&dec_range));
		if (enc_range != dec_range) {
			printf("%s: frame %d: final range %08lx (encoder) != %08lx (decoder)\n", c->name, f,
			       (unsigned long)enc_range, (unsigned long)dec_range);
			failures++;
		}
	}
	printf("  %-26s %5ld bytes  packets %08lx  pcm %08lx  %s\n", c->name, bytes, (unsigned long)bits_hash,
	       (unsigned long)pcm_hash, failures ? "FAIL" : "ok");
	opus_decoder_destroy(dec);
	opus_encoder_destroy(enc);
	return failures;
}

int main(void)
{
	int n = (int)(sizeof configs / sizeof configs[0]), failed = 0;
	printf("opus_check: %s, %d configurations x %d frames of 20 ms\n", opus_get_version_string(), n, OPUS_CHECK_FRAMES);
	for (int i = 0; i < n; i++)
		failed += run(&configs[i]) != 0;
	if (failed) {
		printf("opus_check: FAIL (%d of %d configurations)\n", failed, n);
		return 1;
	}
	printf("opus_check: PASS (%d configurations)\n", n);
	return 0;
}
