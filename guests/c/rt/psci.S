// psci_call(fn, a1, a2, a3) -> x0: SMC #0 with the arguments in x0-x3 (SMC calling convention).
        .text
        .global psci_call
psci_call:
        smc     #0
        ret
