/*
 * For picolibc programs under `nvlab exec` (and on QEMU or hardware at EL1): turn the stage-1 MMU on
 * with an identity map before main, from picolibc's .preinit_array, which its crt0 (`_start`, the
 * image's first byte, so raw images start right too) runs after copying .data and clearing .bss.
 *
 * Why: picolibc's crt0 leaves SCTLR_EL1.M clear, so every data access is Device-nGnRnE, and an
 * unaligned access to Device memory takes an Alignment fault. picolibc itself is built for Normal
 * memory (its stdio stores 8 bytes at offsets like +84), so without this it faults on hardware and
 * on nvlab (QEMU 7.2 does not check alignment with the MMU off, so it runs there).
 *
 * Link this file with the program. The table is constant, in the image's read-only data: nothing
 * has to build it in RAM.
 *
 * Map (4K granule, T0SZ=25: 39-bit VA from level 1, one 1 GiB block per entry):
 *   0x0000_0000..0x3fff_ffff  Device-nGnRnE, never executable (the virt machine's devices)
 *   0x4000_0000..0xffff_ffff  Normal write-back (RAM)
 */
	.section .rodata.mmu_on, "a"
	.balign 4096
mmu_l1_table:
	.quad 0x0060000000000401          /* PA 0, AF, AttrIndx 0 (Device), UXN|PXN, block */
	.quad 0x0000000040000705          /* PA 1G, AF, inner shareable, AttrIndx 1 (Normal), block */
	.quad 0x0000000080000705
	.quad 0x00000000c0000705
	.fill 508, 8, 0

	.section .preinit_array, "aw"
	.balign 8
	.quad mmu_on

	.text
	.type mmu_on, %function
mmu_on:
	ldr	x0, =0xff00                   /* attr0 Device-nGnRnE, attr1 Normal WB RA/WA */
	msr	mair_el1, x0
	/* T0SZ=25, IRGN0=ORGN0=WB, SH0=inner, TG0=4K, EPD1 (no TTBR1 walks), IPS=40 bits */
	ldr	x0, =(25 | (1 << 8) | (1 << 10) | (3 << 12) | (1 << 23) | (2 << 32))
	msr	tcr_el1, x0
	adrp	x0, mmu_l1_table
	msr	ttbr0_el1, x0
	isb
	tlbi	vmalle1
	dsb	nsh
	isb
	mrs	x0, sctlr_el1
	orr	x0, x0, #(1 << 0)             /* M */
	orr	x0, x0, #(1 << 2)             /* C */
	orr	x0, x0, #(1 << 12)            /* I */
	bic	x0, x0, #(1 << 1)             /* A: no alignment checks on Normal memory */
	msr	sctlr_el1, x0
	isb
	ret
	.size mmu_on, . - mmu_on
