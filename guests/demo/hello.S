// A bare EL1 program for `nvlab exec`: prints through the PL011 UART, then sums 1..100.
        .equ UART, 0x09000000

start:
        mov64   x1, UART
        adr     x2, message
1:      ldrb    w3, [x2], #1
        cbz     w3, 2f
        strb    w3, [x1]
        b       1b
2:      mov     x0, #0
        mov     x4, #100
3:      add     x0, x0, x4
        subs    x4, x4, #1
        b.ne    3b
        brk     #0              // x0 = 5050

message:
        .asciz  "hello from nvlab exec\n"
