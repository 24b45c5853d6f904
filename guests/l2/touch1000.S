// L2 "touch1000": lib/touch_body.S over 1000 distinct 4K pages.
        .equ TOUCH_PAGES, 1000
        .include "lib/touch_body.S"
