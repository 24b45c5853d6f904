// L1 "sysreg": a loop of EL2 register accesses from virtual EL2, each of which traps to L0 (EC 0x18,
// emulated by L0 against the vEL2 register file) — the exit path's cost with no L2 involved. Every
// iteration reads HCR_EL2 (kept in memory by L0) and ESR_EL2 (held in a hardware EL1 register while
// vEL2 runs) and writes VBAR_EL2 (memory copy and hardware VBAR_EL1) and TPIDR_EL2: four exits.
// The count is the 32-bit word at symbol sysreg_iterations, so the benchmark patches it. At the end
// L1 checks what it read and wrote, prints `sysreg: ok` (or `sysreg: FAIL`) and powers off with
// exit code 0 (1 on a mismatch). Guest ABI: guests/README.md (L1 at 0x4010_0000, no L2).

        .equ UART_BASE,         0x09000000
        .equ PSCI_SYSTEM_OFF,   0x84000008
        .equ HCR_VALUE,         (1 << 31) | 1   // RW, VM: what L1 reads back every iteration

l1_entry:
        b       start
sysreg_iterations:
        .word   1000

start:
        msr     daifset, #0xf
        adr     x0, sysreg_iterations
        ldr     w20, [x0]
        mov     w21, w20                // the loop counter
        mov64   x1, HCR_VALUE
        msr     hcr_el2, x1
        adr     x22, l1_entry           // VBAR_EL2's value (2K-aligned image base; L1 takes no exceptions)
        msr     vbar_el2, x22
        mov     x2, #0
        mov     x3, #1

loop:   mrs     x2, hcr_el2
        msr     vbar_el2, x22
        mrs     x3, esr_el2
        msr     tpidr_el2, x21
        subs    w21, w21, #1
        b.ne    loop

        // Check: HCR_EL2 and VBAR_EL2 read back as written, ESR_EL2 still 0 (no exception was
        // taken at vEL2), TPIDR_EL2 holds the last counter value written (1).
        mov64   x1, HCR_VALUE
        cmp     x2, x1
        b.ne    fail
        cbnz    x3, fail
        mrs     x4, vbar_el2
        cmp     x4, x22
        b.ne    fail
        mrs     x5, tpidr_el2
        cmp     x5, #1
        b.ne    fail
        adr     x0, msg_ok
        mov     x19, #0
        b       finish
fail:   adr     x0, msg_fail
        mov     x19, #1
finish: mov32   x1, UART_BASE
1:      ldrb    w2, [x0], #1
        cbz     w2, 2f
        strb    w2, [x1]
        b       1b
2:      mov     x1, x19
        mov64   x0, PSCI_SYSTEM_OFF
        smc     #0
3:      b       3b

msg_ok:   .asciz "sysreg: ok\n"
msg_fail: .asciz "sysreg: FAIL\n"
