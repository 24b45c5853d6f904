/* System register accessors and barriers. Names are the architectural ones, so
 * read_sysreg(esr_el2) assembles to `mrs x, esr_el2`. */
#ifndef NV_SYSREG_H
#define NV_SYSREG_H
#include <stdint.h>

#define read_sysreg(reg) ({ uint64_t v_; __asm__ volatile("mrs %0, " #reg : "=r"(v_)); v_; })
#define write_sysreg(reg, v) __asm__ volatile("msr " #reg ", %0" : : "r"((uint64_t)(v)) : "memory")

#define isb()        __asm__ volatile("isb" : : : "memory")
#define dsb(opt)     __asm__ volatile("dsb " #opt : : : "memory")
/* TLBI with a register operand (e.g. tlbi(ipas2e1is, ipa >> 12)) and without one. */
#define tlbi(op, v)  __asm__ volatile("tlbi " #op ", %0" : : "r"((uint64_t)(v)) : "memory")
#define tlbi_all(op) __asm__ volatile("tlbi " #op : : : "memory")

/* CurrentEL.EL */
static inline unsigned current_el(void) { return (unsigned)(read_sysreg(currentel) >> 2) & 3; }

/* ESR_ELx fields */
#define ESR_EC(esr)    ((unsigned)((esr) >> 26) & 0x3f)
#define ESR_ISS(esr)   ((esr) & 0x1ffffff)
#define EC_HVC64       0x16
#define EC_IABT_LOW    0x20
#define EC_DABT_LOW    0x24
/* Data/instruction abort FSC 0b0001LL: a translation fault at level LL */
#define FSC_IS_TRANSLATION(esr) (((esr) & 0x3c) == 0x04)

#define HCR_VM (1UL << 0)
#define HCR_RW (1UL << 31)

#endif
