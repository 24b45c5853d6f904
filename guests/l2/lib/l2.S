// L2 → L1 calls (guests/README.md): hvc #0 with the function in x0 and the argument in x1. L1
// preserves every register, so these wrappers clobber only what they list. No stack is used.

        .equ HVC_PUTCHAR, 0
        .equ HVC_EXIT, 1
        .equ HVC_PUTS, 2
        .equ HVC_REMAP, 3
        .equ HVC_REMAP_NO_TLBI, 4

// l2_putc(w0 = byte). Clobbers x0, x1.
l2_putc:
        mov     x1, x0
        mov     x0, #HVC_PUTCHAR
        hvc     #0
        ret

// l2_puts(x0 = nested IPA of a NUL-terminated string). Clobbers x0, x1.
l2_puts:
        mov     x1, x0
        mov     x0, #HVC_PUTS
        hvc     #0
        ret

// l2_exit(x0 = exit code). Does not return.
l2_exit:
        mov     x1, x0
        mov     x0, #HVC_EXIT
        hvc     #0
1:      b       1b

// l2_puthex(x0): "0x" and 16 hex digits. Clobbers x0-x3.
l2_puthex:
        mov     x2, x0
        mov     x0, #HVC_PUTCHAR
        mov     x1, #'0'
        hvc     #0
        mov     x1, #'x'
        hvc     #0
        mov     x3, #60
1:      lsr     x1, x2, x3
        and     x1, x1, #0xf
        cmp     x1, #10
        b.lo    2f
        add     x1, x1, #('a' - 10 - '0')
2:      add     x1, x1, #'0'
        mov     x0, #HVC_PUTCHAR
        hvc     #0
        subs    x3, x3, #4
        b.ge    1b
        ret

// l2_putdec(x0): unsigned decimal. Clobbers x0-x5.
l2_putdec:
        mov     x2, x0
        mov64   x3, 10000000000000000000
        mov     x4, #0                  // a digit has been printed
        mov     x5, #10
1:      udiv    x1, x2, x3
        msub    x2, x1, x3, x2
        orr     x4, x4, x1
        cbnz    x4, 2f
        cmp     x3, #1
        b.ne    3f
2:      add     x1, x1, #'0'
        mov     x0, #HVC_PUTCHAR
        hvc     #0
3:      udiv    x3, x3, x5
        cbnz    x3, 1b
        ret
