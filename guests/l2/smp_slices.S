// L2 "smp_slices", for l1/smp_shared.S: every vCPU runs this one image with its vCPU number n in
// x0. vCPU n fills its own 64 KiB slice (1 MiB + n * 256 KiB above the image, so slices never
// share a page) with a 64-bit LCG seeded by n, checksums it like checksum.S does and prints
// "slices: vCPU n: <sum>". The vCPUs share the code page and the stage-2; nothing else.

        .equ SLICE_BASE, 0x100000
        .equ SLICE_STRIDE, 0x40000
        .equ SLICE_BYTES, 0x10000

l2_entry:
        mov     x23, x0                 // vCPU number
        adr     x0, l2_entry
        mov64   x1, SLICE_BASE
        add     x0, x0, x1
        mov64   x1, SLICE_STRIDE
        madd    x19, x23, x1, x0        // this vCPU's slice
        mov64   x1, SLICE_BYTES
        add     x20, x19, x1            // end

        mov64   x1, 6364136223846793005
        mov64   x2, 1442695040888963407
        mov64   x3, 0x243f6a8885a308d3  // seed: checksum.S's, plus the vCPU number
        add     x3, x3, x23
        mov     x4, x19
1:      madd    x3, x3, x1, x2
        str     x3, [x4], #8
        cmp     x4, x20
        b.lo    1b

        mov     x6, #0
        mov     x4, x19
2:      ldr     x7, [x4], #8
        eor     x6, x7, x6, ror #59
        add     x6, x6, x7, lsr #7
        cmp     x4, x20
        b.lo    2b
        mov     x22, x6

        adr     x0, msg_slice1
        bl      l2_puts
        mov     x0, x23
        bl      l2_putdec
        adr     x0, msg_slice2
        bl      l2_puts
        mov     x0, x22
        bl      l2_puthex
        mov     x0, #'\n'
        bl      l2_putc
        mov     x0, #0
        bl      l2_exit

msg_slice1:     .asciz "slices: vCPU "
msg_slice2:     .asciz ": "
        .balign 4
        .include "lib/l2.S"
