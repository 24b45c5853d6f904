// L2 "remap" (for guests/l1/remap.S): reads a word of one of its pages, asks L1 to remap the page
// with TLBI IPAS2E1IS (hvc function 3), reads the word again: it must see L1's new page.
        .equ REMAP_FN, 3
        .include "lib/remap_body.S"
