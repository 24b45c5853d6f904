/* malloc for bare programs: a bump allocator over [__heap_start, __heap_end) (ld/bare.ld). free
 * gives memory back only when it is the most recent block, which covers the allocate-use-release
 * pattern of a library's per-call contexts; anything else stays allocated until the program ends.
 * Out of memory returns NULL, as malloc does. */
#include <stdint.h>
#include "stdlib.h"
#include "string.h"

extern char __heap_start[], __heap_end[];

/* Each block is preceded by its size; 16 keeps every block 16-byte aligned, as malloc promises. */
#define HEADER 16

static char *brk_ptr;

void *malloc(size_t n)
{
	if (!brk_ptr) brk_ptr = __heap_start;
	size_t rounded = (n + 15) & ~(size_t)15;
	size_t left = (size_t)(__heap_end - brk_ptr);
	if (rounded < n || left < HEADER || rounded > left - HEADER) return NULL;
	char *block = brk_ptr + HEADER;
	*(size_t *)brk_ptr = rounded;
	brk_ptr = block + rounded;
	return block;
}

void *calloc(size_t count, size_t size)
{
	size_t n = count * size;
	if (size && n / size != count) return NULL;
	void *p = malloc(n);
	if (p) memset(p, 0, n);
	return p;
}

void free(void *p)
{
	if (!p) return;
	char *block = p;
	if (block + *(size_t *)(block - HEADER) == brk_ptr) brk_ptr = block - HEADER;
}
