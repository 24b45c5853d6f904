// hvc_extra for L1s that provide only the base HVC functions (0 putchar, 1 exit, 2 puts).
hvc_extra:
        b       hvc_bad
