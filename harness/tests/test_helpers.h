/* Small helpers shared by the CUnit test files. */
#ifndef VECS_TESTS_HELPERS_H
#define VECS_TESTS_HELPERS_H

#include <stddef.h>
#include <stdint.h>

/* Decode lowercase/uppercase hex into out (at most cap bytes); returns bytes written. */
size_t test_unhex(const char *hex, uint8_t *out, size_t cap);

/* Deterministic pseudo-random bytes (xorshift), for reproducible test data. */
void test_fill(uint8_t *buf, size_t len, uint64_t seed);

#endif
