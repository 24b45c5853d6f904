// L2 "touch": touches 64 distinct 4K pages (see lib/touch_body.S), prints a summary, exits 0.
        .equ TOUCH_PAGES, 64
        .include "lib/touch_body.S"
