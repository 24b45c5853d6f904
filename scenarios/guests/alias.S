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

        .equ HVC_REMAP, 3
        .equ HVC_REMAP_NO_TLBI, 4

// hvc_extra(x0 = function, x1 = argument; x19 = L2's register frame)
hvc_extra:
        cmp     x0, #HVC_REMAP
        b.eq    1f
        cmp     x0, #HVC_REMAP_NO_TLBI
        b.ne    hvc_bad
1:      stp     x29, x30, [sp, #-32]!
        stp     x21, x22, [sp, #16]
        mov     x21, x0
        mov     x22, x1
        tst     x22, #0xfff
        b.ne    hvc_bad
        mov     x0, x22
        bl      l2_ipa_to_canonical     // checks that the page is L2's
        adrl    x0, cur_l2
        ldr     x0, [x0]
        adrl    x1, l2_roots
        ldr     x0, [x1, x0, lsl #3]
        mov     x1, x22
        bl      s2_leaf_slot
        str     xzr, [x0]               // break
        dsb     ishst
        cmp     x21, #HVC_REMAP_NO_TLBI
        b.eq    2f
        lsr     x1, x22, #12
        tlbi    ipas2e1is, x1           // stage-2 entries for the IPA (current VMID)
        dsb     ish
        tlbi    vmalle1is               // combined stage-1+2 entries of the VMID
        dsb     ish
        isb
2:      str     x0, [sp, #-16]!         // make: alias L2's first page (its code)
        mov     x0, #L2_IPA_BASE
        bl      l2_ipa_to_canonical
        mov     x1, x0
        ldr     x0, [sp], #16
        mov64   x2, S2_ATTR_RAM | S2_PAGE
        orr     x1, x1, x2
        str     x1, [x0]
        dsb     ishst
        isb
        adrl    x0, msg_remapped
        bl      console_puts
        mov     x0, x22
        bl      console_puthex
        adrl    x0, msg_with_tlbi
        cmp     x21, #HVC_REMAP
        b.eq    3f
        adrl    x0, msg_without_tlbi
3:      bl      console_puts
        ldp     x21, x22, [sp, #16]
        ldp     x29, x30, [sp], #32
        ret

msg_remapped:     .asciz "L1: aliased L2 page "
msg_with_tlbi:    .asciz " (TLBI IPAS2E1IS)\n"
msg_without_tlbi: .asciz " (no TLBI)\n"
banner_text:      .asciz "L1: alias: 4K granule, lazy 4K pages, alias service\n"
        .include "../../guests/l1/lib/vectors.S"

        .include "../../guests/l1/lib/data.S"
