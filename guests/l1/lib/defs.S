// Constants of the guest ABI (guests/README.md) shared by every L1.

        .equ UART_BASE,         0x09000000      // PL011 data register (canonical IPA)
        .equ PSCI_SYSTEM_OFF,   0x84000008

        .equ L1_STACK_TOP,      0x44000000      // grows down, below the table pool
        .equ POOL_BASE,         0x44000000      // stage-2 table pool: L1-owned RAM
        .equ POOL_END,          0x48000000

        .equ L2_CANON_BASE,     0x48000000      // L2 #n lives at L2_CANON_BASE + n * L2_WINDOW
        .equ L2_WINDOW,         0x01000000      // 16 MiB per L2
        .equ L2_IPA_BASE,       0x40000000      // where every L2 sees itself (its entry)
        .equ L2_SPSR,           0x3c5           // EL1h, DAIF masked

        .equ HCR_VM,            1
        .equ HCR_RW,            1 << 31

        // ESR_EL2.EC values L1 handles
        .equ EC_HVC64,          0x16
        .equ EC_IABT_LOW,       0x20
        .equ EC_DABT_LOW,       0x24

        // Stage-2 descriptor attributes (without the type bits [1:0])
        .equ S2_AF,             1 << 10
        .equ S2_SH_INNER,       3 << 8
        .equ S2AP_RW,           3 << 6
        .equ S2_MEMATTR_NORMAL, 0xf << 2        // Normal, outer and inner write-back
        .equ S2_MEMATTR_DEVICE, 0x1 << 2        // Device-nGnRE
        .equ S2_XN,             2 << 53         // XN[1:0] = 0b10: not executable
        .equ S2_ATTR_RAM,       S2_AF | S2_SH_INNER | S2AP_RW | S2_MEMATTR_NORMAL
        .equ S2_ATTR_DEVICE,    S2_AF | S2AP_RW | S2_MEMATTR_DEVICE | S2_XN
        .equ S2_TABLE,          3               // table descriptor (levels 0-2)
        .equ S2_PAGE,           3               // page descriptor (level 3)
        .equ S2_BLOCK,          1               // block descriptor (levels 1-2)

        // VTCR_EL2 fields
        .equ VTCR_RES1,         1 << 31
        .equ VTCR_PS_40,        2 << 16
        .equ VTCR_TG0_4K,       0 << 14
        .equ VTCR_TG0_64K,      1 << 14
        .equ VTCR_TG0_16K,      2 << 14         // no shipped format uses it (guests/README.md: granules)
        .equ VTCR_SH0_INNER,    3 << 12
        // IRGN0/ORGN0 = 0 (Non-cacheable walks): L1 writes its tables with its MMU off.

        // L1 exit codes of its own (an L2's exit code is passed through otherwise)
        .equ ERR_L2_EXCEPTION,  2       // exception from L2 that L1 does not handle
        .equ ERR_L2_OUTSIDE,    3       // L2 stage-2 fault outside its window
        .equ ERR_BAD_HVC,       4       // unknown HVC function or bad argument
        .equ ERR_S2_FAULT,      5       // stage-2 fault that is not a translation fault
        .equ ERR_POOL,          6       // table pool exhausted
        .equ ERR_NOT_EL2,       7       // L1 did not start at EL2
        .equ ERR_L1_EXCEPTION,  255     // exception taken by L1 itself
