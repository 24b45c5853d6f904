// Touch TOUCH_PAGES distinct 4K pages (defined by the including file): write a pattern to the
// first and last word of each page, then read every page back. The page count is also the
// 32-bit word at image offset 4 (symbol touch_pages), so a loader may patch it.

        .equ TOUCH_OFFSET, 0x100000     // first page: 1 MiB above the image
        .equ TOUCH_MAX, (0x1000000 - TOUCH_OFFSET) / 4096

l2_entry:
        b       touch_start
touch_pages:
        .word   TOUCH_PAGES

touch_start:
        adr     x0, touch_pages
        ldr     w20, [x0]               // N
        cmp     x20, #TOUCH_MAX
        b.hi    touch_too_many
        adr     x0, l2_entry
        mov64   x1, TOUCH_OFFSET
        add     x19, x0, x1             // first page

        mov     x21, #0                 // pass 1: write
        mov     x22, x19
1:      cmp     x21, x20
        b.hs    2f
        eor     w3, w21, #0x55555555
        orr     x3, x3, x21, lsl #32
        str     x3, [x22]
        mvn     x4, x3
        str     x4, [x22, #4088]
        add     x22, x22, #4096
        add     x21, x21, #1
        b       1b

2:      mov     x21, #0                 // pass 2: read back
        mov     x22, x19
        mov     x23, #0                 // errors
3:      cmp     x21, x20
        b.hs    4f
        eor     w3, w21, #0x55555555
        orr     x3, x3, x21, lsl #32
        ldr     x5, [x22]
        cmp     x5, x3
        cinc    x23, x23, ne
        mvn     x4, x3
        ldr     x5, [x22, #4088]
        cmp     x5, x4
        cinc    x23, x23, ne
        add     x22, x22, #4096
        add     x21, x21, #1
        b       3b

4:      adr     x0, msg_touch1
        bl      l2_puts
        mov     x0, x20
        bl      l2_putdec
        adr     x0, msg_touch2
        bl      l2_puts
        mov     x0, x23
        bl      l2_putdec
        adr     x0, msg_touch3
        bl      l2_puts
        cmp     x23, #0
        cset    x0, ne
        bl      l2_exit

touch_too_many:
        adr     x0, msg_too_many
        bl      l2_puts
        mov     x0, #2
        bl      l2_exit

msg_touch1:     .asciz "touch: "
msg_touch2:     .asciz " pages written and read back, "
msg_touch3:     .asciz " errors\n"
msg_too_many:   .asciz "touch: too many pages for a 16 MiB window\n"
        .balign 4
        .include "l2.S"
