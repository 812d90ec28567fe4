/*
 * check.h - the table tests' checks (ws_test.c, sio_test.c, copilot_test.c): a CHECK that counts and
 * names failures, the counters it keeps, and exact-size input copies. Include it once, in the test's
 * one source file: the counters are that file's own.
 */
#ifndef LOADGEN_CHECK_H
#define LOADGEN_CHECK_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int passed;
static int failed;

#define CHECK(condition, name)                                                                                         \
    do {                                                                                                               \
        if (condition) {                                                                                               \
            passed++;                                                                                                  \
        } else {                                                                                                       \
            failed++;                                                                                                  \
            fprintf(stderr, "FAIL %s (%s:%d)\n", name, __FILE__, __LINE__);                                            \
        }                                                                                                              \
    } while (0)

/* An exact-size heap copy of `text` (no NUL after it), freed by the caller, so ASan catches a read
 * one byte past the given length rather than a string's NUL hiding it. */
static inline uint8_t *exact(const char *text, size_t length) {
    uint8_t *copy = malloc(length ? length : 1);
    memcpy(copy, text, length);
    return copy;
}

/* Prints `NAME: P passed, F failed`; the test's exit status. */
static inline int check_report(const char *name) {
    printf("%s: %d passed, %d failed\n", name, passed, failed);
    return failed == 0 ? 0 : 1;
}

#endif
