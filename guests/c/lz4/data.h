/* Deterministic test inputs: the same bytes on every machine (no pointers, no host state). */
#ifndef NV_LZ4_DATA_H
#define NV_LZ4_DATA_H
#include <stddef.h>
#include <stdint.h>

enum data_kind { DATA_TEXT, DATA_RANDOM, DATA_RUNS, DATA_RECORDS, DATA_KINDS };

extern const char *const data_kind_name[DATA_KINDS];

/* Fill buf[0..n) with input of the given kind, from a fixed seed. */
void data_fill(enum data_kind kind, uint8_t *buf, size_t n);

#endif
