/* L2's console: one HVC putchar per byte, so L1 decides where L2's output goes. */
#include "hvc.h"
#include "printf.h"

void rt_putchar(int c) { l2_putc((char)c); }
