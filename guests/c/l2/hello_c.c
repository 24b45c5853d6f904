/* A C L2: prints through HVC and through the UART directly, touches pages (each new one is a
 * stage-2 fault for L1), exercises printf, and checks that L1's remap (HVC 3, with TLBI) is seen. */
#include <stdint.h>
#include "hvc.h"
#include "printf.h"
#include "uart.h"

#define TOUCH_BASE   0x40100000UL   /* 1 MiB above the image, inside the window */
#define TOUCH_PAGES  24
#define REMAP_IPA    0x40200000UL   /* its own 2M block, away from the image and the stack */

static unsigned long counter = 3;   /* .data */
static uint64_t zeroed[4];          /* .bss: crt0 must have cleared it */

static void direct(const char *s)
{
	while (*s) uart_putc(*s++);
}

int main(void)
{
	int status = 0;
	l2_puts("hello from C L2\n");
	direct("C L2: this line went to the UART directly\n");
	printf("C L2: printf %d %u %x %lx %c %s %p %05d|%3u|\n", -42, 42u, 0xbeefu, 0x123456789abcUL, 'Z',
	       "str", (void *)0x40000000UL, 7, 9u);

	unsigned errors = 0;
	for (unsigned i = 0; i < TOUCH_PAGES; i++)
		*(volatile uint64_t *)(TOUCH_BASE + i * 4096UL) = 0x1111111111111111UL * (i + 1);
	for (unsigned i = 0; i < TOUCH_PAGES; i++)
		if (*(volatile uint64_t *)(TOUCH_BASE + i * 4096UL) != 0x1111111111111111UL * (i + 1)) errors++;
	printf("C L2: %u pages written and read back, %u errors\n", TOUCH_PAGES, errors);
	if (errors || zeroed[0] | zeroed[1] | zeroed[2] | zeroed[3] || counter != 3) status = 1;

	volatile uint64_t *word = (volatile uint64_t *)REMAP_IPA;
	*word = 0x0123456789abcdefUL;
	printf("C L2: remap: before 0x%016lx\n", *word);
	hvc_call(HVC_REMAP, REMAP_IPA);
	uint64_t after = *word;
	printf("C L2: remap: after  0x%016lx\n", after);
	if (after != 0xfedcba9876543210UL) status = 1;

	printf("C L2: %s\n", status ? "FAIL" : "PASS");
	return status;
}
