// L2 "dirty_passes" (scenarios only, for guests/l1/hyp.S): PASSES passes over a 64-page buffer 1 MiB
// above the image, each storing the pass number into the first word of every page, with an
// "hvc putc" of the pass digit after each pass (the exits a scenario's timeline counts). Then it
// checks that every page holds the last pass number, prints one line and exits 0 (1 if a page is
// wrong). Under dirty logging every pass writes all 64 pages: the first through fresh shadow
// faults, the later ones through write-protected shadow leaves.

        .equ BUF_OFFSET, 0x100000
        .equ PAGES, 64
        .equ PASSES, 4

l2_entry:
        adr     x0, l2_entry
        mov64   x1, BUF_OFFSET
        add     x19, x0, x1             // buffer
        mov     x21, #1                 // pass
1:      mov     x4, x19
        mov     x5, #PAGES
2:      str     x21, [x4]
        add     x4, x4, #0x1000
        subs    x5, x5, #1
        b.ne    2b
        add     x0, x21, #'0'
        bl      l2_putc
        add     x21, x21, #1
        cmp     x21, #PASSES
        b.ls    1b

        mov     x0, #'\n'
        bl      l2_putc
        mov     x4, x19
        mov     x5, #PAGES
3:      ldr     x6, [x4]
        cmp     x6, #PASSES
        b.ne    wrong
        add     x4, x4, #0x1000
        subs    x5, x5, #1
        b.ne    3b
        adr     x0, msg_ok
        bl      l2_puts
        mov     x0, #0
        bl      l2_exit

wrong:  adr     x0, msg_wrong
        bl      l2_puts
        mov     x0, #1
        bl      l2_exit

msg_ok:         .asciz "dirty_passes: 4 passes over 64 pages, every page holds pass 4\n"
msg_wrong:      .asciz "dirty_passes: a page lost a pass\n"
        .balign 4
        .include "../../guests/l2/lib/l2.S"
