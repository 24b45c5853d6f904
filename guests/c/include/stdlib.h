/* The allocation part of <stdlib.h> for C code built against this runtime (rt/malloc.c), so
 * third-party sources that include <stdlib.h> for malloc/calloc/free compile freestanding. */
#ifndef NV_STDLIB_H
#define NV_STDLIB_H
#include <stddef.h>

void *malloc(size_t n);
void *calloc(size_t count, size_t size);
void free(void *p);

#endif
