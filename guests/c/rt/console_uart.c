/* rt_putchar for bare programs that own the machine (nvlab exec, QEMU virt at EL1): the PL011. */
#include "printf.h"
#include "uart.h"

void rt_putchar(int c)
{
	uart_putc((char)c);
}
