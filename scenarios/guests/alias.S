// L1 "alias" (scenarios only): guests/l1/remap.S, except that HVC function 3/4 points the given
// 4K page of L2 at the canonical page of L2's own first page (nested 0x40000000, its code) instead
// of a page of L1. Afterwards two nested IPAs of the same L2 map one canonical page: the overlapping
// mappings a reverse map keyed by canonical IPA must record as one polluted range.

        .equ NUM_L2, 1
        .equ ROUNDS, 1
        .include "../../guests/l1/lib/defs.S"
        .include "../../guests/l1/lib/main.S"
        .include "../../guests/l1/lib/s2_4k.S"
        .include "../../guests/l1/lib/s2_common.S"
        .include "../../guests/l1/lib/console.S"

        .include "../../guests/l1/lib/remap_service.S"

// The remap target is the canonical page of L2's own first page (its code).
remap_target:
        stp     x0, x30, [sp, #-16]!
        mov     x0, #L2_IPA_BASE
        bl      l2_ipa_to_canonical
        mov     x1, x0
        ldp     x0, x30, [sp], #16
        ret

msg_remapped:     .asciz "L1: aliased L2 page "
banner_text:      .asciz "L1: alias: 4K granule, lazy 4K pages, alias service\n"
        .include "../../guests/l1/lib/vectors.S"

        .include "../../guests/l1/lib/data.S"
