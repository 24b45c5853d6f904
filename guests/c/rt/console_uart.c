/* L1's console: the PL011 directly. */
#include "printf.h"
#include "uart.h"

void rt_putchar(int c) { uart_putc((char)c); }
