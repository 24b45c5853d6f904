/* printf over rt_putchar: enough for hypervisor diagnostics, no floating point. */
#include <stdint.h>
#include "printf.h"

void rt_puts(const char *s)
{
	while (*s) rt_putchar(*s++);
}

static int put_number(uint64_t v, unsigned base, int upper, int width, char pad)
{
	char buf[24];
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	int n = 0, out = 0;
	do {
		buf[n++] = digits[v % base];
		v /= base;
	} while (v);
	for (; width > n; width--, out++) rt_putchar(pad);
	while (n) rt_putchar(buf[--n]), out++;
	return out;
}

int vprintf(const char *fmt, va_list ap)
{
	int out = 0;
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			rt_putchar(*fmt);
			out++;
			continue;
		}
		char pad = ' ';
		int width = 0, longs = 0;
		if (*++fmt == '0') pad = '0', fmt++;
		while (*fmt >= '0' && *fmt <= '9') width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l') longs++, fmt++;
		switch (*fmt) {
		case 'd':
		case 'i': {
			int64_t v = longs ? va_arg(ap, int64_t) : va_arg(ap, int);
			uint64_t mag = v < 0 ? -(uint64_t)v : (uint64_t)v;
			if (v < 0) rt_putchar('-'), out++, width--;
			out += put_number(mag, 10, 0, width, pad);
			break;
		}
		case 'u':
		case 'x':
		case 'X': {
			uint64_t v = longs ? va_arg(ap, uint64_t) : va_arg(ap, unsigned);
			out += put_number(v, *fmt == 'u' ? 10 : 16, *fmt == 'X', width, pad);
			break;
		}
		case 'p':
			rt_puts("0x");
			out += 2 + put_number((uint64_t)va_arg(ap, void *), 16, 0, width, pad);
			break;
		case 'c':
			rt_putchar(va_arg(ap, int));
			out++;
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);
			if (!s) s = "(null)";
			while (*s) rt_putchar(*s++), out++;
			break;
		}
		case '%':
			rt_putchar('%');
			out++;
			break;
		case '\0':
			return out;
		default:   /* unknown conversion: print it as written */
			rt_putchar('%');
			rt_putchar(*fmt);
			out += 2;
		}
	}
	return out;
}

int printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vprintf(fmt, ap);
	va_end(ap);
	return n;
}
