/* Sorting 32-bit keys: an in-place quicksort (median of three, insertion sort below 16 elements,
 * an explicit stack) as used for sorted ranges and memslots. Checks the order and returns a
 * position-weighted checksum of the result. */
#include "kernels.h"

#define N 8192

static uint32_t a[N];

static void swap(uint32_t *x, uint32_t *y)
{
	uint32_t t = *x;
	*x = *y;
	*y = t;
}

static void insertion(int lo, int hi)
{
	for (int i = lo + 1; i <= hi; i++) {
		uint32_t v = a[i];
		int j = i - 1;
		while (j >= lo && a[j] > v) a[j + 1] = a[j], j--;
		a[j + 1] = v;
	}
}

static int partition(int lo, int hi)
{
	int mid = lo + (hi - lo) / 2;
	if (a[mid] < a[lo]) swap(&a[mid], &a[lo]);
	if (a[hi] < a[lo]) swap(&a[hi], &a[lo]);
	if (a[hi] < a[mid]) swap(&a[hi], &a[mid]);
	uint32_t pivot = a[mid];
	int i = lo - 1, j = hi + 1;
	for (;;) {
		do i++; while (a[i] < pivot);
		do j--; while (a[j] > pivot);
		if (i >= j) return j;
		swap(&a[i], &a[j]);
	}
}

static void quicksort(void)
{
	int stack[128], sp = 0;
	stack[sp++] = 0;
	stack[sp++] = N - 1;
	while (sp) {
		int hi = stack[--sp], lo = stack[--sp];
		if (hi - lo < 16) {
			insertion(lo, hi);
			continue;
		}
		int p = partition(lo, hi);
		/* The larger half first on the stack, so the stack stays O(log n). */
		if (p - lo > hi - p - 1) {
			stack[sp++] = lo, stack[sp++] = p;
			stack[sp++] = p + 1, stack[sp++] = hi;
		} else {
			stack[sp++] = p + 1, stack[sp++] = hi;
			stack[sp++] = lo, stack[sp++] = p;
		}
	}
}

KERNEL uint64_t k_sort(void)
{
	uint64_t s = 0x5047, h = 0;
	for (int i = 0; i < N; i++) a[i] = (uint32_t)(rng_next(&s) >> 20) % 100000; /* with duplicates */
	quicksort();
	uint64_t unsorted = 0;
	for (int i = 1; i < N; i++) unsorted += a[i - 1] > a[i];
	for (int i = 0; i < N; i += 1) h += (uint64_t)a[i] * (uint64_t)(i + 1);
	return mix(mix(h, unsorted), a[N / 2]);
}
