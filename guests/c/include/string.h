/* What the compiler may call on its own (struct copies, zeroing) plus strlen. */
#ifndef NV_STRING_H
#define NV_STRING_H
#include <stddef.h>

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

#endif
