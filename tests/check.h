/* Minimal test harness: each test program defines test functions and runs them with RUN();
 * main returns check_report(), which prints the closing "N passed, N failed" line
 * (counting test functions) and exits non-zero on any failure. */
#ifndef OWU_TESTS_CHECK_H
#define OWU_TESTS_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openwinusb/error.h>

static int check_tests_passed, check_tests_failed, check_current_failed;

#define CHECK(cond)                                                                    \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            check_current_failed++;                                                    \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);   \
        }                                                                              \
    } while (0)

#define CHECK_INT(a, b)                                                                \
    do {                                                                               \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);                \
        if (check_a_ != check_b_) {                                                    \
            check_current_failed++;                                                    \
            fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld\n", __FILE__,      \
                    __LINE__, #a, check_a_, #b, check_b_);                             \
        }                                                                              \
    } while (0)

#define CHECK_STR(a, b)                                                                \
    do {                                                                               \
        const char *check_a_ = (a), *check_b_ = (b);                                   \
        if (!check_a_ || !check_b_ || strcmp(check_a_, check_b_) != 0) {               \
            check_current_failed++;                                                    \
            fprintf(stderr, "%s:%d: %s is \"%s\", expected \"%s\"\n", __FILE__,        \
                    __LINE__, #a, check_a_ ? check_a_ : "(null)",                      \
                    check_b_ ? check_b_ : "(null)");                                   \
        }                                                                              \
    } while (0)

/* The string contains the substring. */
#define CHECK_CONTAINS(hay, needle)                                                    \
    do {                                                                               \
        const char *check_h_ = (hay), *check_n_ = (needle);                            \
        if (!check_h_ || !strstr(check_h_, check_n_)) {                                \
            check_current_failed++;                                                    \
            fprintf(stderr, "%s:%d: \"%s\" does not contain \"%s\"\n", __FILE__,       \
                    __LINE__, check_h_ ? check_h_ : "(null)", check_n_);               \
        }                                                                              \
    } while (0)

/* rc must be 0 (OWU_OK); prints the owu_err message otherwise. */
#define CHECK_OK(rc, errp)                                                             \
    do {                                                                               \
        int check_rc_ = (rc);                                                          \
        const owu_err *check_e_ = (errp);                                              \
        if (check_rc_ != 0) {                                                          \
            check_current_failed++;                                                    \
            fprintf(stderr, "%s:%d: %s returned %d: %s\n", __FILE__, __LINE__, #rc,    \
                    check_rc_, check_e_ ? check_e_->msg : "");                         \
        }                                                                              \
    } while (0)

#define RUN(fn)                                                                        \
    do {                                                                               \
        check_current_failed = 0;                                                      \
        fn();                                                                          \
        if (check_current_failed) {                                                    \
            check_tests_failed++;                                                      \
            printf("FAIL %s\n", #fn);                                                  \
        } else {                                                                       \
            check_tests_passed++;                                                      \
            printf("ok   %s\n", #fn);                                                  \
        }                                                                              \
        fflush(stdout);                                                                \
    } while (0)

static inline int check_report(void)
{
    printf("%d passed, %d failed\n", check_tests_passed, check_tests_failed);
    return check_tests_failed ? 1 : 0;
}

#endif
