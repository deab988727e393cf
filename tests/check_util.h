/* check_util.h — shared pieces of the Check suites. */
#ifndef TRINE_CHECK_UTIL_H
#define TRINE_CHECK_UTIL_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

/* Runs one suite with the usual Check environment (CK_FORK, CK_VERBOSITY)
 * and returns the process exit status: 0 when every test passed. */
int check_util_run(Suite *suite);

/* Fills out with n words of a fixed test stream, different per seed. */
void check_util_random(uint64_t *out, size_t n, uint64_t seed);

/* Makes a fresh folder /tmp/TAG-XXXXXX into dir (CHECK_UTIL_TMPDIR_MAX
 * bytes), and removes one with everything in it; both fail the test when
 * they cannot. */
#define CHECK_UTIL_TMPDIR_MAX 64
void check_util_tmpdir(char *dir, const char *tag);
void check_util_rmtree(const char *dir);

#endif
