/* Running L2s the way every shipped L1 does (guests/README.md): VMID n + 1, lazy stage-2 faults
 * mapped into L2 #n's window, HVC functions 0-2, and the same console lines as the assembly L1s. */
#include "abi.h"
#include "l1.h"
#include "l1_run.h"
#include "printf.h"
#include "psci.h"
#include "sysreg.h"
#include "uart.h"

struct l1_state l1_cpus[L1_MAX_CPUS];
const struct s2_format *l1_format;
unsigned l1_num_l2;

unsigned l1_cpu(void) { return (unsigned)read_sysreg(mpidr_el1) & (L1_MAX_CPUS - 1); }

void rt_putchar(int c)
{
	struct l1_state *s = l1_this();
	if (!s->buffered) uart_putc((char)c);
	else if (s->len < L1_CONSOLE_BUF) s->buf[s->len++] = (char)c;
}

void l1_flush_console(void)
{
	struct l1_state *s = l1_this();
	s->buffered = 0;
	for (unsigned i = 0; i < s->len; i++) uart_putc(s->buf[i]);
	s->len = 0;
}

void l1_cpu_init(void)
{
	write_sysreg(hcr_el2, HCR_VM | HCR_RW);
	write_sysreg(vtcr_el2, s2_vtcr(l1_format));
	isb();
}

void l1_boot(const struct s2_format *format, unsigned num_l2)
{
	if (current_el() != 2) {
		printf("L1: not started at EL2\n");
		l1_system_off(ERR_NOT_EL2);
	}
	l1_format = format;
	l1_num_l2 = num_l2 > L1_MAX_L2 ? L1_MAX_L2 : num_l2;
	l1_cpu_init();
}

uint64_t l1_run_l2(unsigned n)
{
	struct l1_state *s = l1_this();
	s->cur = n;
	s->faults = 0;
	if (!s->roots[n]) s->roots[n] = s2_alloc_root(l1_format);   /* tables persist across runs */
	write_sysreg(vttbr_el2, (uint64_t)s->roots[n] | ((uint64_t)(n + 1) << 48));
	printf("L1: entering L2 #%u (VMID %u)\n", n, n + 1);
	write_sysreg(spsr_el2, L2_SPSR);
	write_sysreg(elr_el2, L2_IPA_BASE);
	uint64_t code = l1_enter_l2(0);
	printf("L1: L2 #%u exited with code %lu, stage-2 faults: %lu\n", n, code, s->faults);
	return code;
}

void l1_system_off(uint64_t code)
{
	static int off_requested;
	if (off_requested) for (;;) {}
	off_requested = 1;
	l1_flush_console();

	printf("L1: system off, exit code %lu\n", code);
	psci_system_off(code);
}

uint64_t l2_window_base(unsigned n) { return L2_CANON_BASE + n * L2_WINDOW; }

static void hvc_bad(struct l2_frame *f)
{
	printf("L1: bad HVC from L2: x0=0x%lx x1=0x%lx\n", f->x[0], f->x[1]);
	l1_system_off(ERR_BAD_HVC);
}

uint64_t l1_ipa_to_canonical(struct l2_frame *f, uint64_t ipa)
{
	if (ipa < L2_IPA_BASE || ipa - L2_IPA_BASE >= L2_WINDOW) hvc_bad(f);
	return l2_window_base(l1_this()->cur) + (ipa - L2_IPA_BASE);
}

static void hvc_puts(struct l2_frame *f, uint64_t ipa)
{
	uint64_t p = l1_ipa_to_canonical(f, ipa);
	uint64_t end = l2_window_base(l1_this()->cur) + L2_WINDOW;
	for (; p < end; p++) {
		char c = *(volatile char *)p;
		if (!c) return;
		rt_putchar(c);
	}
	hvc_bad(f);   /* no NUL inside the window */
}

__attribute__((weak)) int l1_hvc_extra(struct l2_frame *f, uint64_t fn, uint64_t arg)
{
	(void)f, (void)fn, (void)arg;
	return 0;
}

static void s2_fault(uint64_t esr, uint64_t ipa)
{
	struct l1_state *s = l1_this();
	s->faults++;
	uint64_t leaf = ipa & ~((1UL << s2_leaf_shift(l1_format)) - 1);
	uint64_t uart_leaf = UART_BASE & ~((1UL << s2_leaf_shift(l1_format)) - 1);
	uint64_t pa, attrs;
	if (leaf >= L2_IPA_BASE && leaf - L2_IPA_BASE < L2_WINDOW) {
		pa = l2_window_base(s->cur) + (leaf - L2_IPA_BASE);
		attrs = S2_ATTR_RAM;
	} else if (leaf == uart_leaf) {
		pa = uart_leaf;   /* 1:1, Device */
		attrs = S2_ATTR_DEVICE;
	} else {
		printf("L1: L2 #%u stage-2 fault outside its window: IPA=0x%lx ELR=0x%lx\n", s->cur, ipa,
		       read_sysreg(elr_el2));
		l1_system_off(ERR_L2_OUTSIDE);
	}
	(void)esr;
	s2_map(l1_format, s->roots[s->cur], leaf, pa, attrs);
	dsb(ishst);   /* a new valid descriptor needs no TLBI: invalid entries are never cached */
}

void l1_lower_sync(struct l2_frame *f)
{
	uint64_t esr = read_sysreg(esr_el2);
	switch (ESR_EC(esr)) {
	case EC_HVC64:
		if (esr & 0xffff) hvc_bad(f);   /* only hvc #0 is defined */
		switch (f->x[0]) {
		case HVC_PUTCHAR:
			rt_putchar((char)f->x[1]);
			return;
		case HVC_EXIT:
			l1_leave_l2(f->x[1] & 0xff);
		case HVC_PUTS:
			hvc_puts(f, f->x[1]);
			return;
		default:
			if (!l1_hvc_extra(f, f->x[0], f->x[1])) hvc_bad(f);
			return;
		}
	case EC_DABT_LOW:
	case EC_IABT_LOW:
		if (!FSC_IS_TRANSLATION(esr)) {
			printf("L1: unexpected stage-2 fault from L2: ESR=0x%lx HPFAR=0x%lx\n", esr,
			       read_sysreg(hpfar_el2));
			l1_system_off(ERR_S2_FAULT);
		}
		/* HPFAR_EL2 bits [43:4] hold IPA[47:12]; the offset in the page comes from FAR_EL2. */
		s2_fault(esr, ((read_sysreg(hpfar_el2) >> 4) & ((1UL << 40) - 1)) << 12 |
				      (read_sysreg(far_el2) & 0xfff));
		return;
	default:
		l1_unexpected(0x400);
	}
}

void l1_unexpected(uint64_t off)
{
	printf("L1: unexpected exception, vector +0x%lx ESR=0x%lx ELR=0x%lx FAR=0x%lx\n", off,
	       read_sysreg(esr_el2), read_sysreg(elr_el2), read_sysreg(far_el2));
	l1_system_off(off < 0x400 ? ERR_L1_EXCEPTION : ERR_L2_EXCEPTION);
}
