/* A small printf: %s %d %i %u %x %X %c %p %%, the l and ll modifiers, a width and the 0 flag.
 * Each side of the pair supplies rt_putchar: L1 the UART, L2 an HVC putchar. */
#ifndef NV_PRINTF_H
#define NV_PRINTF_H
#include <stdarg.h>

void rt_putchar(int c);
void rt_puts(const char *s);   /* no newline added */
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vprintf(const char *fmt, va_list ap);

#endif
