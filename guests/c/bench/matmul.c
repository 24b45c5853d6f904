/* Integer matrix multiply (32-bit, wrapping), the multiply-accumulate inner loop of fixed-point
 * and hashing code: C = A x B for 48 x 48 matrices, then a checksum of C. */
#include "kernels.h"

#define M 48

static uint32_t A[M][M], B[M][M], C[M][M];

KERNEL uint64_t k_matmul(void)
{
	uint64_t s = 0x3a7, h = 0;
	for (int i = 0; i < M; i++)
		for (int j = 0; j < M; j++) {
			A[i][j] = (uint32_t)rng_next(&s);
			B[i][j] = (uint32_t)(rng_next(&s) >> 32);
		}
	for (int i = 0; i < M; i++)
		for (int j = 0; j < M; j++) {
			uint32_t acc = 0;
			for (int k = 0; k < M; k++) acc += A[i][k] * B[k][j];
			C[i][j] = acc;
		}
	for (int i = 0; i < M; i++)
		for (int j = 0; j < M; j++) h = mix(h, C[i][j]);
	return h;
}
