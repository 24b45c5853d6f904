// PL011 console output for L1. Leaf routines that use no stack (so the fatal-exception path can
// use them too) and clobber only x0-x6. Only aligned byte stores without writeback touch the UART:
// a trapping hypervisor emulates them from the data-abort syndrome.

// console_putc(w0 = byte). Clobbers x1.
console_putc:
        mov32   x1, UART_BASE
        strb    w0, [x1]
        ret

// console_puts(x0 = address of a NUL-terminated string). Clobbers x0-x2.
console_puts:
        mov32   x1, UART_BASE
1:      ldrb    w2, [x0], #1
        cbz     w2, 2f
        strb    w2, [x1]
        b       1b
2:      ret

// console_puthex(x0): "0x" and the value in lower-case hex without leading zeros. Clobbers x1-x4.
console_puthex:
        mov32   x1, UART_BASE
        mov     w2, #'0'
        strb    w2, [x1]
        mov     w2, #'x'
        strb    w2, [x1]
        mov     x3, #60                 // shift of the current digit
        mov     x4, #0                  // a digit has been printed
1:      lsr     x2, x0, x3
        and     x2, x2, #0xf
        orr     x4, x4, x2
        cbnz    x4, 2f
        cbnz    x3, 4f                  // skip a leading zero, but always print the last digit
2:      cmp     x2, #10
        b.lo    3f
        add     x2, x2, #('a' - 10 - '0')
3:      add     x2, x2, #'0'
        strb    w2, [x1]
4:      subs    x3, x3, #4
        b.ge    1b
        ret

// console_putdec(x0): unsigned decimal. Clobbers x0-x5.
console_putdec:
        mov32   x1, UART_BASE
        mov64   x3, 10000000000000000000 // largest power of ten in 64 bits
        mov     x4, #0                  // a digit has been printed
        mov     x5, #10
1:      udiv    x2, x0, x3
        msub    x0, x2, x3, x0
        orr     x4, x4, x2
        cbnz    x4, 2f
        cmp     x3, #1
        b.ne    3f                      // skip a leading zero, but always print the last digit
2:      add     w2, w2, #'0'
        strb    w2, [x1]
3:      udiv    x3, x3, x5
        cbnz    x3, 1b
        ret
