// The remap service shared by L1s that move an L2 page to another canonical page (remap.S, and
// scenarios/guests/alias.S). The including file defines `remap_target` (returns the new canonical
// page in x1, preserves x0) and the string `msg_remapped`.
//   hvc #0, x0 = 3, x1 = nested IPA of a page: break-before-make with TLBI IPAS2E1IS + TLBI
//                VMALLE1IS, so L2 is guaranteed to see the new page after the HVC returns;
//   hvc #0, x0 = 4, x1 = nested IPA of a page: the same descriptor change without any TLBI, so L2
//                may still see the old page (whatever its host's TLB or shadow tables cache).

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
2:      bl      remap_target            // make: x1 = the new canonical page (x0 kept)
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

msg_with_tlbi:    .asciz " (TLBI IPAS2E1IS)\n"
msg_without_tlbi: .asciz " (no TLBI)\n"
        .balign 4
