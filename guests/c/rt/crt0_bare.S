/* Entry of a bare EL1 program run by `nvlab exec` (MMU off, no vectors): the SIMD&FP unit enabled,
 * a stack, a zeroed .bss, then main. It ends as exec's assembly programs do: `brk #0` when main returns 0 (exec's status 0)
 * and `brk #1` otherwise (status 3), main's value left in x0 for --json. Under QEMU, where a brk
 * with no vectors set never returns, the console is what is compared. */
#include "crt0.h"

	.section .text.start, "ax"
	.globl _start
_start:
	msr	daifset, #0xf
	/* CPACR_EL1.FPEN = 0b11: ordinary compiler output uses the SIMD&FP registers anywhere (its
	 * reset value is UNKNOWN, so a program that skipped this could trap at its first copy). */
	mrs	x0, cpacr_el1
	orr	x0, x0, #(3 << 20)
	msr	cpacr_el1, x0
	isb
	stack_and_bss
	bl	main
	cbnz	w0, bare_fail
	/* Named for other engines' runners and for traces: where a passing program ends. */
	.globl	bare_pass
bare_pass:
	brk	#0
	.globl	bare_fail
bare_fail:
	brk	#1
	b	bare_fail
	.ltorg
