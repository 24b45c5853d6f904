/* PL011 output. Only single aligned byte stores reach the data register: with the MMU off every
 * access is Device memory, and a trapping host emulates the store from its syndrome. */
#ifndef NV_UART_H
#define NV_UART_H
#include "abi.h"

static inline void uart_putc(char c) { *(volatile unsigned char *)UART_BASE = (unsigned char)c; }

#endif
